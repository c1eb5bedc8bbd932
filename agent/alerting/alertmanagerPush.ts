// The Alertmanager push path, beside the grouper: Alertmanager receivers bypass the grouping.
// Each alert change is pushed as it comes (the changes of one evaluation in one request), and
// firing alerts are pushed again every resend_interval so they stay firing in Alertmanager while
// we say so (Alertmanager groups, inhibits and silences them itself). Each alert is pushed only by
// the agent the delivery policy names for it (a node's alerts by that node's agent): two agents
// may give one alert different incident ids, and Alertmanager must see one label set per alert.
// Each change and each resend goes to every member of the receiver's Alertmanager cluster, one
// notification per member queue (receivers/alertmanager.ts). The Watchdog (watchdog.ts), this
// agent's own, goes with every resend and once at start.
import type { Logger } from 'pino';
import type { AlertmanagerReceiverConfig } from '../config/schema';
import type { Clock } from '../context';
import type { Alert } from './alert';
import type { DeliveryPolicy } from './delivery';
import type { GroupedAlert } from './grouper';
import type { NewNotification } from './notification';
import type { PipelineOutbox } from './pipeline';
import { alertmanagerMembers, RESEND_EXPIRY_FACTOR } from './receivers/alertmanager';

export interface AlertmanagerPushOptions {
  clock: Clock;
  log: Logger;
  outbox: PipelineOutbox;
  receivers: AlertmanagerReceiverConfig[];
  /** With a policy, firing alerts whose delivery came to this agent are looked for every catchUpMs. */
  delivery?: DeliveryPolicy;
  catchUpMs: number;
  externalURL?: string;
  /** The always-firing Watchdog alert this agent pushes (none: no Watchdog). */
  watchdog?: Alert;
}

/** One Alertmanager receiver's push state. */
interface PushTarget {
  cfg: AlertmanagerReceiverConfig;
  /** The outbox queue of each member of the cluster. */
  queues: string[];
  /** Every firing alert (pushed or not: the delivery may come here later). */
  active: Map<string, Alert>;
  /** Fingerprints pushed as firing by this agent (their resolve is this agent's to push). */
  pushed: Set<string>;
  pending: Map<string, GroupedAlert>;
  flushTimer?: NodeJS.Timeout;
  resendTimer?: NodeJS.Timeout;
}

export class AlertmanagerPush {
  private readonly targets = new Map<string, PushTarget>();
  private catchUpTimer?: NodeJS.Timeout;

  constructor(private readonly o: AlertmanagerPushOptions) {
    for (const cfg of o.receivers) this.targets.set(cfg.name, { cfg, queues: alertmanagerMembers(cfg).map((m) => m.queue), active: new Map(), pushed: new Set(), pending: new Map() });
  }

  /** Starts the resends (and the catch-up with the delivery policy); the Watchdog goes out now. */
  start(): void {
    const watchdog = this.o.watchdog;
    if (watchdog) for (const t of this.targets.values()) this.pend(t, watchdog, this.o.clock.now());
    for (const t of this.targets.values()) t.resendTimer = this.o.clock.setInterval(() => this.resend(t), t.cfg.resend_interval);
    if (this.targets.size && this.o.delivery) this.catchUpTimer = this.o.clock.setInterval(() => this.catchUp(), this.o.catchUpMs);
  }

  stop(): void {
    this.o.clock.clearInterval(this.catchUpTimer);
    for (const t of this.targets.values()) {
      this.o.clock.clearTimeout(t.flushTimer);
      this.o.clock.clearInterval(t.resendTimer);
    }
  }

  /** An alert change routed to the Alertmanager receiver `receiver`; `replay`: taken from the hub at start. */
  add(receiver: string, alert: Alert, receivedAt: number, replay: boolean): void {
    const t = this.targets.get(receiver);
    if (!t) return;
    // A replayed resolve older than the expiry we gave Alertmanager has resolved there already.
    if (replay && alert.status === 'resolved' && (alert.endsAt ?? 0) < receivedAt - RESEND_EXPIRY_FACTOR * t.cfg.resend_interval) return;
    this.push(t, alert, receivedAt);
  }

  private mine(alert: Alert): boolean {
    return !this.o.delivery || this.o.delivery.shouldDeliver(alert);
  }

  private push(t: PushTarget, alert: Alert, receivedAt: number): void {
    if (alert.status === 'firing') {
      t.active.set(alert.fingerprint, alert);
      if (!this.mine(alert)) return;
      t.pushed.add(alert.fingerprint);
    } else {
      t.active.delete(alert.fingerprint);
      if (!t.pushed.delete(alert.fingerprint) && !this.mine(alert)) return;
    }
    this.pend(t, alert, receivedAt);
  }

  private pend(t: PushTarget, alert: Alert, receivedAt: number): void {
    const prev = t.pending.get(alert.fingerprint);
    t.pending.set(alert.fingerprint, { alert, receivedAt: prev ? Math.min(prev.receivedAt, receivedAt) : receivedAt });
    // Next tick: alerts published in the same evaluation go in one request.
    if (!t.flushTimer) t.flushTimer = this.o.clock.setTimeout(() => this.flush(t), 0);
  }

  /** Firing alerts whose delivery came to this agent since they fired (a peer went away, peers answered). */
  private catchUp(): void {
    for (const t of this.targets.values()) {
      for (const a of t.active.values()) if (!t.pushed.has(a.fingerprint) && this.mine(a)) this.push(t, a, this.o.clock.now());
    }
  }

  private flush(t: PushTarget): void {
    t.flushTimer = undefined;
    const items = [...t.pending.values()];
    if (!items.length) return;
    try {
      const alerts = items.map((i) => i.alert);
      const at = Math.min(...items.map((i) => i.receivedAt));
      for (const q of t.queues) this.o.outbox.enqueue(this.notification(q, alerts, 'alertmanager', at));
      t.pending.clear();
    } catch (e) {
      this.o.log.error({ err: e, receiver: t.cfg.name }, 'cannot queue alerts for Alertmanager; will retry');
      t.flushTimer = this.o.clock.setTimeout(() => this.flush(t), 1000);
    }
  }

  /** Pushes every firing alert of this agent's again so Alertmanager does not let it expire (one pending resend at most). */
  private resend(t: PushTarget): void {
    // An alert whose delivery moved to another agent is left to it (it expires here, not doubled).
    const mine = [...t.active.values()].filter((a) => this.mine(a));
    t.pushed = new Set(mine.map((a) => a.fingerprint));
    const alerts = this.o.watchdog ? [...mine, this.o.watchdog] : mine;
    if (!alerts.length) return;
    for (const q of t.queues) {
      // A member that is down keeps one resend at most: the latest state reaches it when it is back.
      if (this.o.outbox.pending(q).some((n) => n.kind === 'alertmanager-resend')) continue;
      try {
        this.o.outbox.enqueue(this.notification(q, alerts, 'alertmanager-resend', this.o.clock.now()));
      } catch (e) {
        this.o.log.error({ err: e, receiver: q }, 'cannot queue the Alertmanager resend');
      }
    }
  }

  private notification(queue: string, alerts: Alert[], kind: 'alertmanager' | 'alertmanager-resend', triggeredAt: number): NewNotification {
    return {
      receiver: queue,
      kind,
      groupKey: `alertmanager:${queue}`,
      groupLabels: {},
      status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      alerts,
      createdAt: this.o.clock.now(),
      triggeredAt,
      externalURL: this.o.externalURL,
    };
  }
}
