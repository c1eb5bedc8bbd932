import { CLASSIC_ROUTE, setupPipeline, webhookCfg } from './helpers';
import type { ReceiverConfig } from '../../../agent/config/schema';

// The pipeline's mechanics. With the default grouping (by incident) where the test is about what
// holds for both; with Alertmanager's group_by (CLASSIC_ROUTE) where it is about the per-group
// behaviour operators keep when they set their own group_by. Incidents: pipelineIncidents.test.ts.
describe('alert pipeline (route -> group -> inhibit/silence -> dedup -> outbox), fake clock', () => {
  test('default group_wait 0: a critical alert goes out on the next tick, not after 30 s', () => {
    const p = setupPipeline();
    p.fire({ alertname: 'SplitBrain', vrid: '51', severity: 'critical' });
    expect(p.sent).toHaveLength(0); // same tick: others published now may still join
    p.clock.advance(0);
    expect(p.summary()).toEqual(['hook firing SplitBrain51:firing']);
    const id = p.incidents.current()!.id;
    expect(p.sent[0]).toMatchObject({ groupKey: `{}/{}/hook:{incident="${id}"}`, groupLabels: { incident: id }, triggeredAt: p.clock.now() });
    expect(p.sent[0].alerts[0].labels).toEqual({ alertname: 'SplitBrain', vrid: '51', severity: 'critical', incident: id });
  });

  test('alerts published in the same evaluation share one notification; later ones wait for group_interval', () => {
    const p = setupPipeline();
    p.fire({ alertname: 'NoMaster', vrid: '51', node: 'ka1' });
    p.fire({ alertname: 'NoMaster', vrid: '51', node: 'ka2' });
    p.clock.advance(0);
    expect(p.summary()).toEqual(['hook firing NoMaster51:firing,NoMaster51:firing']);
    p.clock.advance(1000);
    p.fire({ alertname: 'NoMaster', vrid: '51', node: 'ka3' });
    p.clock.advance(8_999);
    expect(p.sent).toHaveLength(1);
    p.clock.advance(1);
    expect(p.sent).toHaveLength(2);
    expect(p.sent[1].alerts).toHaveLength(3);
  });

  test('group_wait from the route delays the first flush; an already old alert goes at once', () => {
    const route = { ...CLASSIC_ROUTE, group_wait: 30_000 };
    const p = setupPipeline({ route });
    p.fire({ alertname: 'A' });
    p.clock.advance(29_999);
    expect(p.sent).toHaveLength(0);
    p.clock.advance(1);
    expect(p.sent).toHaveLength(1);
    p.fire({ alertname: 'B' }, p.clock.now() - 60_000); // started a minute ago
    p.clock.advance(0);
    expect(p.summary()[1]).toBe('hook firing B:firing');
  });

  test('resolved goes out at the next group_interval with send_resolved; then the group is gone', () => {
    const p = setupPipeline({ route: CLASSIC_ROUTE });
    const l = { alertname: 'VipMismatch', vrid: '51' };
    p.fire(l);
    p.clock.advance(0);
    p.clock.advance(2000);
    p.resolve(l);
    p.clock.advance(7_999);
    expect(p.sent).toHaveLength(1);
    p.clock.advance(1);
    expect(p.summary()).toEqual(['hook firing VipMismatch51:firing', 'hook resolved VipMismatch51:resolved']);
    p.clock.advance(60_000);
    expect(p.sent).toHaveLength(2);
    expect(p.clock.pending()).toBe(0); // the group is gone with its timer (and the incident is over)
  });

  test('send_resolved false: no resolved message', () => {
    const p = setupPipeline({ route: CLASSIC_ROUTE, receivers: [webhookCfg('hook', { send_resolved: false } as Partial<ReceiverConfig>)] });
    p.fire({ alertname: 'A' });
    p.clock.advance(0);
    p.resolve({ alertname: 'A' });
    p.clock.advance(20_000);
    expect(p.summary()).toEqual(['hook firing A:firing']);
    expect(p.clock.pending()).toBe(0); // the group is gone with its timer
  });

  test('nothing new: no message until repeat_interval', () => {
    const p = setupPipeline({ route: CLASSIC_ROUTE });
    p.fire({ alertname: 'A' });
    p.clock.advance(0);
    p.clock.advance(4 * 3_600_000 - 10_000);
    expect(p.sent).toHaveLength(1);
    p.clock.advance(10_000);
    expect(p.sent).toHaveLength(2);
    expect(p.sent[1].triggeredAt).toBe(p.clock.now()); // a reminder: latency counted from now
  });

  test('fired and resolved within one interval after a notification about others: only what the receiver knows', () => {
    const p = setupPipeline({ route: CLASSIC_ROUTE });
    p.fire({ alertname: 'A', vrid: '1', node: 'x' });
    p.clock.advance(0);
    p.fire({ alertname: 'A', vrid: '1', node: 'y' });
    p.clock.advance(1000);
    p.resolve({ alertname: 'A', vrid: '1', node: 'y' });
    p.clock.advance(10_000);
    // y fired and resolved between flushes; x is still firing and known: nothing new to say
    // (Alertmanager would send a "resolved" for y, which the receiver never heard of).
    expect(p.sent).toHaveLength(1);
  });

  test('inhibition is applied at flush: SplitBrain published with VipMismatch mutes it', () => {
    const p = setupPipeline({ route: CLASSIC_ROUTE });
    p.fire({ alertname: 'VipMismatch', vrid: '51', node: 'ka1' });
    p.fire({ alertname: 'SplitBrain', vrid: '51' });
    p.clock.advance(0);
    expect(p.summary()).toEqual(['hook firing SplitBrain51:firing']);
    expect(p.pipeline.alertStatus(p.hub.active()[0])).toMatchObject({ state: 'suppressed', inhibitedBy: [p.hub.active()[1].fingerprint] });
    // the split brain heals but the mismatch stays: now it is news
    p.resolve({ alertname: 'SplitBrain', vrid: '51' });
    p.clock.advance(10_000);
    expect(p.summary()).toContain('hook firing VipMismatch51:firing');
  });

  test('KeepalivedDown mutes the instance alerts of the same node only', () => {
    const p = setupPipeline({ route: CLASSIC_ROUTE });
    p.fire({ alertname: 'KeepalivedDown', node: 'ka1' });
    p.fire({ alertname: 'NoMaster', node: 'ka1', vrid: '51' });
    p.fire({ alertname: 'NoMaster', node: 'ka2', vrid: '52' });
    p.clock.advance(0);
    expect(p.summary().sort()).toEqual(['hook firing KeepalivedDown:firing', 'hook firing NoMaster52:firing']);
  });

  test('silenced alerts are not sent; they are when the silence expires (next group_interval)', () => {
    const p = setupPipeline({ route: CLASSIC_ROUTE });
    const id = p.silences.add({ matchers: ['alertname="Failover"'], endsAt: p.clock.now() + 60_000, createdBy: 't', comment: 'planned switchover' });
    p.fire({ alertname: 'Failover', vrid: '51' });
    p.clock.advance(0);
    expect(p.sent).toHaveLength(0);
    expect(p.pipeline.alertStatus(p.hub.active()[0])).toMatchObject({ state: 'suppressed', silencedBy: [id], receivers: ['hook'] });
    p.silences.expire(id);
    p.clock.advance(10_000);
    expect(p.summary()).toEqual(['hook firing Failover51:firing']);
  });

  test('routes: critical to pager with continue, everything to slack; group_by ... one group per alert', () => {
    const receivers = [webhookCfg('pager'), webhookCfg('slack')];
    const route = {
      receiver: 'slack',
      group_by: ['alertname', 'vrid'],
      matchers: [],
      continue: false,
      routes: [{ receiver: 'pager', matchers: ['severity="critical"'], continue: true, routes: [], group_by: ['...'] }, { receiver: 'slack', matchers: [], continue: false, routes: [] }],
    };
    const p = setupPipeline({ route, receivers });
    p.fire({ alertname: 'SplitBrain', vrid: '51', severity: 'critical', node: 'ka1' });
    p.fire({ alertname: 'SplitBrain', vrid: '51', severity: 'critical', node: 'ka2' });
    p.fire({ alertname: 'Flapping', vrid: '51', severity: 'warning' });
    p.clock.advance(0);
    expect(p.sent.filter((n) => n.receiver === 'pager')).toHaveLength(2);
    expect(p.sent.filter((n) => n.receiver === 'slack').map((n) => n.alerts.length).sort()).toEqual([1, 2]);
  });

  test('a reload: the new pipeline takes the hub state and, with the same notification log and incident book, does not page again', () => {
    const p = setupPipeline();
    p.fire({ alertname: 'A' });
    p.clock.advance(0);
    p.pipeline.stop();
    expect(p.clock.pending()).toBe(0);
    const { AlertPipeline } = jest.requireActual('../../../agent/alerting/pipeline');
    const again = new AlertPipeline({ ...(p.pipeline as unknown as { o: object }).o });
    again.start();
    p.clock.advance(60_000);
    expect(p.sent).toHaveLength(1);
    p.resolve({ alertname: 'A' });
    p.clock.advance(10_000);
    expect(p.summary()).toEqual(['hook firing A:firing', 'hook resolved A:resolved']);
    again.stop();
  });

  test('alertmanager receivers bypass grouping, get every change, and firing alerts again every resend_interval', () => {
    const am = { type: 'alertmanager', name: 'am', urls: ['http://127.0.0.1:1'], resend_interval: 60_000, send_resolved: true, timeout: 1000 } as ReceiverConfig;
    const p = setupPipeline({ receivers: [am] });
    p.fire({ alertname: 'A', vrid: '1' });
    p.fire({ alertname: 'A', vrid: '1', node: 'x' });
    p.clock.advance(0);
    expect(p.sent).toHaveLength(1);
    expect(p.sent[0]).toMatchObject({ kind: 'alertmanager', alerts: [{ status: 'firing' }, { status: 'firing' }] });
    p.resolve({ alertname: 'A', vrid: '1' });
    p.clock.advance(0);
    expect(p.sent[1]).toMatchObject({ kind: 'alertmanager', status: 'resolved' });
    p.clock.advance(60_000);
    expect(p.sent[2]).toMatchObject({ kind: 'alertmanager-resend', alerts: [{ labels: { node: 'x' } }] });
    // a resend still pending in the outbox is not doubled
    p.clock.advance(60_000);
    expect(p.sent).toHaveLength(3);
  });
});
