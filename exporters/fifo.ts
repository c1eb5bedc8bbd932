// The notify FIFO reader's own counters: lines and bytes read, events made of them. A burst of
// keepalived writes is checked against these (bench/bursts.ts): every line written is a line
// read, or it was dropped by keepalived's non-blocking write (not the agent's to count).
import { Counter } from 'prom-client';
import type { FifoSourceStats } from '../agent/sources/fifoSource';
import type { Collector } from './collector';

export function fifoCollector(stats: () => FifoSourceStats | undefined): Collector {
  const counter = (name: string, help: string, value: (s: FifoSourceStats) => number) =>
    new Counter({
      name,
      help,
      registers: [],
      collect() {
        this.reset();
        const s = stats();
        if (s) this.inc(value(s));
      },
    });
  return {
    name: 'fifo',
    // The output is a function of these few counters.
    revision: () => JSON.stringify(stats() ?? null),
    metrics: [
      counter('keepwatch_fifo_lines_total', 'Lines read from the notify FIFO (parse errors included).', (s) => s.lines),
      counter('keepwatch_fifo_bytes_total', 'Bytes read from the notify FIFO.', (s) => s.bytes),
      counter('keepwatch_fifo_events_total', 'Events the notify FIFO lines gave (transitions, priorities, evidence, checkers).', (s) => s.events),
      counter('keepwatch_fifo_created_total', 'Times the agent (re)created the notify FIFO.', (s) => s.created),
    ],
  };
}
