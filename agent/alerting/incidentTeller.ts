// How an incident is told on the routes that group by it (the default): a first notification as
// soon as its first alert fires, an update only when new firing alerts joined (at most once per
// group_interval; resolutions alone are not news while it is open, and neither are the events of
// its recovery, such as the failback once its cause has resolved), and one resolved notice with
// the whole timeline when the book resolves it; then the group is closed. Who tells an incident
// is decided by the delivery policy for its anchor alert (its lead when first flushed). An alert
// found after it ended (a split brain seen only once the agents met again) is a past incident,
// told once on every grouped route by the agent the policy names, whatever the route's grouping.
import type { Logger } from 'pino';
import type { ReceiverConfig } from '../config/schema';
import type { Clock } from '../context';
import type { Alert } from './alert';
import type { DeliveryPolicy } from './delivery';
import type { FlushOutcome, GroupedAlert, GroupView } from './grouper';
import { INCIDENT_LABEL, type Incident, type IncidentNotice } from './incident';
import { causeOrder, incidentNotice, type IncidentBook } from './incidents';
import type { NotificationLog } from './nflog';
import type { PipelineOutbox } from './pipeline';
import { groupKey, groupLabels, groupsByIncident, matchRoutes, type AlertRoute } from './route';
import type { Silences } from './silences';

export interface IncidentTellerOptions {
  clock: Clock;
  log: Logger;
  /** The root of the route tree. */
  route: AlertRoute;
  receivers: ReadonlyMap<string, ReceiverConfig>;
  incidents: IncidentBook;
  nflog: NotificationLog;
  outbox: Pick<PipelineOutbox, 'enqueue'>;
  silences: Pick<Silences, 'silencedBy'>;
  /** Whether an alert is muted now: inhibited by one of the firing alerts, or silenced. */
  muted(alert: Alert, firing: readonly Alert[]): boolean;
  /** Whether the route's mute / active time intervals hold its notifications now. */
  timeMuted(route: AlertRoute): boolean;
  /** The alerts firing now. */
  firing(): Alert[];
  /** Deletes an incident's group from the grouper once its end is told. */
  closeGroup(key: string): void;
  delivery?: DeliveryPolicy;
  externalURL?: string;
}

/** The alert as receivers see it: with the label of its incident. */
export function withIncident(a: Alert, id: string): Alert {
  return a.labels[INCIDENT_LABEL] === id ? a : { ...a, labels: { ...a.labels, [INCIDENT_LABEL]: id } };
}

/** Whether a new event (a failover) is news: only while the incident's problem goes on, not in its recovery. */
function problemOngoing(inc: Incident): boolean {
  const lead = inc.alerts.find((a) => a.fingerprint === inc.cause);
  if (lead && !lead.event) return lead.status === 'firing';
  return inc.alerts.some((a) => !a.event && a.status === 'firing');
}

export class IncidentTeller {
  private pastTimer?: NodeJS.Timeout;

  constructor(private readonly o: IncidentTellerOptions) {}

  stop(): void {
    this.o.clock.clearTimeout(this.pastTimer);
    this.pastTimer = undefined;
  }

  /** The latest version of each alert of the incident that falls in this group (of this route). */
  private groupAlerts(inc: Incident, route: AlertRoute, key: string): Alert[] {
    const out: Alert[] = [];
    for (const a0 of inc.alerts) {
      const a = withIncident(a0, inc.id);
      if (!matchRoutes(this.o.route, a.labels).includes(route)) continue;
      if (groupKey(route, groupLabels(route, a.labels)) === key) out.push(a);
    }
    return out.sort(causeOrder);
  }

