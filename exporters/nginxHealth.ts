// keepwatch's own nginx checks: health requests per target (local, vip:<addr> while this node
// holds it) with a duration histogram fed by every health result as it is applied (each event
// observed once), the master process, and the configuration's validity and hash (`nginx -T`,
// compared between nodes for drift).
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import type { Collector } from './collector';
import { silentWhen } from './nginx';

export const HEALTH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface NginxHealthCollector extends Collector {
  /** Stops following the store (module stop). */
  close(): void;
}

export function nginxHealthCollector(store: NodeStore): NginxHealthCollector {
  let healthUp: Gauge;
  let statusCode: Gauge;
  let duration: Histogram | undefined;
  let processUp: Gauge;
  let configValid: Gauge;
  let configInfo: Gauge;
  // Results applied before register() are kept and observed once the histogram exists.
  const early: Array<{ target: string; s: number }> = [];
  const unsubscribe = store.subscribe((c) => {
    if (c.event.kind !== 'nginx_health') return;
    const s = Math.max(0, c.event.durationMs) / 1000;
    if (duration) duration.observe({ target: c.event.target }, s);
    else if (early.length < 1000) early.push({ target: c.event.target, s });
  });
  return {
    name: 'nginx_health',
    // Reads only the store (and histograms fed by its events): same revision, same text.
    revision: () => store.state.revision,
    register(registry: Registry) {
      const r = [registry];
      healthUp = new Gauge({ name: 'keepwatch_nginx_health_up', help: 'Whether the last health request to nginx succeeded (2xx/3xx), per target.', labelNames: ['target'], registers: r });
      statusCode = new Gauge({ name: 'keepwatch_nginx_health_status_code', help: 'HTTP status of the last health request, per target (0: no answer).', labelNames: ['target'], registers: r });
      duration = new Histogram({ name: 'keepwatch_nginx_health_duration_seconds', help: 'Duration of nginx health requests.', labelNames: ['target'], buckets: HEALTH_BUCKETS, registers: r });
      for (const e of early.splice(0)) duration.observe({ target: e.target }, e.s);
      // No sample until the probe has said something (unknown is not 0).
      processUp = silentWhen(new Gauge({ name: 'keepwatch_nginx_process_up', help: 'Whether the nginx master process from the pid file is alive.', registers: r }), () => !store.state.nginx.process);
      configValid = silentWhen(new Gauge({ name: 'keepwatch_nginx_config_valid', help: 'Whether `nginx -t` accepts the configuration (1) or not (0).', registers: r }), () => !store.state.nginx.config);
      configInfo = new Gauge({ name: 'keepwatch_nginx_config_info', help: 'sha256 of `nginx -T` (the full configuration), for drift checks between nodes; value is always 1.', labelNames: ['hash'], registers: r });
    },
    update() {
      const s = store.state;
      healthUp.reset();
      statusCode.reset();
      const held = new Set(Object.values(s.vips).filter((v) => v.intf).map((v) => `vip:${v.vip}`));
      for (const [target, ev] of Object.entries(s.nginx.health)) {
        // A VIP this node no longer holds is no longer a target: no stale series.
        if (target !== 'local' && !held.has(target)) continue;
        healthUp.set({ target }, ev.up ? 1 : 0);
        statusCode.set({ target }, ev.statusCode ?? 0);
      }
      processUp.reset();
      if (s.nginx.process) processUp.set(s.nginx.process.up ? 1 : 0);
      configValid.reset();
      configInfo.reset();
      if (s.nginx.config) {
        configValid.set(s.nginx.config.valid ? 1 : 0);
        if (s.nginx.config.hash) configInfo.set({ hash: s.nginx.config.hash }, 1);
      }
    },
    close: () => unsubscribe(),
  };
}
