// An incident: the alerts of one pair that share a cause, told to a person as one story. Alerts
// that fire while an incident is open join it; the one whose rule ranks closest to a root cause
// (Alert.rank: keepalived dying before the failover it causes) leads, the others are its
// consequences. Each receiver gets a first notification when the incident opens, an update when
// new facts join it (at most once per group_interval), and one resolved notice with the timeline
// when it ends. The pipeline builds incidents; receivers render them (threading by incident id).
import type { Alert } from './alert';

export type IncidentStatus = 'open' | 'resolved';

/** One line of an incident's timeline: an alert that fired or resolved, at its own time. */
export interface IncidentStep {
  /** ms since epoch: the alert's startsAt (fired) or endsAt (resolved). */
  at: number;
  fingerprint: string;
  alertname: string;
  status: 'firing' | 'resolved';
  summary: string;
}

export interface Incident {
  /** Stable id (`inc-` + 12 hex): the `incident` label, the email thread and the Slack thread. */
  id: string;
  status: IncidentStatus;
  /** ms since epoch: the earliest startsAt of its alerts. */
  openedAt: number;
  /** ms since epoch, when resolved. */
  resolvedAt?: number;
  /** Fingerprint of the alert that leads (the most root-cause-like one so far). */
  cause: string;
  /** The latest version of each alert of the incident, by fingerprint. */
  alerts: Alert[];
  /** Every firing and resolving step, oldest first. */
  steps: IncidentStep[];
  /** Found after it ended (e.g. a split brain seen only once the agents met again). */
  past: boolean;
}

/** What a notification says about its incident, when it is an incident notification. */
export interface IncidentNotice {
  id: string;
  /** first: the incident opened; update: facts joined; resolved: the end, with the timeline;
   *  past: an incident that began and ended unseen, told once after the fact. */
  phase: 'first' | 'update' | 'resolved' | 'past';
  /** The leading alert's summary: what the page leads with. */
  cause: string;
  /** Summaries of the other alerts known so far, most causal first. */
  consequences: string[];
  openedAt: number;
  resolvedAt?: number;
  steps: IncidentStep[];
  /** Client-visible outage lines (the `outage` annotation of its alerts, e.g. a Failover's), oldest first. */
  outage: string[];
}

/** The label every alert of an incident carries to receivers (webhook, Alertmanager). */
export const INCIDENT_LABEL = 'incident';
