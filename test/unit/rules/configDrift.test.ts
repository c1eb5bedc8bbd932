// ConfigDrift: the nodes disagree on what should be the same, for drift_for.
import { configDriftRule } from '../../../rules/configDriftRule';
import { splitBrainRule } from '../../../rules/splitBrainRule';
import { vipMismatchRule } from '../../../rules/vipMismatchRule';
import { RuleSim } from './harness';

describe('ConfigDrift', () => {
  test('advert interval, auth type, VIPs, nginx config hash; only after drift_for', () => {
    const c = new RuleSim(configDriftRule, ['ka1', 'ka2'], 'ka1', { driftForMs: 60_000 });
    c.boot('ka1', [{ state: 'MASTER', priority: 150, advertIntervalMs: 1000, authType: 'PASS' }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100, advertIntervalMs: 2000, authType: 'AH', vips: ['192.0.2.100', '192.0.2.101'] }]);
    c.apply('ka1', { kind: 'nginx_config', valid: true, hash: 'a'.repeat(64), source: 'nginx_probe' });
    c.apply('ka2', { kind: 'nginx_config', valid: true, hash: 'b'.repeat(64), source: 'nginx_probe' });
    c.advance(59_000);
    expect(c.conditions('ConfigDrift')).toHaveLength(0);
    c.advance(2000);
    const fields = c.conditions('ConfigDrift').map((x) => x.labels.field).sort();
    expect(fields).toEqual(['advert_interval', 'auth_type', 'nginx_config', 'vips']);
    const text = JSON.stringify(c.conditions('ConfigDrift'));
    expect(text).not.toMatch(/auth_pass/);
  });

  test('one instance under different VRIDs on the two nodes', () => {
    const c = new RuleSim([configDriftRule, splitBrainRule, vipMismatchRule], ['ka1', 'ka2'], 'ka1', { driftForMs: 1000 });
    c.boot('ka1', [{ state: 'MASTER', priority: 150, vrid: 51 }]);
    c.boot('ka2', [{ state: 'MASTER', priority: 100, vrid: 52 }]);
    c.advance(3000);
    const d = c.conditions('ConfigDrift').map((x) => x.annotations.summary).join('\n');
    expect(d).toMatch(/instance VI_1 has different VRIDs: VRID 51 on ka1; VRID 52 on ka2/);
    // Not one election, but one VIP bound on both nodes: still a split brain, under each VRID.
    expect(c.conditions('SplitBrain').map((x) => x.labels.vrid).sort()).toEqual(['51', '52']);
    expect(c.conditions('VipMismatch')).toHaveLength(0);
  });
});
