// The alert pipeline, Alertmanager's dispatcher in small: alerts from the hub are routed to
// receivers and grouped; at each group flush the muted alerts are taken out (inhibited, then
// silenced: checked at flush time as Alertmanager does, so a silence that ends or a root cause
// that resolves un-mutes at the next flush), the notification log says whether anything is news,
// and a notification goes into the durable outbox.
//
// Incidents: before routing, the incident book (incidents.ts) gives every alert its incident and
// the label `incident=<id>`. The default grouping is by that label, and such a group tells its
// incident's story (incidentTeller.ts). Routes with their own group_by keep Alertmanager's
// per-group behaviour; their alerts carry the incident label too. Alertmanager receivers bypass
// the grouping (alertmanagerPush.ts).
//
// Every alert gets the pair's external labels first (externalLabels.ts): routes, silences,
// inhibitions, fingerprints and incident ids all see the labels the receivers see. A route's
// mute_time_intervals / active_time_intervals (timeIntervals.ts) hold its notifications at flush
// time, as Alertmanager's notification pipeline does; pushes to Alertmanager are not held (it
// applies its own time intervals, and alerts not re-sent would expire there).
import type { Logger } from 'pino';
import type { Clock } from '../context';
import type { AlertHub } from '../module';
import type { AlertmanagerReceiverConfig, ReceiverConfig } from '../config/schema';
import type { Alert } from './alert';
import { AlertmanagerPush } from './alertmanagerPush';
import { Grouper, type FlushOutcome, type GroupedAlert, type GroupView } from './grouper';
import { IncidentTeller, withIncident } from './incidentTeller';
import { IncidentBook } from './incidents';
import type { Inhibitor } from './inhibit';
import { needsUpdate, type NotificationLog } from './nflog';
import type { NewNotification, Notification } from './notification';
import { groupKey, groupLabels, groupsByIncident, matchRoutes, type AlertRoute } from './route';
import type { Silences } from './silences';
import type { DeliveryPolicy } from './delivery';
import { withExternalLabels, type ExternalLabels } from './externalLabels';
import type { TimeIntervals } from './timeIntervals';
import { watchdogAlert } from './watchdog';

/** What the pipeline needs of the outbox. */
export interface PipelineOutbox {
  enqueue(n: NewNotification): Notification;
  pending(receiver: string): Notification[];
}

export interface PipelineOptions {
  hub: AlertHub;
  clock: Clock;
  log: Logger;
  route: AlertRoute;
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
  /** alerting.external_labels: on every alert (default none). */
  externalLabels?: ExternalLabels;
  /** alerting.time_intervals, for the routes' mute and active time intervals. */
  timeIntervals?: TimeIntervals;
  /** This node's name: with it, a Watchdog alert is pushed to every Alertmanager receiver. */
  node?: string;
}

export interface AlertStatus {
  state: 'active' | 'suppressed';
  silencedBy: string[];
  inhibitedBy: string[];
  receivers: string[];
}

export class AlertPipeline {
  private readonly grouper: Grouper;
  private readonly receivers: Map<string, ReceiverConfig>;
  private readonly teller: IncidentTeller;
  private readonly alertmanager: AlertmanagerPush;
  readonly incidents: IncidentBook;
  private unsubscribe?: () => void;
  private unsubscribeBook?: () => void;

  private readonly external: ExternalLabels;

