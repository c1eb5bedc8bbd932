// The alert pipeline, Alertmanager's dispatcher in small: alerts from the hub are routed to
// receivers and grouped; at each group flush the muted alerts are taken out (inhibited, then
// silenced: checked at flush time as Alertmanager does, so a silence that ends or a root cause
// that resolves un-mutes at the next flush), the notification log says whether anything is news,
// and a notification goes into the durable outbox.
//
// Incidents: before routing, the incident book (incidents.ts) gives every alert its incident and
// the label `incident=<id>`. The default grouping is by that label, and such a group tells its
// incident's story: a first notification as soon as its first alert fires, an update only when
// new firing alerts joined (at most once per group_interval; resolutions alone are not news while
// it is open, and neither are the events of its recovery, such as the failback once its cause has
// resolved), and one resolved notice with the whole timeline when the book resolves it; then the
// group is closed. Who tells an incident is decided by the delivery policy for its anchor alert
// (its lead when first flushed). An alert found after it ended (a split brain seen only once the
// agents met again) is a past incident, told once on every grouped route by the agent the
// policy names, whatever the route's grouping. Routes with their own group_by keep Alertmanager's
// per-group behaviour; their alerts carry the incident label too.
//
// Alertmanager receivers bypass the grouping: each alert change is pushed as it comes, and firing
// alerts are pushed again every resend_interval (Alertmanager groups, inhibits and silences them
// itself). Each alert is pushed only by the agent the delivery policy names for it (a node's
// alerts by that node's agent): two agents may give one alert different incident ids, and
// Alertmanager must see one label set per alert.
import type { Logger } from 'pino';
import type { Clock } from '../context';
import type { AlertHub } from '../module';
import type { ReceiverConfig } from '../config/schema';
import type { Alert } from './alert';
import { Grouper, type FlushOutcome, type GroupedAlert, type GroupView } from './grouper';
import { INCIDENT_LABEL, type Incident, type IncidentNotice } from './incident';
import { IncidentBook, causeOrder, incidentNotice } from './incidents';
import type { Inhibitor } from './inhibit';
import { needsUpdate, type NotificationLog } from './nflog';
import type { NewNotification, Notification } from './notification';
import { groupKey, groupLabels, matchRoutes, type Route } from './route';
import type { Silences } from './silences';
import type { DeliveryPolicy } from './delivery';
import { RESEND_EXPIRY_FACTOR } from './receivers/alertmanager';

export interface PipelineOutbox {
  enqueue(n: NewNotification): Notification;
  pending(receiver: string): Notification[];
}

export interface PipelineOptions {
  hub: AlertHub;
  clock: Clock;
  log: Logger;
  route: Route;
  receivers: ReceiverConfig[];
  inhibitor: Inhibitor;
  silences: Pick<Silences, 'silencedBy'>;
  nflog: NotificationLog;
  outbox: PipelineOutbox;
  externalURL?: string;
  /** Which agent tells the receivers (default: this one, everything); see delivery.ts. */
  delivery?: DeliveryPolicy;
  /** The incident book (default: in memory, settling after the root route's group_interval). */
  incidents?: IncidentBook;
}

export interface AlertStatus {
  state: 'active' | 'suppressed';
  silencedBy: string[];
  inhibitedBy: string[];
  receivers: string[];
}

interface AmTarget {
  cfg: Extract<ReceiverConfig, { type: 'alertmanager' }>;
  /** Every firing alert (pushed or not: the delivery may come here later). */
  active: Map<string, Alert>;
  /** Fingerprints pushed as firing by this agent (their resolve is this agent's to push). */
  pushed: Set<string>;
  pending: Map<string, GroupedAlert>;
  flushTimer?: NodeJS.Timeout;
  resendTimer?: NodeJS.Timeout;
}

/** A route that groups by incident tells incidents (first, update, end) rather than Alertmanager's groups. */
export function groupsByIncident(route: Route): boolean {
  return !route.groupByAll && route.groupBy.includes(INCIDENT_LABEL);
}

