// Paging's own health: the outbox's counters (kept for the agent's life), queue depth and age per
// receiver, the journal's state, firing alerts by name and severity, silences by state.
import { NotificationMetrics, notificationsCollector, type NotificationsCollectorSources } from '../../../exporters/notifications';
import type { QueueStatus } from '../../../agent/alerting/outbox';
import type { Alert } from '../../../agent/alerting/alert';
import { testAlert } from '../../helpers/inProcessAgent';
import { exposition, samples } from './exposition';
import { allRules } from '../../../rules';

function setup() {
  const metrics = new NotificationMetrics();
  metrics.initReceivers(['ops', 'pager']);
  let queues: QueueStatus[] = [];
  let alerts: Alert[] = [];
  let memoryOnly = false;
  const src: NotificationsCollectorSources = {
    metrics,
    queues: () => queues,
    receivers: () => ['ops', 'pager'],
    memoryOnly: () => memoryOnly,
    alerts: { active: () => alerts },
    silenceCounts: () => ({ active: 1, pending: 0, expired: 2 }),
  };
  const c = notificationsCollector(src);
  return {
    c,
    metrics,
    render: exposition(c),
    set(o: { queues?: QueueStatus[]; alerts?: Alert[]; memoryOnly?: boolean }) {
      queues = o.queues ?? queues;
      alerts = o.alerts ?? alerts;
      memoryOnly = o.memoryOnly ?? memoryOnly;
    },
  };
}

test('every configured receiver has its series at 0 before anything happens', async () => {
  const { render } = setup();
  const text = await render();
  for (const m of ['sent_total', 'failed_total', 'retries_total', 'queue_depth', 'oldest_age_seconds']) {
    expect(samples(text, `keepwatch_notifications_${m}`)).toEqual([`keepwatch_notifications_${m}{receiver="ops"} 0`, `keepwatch_notifications_${m}{receiver="pager"} 0`]);
  }
  expect(samples(text, 'keepwatch_outbox_')).toEqual(['keepwatch_outbox_memory_only 0', 'keepwatch_outbox_write_errors_total 0']);
  expect(samples(text, 'keepwatch_silences')).toEqual(['keepwatch_silences{state="active"} 1', 'keepwatch_silences{state="expired"} 2', 'keepwatch_silences{state="pending"} 0']);
});

test('sends, failures, retries, drops and latency as the outbox reports them; queues, journal and alerts at scrape', async () => {
  const { c, metrics, render, set } = setup();
  const r0 = c.revision?.();
  metrics.failed('ops');
  metrics.retried('ops');
  metrics.sent('ops', 0.7);
  metrics.dropped('pager', 'expired', 3);
  metrics.writeError();
  expect(c.revision?.()).not.toBe(r0);
  set({
    queues: [{ receiver: 'pager', depth: 4, oldestAgeSeconds: 12.5, attempts: 2 }],
    alerts: [testAlert('SplitBrain', 'critical', { vrid: '51' }), testAlert('NoMaster', 'critical', { vrid: '52' }), testAlert('NoMaster', 'critical', { vrid: '53' })],
    memoryOnly: true,
  });
  const text = await render();
  expect(samples(text, 'keepwatch_notifications_sent_total{receiver="ops"}')).toEqual(['keepwatch_notifications_sent_total{receiver="ops"} 1']);
  expect(samples(text, 'keepwatch_notifications_failed_total{receiver="ops"}')).toEqual(['keepwatch_notifications_failed_total{receiver="ops"} 1']);
  expect(samples(text, 'keepwatch_notifications_retries_total{receiver="ops"}')).toEqual(['keepwatch_notifications_retries_total{receiver="ops"} 1']);
  // Every configured receiver has a drop series for each reason, 0 until it happens.
  expect(samples(text, 'keepwatch_notifications_dropped_total')).toEqual(
    ['ops', 'pager'].flatMap((receiver) =>
      ['corrupt', 'expired', 'overflow', 'receiver_removed', 'rejected'].map(
        (reason) => `keepwatch_notifications_dropped_total{receiver="${receiver}",reason="${reason}"} ${receiver === 'pager' && reason === 'expired' ? 3 : 0}`,
      ),
    ),
  );
  expect(samples(text, 'keepwatch_notifications_latency_seconds_count')).toEqual(['keepwatch_notifications_latency_seconds_count{receiver="ops"} 1']);
  expect(samples(text, 'keepwatch_notifications_queue_depth')).toEqual(['keepwatch_notifications_queue_depth{receiver="ops"} 0', 'keepwatch_notifications_queue_depth{receiver="pager"} 4']);
  expect(samples(text, 'keepwatch_notifications_oldest_age_seconds{receiver="pager"}')).toEqual(['keepwatch_notifications_oldest_age_seconds{receiver="pager"} 12.5']);
  expect(samples(text, 'keepwatch_outbox_')).toEqual(['keepwatch_outbox_memory_only 1', 'keepwatch_outbox_write_errors_total 1']);
  expect(samples(text, 'keepwatch_alerts')).toEqual(['keepwatch_alerts{alertname="NoMaster",severity="critical"} 2', 'keepwatch_alerts{alertname="SplitBrain",severity="critical"} 1']);
});

test('keepwatch_alerts: 0 for every alert name and severity of the rule catalogue while none fires, the count when some do', async () => {
  const catalogue = allRules.map((r) => ({ alertname: r.name, severity: r.severity }));
  let alerts: Alert[] = [];
  const metrics = new NotificationMetrics();
  const render = exposition(
    notificationsCollector({
      metrics,
      queues: () => [],
      receivers: () => [],
      memoryOnly: () => false,
      alerts: { active: () => alerts },
      silenceCounts: () => ({ active: 0, pending: 0, expired: 0 }),
      catalogue,
    }),
  );
  const quiet = samples(await render(), 'keepwatch_alerts');
  expect(quiet).toHaveLength(allRules.length);
  expect(quiet).toContain('keepwatch_alerts{alertname="SplitBrain",severity="critical"} 0');
  expect(quiet).toContain('keepwatch_alerts{alertname="PriorityChanged",severity="info"} 0');
  expect(quiet.every((l) => l.endsWith(' 0'))).toBe(true);
  alerts = [testAlert('SplitBrain', 'critical', { vrid: '51' })];
  const firing = samples(await render(), 'keepwatch_alerts');
  expect(firing).toHaveLength(allRules.length);
  expect(firing).toContain('keepwatch_alerts{alertname="SplitBrain",severity="critical"} 1');
  expect(firing).toContain('keepwatch_alerts{alertname="NoMaster",severity="critical"} 0');
});
