// Shared by the alerting unit tests: alerts, a pipeline on a fake clock, an in-memory outbox, and
// the error a receiver's send fails with.
import { fingerprint, type Alert } from '../../../agent/alerting/alert';
import { createAlertHub } from '../../../agent/alerting/hub';
import type { DeliveryPolicy } from '../../../agent/alerting/delivery';
import { IncidentBook, type IncidentStore } from '../../../agent/alerting/incidents';
import { Inhibitor } from '../../../agent/alerting/inhibit';
import { NotificationLog } from '../../../agent/alerting/nflog';
import type { NewNotification, Notification } from '../../../agent/alerting/notification';
import { AlertPipeline } from '../../../agent/alerting/pipeline';
import { ReceiverError } from '../../../agent/alerting/receivers/receiver';
import { buildRouteTree } from '../../../agent/alerting/route';
import { Silences } from '../../../agent/alerting/silences';
import type { TimeIntervals } from '../../../agent/alerting/timeIntervals';
import type { InhibitRuleConfig, ReceiverConfig, RouteConfig } from '../../../agent/config/schema';
import { silentLogger } from '../../../agent/logger';
import { FakeClock } from '../../helpers/fakeClock';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function mkAlert(labels: Record<string, string>, at: number, status: 'firing' | 'resolved' = 'firing', startsAt = at, extra: Partial<Alert> = {}): Alert {
  return {
    labels,
    annotations: { summary: `${labels.alertname} summary`, description: 'check it' },
    fingerprint: fingerprint(labels),
    status,
    startsAt,
    ...(status === 'resolved' ? { endsAt: at } : {}),
    ...extra,
  };
}

/** An incident store in memory that keeps copies, as the journal does (a reload reads what was written, not live objects). */
export function memoryIncidentStore(): IncidentStore & { map: Map<string, unknown> } {
  const map = new Map<string, unknown>();
  return {
    map,
    entries: () => [...map.entries()].map(([k, v]) => [k, structuredClone(v)] as [string, unknown]),
    put(k, v) {
      if (v === undefined) map.delete(k);
      else map.set(k, structuredClone(v));
    },
  };
}

/** Alertmanager's grouping, for the tests of the per-group behaviour operators keep with their own group_by. */
export const CLASSIC_ROUTE: RouteConfig = { receiver: 'hook', group_by: ['alertname', 'vrid'], matchers: [], continue: false, routes: [] };

export function webhookCfg(name: string, extra: Partial<ReceiverConfig> = {}): ReceiverConfig {
  return { type: 'webhook', name, url: 'http://127.0.0.1:1/', headers: {}, send_resolved: true, timeout: 1000, ...extra } as ReceiverConfig;
}

export function setupPipeline(
  o: { route?: RouteConfig; receivers?: ReceiverConfig[]; inhibit?: InhibitRuleConfig[]; clock?: FakeClock; delivery?: DeliveryPolicy; externalLabels?: Record<string, string>; timeIntervals?: TimeIntervals; node?: string } = {},
) {
  const clock = o.clock ?? new FakeClock();
  const log = silentLogger();
  const hub = createAlertHub();
  const receivers = o.receivers ?? [webhookCfg('hook')];
  const sent: Notification[] = [];
  let seq = 1;
  const outbox = {
    enqueue(n: NewNotification): Notification {
      const full = { ...n, seq, idempotencyKey: `k${seq++}` };
      sent.push(full);
      return full;
    },
    pending: (r: string) => sent.filter((n) => n.receiver === r && !(n as { done?: boolean }).done),
  };
  const dir = mkdtempSync(join(tmpdir(), 'kw-pipe-'));
  const silences = new Silences({ file: join(dir, 'silences.json'), clock, log });
  const nflog = new NotificationLog({ clock });
  const route = buildRouteTree(o.route, receivers.map((r) => r.name));
  const store = memoryIncidentStore();
  const incidents = new IncidentBook({ clock, settleMs: route.groupInterval, store });
  const pipeline = new AlertPipeline({
    hub,
    clock,
    log,
    route,
    receivers,
    inhibitor: new Inhibitor(o.inhibit),
    silences,
    nflog,
    outbox,
    incidents,
    delivery: o.delivery,
    externalLabels: o.externalLabels,
    timeIntervals: o.timeIntervals,
    node: o.node,
  });
  pipeline.start();
  const fire = (labels: Record<string, string>, startsAt?: number, extra?: Partial<Alert>) => hub.publish(mkAlert(labels, clock.now(), 'firing', startsAt, extra));
  // A resolve carries the firing alert's start (and rank, event), as the engine's does.
  const resolve = (labels: Record<string, string>, startsAt?: number, extra?: Partial<Alert>) => {
    const cur = hub.active().find((a) => a.fingerprint === fingerprint(labels));
    const kept = cur ? { ...(cur.rank !== undefined ? { rank: cur.rank } : {}), ...(cur.event ? { event: true } : {}) } : {};
    hub.publish(mkAlert(labels, clock.now(), 'resolved', startsAt ?? cur?.startsAt ?? 0, { ...kept, ...extra }));
  };
  const summary = () => sent.map((n) => `${n.receiver} ${n.status} ${n.alerts.map((a) => `${a.labels.alertname}${a.labels.vrid ?? ''}:${a.status}`).join(',')}`);
  return { clock, hub, sent, pipeline, silences, nflog, incidents, store, fire, resolve, summary, dir };
}

/** The ReceiverError a send fails with (the test fails if it resolves or throws anything else). */
export async function rejection(p: Promise<unknown>): Promise<ReceiverError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ReceiverError);
    return e as ReceiverError;
  }
  throw new Error('expected the send to fail');
}
