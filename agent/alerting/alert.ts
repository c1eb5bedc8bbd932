// An alert, as the rules emit it and the pipeline delivers it. Shaped like Alertmanager's so the
// webhook and Alertmanager receivers pass it on unchanged.
import { createHash } from 'node:crypto';

export type Severity = 'critical' | 'warning' | 'info';

export interface Alert {
  /** Stable identity: hash of the identifying labels (same condition -> same fingerprint across restarts). */
  fingerprint: string;
  /** alertname, severity, node, vrid, iname, vip... (only the ones that apply). */
  labels: Record<string, string>;
  /** summary (one line) and description (what to check first); more keys allowed. */
  annotations: { summary: string; description: string } & Record<string, string>;
  status: 'firing' | 'resolved';
  /** ms since epoch. */
  startsAt: number;
  /** ms since epoch, set when resolved. */
  endsAt?: number;
  generatorURL?: string;
  /**
   * Who should page for it when several agents raise the same alert (see agent/alerting/delivery.ts):
   * 'node': the agent of the node in labels.node; 'cluster': one agent of the cluster.
   * Absent: this agent's own alert, always delivered.
   */
  scope?: 'cluster' | 'node';
  /** An event (Failover, PriorityChanged, a past split brain): it happened at startsAt; it does not
   *  keep an incident open while it stays firing for rules.event_hold. */
  event?: boolean;
  /** How close to a root cause its rule is (lower: more causal); the lowest leads its incident. */
  rank?: number;
  /** Found after it ended (a split brain seen only once the agents met again): published firing and
   *  at once resolved, and told to receivers once as a past incident. */
  past?: boolean;
}

/** Fingerprint of a label set: order-independent, 16 hex chars. */
export function fingerprint(labels: Record<string, string>): string {
  const h = createHash('sha256');
  for (const k of Object.keys(labels).sort()) h.update(`${k}\u0000${labels[k]}\u0001`);
  return h.digest('hex').slice(0, 16);
}