function withIncident(a: Alert, id: string): Alert {
  return a.labels[INCIDENT_LABEL] === id ? a : { ...a, labels: { ...a.labels, [INCIDENT_LABEL]: id } };
}

/** Whether a new event (a failover) is news: only while the incident's problem goes on, not in its recovery. */
function problemOngoing(inc: Incident): boolean {
  const lead = inc.alerts.find((a) => a.fingerprint === inc.cause);
  if (lead && !lead.event) return lead.status === 'firing';
  return inc.alerts.some((a) => !a.event && a.status === 'firing');
}

export class AlertPipeline {
  private readonly grouper: Grouper;
  private readonly receivers: Map<string, ReceiverConfig>;
  private readonly am = new Map<string, AmTarget>();
  readonly incidents: IncidentBook;
  private unsubscribe?: () => void;
  private unsubscribeBook?: () => void;
  private pastTimer?: NodeJS.Timeout;
  private amCatchUpTimer?: NodeJS.Timeout;

  constructor(private readonly o: PipelineOptions) {
    this.receivers = new Map(o.receivers.map((r) => [r.name, r]));
    this.grouper = new Grouper({ clock: o.clock, log: o.log, onFlush: (g, alerts) => this.flush(g, alerts) });
    this.incidents = o.incidents ?? new IncidentBook({ clock: o.clock, settleMs: o.route.groupInterval });
    for (const r of o.receivers) if (r.type === 'alertmanager') this.am.set(r.name, { cfg: r, active: new Map(), pushed: new Set(), pending: new Map() });
  }

  /**
   * Starts the incident book (from its store), subscribes to the hub and takes in what it already
   * knows (after a reload the new pipeline starts empty): the latest change of each recent alert,
   * then the firing ones. The notification log and the book keep this from paging again for what
   * was already paged; an end or a past notice that was due but not yet queued is queued now.
   */
  start(): void {
    const now = this.o.clock.now();
    this.incidents.start();
    this.unsubscribeBook = this.incidents.onResolved((inc) => this.endIncident(inc));
    const latest = new Map<string, Alert>();
    for (const a of this.o.hub.recent()) latest.set(a.fingerprint, a);
    for (const a of this.o.hub.active()) latest.set(a.fingerprint, a);
    this.unsubscribe = this.o.hub.subscribe((a) => this.ingest(a));
    for (const a of latest.values()) this.ingest(a, now, true);
    for (const inc of this.incidents.recent()) if (!inc.past) this.endIncident(inc);
    this.tellPast();
    for (const t of this.am.values()) {
      t.resendTimer = this.o.clock.setInterval(() => this.resend(t), t.cfg.resend_interval);
    }
    if (this.am.size && this.o.delivery) this.amCatchUpTimer = this.o.clock.setInterval(() => this.amCatchUp(), this.o.route.groupInterval);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.unsubscribeBook?.();
    this.unsubscribeBook = undefined;
    this.incidents.stop();
    this.grouper.stop();
    this.o.clock.clearTimeout(this.pastTimer);
    this.pastTimer = undefined;
    this.o.clock.clearInterval(this.amCatchUpTimer);
    for (const t of this.am.values()) {
      this.o.clock.clearTimeout(t.flushTimer);
      this.o.clock.clearInterval(t.resendTimer);
    }
  }

