// Paging's own health: outbox depth and age per receiver, sends, failed attempts, retries, drops
// (never silent), delivery latency, journal write errors, and the alerts and silences behind them.
// The counters live as long as the agent (kept across reloads by the alerting module) and are
// registered into each new registry; the gauges read the outbox, hub and silences at scrape.
import { Counter, Histogram } from 'prom-client';
import type { Collector } from './collector';
import { scrapedGauge } from './scraped';
import type { AlertHub } from '../agent/module';
import { DROP_REASONS, type DropReason, type OutboxMetrics, type QueueStatus } from '../agent/alerting/outbox';
import type { SilenceState } from '../agent/alerting/silences';

export class NotificationMetrics implements OutboxMetrics {
  readonly sentTotal = new Counter({
    name: 'keepwatch_notifications_sent_total',
    help: 'Notifications the receiver accepted.',
    labelNames: ['receiver'],
    registers: [],
  });
  readonly failedTotal = new Counter({
    name: 'keepwatch_notifications_failed_total',
    help: 'Delivery attempts that failed (each retry that fails counts again).',
    labelNames: ['receiver'],
    registers: [],
  });
  readonly retriesTotal = new Counter({
    name: 'keepwatch_notifications_retries_total',
    help: 'Delivery attempts scheduled again after a retryable failure.',
    labelNames: ['receiver'],
    registers: [],
  });
  readonly droppedTotal = new Counter({
    name: 'keepwatch_notifications_dropped_total',
    help: 'Notifications given up: overflow (outbox full), expired (not accepted within max_age), rejected (receiver refused for good), receiver_removed, corrupt (journal record failed its checksum).',
    labelNames: ['receiver', 'reason'],
    registers: [],
  });
  readonly latency = new Histogram({
    name: 'keepwatch_notifications_latency_seconds',
    help: 'From the alert change reaching the pipeline to the receiver accepting the notification.',
    labelNames: ['receiver'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    registers: [],
  });
  readonly writeErrors = new Counter({
    name: 'keepwatch_outbox_write_errors_total',
    help: 'Failed writes of the outbox journal (the disk refused: ENOSPC, EIO...). Notifications are then kept in memory.',
    registers: [],
  });

  /** Makes the series of these receivers exist at 0 before anything happens (drops: every reason). */
  initReceivers(names: string[]): void {
    for (const receiver of names) {
      this.sentTotal.inc({ receiver }, 0);
      this.failedTotal.inc({ receiver }, 0);
      this.retriesTotal.inc({ receiver }, 0);
      for (const reason of DROP_REASONS) this.droppedTotal.inc({ receiver, reason }, 0);
    }
    this.writeErrors.inc(0);
  }

  /** Bumped by every change of the counters above (the collector's revision). */
  changes = 0;

  sent(receiver: string, latencySeconds: number): void {
    this.changes++;
    this.sentTotal.inc({ receiver });
    this.latency.observe({ receiver }, latencySeconds);
  }
  failed(receiver: string): void {
    this.changes++;
    this.failedTotal.inc({ receiver });
  }
  retried(receiver: string): void {
    this.changes++;
    this.retriesTotal.inc({ receiver });
  }
  dropped(receiver: string, reason: DropReason, count = 1): void {
    this.changes++;
    this.droppedTotal.inc({ receiver, reason }, count);
  }
  writeError(): void {
    this.changes++;
    this.writeErrors.inc();
  }

  get all() {
    return [this.sentTotal, this.failedTotal, this.retriesTotal, this.droppedTotal, this.latency, this.writeErrors];
  }
}

export interface NotificationsCollectorSources {
  metrics: NotificationMetrics;
  /** The outbox's queues (every configured receiver appears, at depth 0 when empty). */
  queues(): QueueStatus[];
  receivers(): string[];
  memoryOnly(): boolean;
  alerts: Pick<AlertHub, 'active'>;
  silenceCounts(): Record<SilenceState, number>;
  /** Every alert name and severity that can fire (the rule catalogue): 0 while none of it fires. */
  catalogue?: ReadonlyArray<{ alertname: string; severity: string }>;
}

export function notificationsCollector(src: NotificationsCollectorSources): Collector {
  return {
    name: 'notifications',
    // Counters, queues, alerts and silences at once; the oldest entry's age in whole seconds.
    revision: () =>
      JSON.stringify([
        src.metrics.changes,
        src.queues().map((q) => [q.receiver, q.depth, Math.floor(q.oldestAgeSeconds)]),
        src.receivers(),
        src.memoryOnly(),
        src.alerts.active().map((a) => a.fingerprint),
        src.silenceCounts(),
      ]),
    metrics: [
      ...src.metrics.all,
      scrapedGauge({ name: 'keepwatch_notifications_queue_depth', help: 'Notifications waiting in the outbox for this receiver.', labelNames: ['receiver'] }, () =>
        queuesOfEveryReceiver(src).map((q) => [{ receiver: q.receiver }, q.depth]),
      ),
      scrapedGauge(
        { name: 'keepwatch_notifications_oldest_age_seconds', help: 'Age of the oldest notification waiting for this receiver (0 when none).', labelNames: ['receiver'] },
        () => queuesOfEveryReceiver(src).map((q) => [{ receiver: q.receiver }, q.oldestAgeSeconds]),
      ),
      scrapedGauge({ name: 'keepwatch_outbox_memory_only', help: '1 while the outbox cannot write its journal and keeps notifications in memory only.' }, () =>
        src.memoryOnly() ? 1 : 0,
      ),
      scrapedGauge({ name: 'keepwatch_alerts', help: 'Firing alerts, by name and severity.', labelNames: ['alertname', 'severity'] }, () => {
        const counts = new Map<string, { alertname: string; severity: string; n: number }>();
        // Prometheus's "avoid missing metrics": every known pair has a series, 0 when not firing.
        for (const { alertname, severity } of src.catalogue ?? []) counts.set(`${alertname}\u0000${severity}`, { alertname, severity, n: 0 });
        for (const a of src.alerts.active()) {
          const alertname = a.labels.alertname ?? '';
          const severity = a.labels.severity ?? '';
          const k = `${alertname}\u0000${severity}`;
          const c = counts.get(k) ?? { alertname, severity, n: 0 };
          c.n++;
          counts.set(k, c);
        }
        return [...counts.values()].map((c) => [{ alertname: c.alertname, severity: c.severity }, c.n]);
      }),
      scrapedGauge({ name: 'keepwatch_silences', help: 'Silences by state.', labelNames: ['state'] }, () =>
        Object.entries(src.silenceCounts()).map(([state, n]) => [{ state }, n]),
      ),
    ],
  };
}

/** The outbox's queues, then every configured receiver without one at depth 0. */
function queuesOfEveryReceiver(src: NotificationsCollectorSources): Array<Pick<QueueStatus, 'receiver' | 'depth' | 'oldestAgeSeconds'>> {
  const queues: Array<Pick<QueueStatus, 'receiver' | 'depth' | 'oldestAgeSeconds'>> = src.queues();
  const seen = new Set(queues.map((q) => q.receiver));
  return [...queues, ...src.receivers().filter((r) => !seen.has(r)).map((receiver) => ({ receiver, depth: 0, oldestAgeSeconds: 0 }))];
}
