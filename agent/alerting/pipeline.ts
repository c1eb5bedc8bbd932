// The alert pipeline, Alertmanager's dispatcher in small: alerts from the hub are routed to
// receivers and grouped; at each group flush the muted alerts are taken out (inhibited, then
// silenced: checked at flush time as Alertmanager does, so a silence that ends or a root cause
// that resolves un-mutes at the next flush), the notification log says whether anything is news,
// and a notification goes into the durable outbox. Alertmanager receivers bypass the grouping:
// each alert change is pushed as it comes, and firing alerts are pushed again every
// resend_interval (Alertmanager groups, inhibits and silences them itself).
import type { Logger } from 'pino';
import type { Clock } from '../context';
import type { AlertHub } from '../module';
import type { ReceiverConfig } from '../config/schema';
import type { Alert } from './alert';
import { Grouper, type GroupedAlert, type GroupView } from './grouper';
import type { Inhibitor } from './inhibit';
import { needsUpdate, type NotificationLog } from './nflog';
import type { NewNotification, Notification } from './notification';
import { matchRoutes, type Route } from './route';
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
  /** Which firing alerts this agent pages for (default: all); see delivery.ts. Alertmanager receivers get every alert. */
  delivery?: DeliveryPolicy;
}

export interface AlertStatus {
  state: 'active' | 'suppressed';
  silencedBy: string[];
  inhibitedBy: string[];
  receivers: string[];
}

interface AmTarget {
  cfg: Extract<ReceiverConfig, { type: 'alertmanager' }>;
  active: Map<string, Alert>;
  pending: Map<string, GroupedAlert>;
  flushTimer?: NodeJS.Timeout;
  resendTimer?: NodeJS.Timeout;
}

export class AlertPipeline {
  private readonly grouper: Grouper;
  private readonly receivers: Map<string, ReceiverConfig>;
  private readonly am = new Map<string, AmTarget>();
  private unsubscribe?: () => void;

  constructor(private readonly o: PipelineOptions) {
    this.receivers = new Map(o.receivers.map((r) => [r.name, r]));
    this.grouper = new Grouper({ clock: o.clock, log: o.log, onFlush: (g, alerts) => this.flush(g, alerts) });
    for (const r of o.receivers) if (r.type === 'alertmanager') this.am.set(r.name, { cfg: r, active: new Map(), pending: new Map() });
  }

  /**
   * Subscribes to the hub and takes in what it already knows (after a reload the new pipeline
   * starts empty): the latest change of each recent alert, then the firing ones. The notification
   * log keeps this from paging again for what was already paged.
   */
  start(): void {
    const now = this.o.clock.now();
    const latest = new Map<string, Alert>();
    for (const a of this.o.hub.recent()) latest.set(a.fingerprint, a);
    for (const a of this.o.hub.active()) latest.set(a.fingerprint, a);
    this.unsubscribe = this.o.hub.subscribe((a) => this.ingest(a));
    for (const a of latest.values()) this.ingest(a, now, true);
    for (const t of this.am.values()) {
      t.resendTimer = this.o.clock.setInterval(() => this.resend(t), t.cfg.resend_interval);
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.grouper.stop();
    for (const t of this.am.values()) {
      this.o.clock.clearTimeout(t.flushTimer);
      this.o.clock.clearInterval(t.resendTimer);
    }
  }

  private ingest(alert: Alert, receivedAt = this.o.clock.now(), replay = false): void {
    try {
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
        } else {
          this.grouper.insert(route, alert, receivedAt);
        }
      }
    } catch (e) {
      this.o.log.error({ err: e, alert: alert.labels }, 'alert pipeline could not take an alert');
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

  private flush(g: GroupView, snapshot: GroupedAlert[]): void {
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
      if (this.o.inhibitor.inhibitedBy(s.alert, firingAll).length) continue;
      if (this.o.silences.silencedBy(s.alert.labels).length) continue;
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

  private amAdd(t: AmTarget, alert: Alert, receivedAt: number): void {
    if (alert.status === 'firing') t.active.set(alert.fingerprint, alert);
    else t.active.delete(alert.fingerprint);
    const prev = t.pending.get(alert.fingerprint);
    t.pending.set(alert.fingerprint, { alert, receivedAt: prev ? Math.min(prev.receivedAt, receivedAt) : receivedAt });
    // Next tick: alerts published in the same evaluation go in one request.
    if (!t.flushTimer) t.flushTimer = this.o.clock.setTimeout(() => this.amFlush(t), 0);
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

  /** Pushes every firing alert again so Alertmanager does not let it expire (one pending resend at most). */
  private resend(t: AmTarget): void {
    if (!t.active.size) return;
    if (this.o.outbox.pending(t.cfg.name).some((n) => n.kind === 'alertmanager-resend')) return;
    try {
      this.o.outbox.enqueue(this.amNotification(t, [...t.active.values()], 'alertmanager-resend', this.o.clock.now()));
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