  private ingest(raw: Alert, receivedAt = this.o.clock.now(), replay = false): void {
    try {
      const inc = this.incidents.observe(raw);
      const alert = inc ? withIncident(raw, inc.id) : raw;
      const amDone = new Set<string>();
      for (const route of matchRoutes(this.o.route, alert.labels)) {
        const rc = this.receivers.get(route.receiver);
        if (!rc) continue;
        if (rc.type === 'alertmanager') {
          if (amDone.has(rc.name)) continue;
          amDone.add(rc.name);
          const t = this.am.get(rc.name)!;
          // A replayed resolve older than the expiry we gave Alertmanager has resolved there already.
          if (replay && alert.status === 'resolved' && (alert.endsAt ?? 0) < receivedAt - RESEND_EXPIRY_FACTOR * rc.resend_interval) continue;
          this.amAdd(t, alert, receivedAt);
        } else if (raw.past) {
          continue; // told once as a past incident (tellPast)
        } else if (groupsByIncident(route)) {
          // No incident (a resolve never seen firing), or its end was told: nothing more to say.
          if (!inc || inc.status !== 'open') continue;
          this.grouper.insert(route, alert, receivedAt);
          // A new fact after a quiet spell need not wait for the group's next tick: the last
          // notification is group_interval old already (at most one update per group_interval).
          const key = groupKey(route, groupLabels(route, alert.labels));
          const last = this.o.nflog.get(key, rc.name);
          if (alert.status === 'firing' && last && last.firing.length && last.at + route.groupInterval <= receivedAt) this.grouper.flushSoon(key);
        } else {
          this.grouper.insert(route, alert, receivedAt);
        }
      }
      if (inc?.past) this.tellPast();
    } catch (e) {
      this.o.log.error({ err: e, alert: raw.labels }, 'alert pipeline could not take an alert');
    }
  }

  /** What happens to an alert now: muted or not, by what, and which receivers it routes to. */
  alertStatus(alert: Alert): AlertStatus {
    const inhibitedBy = this.o.inhibitor.inhibitedBy(alert, this.o.hub.active());
    const silencedBy = this.o.silences.silencedBy(alert.labels);
    const receivers = [...new Set(matchRoutes(this.o.route, alert.labels).map((r) => r.receiver))];
    return { state: inhibitedBy.length || silencedBy.length ? 'suppressed' : 'active', silencedBy, inhibitedBy, receivers };
  }

  groups(): ReturnType<Grouper['list']> {
    return this.grouper.list();
  }

  private muted(a: Alert, firingAll: readonly Alert[]): boolean {
    return this.o.inhibitor.inhibitedBy(a, firingAll).length > 0 || this.o.silences.silencedBy(a.labels).length > 0;
  }

  private flush(g: GroupView, snapshot: GroupedAlert[]): FlushOutcome {
    if (groupsByIncident(g.route)) return this.flushIncident(g, snapshot);
    const rc = this.receivers.get(g.route.receiver);
    if (!rc) return;
    const now = this.o.clock.now();
    const firingAll = this.o.hub.active();
    const entry = this.o.nflog.get(g.key, rc.name);
    const toldFiring = new Set(entry?.firing ?? []);
    const firing: GroupedAlert[] = [];
    const resolved: GroupedAlert[] = [];
    const keptTold: string[] = [];
    for (const s of snapshot) {
      if (this.muted(s.alert, firingAll)) continue;
      if (s.alert.status === 'firing') {
        if (this.o.delivery && !this.o.delivery.shouldDeliver(s.alert)) {
          // Another agent pages for it. Not recorded as told (if the delivery moves here, the next
          // flush finds it news), unless this receiver was told already (its resolve must follow).
          if (toldFiring.has(s.alert.fingerprint)) keptTold.push(s.alert.fingerprint);
          continue;
        }
        firing.push(s);
      }
      // Unlike Alertmanager, a resolve is only news to a receiver that was told the alert fired:
      // an alert that fired and resolved between two flushes makes no "resolved" noise.
      else if (toldFiring.has(s.alert.fingerprint)) resolved.push(s);
    }
    const fset = new Set([...firing.map((s) => s.alert.fingerprint), ...keptTold]);
    const rset = new Set(resolved.map((s) => s.alert.fingerprint));
    if (!needsUpdate(entry, fset, rset, rc.send_resolved, g.route.repeatInterval, now)) return;
    const toSend = rc.send_resolved ? [...firing, ...resolved] : firing;
    if (toSend.length) {
      const before = { firing: new Set(entry?.firing ?? []), resolved: new Set(entry?.resolved ?? []) };
      const news = toSend.filter((s) => !(s.alert.status === 'firing' ? before.firing : before.resolved).has(s.alert.fingerprint));
      this.o.outbox.enqueue({
        receiver: rc.name,
        kind: 'group',
        groupKey: g.key,
        groupLabels: g.labels,
        status: firing.length ? 'firing' : 'resolved',
        alerts: toSend.map((s) => s.alert),
        createdAt: now,
        triggeredAt: news.length ? Math.min(...news.map((s) => s.receivedAt)) : now,
        externalURL: this.o.externalURL,
      });
    }
    this.o.nflog.record(g.key, rc.name, [...fset], [...rset]);
  }

