// keepwatch_fifo_*: the notify FIFO reader's own counters, as its stats say.
import type { FifoSourceStats } from '../../../agent/sources/fifoSource';
import { fifoCollector } from '../../../exporters/fifo';
import { exposition, samples } from './exposition';

test('the counters follow the reader\'s stats; no reader yet: all 0', async () => {
  let stats: FifoSourceStats | undefined;
  const c = fifoCollector(() => stats);
  const render = exposition(c);
  expect(samples(await render(), 'keepwatch_fifo_')).toEqual([
    'keepwatch_fifo_bytes_total 0',
    'keepwatch_fifo_created_total 0',
    'keepwatch_fifo_events_total 0',
    'keepwatch_fifo_lines_total 0',
  ]);
  const r0 = c.revision?.();
  stats = { bytes: 60, lines: 3, events: 2, parseErrors: 1, created: 1, backlogLines: 0 };
  expect(c.revision?.()).not.toBe(r0);
  expect(samples(await render(), 'keepwatch_fifo_')).toEqual([
    'keepwatch_fifo_bytes_total 60',
    'keepwatch_fifo_created_total 1',
    'keepwatch_fifo_events_total 2',
    'keepwatch_fifo_lines_total 3',
  ]);
});