  private enqueue(rc: ReceiverConfig, key: string, labels: Record<string, string>, inc: Incident, phase: IncidentNotice['phase'], alerts: Alert[], triggeredAt: number, timeline?: Alert[]): void {
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
  flush(g: GroupView, snapshot: GroupedAlert[]): FlushOutcome {
    const rc = this.o.receivers.get(g.route.receiver);
    const inc = this.o.incidents.get(g.labels[INCIDENT_LABEL] ?? '');
    if (!rc || !inc) return 'close';
    if (inc.status === 'resolved') return this.endGroup(g.route, rc, g.key, g.labels, inc) ? 'close' : 'keep';
    // Held by a time interval: the story is told from the first flush after it.
    if (this.o.timeMuted(g.route)) return 'keep';
    const now = this.o.clock.now();
    const firingAll = this.o.firing();
    const shown = this.groupAlerts(inc, g.route, g.key).filter((a) => !this.o.muted(a, firingAll));
    const firing = shown.filter((a) => a.status === 'firing');
    const receivedAt = new Map(snapshot.map((s) => [s.alert.fingerprint, s.receivedAt]));
    const since = (list: Alert[]) => (list.length ? Math.min(...list.map((a) => receivedAt.get(a.fingerprint) ?? now)) : now);
    const entry = this.o.nflog.get(g.key, rc.name);
    const told = new Set(entry?.firing ?? []);
    if (!entry || told.size === 0) {
      // Not told yet: this agent tells it if the policy names it for the incident's anchor.
      const anchor = this.o.incidents.anchor(inc.id);
      if (this.o.delivery && anchor && !this.o.delivery.shouldDeliver(anchor)) return 'keep';
      if (!firing.length) return 'keep';
      this.enqueue(rc, g.key, g.labels, inc, 'first', firing, since(firing));
      this.o.nflog.record(g.key, rc.name, firing.map((a) => a.fingerprint), []);
      return 'keep';
    }
    const ongoing = problemOngoing(inc);
    const news = firing.filter((a) => !told.has(a.fingerprint) && (!a.event || ongoing));
    const reminder = firing.length > 0 && entry.at + g.route.repeatInterval <= now;
    if (!news.length && !reminder) return 'keep';
    const resolvedTold = rc.send_resolved ? shown.filter((a) => a.status === 'resolved' && told.has(a.fingerprint)) : [];
    this.enqueue(rc, g.key, g.labels, inc, 'update', [...firing, ...resolvedTold], news.length ? since(news) : now);
    const firingTold = new Set([...told, ...firing.map((a) => a.fingerprint)]);
    const resolvedSent = new Set([...entry.resolved, ...resolvedTold.map((a) => a.fingerprint)]);
    this.o.nflog.record(g.key, rc.name, [...firingTold], [...resolvedSent]);
    return 'keep';
  }

  /** The incident is over: its end, with the timeline, to every receiver that was told it; its groups close. */
  end(inc: Incident): void {
    const groups = new Map<string, { route: AlertRoute; rc: ReceiverConfig; key: string; labels: Record<string, string> }>();
    for (const a0 of inc.alerts) {
      const a = withIncident(a0, inc.id);
      for (const route of matchRoutes(this.o.route, a.labels)) {
        const rc = this.o.receivers.get(route.receiver);
        if (!rc || rc.type === 'alertmanager' || !groupsByIncident(route)) continue;
        const labels = groupLabels(route, a.labels);
        const key = groupKey(route, labels);
        groups.set(`${rc.name}\u0000${key}`, { route, rc, key, labels });
      }
    }
    for (const { route, rc, key, labels } of groups.values()) {
      try {
        // Held by a time interval: the group stays, and its first flush after the window tells the end.
        if (this.endGroup(route, rc, key, labels, inc)) this.o.closeGroup(key);
      } catch (e) {
        // The group stays: its next flush finds the incident resolved and tries again.
        this.o.log.error({ err: e, receiver: rc.name, incident: inc.id }, 'cannot queue the end of an incident; will retry');
      }
    }
  }

  /** Tells the end of the incident on this group; false when a time interval holds it for now. */
  private endGroup(route: AlertRoute, rc: ReceiverConfig, key: string, labels: Record<string, string>, inc: Incident): boolean {
    const entry = this.o.nflog.get(key, rc.name);
    if (!entry || entry.firing.length === 0) return true; // never told, or its end was told already
    if (this.o.timeMuted(route)) return false;
    // The end tells the whole story: every alert of the incident that is not silenced, now over,
    // also those that fired and resolved between two notifications (events still held firing for
    // rules.event_hold ended with the incident).
    const timeline = this.groupAlerts(inc, route, key).filter((a) => this.o.silences.silencedBy(a.labels).length === 0);
    const over = timeline
      .map((a) => (a.status === 'firing' ? { ...a, status: 'resolved' as const, endsAt: inc.resolvedAt ?? this.o.clock.now() } : a));
    if (rc.send_resolved && over.length) this.enqueue(rc, key, labels, inc, 'resolved', over, this.o.clock.now(), timeline);
    this.o.nflog.record(key, rc.name, [], over.map((a) => a.fingerprint));
    return true;
  }

  /**
   * Past incidents not told yet: told once on every grouped route by the agent the delivery policy
   * names for the alert; handled (and remembered by the book) once told or found another agent's.
   * While the policy cannot say yet (peers not heard from), asked again every group_interval.
   */
  tellPast(): void {
    let waiting = false;
    for (const inc of this.o.incidents.pendingPast()) {
      const alert = inc.alerts[0] && withIncident(inc.alerts[0], inc.id);
      if (!alert) {
        this.o.incidents.markHandled(inc.id);
        continue;
      }
      const d = this.o.delivery;
      if (d && !d.shouldDeliver(alert)) {
        if (d.deliverer(alert) === undefined) waiting = true;
        else this.o.incidents.markHandled(inc.id); // another agent tells it
        continue;
      }
      try {
        const firingAll = this.o.firing();
        const done = new Set<string>();
        for (const route of matchRoutes(this.o.route, alert.labels)) {
          const rc = this.o.receivers.get(route.receiver);
          if (!rc || rc.type === 'alertmanager') continue;
          const labels = groupLabels(route, alert.labels);
          const key = groupKey(route, labels);
          const logKey = `past:${inc.id}:${key}`;
          if (done.has(`${rc.name}\u0000${logKey}`) || this.o.nflog.get(logKey, rc.name)) continue;
          done.add(`${rc.name}\u0000${logKey}`);
          if (!this.o.muted(alert, firingAll) && !this.o.timeMuted(route)) this.enqueue(rc, key, labels, inc, 'past', [alert], this.o.clock.now());
          this.o.nflog.record(logKey, rc.name, [], [alert.fingerprint]);
        }
        this.o.incidents.markHandled(inc.id);
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
}
