// The notify FIFO reader's own counters: lines and bytes read, events made of them. A burst of
// keepalived writes is checked against these (bench/bursts.ts): every line written is a line
// read, or it was dropped by keepalived's non-blocking write (not the agent's to count).
import { Counter, type Registry } from 'prom-client';
import type { FifoSourceStats } from '../agent/sources/fifoSource';
import type { Collector } from './collector';

export function fifoCollector(stats: () => FifoSourceStats | undefined): Collector {
  let lines: Counter;
  let bytes: Counter;
  let events: Counter;
  let created: Counter;
  return {
    name: 'fifo',
    // The output is a function of these few counters.
    revision: () => JSON.stringify(stats() ?? null),
    register(registry: Registry) {
      lines = new Counter({ name: 'keepwatch_fifo_lines_total', help: 'Lines read from the notify FIFO (parse errors included).', registers: [registry] });
      bytes = new Counter({ name: 'keepwatch_fifo_bytes_total', help: 'Bytes read from the notify FIFO.', registers: [registry] });
      events = new Counter({ name: 'keepwatch_fifo_events_total', help: 'Events the notify FIFO lines gave (transitions, priorities, evidence, checkers).', registers: [registry] });
      created = new Counter({ name: 'keepwatch_fifo_created_total', help: 'Times the agent (re)created the notify FIFO.', registers: [registry] });
    },
    update() {
      const s = stats();
      for (const c of [lines, bytes, events, created]) c.reset();
      if (!s) return;
      lines.inc(s.lines);
      bytes.inc(s.bytes);
      events.inc(s.events);
      created.inc(s.created);
    },
  };
}
