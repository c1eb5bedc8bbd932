// keepwatch_failover_duration_seconds{vrid,until}: what clients lived through in each failover,
// observed on the new master's agent from the old master's loss (agent/state/failoverOutage.ts says
// which fact that is) until="vip_bound" (the VIP bound here) and until="first_good_request" (the
// first health request through the VIP here that answered). Each takeover is observed once per
// stage, when the stage is measured. One histogram for the agent's life: the registry is rebuilt
// on reload, the observations stay.
import { Histogram } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import type { Collector } from './collector';

/** From a SIGTERM'd master's handover (under a second) to a NoMaster gap (tens of seconds). */
export const FAILOVER_BUCKETS = [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30];

const STAGES = [
  ['vip_bound', 'vipBoundAt'],
  ['first_good_request', 'firstGoodAt'],
] as const;

export function failoverCollector(store: NodeStore): Collector {
  const histogram = new Histogram({
    name: 'keepwatch_failover_duration_seconds',
    help: 'Client-visible outage of each failover to this node: from the old master\'s loss (its keepalived leaving, its FAULT, or its last advert) until the VIP was bound here (until="vip_bound") and until the first good request through the VIP here (until="first_good_request").',
    labelNames: ['vrid', 'until'],
    buckets: FAILOVER_BUCKETS,
    registers: [],
  });
  const observed = new Set<string>();
  let observations = 0;
  const unsubscribe = store.subscribe((c) => {
    if (c.event.kind !== 'failover_outage') return;
    const o = c.event.outage;
    for (const [until, field] of STAGES) {
      const at = o[field];
      const key = `${o.id}|${until}`;
      if (at === undefined || observed.has(key)) continue;
      observed.add(key);
      // A handful of takeovers a day: the oldest keys go once far more than the store keeps.
      if (observed.size > 1000) observed.delete(observed.values().next().value as string);
      histogram.observe({ vrid: o.vrid, until }, Math.max(0, at - o.loss.at) / 1000);
      observations++;
    }
  });
  return {
    name: 'failover',
    revision: () => observations,
    metrics: [histogram],
    close: unsubscribe,
  };
}
