// The pair's identity on every alert: two pairs with keepalived's sample VRID 51 and VI_1 send two
// alerts with two fingerprints (and incidents), a silence or an inhibition can name the pair, and
// the Watchdog goes to Alertmanager at start and on every resend, with the pair's labels and this
// node's name. All on the fake clock with the pipeline's in-memory outbox.
import { fingerprint } from '../../../agent/alerting/alert';
import { externalLabelMatchers, withExternalLabels } from '../../../agent/alerting/externalLabels';
import type { ReceiverConfig } from '../../../agent/config/schema';
import { renderStatus } from '../../../agent/cli/status';
import { mkAlert, setupPipeline, webhookCfg } from './helpers';

const SB = { alertname: 'SplitBrain', severity: 'critical', vrid: '51', iname: 'VI_1' };
const am = { type: 'alertmanager', name: 'am', urls: ['http://127.0.0.1:1', 'http://127.0.0.2:1'], resend_interval: 60_000, send_resolved: true, timeout: 1000 } as ReceiverConfig;

describe('withExternalLabels', () => {
  test('adds the labels the alert lacks, keeps the ones it has (as Prometheus), and fingerprints the whole set', () => {
    const a = mkAlert({ ...SB, site: 'own' }, 0);
    const b = withExternalLabels(a, { cluster: 'lb-paris-1', site: 'paris' });
    expect(b.labels).toEqual({ ...SB, site: 'own', cluster: 'lb-paris-1' });
    expect(b.fingerprint).toBe(fingerprint(b.labels));
    expect(b.fingerprint).not.toBe(a.fingerprint);
    expect(withExternalLabels(a, {})).toBe(a);
    expect(externalLabelMatchers({ site: 'paris', cluster: 'lb-paris-1' })).toEqual(['cluster="lb-paris-1"', 'site="paris"']);
  });

  test('two pairs raising the same alert give two label sets, two fingerprints, two incidents', () => {
    const paris = setupPipeline({ receivers: [am], externalLabels: { cluster: 'lb-paris-1' }, node: 'ka1' });
    const lyon = setupPipeline({ receivers: [am], externalLabels: { cluster: 'lb-lyon-1' }, node: 'ka1' });
    for (const p of [paris, lyon]) {
      p.fire(SB);
      p.clock.advance(0);
    }
    const pushed = (p: typeof paris) => p.sent.flatMap((n) => n.alerts).find((a) => a.labels.alertname === 'SplitBrain')!;
    const [a, b] = [pushed(paris), pushed(lyon)];
    expect(a.labels.cluster).toBe('lb-paris-1');
    expect(b.labels.cluster).toBe('lb-lyon-1');
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(a.labels.incident).not.toBe(b.labels.incident);
  });
});

describe('silences and inhibitions see the labels the receivers see', () => {
  test('a silence naming the pair mutes its alerts; one naming another pair does not', () => {
    const p = setupPipeline({ receivers: [webhookCfg('hook')], externalLabels: { cluster: 'lb-paris-1' } });
    p.silences.add({ matchers: ['alertname="SplitBrain"', 'cluster="lb-lyon-1"'], endsAt: p.clock.now() + 3_600_000, createdBy: 't', comment: 'other pair' });
    p.fire(SB);
    p.clock.advance(0);
    expect(p.summary()).toEqual(['hook firing SplitBrain51:firing']);
    expect(p.sent[0].alerts[0].labels.cluster).toBe('lb-paris-1');
    const q = setupPipeline({ receivers: [webhookCfg('hook')], externalLabels: { cluster: 'lb-paris-1' } });
    q.silences.add({ matchers: ['alertname="SplitBrain"', 'cluster="lb-paris-1"'], endsAt: q.clock.now() + 3_600_000, createdBy: 't', comment: 'this pair' });
    q.fire(SB);
    q.clock.advance(0);
    expect(q.sent).toEqual([]);
    // The API's view agrees: the alert as sent is silenced.
    expect(q.pipeline.alertStatus(q.pipeline.labelled(q.hub.active()[0])).silencedBy).toHaveLength(1);
  });

  test('an inhibition equal on cluster holds within the pair', () => {
    const p = setupPipeline({
      receivers: [webhookCfg('hook')],
      route: { receiver: 'hook', group_by: ['alertname'], matchers: [], continue: false, routes: [] },
      externalLabels: { cluster: 'lb-paris-1' },
      inhibit: [{ source_matchers: ['alertname="SplitBrain"'], target_matchers: ['alertname="VipMismatch"'], equal: ['cluster'] }],
    });
    p.fire(SB);
    p.fire({ alertname: 'VipMismatch', severity: 'warning', vrid: '51', node: 'ka2', vip: '192.0.2.100' });
    p.clock.advance(0);
    expect(p.summary()).toEqual(['hook firing SplitBrain51:firing']);
  });
});

