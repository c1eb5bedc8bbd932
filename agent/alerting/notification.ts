// A notification: what one receiver is told about one alert group at one moment. It is created by
// the pipeline, stored in the outbox until the receiver accepts it, and rendered by the receiver.
// The idempotency key is fixed at creation and stored with it, so a re-send after a crash carries
// the same key and a receiver that dedups drops the duplicate.
import { createHash } from 'node:crypto';
import type { Alert } from './alert';
import type { IncidentNotice, IncidentStep } from './incident';
import { incidentTitle, outageLines } from './incidentText';

export type NotificationKind = 'group' | 'alertmanager' | 'alertmanager-resend' | 'test';

export interface Notification {
  /** Outbox sequence: strictly increasing in creation order, across restarts. */
  seq: number;
  idempotencyKey: string;
  receiver: string;
  kind: NotificationKind;
  /** Alertmanager's group key (route id + group labels). */
  groupKey: string;
  groupLabels: Record<string, string>;
  /** firing when any alert in it fires. */
  status: 'firing' | 'resolved';
  alerts: Alert[];
  /** ms since epoch. */
  createdAt: number;
  /** When the pipeline received the oldest alert change this notification reports (latency start). */
  triggeredAt: number;
  externalURL?: string;
  /** Set for a notification about an incident (grouped receivers): what to lead with and the timeline. */
  incident?: IncidentNotice;
}

export type NewNotification = Omit<Notification, 'seq' | 'idempotencyKey'>;

/** sha256 of receiver, group key, each alert's fingerprint+status, and the sequence: stable per notification. */
export function idempotencyKey(n: Pick<Notification, 'receiver' | 'groupKey' | 'alerts' | 'seq' | 'createdAt'>): string {
  const h = createHash('sha256');
  h.update(`${n.receiver}\u0000${n.groupKey}\u0000${n.seq}\u0000${n.createdAt}\u0000`);
  for (const a of [...n.alerts].sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : x.fingerprint > y.fingerprint ? 1 : 0))) {
    h.update(`${a.fingerprint}:${a.status}\u0001`);
  }
  return h.digest('hex').slice(0, 32);
}

/** Labels every alert of the list has with the same value (Alertmanager's commonLabels). */
export function commonLabels(alerts: Alert[], pick: (a: Alert) => Record<string, string> = (a) => a.labels): Record<string, string> {
  if (alerts.length === 0) return {};
  const out: Record<string, string> = { ...pick(alerts[0]) };
  for (const a of alerts.slice(1)) {
    const l = pick(a);
    for (const k of Object.keys(out)) if (l[k] !== out[k]) delete out[k];
  }
  return out;
}

export function firingCount(n: Notification): number {
  return n.alerts.filter((a) => a.status === 'firing').length;
}

/**
 * Alertmanager's default title: `[FIRING:2] SplitBrain vrid=51` (group labels, alertname first);
 * an incident's title leads with its cause instead (incidentTitle).
 */
export function notificationTitle(n: Notification): string {
  if (n.incident) return incidentTitle(n.incident);
  const firing = firingCount(n);
  const head = n.status === 'firing' ? `[FIRING:${firing}]` : `[RESOLVED]`;
  const gl = { ...n.groupLabels };
  const name = gl.alertname ?? commonLabels(n.alerts).alertname;
  delete gl.alertname;
  const rest = Object.keys(gl)
    .sort()
    .map((k) => `${k}=${gl[k]}`)
    .join(' ');
  return [head, name, rest].filter(Boolean).join(' ');
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function isoTime(ms: number | undefined): string {
  return ms === undefined ? ZERO_TIME : new Date(ms).toISOString();
}

/** Alertmanager's webhook payload (version 4), plus our idempotencyKey. */
export interface WebhookPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: Array<{
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }>;
  idempotencyKey: string;
  /** Set for an incident notification: the notice, times in RFC 3339. */
  incident?: WebhookIncident;
}

/** IncidentNotice as the webhook JSON carries it, with the title the other receivers show. */
export interface WebhookIncident {
  id: string;
  phase: IncidentNotice['phase'];
  title: string;
  cause: string;
  consequences: string[];
  openedAt: string;
  resolvedAt: string | null;
  /** Seconds from openedAt to resolvedAt (null while open). */
  durationSeconds: number | null;
  steps: Array<{ at: string; fingerprint: string; alertname: string; status: IncidentStep['status']; summary: string }>;
  /** The client-visible outage, when measured. */
  outage: string[];
}

export function webhookIncident(notice: IncidentNotice): WebhookIncident {
  return {
    id: notice.id,
    phase: notice.phase,
    title: incidentTitle(notice),
    cause: notice.cause,
    consequences: notice.consequences,
    openedAt: isoTime(notice.openedAt),
    resolvedAt: notice.resolvedAt === undefined ? null : isoTime(notice.resolvedAt),
    durationSeconds: notice.resolvedAt === undefined ? null : Math.max(0, notice.resolvedAt - notice.openedAt) / 1000,
    steps: notice.steps.map((s) => ({ at: isoTime(s.at), fingerprint: s.fingerprint, alertname: s.alertname, status: s.status, summary: s.summary })),
    outage: outageLines(notice),
  };
}

export function webhookPayload(n: Notification): WebhookPayload {
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: 0,
    status: n.status,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: commonLabels(n.alerts),
    commonAnnotations: commonLabels(n.alerts, (a) => a.annotations),
    externalURL: n.externalURL ?? '',
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: isoTime(a.startsAt),
      endsAt: isoTime(a.status === 'resolved' ? a.endsAt : undefined),
      generatorURL: a.generatorURL ?? n.externalURL ?? '',
      fingerprint: a.fingerprint,
    })),
    idempotencyKey: n.idempotencyKey,
    ...(n.incident ? { incident: webhookIncident(n.incident) } : {}),
  };
}
