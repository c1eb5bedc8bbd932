// The incident book: turns the stream of alert changes into incidents (see incident.ts). One
// agent watches one cluster, so at most one incident is open at a time: a firing alert joins the
// open incident, else it opens a new one. An alert keeps the incident it was first given for life
// (assigned once per fingerprint and startsAt): after its incident ended, later changes of it
// (a Failover resolving at rules.event_hold) change nothing. The incident resolves when every
// alert in it that is not an event has resolved and nothing changed for `settle`: events
// (Failover, PriorityChanged) stay firing for event_hold but are over when they happen, so they
// never keep an incident open. An alert found after it ended (Alert.past) is an incident of its
// own, born resolved, told once.
//
// The book is kept in the outbox journal (like the notification log): a restart or a reload
// continues the same incident (same id, so no second page), and an incident that resolved
// while the agent was down still gets its end: the alerts the saved book holds as firing must be
// raised again within `confirm` of the start, else they are taken as resolved then. Bounded: the
// open incident, the last `maxResolved` resolved ones, and the keys of past alerts already told.
import { createHash } from 'node:crypto';
import type { Clock } from '../context';
import { fmtDuration } from '../format';
import type { Alert } from './alert';
import type { Incident, IncidentNotice, IncidentStep } from './incident';
import type { DurableState } from './outbox/stateStore';

/** Where the book persists (the outbox's state records); undefined value deletes. */
export interface IncidentStore {
  entries(): Iterable<[string, unknown]>;
  put(key: string, value: unknown): void;
}

export interface IncidentBookOptions {
  clock: Clock;
  /** Quiet time after the last change before an incident whose problems all resolved is over (the route's group_interval). */
  settleMs: number;
  /** Without a store it lives in memory only (tests, no receivers). */
  store?: IncidentStore;
  /** After a start from a saved book: how long its firing alerts may take to be raised again. */
  confirmMs?: number;
  /** Resolved incidents kept (for the API, and so late changes of their alerts are recognised). */
  maxResolved?: number;
  /** Keys (fingerprint@startsAt) of past alerts remembered so one found twice is told once. */
  maxPast?: number;
  /** Timeline steps kept per incident (the first and the latest). */
  maxSteps?: number;
}

/** What the book keeps per incident, persisted as one record. */
interface IncidentRecord {
  incident: Incident;
  /** fingerprint@startsAt of every alert occurrence given this incident. */
  members: string[];
  /** When the incident last changed (ms, the book's clock): the settle time counts from it. */
  changedAt: number;
  /** The alert (fingerprint) whose delivery policy decides who tells the receivers about it. */
  anchor?: string;
  /** Past incident: its notice was handled (told, or found to be another agent's to tell). */
  handled?: boolean;
}

const RECORD_PREFIX = 'inc:';
const PAST_PREFIX = 'past:';
const NO_RANK = Number.MAX_SAFE_INTEGER;

const memberKey = (a: Pick<Alert, 'fingerprint' | 'startsAt'>) => `${a.fingerprint}@${a.startsAt}`;

/** Causal order: lowest rank first, then the earliest start; the first of a list leads. */
export function causeOrder(a: Alert, b: Alert): number {
  return (a.rank ?? NO_RANK) - (b.rank ?? NO_RANK) || a.startsAt - b.startsAt;
}

/** The leading alert: lowest rank, ties the earliest (then the first listed). */
export function leadOf(alerts: readonly Alert[]): Alert | undefined {
  let best: Alert | undefined;
  for (const a of alerts) if (!best || causeOrder(a, best) < 0) best = a;
  return best;
}

/** `inc-` + 12 hex of sha256(fingerprint, openedAt): the same on every agent that saw the same first alert. */
export function incidentId(causeFingerprint: string, openedAt: number): string {
  return `inc-${createHash('sha256').update(`${causeFingerprint}\u0000${openedAt}`).digest('hex').slice(0, 12)}`;
}

/** Every alert that is not an event has resolved: nothing of the incident is still going on. */
function quiet(inc: Incident): boolean {
  return inc.alerts.every((a) => a.event || a.status === 'resolved');
}

function isIncidentRecord(v: unknown): v is IncidentRecord {
  const e = v as IncidentRecord;
  return Boolean(e?.incident) && typeof e.incident.id === 'string' && Array.isArray(e.incident.alerts) && Array.isArray(e.members) && typeof e.changedAt === 'number';
}

