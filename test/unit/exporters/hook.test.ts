// keepwatch_hook_*: the notify hook's records by how they came and what became of them.
import type { HookStats } from '../../../agent/sources/hookSource';
import { hookCollector } from '../../../exporters/hook';
import { exposition, samples } from './exposition';

test('records by via and result, spool errors; applied + duplicate + superseded add up to the calls', async () => {
  let stats: HookStats | undefined;
  const c = hookCollector(() => stats);
  const render = exposition(c);
  expect(samples(await render(), 'keepwatch_hook_')).toEqual(['keepwatch_hook_spool_errors_total 0']);
  stats = { applied: { socket: 990, spool: 7 }, duplicate: 2, superseded: 1, bad: 4, spoolErrors: 1 };
  const text = await render();
  expect(samples(text, 'keepwatch_hook_')).toEqual([
    'keepwatch_hook_records_total{via="any",result="bad"} 4',
    'keepwatch_hook_records_total{via="any",result="duplicate"} 2',
    'keepwatch_hook_records_total{via="any",result="superseded"} 1',
    'keepwatch_hook_records_total{via="socket",result="applied"} 990',
    'keepwatch_hook_records_total{via="spool",result="applied"} 7',
    'keepwatch_hook_spool_errors_total 1',
  ]);
  const calls = samples(text, 'keepwatch_hook_records_total').filter((l) => !l.includes('"bad"')).reduce((n, l) => n + Number(l.split(' ')[1]), 0);
  expect(calls).toBe(1000);
});