describe('the Watchdog', () => {
  test('pushed to every member at start and with every resend, even with nothing else firing; never to other receivers', () => {
    const p = setupPipeline({ receivers: [am, webhookCfg('hook')], externalLabels: { cluster: 'lb-paris-1' }, node: 'ka1' });
    p.clock.advance(0);
    const watchdogs = () => p.sent.filter((n) => n.alerts.some((a) => a.labels.alertname === 'Watchdog'));
    expect(watchdogs().map((n) => `${n.receiver} ${n.kind}`)).toEqual(['am@127.0.0.1:1 alertmanager', 'am@127.0.0.2:1 alertmanager']);
    expect(watchdogs()[0].alerts[0]).toMatchObject({ status: 'firing', labels: { alertname: 'Watchdog', severity: 'none', node: 'ka1', cluster: 'lb-paris-1' } });
    // The in-memory outbox of the helper never sends: mark what went out, as the real one would.
    const done = () => p.sent.forEach((n) => Object.assign(n, { done: true }));
    done();
    p.clock.advance(60_000);
    expect(watchdogs().map((n) => `${n.receiver} ${n.kind}`).slice(2)).toEqual(['am@127.0.0.1:1 alertmanager-resend', 'am@127.0.0.2:1 alertmanager-resend']);
    done();
    p.clock.advance(60_000);
    expect(watchdogs()).toHaveLength(6);
    expect(p.sent.some((n) => n.receiver === 'hook')).toBe(false);
  });

  test('a member that is down keeps one resend, not one per minute', () => {
    const p = setupPipeline({ receivers: [am], externalLabels: { cluster: 'lb-paris-1' }, node: 'ka1' });
    p.clock.advance(0);
    // Member 1 accepts everything; member 2 accepts nothing.
    const accept = () => p.sent.forEach((n) => n.receiver === 'am@127.0.0.1:1' && Object.assign(n, { done: true }));
    for (let i = 0; i < 10; i++) {
      accept();
      p.clock.advance(60_000);
    }
    const resends = (q: string) => p.sent.filter((n) => n.receiver === q && n.kind === 'alertmanager-resend').length;
    expect(resends('am@127.0.0.1:1')).toBe(10);
    expect(resends('am@127.0.0.2:1')).toBe(1);
  });

  test('no Watchdog without a node name (the pipeline is not an agent\'s)', () => {
    const p = setupPipeline({ receivers: [am], externalLabels: { cluster: 'lb-paris-1' } });
    p.clock.advance(120_000);
    expect(p.sent).toEqual([]);
  });
});

describe('keepwatch status', () => {
  test('names the pair in its first line when the agent has external labels', () => {
    const snap = { node: 'ka1', at: 0, revision: 1, health: { level: 'healthy' as const, reasons: [] }, vrids: [], nodes: [], problems: [], alerts: { active: [] }, timeline: [] };
    expect(renderStatus({ ...snap, externalLabels: { cluster: 'lb-paris-1', site: 'paris' } }, false, 0).split('\n')[0]).toBe('keepwatch status: HEALTHY  (pair cluster=lb-paris-1 site=paris; asked ka1; 0 nodes; 1970-01-01T00:00:00.000Z)');
    expect(renderStatus(snap, false, 0).split('\n')[0]).toBe('keepwatch status: HEALTHY  (asked ka1; 0 nodes; 1970-01-01T00:00:00.000Z)');
  });
});
