// Aggregation groups, as Alertmanager's dispatcher: alerts are grouped per route and group labels.
// A new group is flushed after group_wait (at once when its first alert is already older than
// that), then every group_interval while it holds alerts; after a flush, the resolved alerts it
// reported are dropped from the group, and an empty group is deleted. The flush callback decides
// what is news (the notification log) and what to send; for an incident's group it says how long
// the group lives instead: kept (even empty) while the incident is open, closed at its end.
import type { Logger } from 'pino';
import type { Clock } from '../context';
import type { Alert } from './alert';
import { groupKey, groupLabels, type AlertRoute } from './route';

export interface GroupedAlert {
  alert: Alert;
  /** When the pipeline received this version of the alert (ms). */
  receivedAt: number;
}

export interface GroupView {
  readonly key: string;
  readonly route: AlertRoute;
  readonly labels: Record<string, string>;
}

/** What a flush says about its group: keep it (ticking every group_interval) even with no alerts
 *  left, or close it now; nothing: Alertmanager's rule (deleted once empty). */
export type FlushOutcome = 'keep' | 'close' | void;

export interface GrouperOptions {
  clock: Clock;
  log: Logger;
  /** Called with a snapshot of the group's alerts at each flush. */
  onFlush(group: GroupView, alerts: GroupedAlert[]): FlushOutcome;
}

interface Group extends GroupView {
  alerts: Map<string, GroupedAlert>;
  timer?: NodeJS.Timeout;
  /** When the pending flush is due (ms), if one is scheduled. */
  dueAt?: number;
  hasFlushed: boolean;
}

export class Grouper {
  private readonly groups = new Map<string, Group>();
  private stopped = false;

  constructor(private readonly opts: GrouperOptions) {}

  insert(route: AlertRoute, alert: Alert, receivedAt = this.opts.clock.now()): void {
    if (this.stopped) return;
    const labels = groupLabels(route, alert.labels);
    const key = groupKey(route, labels);
    let g = this.groups.get(key);
    const now = this.opts.clock.now();
    if (!g) {
      g = { key, route, labels, alerts: new Map(), hasFlushed: false };
      this.groups.set(key, g);
      this.schedule(g, route.groupWait);
    }
    g.alerts.set(alert.fingerprint, { alert, receivedAt });
    // Alertmanager: an alert already older than group_wait need not wait for the first flush.
    if (!g.hasFlushed && alert.startsAt + route.groupWait <= now && (g.dueAt === undefined || g.dueAt > now)) this.schedule(g, 0);
  }

  private schedule(g: Group, ms: number): void {
    this.opts.clock.clearTimeout(g.timer);
    g.dueAt = this.opts.clock.now() + ms;
    g.timer = this.opts.clock.setTimeout(() => this.flush(g), ms);
  }

  private flush(g: Group): void {
    g.timer = undefined;
    g.dueAt = undefined;
    if (this.stopped) return;
    const snapshot = [...g.alerts.values()];
    let outcome: FlushOutcome;
    try {
      outcome = this.opts.onFlush(g, snapshot);
    } catch (e) {
      // Keep everything and try again next interval: nothing is lost by a failing flush.
      this.opts.log.error({ err: e, group: g.key }, 'alert group flush failed; will retry');
      this.schedule(g, g.route.groupInterval);
      return;
    }
    g.hasFlushed = true;
    if (this.groups.get(g.key) !== g) return; // closed during the flush
    if (outcome === 'close') {
      this.close(g.key);
      return;
    }
    for (const s of snapshot) {
      // Drop resolved alerts that were reported and not updated since the snapshot.
      if (s.alert.status === 'resolved' && g.alerts.get(s.alert.fingerprint) === s) g.alerts.delete(s.alert.fingerprint);
    }
    if (g.alerts.size === 0 && outcome !== 'keep') {
      this.groups.delete(g.key);
      return;
    }
    this.schedule(g, g.route.groupInterval);
  }

  /** Flushes a group that already flushed on the next tick instead of at its next group_interval
   *  (the caller knows the last notification is at least group_interval old). */
  flushSoon(key: string): void {
    const g = this.groups.get(key);
    const now = this.opts.clock.now();
    if (!g || !g.hasFlushed || (g.dueAt !== undefined && g.dueAt <= now)) return;
    this.schedule(g, 0);
  }

  /** Deletes a group now (an incident's end was told), with its timer. */
  close(key: string): void {
    const g = this.groups.get(key);
    if (!g) return;
    this.opts.clock.clearTimeout(g.timer);
    this.groups.delete(key);
  }

  stop(): void {
    this.stopped = true;
    for (const g of this.groups.values()) this.opts.clock.clearTimeout(g.timer);
    this.groups.clear();
  }
}
