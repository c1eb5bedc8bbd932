// The Watchdog: the Prometheus ecosystem's dead man's switch. An alert that always fires, pushed to
// every Alertmanager receiver on its resend cadence with this node's name and the pair's external
// labels. The site routes it to a dead man's switch service that pages when it stops arriving:
// then the agent, its host or the path to Alertmanager is dead, and nothing else would say so.
import { fingerprint, type Alert } from './alert';
import type { ExternalLabels } from './externalLabels';

export const WATCHDOG_ALERTNAME = 'Watchdog';

export function watchdogAlert(node: string, external: ExternalLabels, startsAt: number): Alert {
  const labels = { ...external, alertname: WATCHDOG_ALERTNAME, severity: 'none', node };
  const who = Object.keys(external).length ? ` (${Object.entries(external).map(([k, v]) => `${k}=${v}`).join(', ')})` : '';
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: {
      summary: `keepwatch on ${node}${who} is alive and can reach Alertmanager`,
      description:
        'This alert always fires while the keepwatch agent runs: it is a dead man\'s switch. Route it to a ' +
        'service that pages when it stops arriving (e.g. a route matching alertname="Watchdog" with a short ' +
        'repeat_interval), never to people. When it stops, the agent, its host or its path to Alertmanager is down.',
    },
    status: 'firing',
    startsAt,
  };
}
