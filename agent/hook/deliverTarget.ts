// The deliverer's way out: the same receivers and route tree as the agent's alert pipeline (built
// from the same config), without the pipeline's grouping, outbox or silences, which live in the
// agent that is down. Each send is one notification with one alert.
import { createHash } from 'node:crypto';
import type { Config } from '../config/schema';
import { systemClock, type Clock } from '../context';
import { buildRouteTree, groupLabels, matchRoutes, type AlertRoute } from '../alerting/route';
import { createReceiver } from '../alerting/receivers';
import type { Receiver } from '../alerting/receivers/receiver';
import type { Notification } from '../alerting/notification';
import type { DeliverTarget } from './deliver';
import { withExternalLabels } from '../alerting/externalLabels';

export function receiversTarget(config: Config, clock: Clock = systemClock): DeliverTarget {
  const receivers = new Map<string, Receiver>(config.alerting.receivers.map((r) => [r.name, createReceiver(r, { clock })]));
  const timeouts = new Map(config.alerting.receivers.map((r) => [r.name, r.timeout]));
  const tree = buildRouteTree(config.alerting.route, [...receivers.keys()]);
  const routeOf = (labels: Record<string, string>): Map<string, AlertRoute> => {
    const m = new Map<string, AlertRoute>();
    for (const r of matchRoutes(tree, labels)) if (!m.has(r.receiver)) m.set(r.receiver, r);
    return m;
  };
  return {
    // The pair's external labels, as the agent's pipeline adds them: routes and receivers see the same alert.
    receiversFor: (alert) => [...routeOf(withExternalLabels(alert, config.alerting.external_labels).labels).keys()].filter((r) => receivers.has(r)),
    async send(name, published, record) {
      const alert = withExternalLabels(published, config.alerting.external_labels);
      const receiver = receivers.get(name);
      const route = routeOf(alert.labels).get(name);
      if (!receiver || !route) throw Object.assign(new Error(`receiver ${name} is not configured`), { retryable: false });
      const glabels = groupLabels(route, alert.labels);
      const n: Notification = {
        seq: 0,
        idempotencyKey: createHash('sha256').update(`keepwatch-hook\u0000${config.node}\u0000${record.id}\u0000${name}`).digest('hex'),
        receiver: name,
        kind: 'group',
        groupKey: `${route.id}:${JSON.stringify(glabels)}`,
        groupLabels: glabels,
        status: 'firing',
        alerts: [alert],
        createdAt: clock.now(),
        triggeredAt: record.at,
        externalURL: config.alerting.external_url,
      };
      await receiver.send(n, AbortSignal.timeout((timeouts.get(name) ?? 5000) + 1000));
    },
    async close() {
      await Promise.all([...receivers.values()].map((r) => r.close?.().catch(() => undefined)));
    },
  };
}