export class IncidentBook {
  private readonly entries = new Map<string, IncidentRecord>();
  /** fingerprint@startsAt -> incident id. */
  private readonly assigned = new Map<string, string>();
  /** Past alerts seen: fingerprint@startsAt -> when found. */
  private readonly past = new Map<string, number>();
  private readonly listeners = new Set<(inc: Incident) => void>();
  private openId?: string;
  private settleTimer?: NodeJS.Timeout;
  private confirmTimer?: NodeJS.Timeout;
  /** Fingerprints the saved book held as firing, not raised again since this start. */
  private unconfirmed = new Set<string>();
  private readonly maxResolved: number;
  private readonly maxPast: number;
  private readonly maxSteps: number;
  private readonly confirmMs: number;

  constructor(private readonly o: IncidentBookOptions) {
    this.maxResolved = o.maxResolved ?? 50;
    this.maxPast = o.maxPast ?? 200;
    this.maxSteps = o.maxSteps ?? 200;
    this.confirmMs = o.confirmMs ?? 60_000;
  }

  /** Calls fn with each incident when it resolves (not for past incidents: they are born resolved). */
  onResolved(fn: (inc: Incident) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * (Re)reads the store (call after the outbox is open; again after stop() on a reload) and
   * starts the timers: the open incident's firing alerts must be raised again within confirm.
   */
  start(): void {
    this.stop();
    this.entries.clear();
    this.assigned.clear();
    this.past.clear();
    this.openId = undefined;
    this.unconfirmed = new Set();
    for (const [k, v] of this.o.store?.entries() ?? []) {
      if (k.startsWith(PAST_PREFIX) && typeof v === 'number') this.past.set(k.slice(PAST_PREFIX.length), v);
      else if (k.startsWith(RECORD_PREFIX) && isIncidentRecord(v)) this.entries.set(v.incident.id, v);
    }
    const open = [...this.entries.values()].filter((e) => e.incident.status === 'open').sort((a, b) => a.incident.openedAt - b.incident.openedAt);
    // Only ever one open; should a saved book hold more, the latest is the open one, the others end now.
    for (const e of open.slice(0, -1)) this.resolve(e, false);
    for (const e of this.entries.values()) for (const m of e.members) this.assigned.set(m, e.incident.id);
    const cur = open[open.length - 1];
    if (cur) {
      this.openId = cur.incident.id;
      for (const a of cur.incident.alerts) if (a.status === 'firing' && !a.event) this.unconfirmed.add(a.fingerprint);
      if (this.unconfirmed.size) this.confirmTimer = this.o.clock.setTimeout(() => this.giveUpUnconfirmed(cur), this.confirmMs);
      this.scheduleSettle();
    }
  }

  stop(): void {
    this.o.clock.clearTimeout(this.settleTimer);
    this.o.clock.clearTimeout(this.confirmTimer);
    this.settleTimer = undefined;
    this.confirmTimer = undefined;
  }

  /**
   * Takes one alert change; returns the incident the alert belongs to (undefined: none, e.g. a
   * resolve of an alert never seen firing, or the firing half of a past alert).
   */
  observe(alert: Alert): Incident | undefined {
    const key = memberKey(alert);
    if (alert.past) return alert.status === 'resolved' ? this.observePast(alert, key) : undefined;
    const id = this.assigned.get(key);
    if (id !== undefined) {
      const e = this.entries.get(id);
      if (!e) return undefined;
      if (e.incident.status === 'open') this.update(e, alert);
      return e.incident;
    }
    let e = this.openId !== undefined ? this.entries.get(this.openId) : undefined;
    if (alert.status !== 'firing') {
      // A resolve whose start we never saw (a publisher that did not keep it): the resolve of
      // the same alert firing in the open incident, if there is one; it keeps that start, so
      // the alert keeps one label set (Alertmanager tells alerts apart by labels).
      const firing = e?.incident.alerts.find((a) => a.fingerprint === alert.fingerprint && a.status === 'firing');
      if (!e || !firing) return undefined;
      this.update(e, { ...alert, startsAt: firing.startsAt });
      return e.incident;
    }
    if (!e) {
      const inc: Incident = { id: incidentId(alert.fingerprint, alert.startsAt), status: 'open', openedAt: alert.startsAt, cause: alert.fingerprint, alerts: [], steps: [], past: false };
      e = { incident: inc, members: [], changedAt: this.o.clock.now() };
      this.entries.set(inc.id, e);
      this.openId = inc.id;
    }
    e.members.push(key);
    this.assigned.set(key, e.incident.id);
    this.update(e, alert);
    return e.incident;
  }

  private observePast(alert: Alert, key: string): Incident | undefined {
    if (this.past.has(key) || this.assigned.has(key)) {
      const id = this.assigned.get(key);
      return id !== undefined ? this.entries.get(id)?.incident : undefined;
    }
    const endsAt = alert.endsAt ?? alert.startsAt;
    const inc: Incident = {
      id: incidentId(alert.fingerprint, alert.startsAt),
      status: 'resolved',
      openedAt: alert.startsAt,
      resolvedAt: endsAt,
      cause: alert.fingerprint,
      alerts: [alert],
      steps: [this.step(alert, 'firing'), this.step(alert, 'resolved')],
      past: true,
    };
    const e: IncidentRecord = { incident: inc, members: [key], changedAt: this.o.clock.now(), anchor: alert.fingerprint };
    this.entries.set(inc.id, e);
    this.assigned.set(key, inc.id);
    this.past.set(key, this.o.clock.now());
    this.o.store?.put(PAST_PREFIX + key, this.o.clock.now());
    this.trimPast();
    this.persist(e);
    this.evict();
    return inc;
  }

  private step(a: Alert, status: 'firing' | 'resolved', note = ''): IncidentStep {
    return { at: status === 'firing' ? a.startsAt : (a.endsAt ?? this.o.clock.now()), fingerprint: a.fingerprint, alertname: a.labels.alertname ?? '', status, summary: a.annotations.summary + note };
  }

  private update(e: IncidentRecord, alert: Alert): void {
    const inc = e.incident;
    const i = inc.alerts.findIndex((a) => a.fingerprint === alert.fingerprint);
    const prev = i >= 0 ? inc.alerts[i] : undefined;
    if (prev && prev.status === alert.status && prev.startsAt === alert.startsAt && prev.endsAt === alert.endsAt) {
      this.unconfirmed.delete(alert.fingerprint);
      if (prev.annotations !== alert.annotations) inc.alerts[i] = alert; // the latest text, for the end notice
      return;
    }
    // A resolve of an older occurrence must not replace a newer one (an event superseded by the next).
    const older = prev !== undefined && alert.startsAt < prev.startsAt;
    // Raised again (after a restart, or a new occurrence while still firing): same fact, no new step.
    const repeat = prev !== undefined && prev.status === 'firing' && alert.status === 'firing';
    if (!older) {
      if (i >= 0) inc.alerts[i] = alert;
      else inc.alerts.push(alert);
    }
    if (alert.status === 'firing') this.unconfirmed.delete(alert.fingerprint);
    if (!repeat) this.addStep(inc, this.step(alert, alert.status));
    inc.openedAt = Math.min(inc.openedAt, alert.startsAt);
    inc.cause = leadOf(inc.alerts)!.fingerprint;
    if (!repeat) e.changedAt = this.o.clock.now();
    this.persist(e);
    this.scheduleSettle();
  }

  private addStep(inc: Incident, s: IncidentStep): void {
    let at = inc.steps.length;
    while (at > 0 && inc.steps[at - 1].at > s.at) at--;
    inc.steps.splice(at, 0, s);
    if (inc.steps.length > this.maxSteps) inc.steps.splice(1, inc.steps.length - this.maxSteps);
  }

  private scheduleSettle(): void {
    this.o.clock.clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    const e = this.openId !== undefined ? this.entries.get(this.openId) : undefined;
    if (!e || !quiet(e.incident)) return;
    const wait = Math.max(0, e.changedAt + this.o.settleMs - this.o.clock.now());
    this.settleTimer = this.o.clock.setTimeout(() => {
      this.settleTimer = undefined;
      if (e.incident.status === 'open' && quiet(e.incident) && this.o.clock.now() - e.changedAt >= this.o.settleMs) this.resolve(e, true);
      else this.scheduleSettle();
    }, wait);
  }

  /** The saved book's firing alerts not raised again since the start are over (they ended while the agent was down). */
  private giveUpUnconfirmed(e: IncidentRecord): void {
    this.confirmTimer = undefined;
    if (e.incident.status !== 'open') return;
    const now = this.o.clock.now();
    const note = ` (not raised again within ${fmtDuration(this.confirmMs)} of the agent's restart: over)`;
    for (const fp of this.unconfirmed) {
      const i = e.incident.alerts.findIndex((a) => a.fingerprint === fp);
      const a = e.incident.alerts[i];
      if (!a || a.status !== 'firing') continue;
      const r: Alert = { ...a, status: 'resolved', endsAt: now };
      e.incident.alerts[i] = r;
      this.addStep(e.incident, this.step(r, 'resolved', note));
    }
    this.unconfirmed.clear();
    e.changedAt = now;
    this.persist(e);
    this.scheduleSettle();
  }

  private resolve(e: IncidentRecord, notify: boolean): void {
    const inc = e.incident;
    inc.status = 'resolved';
    inc.resolvedAt = Math.max(inc.openedAt, ...inc.steps.map((s) => s.at));
    if (this.openId === inc.id) this.openId = undefined;
    this.persist(e);
    this.evict();
    if (notify) for (const fn of this.listeners) fn(inc);
  }

  private persist(e: IncidentRecord): void {
    this.o.store?.put(RECORD_PREFIX + e.incident.id, e);
  }

  /** Keeps the open incident and the latest maxResolved resolved ones. */
  private evict(): void {
    const resolved = [...this.entries.values()].filter((e) => e.incident.status === 'resolved').sort((a, b) => (b.incident.resolvedAt ?? 0) - (a.incident.resolvedAt ?? 0) || b.changedAt - a.changedAt);
    for (const e of resolved.slice(this.maxResolved)) {
      // An unhandled past incident stays until it is handled (its notice is still due).
      if (e.incident.past && !e.handled) continue;
      this.entries.delete(e.incident.id);
      for (const m of e.members) if (this.assigned.get(m) === e.incident.id) this.assigned.delete(m);
      this.o.store?.put(RECORD_PREFIX + e.incident.id, undefined);
    }
  }

  private trimPast(): void {
    if (this.past.size <= this.maxPast) return;
    const oldest = [...this.past].sort((a, b) => a[1] - b[1]).slice(0, this.past.size - this.maxPast);
    for (const [k] of oldest) {
      this.past.delete(k);
      this.o.store?.put(PAST_PREFIX + k, undefined);
    }
  }

  get(id: string): Incident | undefined {
    return this.entries.get(id)?.incident;
  }

  /** The incident open now, if any. */
  current(): Incident | undefined {
    return this.openId !== undefined ? this.entries.get(this.openId)?.incident : undefined;
  }

  /** Resolved incidents, latest first. */
  recent(): Incident[] {
    return [...this.entries.values()]
      .filter((e) => e.incident.status === 'resolved')
      .sort((a, b) => (b.incident.resolvedAt ?? 0) - (a.incident.resolvedAt ?? 0))
      .map((e) => e.incident);
  }

  /** The alert whose delivery decides who tells about this incident: the lead when first asked, then fixed
   *  (the lead may change as alerts join; who pages must not). pin false: only look (the API). */
  anchor(id: string, pin = true): Alert | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.anchor === undefined && pin) {
      e.anchor = e.incident.cause;
      this.persist(e);
    }
    const fp = e.anchor ?? e.incident.cause;
    return e.incident.alerts.find((a) => a.fingerprint === fp);
  }

  /** The incident an alert (this occurrence of it) was given, if any. */
  incidentOf(alert: Pick<Alert, 'fingerprint' | 'startsAt'>): Incident | undefined {
    const id = this.assigned.get(memberKey(alert));
    return id !== undefined ? this.entries.get(id)?.incident : undefined;
  }

  /** Past incidents whose notice is still to be handled. */
  pendingPast(): Incident[] {
    return [...this.entries.values()].filter((e) => e.incident.past && !e.handled).map((e) => e.incident);
  }

  markHandled(id: string): void {
    const e = this.entries.get(id);
    if (!e || e.handled) return;
    e.handled = true;
    this.persist(e);
    this.evict();
  }
}

