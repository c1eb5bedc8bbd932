import { fingerprint, type Alert } from '../../../agent/alerting/alert';
import { Inhibitor } from '../../../agent/alerting/inhibit';
import { allRules } from '../../../rules';

function alert(labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing'): Alert {
  return { labels, annotations: { summary: '', description: '' }, fingerprint: fingerprint(labels), status, startsAt: 0 };
}

describe('Inhibitor', () => {
  const def = new Inhibitor(undefined);

  test('default: SplitBrain inhibits VipMismatch of the same vrid only', () => {
    const sb = alert({ alertname: 'SplitBrain', vrid: '51' });
    const vm51 = alert({ alertname: 'VipMismatch', vrid: '51', node: 'ka1' });
    const vm52 = alert({ alertname: 'VipMismatch', vrid: '52', node: 'ka1' });
    expect(def.inhibitedBy(vm51, [sb, vm51, vm52])).toEqual([sb.fingerprint]);
    expect(def.inhibitedBy(vm52, [sb, vm51, vm52])).toEqual([]);
    expect(def.inhibitedBy(sb, [sb, vm51])).toEqual([]);
  });

  test('default: KeepalivedDown inhibits the instance alerts of its node', () => {
    const down = alert({ alertname: 'KeepalivedDown', node: 'ka1' });
    for (const name of ['InstanceFault', 'VipMismatch', 'NoMaster', 'Failover', 'PriorityChanged']) {
      expect(def.inhibitedBy(alert({ alertname: name, node: 'ka1', iname: 'VI_1' }), [down])).toEqual([down.fingerprint]);
      expect(def.inhibitedBy(alert({ alertname: name, node: 'ka2', iname: 'VI_1' }), [down])).toEqual([]);
    }
    expect(def.inhibitedBy(alert({ alertname: 'SplitBrain', node: 'ka1' }), [down])).toEqual([]);
  });

  test('default: nothing hides VipLeftBound, KeepalivedDown of its node included', () => {
    const labels = { node: 'ka1', vrid: '51', iname: 'VI_1', vip: '192.0.2.100' };
    const target = alert({ alertname: 'VipLeftBound', severity: 'critical', ...labels });
    const others = allRules.map((r) => r.name).filter((n) => n !== 'VipLeftBound');
    expect(others).toEqual(expect.arrayContaining(['KeepalivedDown', 'SplitBrain', 'Failover']));
    expect(def.inhibitedBy(target, others.map((n) => alert({ alertname: n, ...labels })))).toEqual([]);
  });

  test('a resolved source inhibits nothing', () => {
    const sb = alert({ alertname: 'SplitBrain', vrid: '51' }, 'resolved');
    expect(def.inhibitedBy(alert({ alertname: 'VipMismatch', vrid: '51' }), [sb])).toEqual([]);
  });

  test('equal compares missing labels as empty, as Alertmanager does', () => {
    const ih = new Inhibitor([{ source_matchers: ['a=src'], target_matchers: ['a=tgt'], equal: ['zone'] }]);
    expect(ih.inhibitedBy(alert({ a: 'tgt' }), [alert({ a: 'src' })])).toHaveLength(1);
    expect(ih.inhibitedBy(alert({ a: 'tgt', zone: 'x' }), [alert({ a: 'src' })])).toHaveLength(0);
  });

  test('alerts matching both sides do not inhibit each other', () => {
    const ih = new Inhibitor([{ source_matchers: ['severity=~"critical|warning"'], target_matchers: ['severity=~"warning|critical"'], equal: ['vrid'] }]);
    const a = alert({ alertname: 'A', severity: 'critical', vrid: '1' });
    const b = alert({ alertname: 'B', severity: 'warning', vrid: '1' });
    expect(ih.inhibitedBy(a, [a, b])).toEqual([]);
    expect(ih.inhibitedBy(b, [a, b])).toEqual([]);
  });

  test('an explicit empty list turns the defaults off', () => {
    const none = new Inhibitor([]);
    expect(none.inhibitedBy(alert({ alertname: 'VipMismatch', vrid: '51' }), [alert({ alertname: 'SplitBrain', vrid: '51' })])).toEqual([]);
  });
});