  /** The latest version of each alert of the incident that falls in this group (of this route). */
  private groupAlerts(inc: Incident, route: Route, key: string): Alert[] {
    const out: Alert[] = [];
    for (const a0 of inc.alerts) {
      const a = withIncident(a0, inc.id);
      if (!matchRoutes(this.o.route, a.labels).includes(route)) continue;
      if (groupKey(route, groupLabels(route, a.labels)) === key) out.push(a);
    }
    return out.sort(causeOrder);
  }

  private enqueueIncident(rc: ReceiverConfig, key: string, labels: Record<string, string>, inc: Incident, phase: IncidentNotice['phase'], alerts: Alert[], triggeredAt: number, timeline?: Alert[]): void {
    this.o.outbox.enqueue({
      receiver: rc.name,
      kind: 'group',
      groupKey: key,
      groupLabels: labels,
      status: phase === 'first' || phase === 'update' ? 'firing' : 'resolved',
      alerts,
      createdAt: this.o.clock.now(),
      triggeredAt,
      externalURL: this.o.externalURL,
      incident: incidentNotice(inc, phase, alerts, timeline),
    });
  }

  /** A flush of an incident's group: its first notification, an update when there is news, or its end. */
  private flushIncident(g: GroupView, snapshot: GroupedAlert[]): FlushOutcome {
    const rc = this.receivers.get(g.route.receiver);
    const inc = this.incidents.get(g.labels[INCIDENT_LABEL] ?? '');
    if (!rc || !inc) return 'close';
    if (inc.status === 'resolved') {
      this.endGroup(g.route, rc, g.key, g.labels, inc);
      return 'close';
    }
    const now = this.o.clock.now();
    const firingAll = this.o.hub.active();
    const shown = this.groupAlerts(inc, g.route, g.key).filter((a) => !this.muted(a, firingAll));
    const firing = shown.filter((a) => a.status === 'firing');
    const receivedAt = new Map(snapshot.map((s) => [s.alert.fingerprint, s.receivedAt]));
    const since = (list: Alert[]) => (list.length ? Math.min(...list.map((a) => receivedAt.get(a.fingerprint) ?? now)) : now);
    const entry = this.o.nflog.get(g.key, rc.name);
    const told = new Set(entry?.firing ?? []);
    if (!entry || told.size === 0) {
      // Not told yet: this agent tells it if the policy names it for the incident's anchor.
      const anchor = this.incidents.anchor(inc.id);
      if (this.o.delivery && anchor && !this.o.delivery.shouldDeliver(anchor)) return 'keep';
      if (!firing.length) return 'keep';
      this.enqueueIncident(rc, g.key, g.labels, inc, 'first', firing, since(firing));
      this.o.nflog.record(g.key, rc.name, firing.map((a) => a.fingerprint), []);
      return 'keep';
    }
    const ongoing = problemOngoing(inc);
    const news = firing.filter((a) => !told.has(a.fingerprint) && (!a.event || ongoing));
    const reminder = firing.length > 0 && entry.at + g.route.repeatInterval <= now;
    if (!news.length && !reminder) return 'keep';
    const resolvedTold = rc.send_resolved ? shown.filter((a) => a.status === 'resolved' && told.has(a.fingerprint)) : [];
    this.enqueueIncident(rc, g.key, g.labels, inc, 'update', [...firing, ...resolvedTold], news.length ? since(news) : now);
    const firingTold = new Set([...told, ...firing.map((a) => a.fingerprint)]);
    const resolvedSent = new Set([...entry.resolved, ...resolvedTold.map((a) => a.fingerprint)]);
    this.o.nflog.record(g.key, rc.name, [...firingTold], [...resolvedSent]);
    return 'keep';
  }

