import { deadline } from '../../../agent/alerting/receivers/receiver';

test('deadline aborts after its time with a TimeoutError, follows the outer signal, and clear() stops it', async () => {
  const a = deadline(new AbortController().signal, 30);
  await new Promise((r) => setTimeout(r, 80));
  expect(a.signal.aborted).toBe(true);
  expect((a.signal.reason as DOMException).name).toBe('TimeoutError');

  const outer = new AbortController();
  const b = deadline(outer.signal, 10_000);
  outer.abort(new Error('stopping'));
  expect(b.signal.aborted).toBe(true);
  expect((b.signal.reason as Error).message).toBe('stopping');
  b.clear();

  const c = deadline(new AbortController().signal, 30);
  c.clear();
  await new Promise((r) => setTimeout(r, 80));
  expect(c.signal.aborted).toBe(false);
});
