// The notify hook's records as the agent received them: applied (by socket or spool), dropped as
// duplicates (a record acked late and spooled too) or as superseded (out of order: history), bad.
// A burst of hook calls is checked against these: applied + duplicate + superseded = calls.
import { Counter } from 'prom-client';
import type { HookStats } from '../agent/sources/hookSource';
import type { Collector } from './collector';

export function hookCollector(stats: () => HookStats | undefined): Collector {
  return {
    name: 'hook',
    // The output is a function of these few counters.
    revision: () => JSON.stringify(stats() ?? null),
    metrics: [
      new Counter({
        name: 'keepwatch_hook_records_total',
        help: 'Notify hook records received, by how they came (socket, spool) and what became of them (applied, duplicate, superseded, bad).',
        labelNames: ['via', 'result'],
        registers: [],
        collect() {
          this.reset();
          const s = stats();
          if (!s) return;
          this.inc({ via: 'socket', result: 'applied' }, s.applied.socket);
          this.inc({ via: 'spool', result: 'applied' }, s.applied.spool);
          this.inc({ via: 'any', result: 'duplicate' }, s.duplicate);
          this.inc({ via: 'any', result: 'superseded' }, s.superseded);
          this.inc({ via: 'any', result: 'bad' }, s.bad);
        },
      }),
      new Counter({
        name: 'keepwatch_hook_spool_errors_total',
        help: 'Errors reading, moving or deleting hook spool files.',
        registers: [],
        collect() {
          this.reset();
          const s = stats();
          if (s) this.inc(s.spoolErrors);
        },
      }),
    ],
  };
}
