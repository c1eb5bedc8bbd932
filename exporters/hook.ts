// The notify hook's records as the agent received them: applied (by socket or spool), dropped as
// duplicates (a record acked late and spooled too) or as superseded (out of order: history), bad.
// A burst of hook calls is checked against these: applied + duplicate + superseded = calls.
import type { HookStats } from '../agent/sources/hookSource';
import type { Collector } from './collector';
import { scrapedCounter } from './scraped';

export function hookCollector(stats: () => HookStats | undefined): Collector {
  return {
    name: 'hook',
    // The output is a function of these few counters.
    revision: () => JSON.stringify(stats() ?? null),
    metrics: [
      scrapedCounter(
        {
          name: 'keepwatch_hook_records_total',
          help: 'Notify hook records received, by how they came (socket, spool) and what became of them (applied, duplicate, superseded, bad).',
          labelNames: ['via', 'result'],
        },
        () => {
          const s = stats();
          if (!s) return [];
          return [
            [{ via: 'socket', result: 'applied' }, s.applied.socket],
            [{ via: 'spool', result: 'applied' }, s.applied.spool],
            [{ via: 'any', result: 'duplicate' }, s.duplicate],
            [{ via: 'any', result: 'superseded' }, s.superseded],
            [{ via: 'any', result: 'bad' }, s.bad],
          ];
        },
      ),
      scrapedCounter({ name: 'keepwatch_hook_spool_errors_total', help: 'Errors reading, moving or deleting hook spool files.' }, () => stats()?.spoolErrors),
    ],
  };
}