  /** The incident is over: its end, with the timeline, to every receiver that was told it; its groups close. */
  private endIncident(inc: Incident): void {
    const groups = new Map<string, { route: Route; rc: ReceiverConfig; key: string; labels: Record<string, string> }>();
    for (const a0 of inc.alerts) {
      const a = withIncident(a0, inc.id);
      for (const route of matchRoutes(this.o.route, a.labels)) {
        const rc = this.receivers.get(route.receiver);
        if (!rc || rc.type === 'alertmanager' || !groupsByIncident(route)) continue;
        const labels = groupLabels(route, a.labels);
        const key = groupKey(route, labels);
        groups.set(`${rc.name}\u0000${key}`, { route, rc, key, labels });
      }
    }
    for (const { route, rc, key, labels } of groups.values()) {
      try {
        this.endGroup(route, rc, key, labels, inc);
        this.grouper.close(key);
      } catch (e) {
        // The group stays: its next flush finds the incident resolved and tries again.
        this.o.log.error({ err: e, receiver: rc.name, incident: inc.id }, 'cannot queue the end of an incident; will retry');
      }
    }
  }

  private endGroup(route: Route, rc: ReceiverConfig, key: string, labels: Record<string, string>, inc: Incident): void {
    const entry = this.o.nflog.get(key, rc.name);
    if (!entry || entry.firing.length === 0) return; // never told, or its end was told already
    // The end tells the whole story: every alert of the incident that is not silenced, now over,
    // also those that fired and resolved between two notifications (events still held firing for
    // rules.event_hold ended with the incident).
    const timeline = this.groupAlerts(inc, route, key).filter((a) => this.o.silences.silencedBy(a.labels).length === 0);
    const over = timeline
      .map((a) => (a.status === 'firing' ? { ...a, status: 'resolved' as const, endsAt: inc.resolvedAt ?? this.o.clock.now() } : a));
    if (rc.send_resolved && over.length) this.enqueueIncident(rc, key, labels, inc, 'resolved', over, this.o.clock.now(), timeline);
    this.o.nflog.record(key, rc.name, [], over.map((a) => a.fingerprint));
  }

  /**
   * Past incidents not told yet: told once on every grouped route by the agent the delivery policy
   * names for the alert; handled (and remembered by the book) once told or found another agent's.
   * While the policy cannot say yet (peers not heard from), asked again every group_interval.
   */
  private tellPast(): void {
    let waiting = false;
    for (const inc of this.incidents.pendingPast()) {
      const alert = inc.alerts[0] && withIncident(inc.alerts[0], inc.id);
      if (!alert) {
        this.incidents.markHandled(inc.id);
        continue;
      }
      const d = this.o.delivery;
      if (d && !d.shouldDeliver(alert)) {
        if (d.deliverer(alert) === undefined) waiting = true;
        else this.incidents.markHandled(inc.id); // another agent tells it
        continue;
      }
      try {
        const firingAll = this.o.hub.active();
        const done = new Set<string>();
        for (const route of matchRoutes(this.o.route, alert.labels)) {
          const rc = this.receivers.get(route.receiver);
          if (!rc || rc.type === 'alertmanager') continue;
          const labels = groupLabels(route, alert.labels);
          const key = groupKey(route, labels);
          const logKey = `past:${inc.id}:${key}`;
          if (done.has(`${rc.name}\u0000${logKey}`) || this.o.nflog.get(logKey, rc.name)) continue;
          done.add(`${rc.name}\u0000${logKey}`);
          if (!this.muted(alert, firingAll)) this.enqueueIncident(rc, key, labels, inc, 'past', [alert], this.o.clock.now());
          this.o.nflog.record(logKey, rc.name, [], [alert.fingerprint]);
        }
        this.incidents.markHandled(inc.id);
      } catch (e) {
        this.o.log.error({ err: e, incident: inc.id }, 'cannot queue a past incident; will retry');
        waiting = true;
      }
    }
    if (waiting && !this.pastTimer) {
      this.pastTimer = this.o.clock.setTimeout(() => {
        this.pastTimer = undefined;
        this.tellPast();
      }, this.o.route.groupInterval);
    }
  }

