// The notify hook's records as the agent received them: applied (by socket or spool), dropped as
// duplicates (a record acked late and spooled too) or as superseded (out of order: history), bad.
// The 1,000-hook-calls burst is checked against these: applied + duplicate + superseded = calls.
import { Counter, type Registry } from 'prom-client';
import type { HookStats } from '../agent/sources/hookSource';
import type { Collector } from './collector';

export function hookCollector(stats: () => HookStats | undefined): Collector {
  let records: Counter;
  let spoolErrors: Counter;
  return {
    name: 'hook',
    // The output is a function of these few counters.
    revision: () => JSON.stringify(stats() ?? null),
    register(registry: Registry) {
      records = new Counter({
        name: 'keepwatch_hook_records_total',
        help: 'Notify hook records received, by how they came (socket, spool) and what became of them (applied, duplicate, superseded, bad).',
        labelNames: ['via', 'result'],
        registers: [registry],
      });
      spoolErrors = new Counter({ name: 'keepwatch_hook_spool_errors_total', help: 'Errors reading, moving or deleting hook spool files.', registers: [registry] });
    },
    update() {
      const s = stats();
      records.reset();
      spoolErrors.reset();
      if (!s) return;
      records.inc({ via: 'socket', result: 'applied' }, s.applied.socket);
      records.inc({ via: 'spool', result: 'applied' }, s.applied.spool);
      records.inc({ via: 'any', result: 'duplicate' }, s.duplicate);
      records.inc({ via: 'any', result: 'superseded' }, s.superseded);
      records.inc({ via: 'any', result: 'bad' }, s.bad);
      spoolErrors.inc(s.spoolErrors);
    },
  };
}
