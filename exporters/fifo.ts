// The notify FIFO reader's own counters: lines and bytes read, events made of them. A burst of
// keepalived writes is checked against these (bench/bursts.ts): every line written is a line
// read, or it was dropped by keepalived's non-blocking write (not the agent's to count).
import type { FifoSourceStats } from '../agent/sources/fifoSource';
import type { Collector } from './collector';
import { scrapedCounter } from './scraped';

export function fifoCollector(stats: () => FifoSourceStats | undefined): Collector {
  return {
    name: 'fifo',
    // The output is a function of these few counters.
    revision: () => JSON.stringify(stats() ?? null),
    metrics: [
      scrapedCounter({ name: 'keepwatch_fifo_lines_total', help: 'Lines read from the notify FIFO (parse errors included).' }, () => stats()?.lines),
      scrapedCounter({ name: 'keepwatch_fifo_bytes_total', help: 'Bytes read from the notify FIFO.' }, () => stats()?.bytes),
      scrapedCounter({ name: 'keepwatch_fifo_events_total', help: 'Events the notify FIFO lines gave (transitions, priorities, evidence, checkers).' }, () => stats()?.events),
      scrapedCounter({ name: 'keepwatch_fifo_created_total', help: 'Times the agent (re)created the notify FIFO.' }, () => stats()?.created),
    ],
  };
}
