// Who pages. Several agents watch one cluster and each evaluates every rule on the same merged
// view, so each raises the same alerts: without a decision an operator of a pair gets every page
// twice. The pipeline asks a DeliveryPolicy, at each group flush, whether this agent is the one
// to notify the grouped receivers (Slack, email, webhook) of a firing alert; alerts it does not
// deliver stay active everywhere else (API, metrics, status page, Alertmanager, which dedups by
// labels itself). The pipeline knows nothing of nodes or clusters: the alert's `scope` and the
// policy (agent/peers/deliveryPolicy.ts, one for the agent's life) decide. Resolves go
// out from whichever agent told the receiver that the alert fired. An incident (grouped by the
// incident label, the default) is decided once for all its alerts, by its anchor: its lead when
// first flushed (the lead may change as alerts join; who tells the story must not). Alertmanager
// receivers get each alert from the agent the policy names for it, and a past incident is told
// by the agent named for its alert, once.
import type { Alert } from './alert';

export interface DeliveryPolicy {
  /** Should this agent notify the receivers of this alert (or of the incident it anchors) now? */
  shouldDeliver(alert: Alert): boolean;
  /** The agent (node name) that delivers it, when known; for the API. */
  deliverer(alert: Alert): string | undefined;
}
