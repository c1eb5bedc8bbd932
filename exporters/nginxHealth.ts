// keepwatch's own nginx checks: health requests per target (local, vip:<addr> while this node
// holds it) with a duration histogram fed by every health result as it is applied (each event
// observed once), the master process, and the configuration's validity and hash (`nginx -T`,
// compared between nodes for drift).
import { Histogram } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import type { NginxHealthEvent, NodeState } from '../agent/state/types';
import type { Collector } from './collector';
import { scrapedGauge } from './scraped';
import { silentWhen } from './silentWhen';

export const HEALTH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The last result per target; a VIP this node no longer holds is no longer a target: no stale series. */
function currentTargets(s: NodeState): Array<[string, NginxHealthEvent]> {
  const held = new Set(Object.values(s.vips).filter((v) => v.intf).map((v) => `vip:${v.vip}`));
  return Object.entries(s.nginx.health).filter(([target]) => target === 'local' || held.has(target));
}

export function nginxHealthCollector(store: NodeStore): Collector {
  const duration = new Histogram({ name: 'keepwatch_nginx_health_duration_seconds', help: 'Duration of nginx health requests.', labelNames: ['target'], buckets: HEALTH_BUCKETS, registers: [] });
  const unsubscribe = store.subscribe((c) => {
    if (c.event.kind === 'nginx_health') duration.observe({ target: c.event.target }, Math.max(0, c.event.durationMs) / 1000);
  });
  return {
    name: 'nginx_health',
    // Reads only the store (and a histogram fed by its events): same revision, same text.
    revision: () => store.state.revision,
    metrics: [
      scrapedGauge({ name: 'keepwatch_nginx_health_up', help: 'Whether the last health request to nginx succeeded (2xx/3xx), per target.', labelNames: ['target'] }, () =>
        currentTargets(store.state).map(([target, ev]) => [{ target }, ev.up ? 1 : 0]),
      ),
      scrapedGauge({ name: 'keepwatch_nginx_health_status_code', help: 'HTTP status of the last health request, per target (0: no answer).', labelNames: ['target'] }, () =>
        currentTargets(store.state).map(([target, ev]) => [{ target }, ev.statusCode ?? 0]),
      ),
      duration,
      // No sample until the probe has said something (unknown is not 0).
      silentWhen(
        scrapedGauge({ name: 'keepwatch_nginx_process_up', help: 'Whether the nginx master process from the pid file is alive.' }, () => (store.state.nginx.process?.up ? 1 : 0)),
        () => !store.state.nginx.process,
      ),
      silentWhen(
        scrapedGauge({ name: 'keepwatch_nginx_config_valid', help: 'Whether `nginx -t` accepts the configuration (1) or not (0).' }, () => (store.state.nginx.config?.valid ? 1 : 0)),
        () => !store.state.nginx.config,
      ),
      scrapedGauge(
        {
          name: 'keepwatch_nginx_config_info',
          help: 'sha256 of `nginx -T` (the full configuration), for drift checks between nodes; value is always 1.',
          labelNames: ['hash'],
        },
        () => {
          const hash = store.state.nginx.config?.hash;
          return hash ? [[{ hash }, 1]] : [];
        },
      ),
    ],
    close: unsubscribe,
  };
}
