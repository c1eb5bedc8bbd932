import { deadline } from '../../../agent/alerting/receivers/deadline';
import { FakeClock } from '../../helpers/fakeClock';

test('deadline aborts when its time has passed on the clock, with a TimeoutError; follows the outer signal; clear() stops it', () => {
  const clock = new FakeClock();
  const a = deadline(new AbortController().signal, 30, clock);
  clock.advance(29);
  expect(a.signal.aborted).toBe(false);
  clock.advance(1);
  expect(a.signal.aborted).toBe(true);
  expect((a.signal.reason as DOMException).name).toBe('TimeoutError');
  expect((a.signal.reason as DOMException).message).toBe('no answer within 30 ms');

  const outer = new AbortController();
  const b = deadline(outer.signal, 10_000, clock);
  outer.abort(new Error('stopping'));
  expect(b.signal.aborted).toBe(true);
  expect((b.signal.reason as Error).message).toBe('stopping');
  b.clear();

  const c = deadline(new AbortController().signal, 30, clock);
  c.clear();
  expect(clock.pending()).toBe(0);
  clock.advance(100);
  expect(c.signal.aborted).toBe(false);
});