  private mine(alert: Alert): boolean {
    return !this.o.delivery || this.o.delivery.shouldDeliver(alert);
  }

  private amAdd(t: AmTarget, alert: Alert, receivedAt: number): void {
    if (alert.status === 'firing') {
      t.active.set(alert.fingerprint, alert);
      if (!this.mine(alert)) return;
      t.pushed.add(alert.fingerprint);
    } else {
      t.active.delete(alert.fingerprint);
      if (!t.pushed.delete(alert.fingerprint) && !this.mine(alert)) return;
    }
    const prev = t.pending.get(alert.fingerprint);
    t.pending.set(alert.fingerprint, { alert, receivedAt: prev ? Math.min(prev.receivedAt, receivedAt) : receivedAt });
    // Next tick: alerts published in the same evaluation go in one request.
    if (!t.flushTimer) t.flushTimer = this.o.clock.setTimeout(() => this.amFlush(t), 0);
  }

  /** Firing alerts whose delivery came to this agent since they fired (a peer went away, peers answered). */
  private amCatchUp(): void {
    for (const t of this.am.values()) {
      for (const a of t.active.values()) if (!t.pushed.has(a.fingerprint) && this.mine(a)) this.amAdd(t, a, this.o.clock.now());
    }
  }

  private amFlush(t: AmTarget): void {
    t.flushTimer = undefined;
    const items = [...t.pending.values()];
    if (!items.length) return;
    try {
      this.o.outbox.enqueue(this.amNotification(t, items.map((i) => i.alert), 'alertmanager', Math.min(...items.map((i) => i.receivedAt))));
      t.pending.clear();
    } catch (e) {
      this.o.log.error({ err: e, receiver: t.cfg.name }, 'cannot queue alerts for Alertmanager; will retry');
      t.flushTimer = this.o.clock.setTimeout(() => this.amFlush(t), 1000);
    }
  }

  /** Pushes every firing alert of this agent's again so Alertmanager does not let it expire (one pending resend at most). */
  private resend(t: AmTarget): void {
    // An alert whose delivery moved to another agent is left to it (it expires here, not doubled).
    const mine = [...t.active.values()].filter((a) => this.mine(a));
    t.pushed = new Set(mine.map((a) => a.fingerprint));
    if (!mine.length) return;
    if (this.o.outbox.pending(t.cfg.name).some((n) => n.kind === 'alertmanager-resend')) return;
    try {
      this.o.outbox.enqueue(this.amNotification(t, mine, 'alertmanager-resend', this.o.clock.now()));
    } catch (e) {
      this.o.log.error({ err: e, receiver: t.cfg.name }, 'cannot queue the Alertmanager resend');
    }
  }

  private amNotification(t: AmTarget, alerts: Alert[], kind: 'alertmanager' | 'alertmanager-resend', triggeredAt: number): NewNotification {
    return {
      receiver: t.cfg.name,
      kind,
      groupKey: `alertmanager:${t.cfg.name}`,
      groupLabels: {},
      status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      alerts,
      createdAt: this.o.clock.now(),
      triggeredAt,
      externalURL: this.o.externalURL,
    };
  }
}