  constructor(private readonly o: PipelineOptions) {
    this.external = o.externalLabels ?? {};
    this.receivers = new Map(o.receivers.map((r) => [r.name, r]));
    this.grouper = new Grouper({ clock: o.clock, log: o.log, onFlush: (g, alerts) => this.flush(g, alerts) });
    this.incidents = o.incidents ?? new IncidentBook({ clock: o.clock, settleMs: o.route.groupInterval });
    this.teller = new IncidentTeller({
      clock: o.clock,
      log: o.log,
      route: o.route,
      receivers: this.receivers,
      incidents: this.incidents,
      nflog: o.nflog,
      outbox: o.outbox,
      silences: o.silences,
      muted: (a, firing) => this.muted(a, firing),
      timeMuted: (route) => this.timeMuted(route),
      firing: () => this.firing(),
      closeGroup: (key) => this.grouper.close(key),
      delivery: o.delivery,
      externalURL: o.externalURL,
    });
    this.alertmanager = new AlertmanagerPush({
      clock: o.clock,
      log: o.log,
      outbox: o.outbox,
      receivers: o.receivers.filter((r): r is AlertmanagerReceiverConfig => r.type === 'alertmanager'),
      delivery: o.delivery,
      catchUpMs: o.route.groupInterval,
      externalURL: o.externalURL,
      watchdog: o.node !== undefined ? watchdogAlert(o.node, this.external, o.clock.now()) : undefined,
    });
  }

  /** The alert as this agent sends it: with the external labels (and their fingerprint). */
  labelled(a: Alert): Alert {
    return withExternalLabels(a, this.external);
  }

  private firing(): Alert[] {
    return this.o.hub.active().map((a) => this.labelled(a));
  }

  /** Whether the route's time intervals hold its notifications now. */
  private timeMuted(route: AlertRoute): boolean {
    return this.o.timeIntervals !== undefined && this.o.timeIntervals.muted(route, this.o.clock.now());
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
    this.unsubscribeBook = this.incidents.onResolved((inc) => this.teller.end(inc));
    const latest = new Map<string, Alert>();
    for (const a of this.o.hub.recent()) latest.set(a.fingerprint, a);
    for (const a of this.o.hub.active()) latest.set(a.fingerprint, a);
    this.unsubscribe = this.o.hub.subscribe((a) => this.ingest(a));
    for (const a of latest.values()) this.ingest(a, now, true);
    for (const inc of this.incidents.recent()) if (!inc.past) this.teller.end(inc);
    this.teller.tellPast();
    this.alertmanager.start();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.unsubscribeBook?.();
    this.unsubscribeBook = undefined;
    this.incidents.stop();
    this.grouper.stop();
    this.teller.stop();
    this.alertmanager.stop();
  }

  private ingest(published: Alert, receivedAt = this.o.clock.now(), replay = false): void {
    const raw = this.labelled(published);
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
          this.alertmanager.add(rc.name, alert, receivedAt, replay);
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
      if (inc?.past) this.teller.tellPast();
    } catch (e) {
      this.o.log.error({ err: e, alert: raw.labels }, 'alert pipeline could not take an alert');
    }
  }

  /** What happens to an alert (as sent: labelled) now: muted or not, by what, and which receivers it routes to. */
  alertStatus(alert: Alert): AlertStatus {
    const inhibitedBy = this.o.inhibitor.inhibitedBy(alert, this.firing());
    const silencedBy = this.o.silences.silencedBy(alert.labels);
    const receivers = [...new Set(matchRoutes(this.o.route, alert.labels).map((r) => r.receiver))];
    return { state: inhibitedBy.length || silencedBy.length ? 'suppressed' : 'active', silencedBy, inhibitedBy, receivers };
  }

  private muted(a: Alert, firingAll: readonly Alert[]): boolean {
    return this.o.inhibitor.inhibitedBy(a, firingAll).length > 0 || this.o.silences.silencedBy(a.labels).length > 0;
  }

  private flush(g: GroupView, snapshot: GroupedAlert[]): FlushOutcome {
    if (groupsByIncident(g.route)) return this.teller.flush(g, snapshot);
    const rc = this.receivers.get(g.route.receiver);
    if (!rc) return;
    // Held by a time interval: nothing sent, nothing recorded; the first flush after it tells what is news.
    if (this.timeMuted(g.route)) return;
    const now = this.o.clock.now();
    const firingAll = this.firing();
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
}
