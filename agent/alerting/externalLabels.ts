// Prometheus's external_labels: the labels that say which pair an alert comes from (cluster, site),
// added to every alert this agent sends, before it is routed, silenced, fingerprinted or given its
// incident. Many pairs page through one Alertmanager and often share keepalived's sample VRID 51
// and VI_1: without them, two pairs' split brains would be one alert, and one pair's resolve would
// end the other's page. As in Prometheus, a label the alert already has is left as it is.
import { fingerprint, type Alert } from './alert';

export type ExternalLabels = Readonly<Record<string, string>>;

/** The alert with the external labels it lacks, and the fingerprint of its full label set. */
export function withExternalLabels(alert: Alert, external: ExternalLabels): Alert {
  const missing = Object.keys(external).filter((k) => !Object.prototype.hasOwnProperty.call(alert.labels, k));
  if (!missing.length) return alert;
  const labels = { ...alert.labels };
  for (const k of missing) labels[k] = external[k];
  return { ...alert, labels, fingerprint: fingerprint(labels) };
}

/** Matchers (`name="value"`) that pin a silence to this pair: one per external label. */
export function externalLabelMatchers(external: ExternalLabels): string[] {
  return Object.keys(external)
    .sort()
    .map((k) => `${k}=${JSON.stringify(external[k])}`);
}