/** The incident book's store in the outbox journal, under a key prefix. */
export function outboxIncidentStore(outbox: DurableState, prefix = 'incidents/'): IncidentStore {
  return {
    *entries() {
      for (const [k, v] of outbox.states()) if (k.startsWith(prefix)) yield [k.slice(prefix.length), v];
    },
    put(k, v) {
      outbox.putState(prefix + k, v);
    },
  };
}

/**
 * What a notification says about its incident: the lead among the alerts it lists (so a
 * silenced alert never leads), the others most causal first, the outage lines they carry, and
 * the timeline of `timeline` (default: the listed alerts; the end tells every step of the
 * alerts not silenced, those the receiver was never paged for included).
 */
export function incidentNotice(inc: Incident, phase: IncidentNotice['phase'], listed: readonly Alert[], timeline: readonly Alert[] = listed): IncidentNotice {
  const sorted = [...listed].sort(causeOrder);
  const lead = sorted[0] ?? inc.alerts.find((a) => a.fingerprint === inc.cause);
  const fps = new Set(timeline.map((a) => a.fingerprint));
  return {
    id: inc.id,
    phase,
    cause: lead?.annotations.summary ?? '',
    consequences: sorted.slice(1).map((a) => a.annotations.summary),
    openedAt: inc.openedAt,
    ...(inc.resolvedAt !== undefined && inc.status === 'resolved' ? { resolvedAt: inc.resolvedAt } : {}),
    steps: inc.steps.filter((s) => fps.has(s.fingerprint)),
    outage: [...listed]
      .filter((a) => a.annotations.outage)
      .sort((a, b) => a.startsAt - b.startsAt)
      .map((a) => a.annotations.outage),
  };
}
