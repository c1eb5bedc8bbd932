// RedundancyLost: the MASTER serves, and every other node is observed unable to take over. In cold
// standby a stopped nginx on the backup is normal; what would make a takeover fail is not.
import { allRules } from '../../../rules';
import { redundancyLostRule } from '../../../rules/redundancyLostRule';
import { rulePair, RuleSim } from './harness';

describe('RedundancyLost', () => {
  test('hot standby: backup nginx down; cold standby: normal', () => {
    const hot = rulePair(redundancyLostRule);
    hot.nginx('ka2', false);
    hot.advance(6000);
    const r = hot.conditions('RedundancyLost');
    expect(r).toHaveLength(1);
    expect(r[0].severity).toBe('warning');
    expect(r[0].labels).toMatchObject({ vrid: '51', node: 'ka1' });
    expect(r[0].annotations.summary).toMatch(/ka2: nginx down/);
    const cold = rulePair(allRules, 'ka1', { nginxStandby: 'cold' });
    cold.nginx('ka2', false);
    cold.advance(60_000);
    expect(cold.occurrences()).toEqual([]);
  });

  test('cold standby: nginx stopped on the backup: no alert at all, for as long as it lasts', () => {
    const c = rulePair(allRules, 'ka1', { nginxStandby: 'cold' });
    c.apply('ka2', { kind: 'nginx_process', up: false, reason: 'no pid file', source: 'nginx_probe' });
    c.nginx('ka2', false);
    c.apply('ka2', { kind: 'nginx_config', valid: true, hash: 'h1', source: 'nginx_probe' });
    c.apply('ka1', { kind: 'nginx_config', valid: true, hash: 'h1', source: 'nginx_probe' });
    c.apply('ka2', { kind: 'nginx_start_hook', path: '/usr/local/sbin/start-nginx', ok: true, referenced: true, source: 'nginx_probe' });
    c.advance(120_000, 1000);
    expect(c.occurrences()).toEqual([]);
  });

  test('the same in hot standby is RedundancyLost (and nothing else)', () => {
    const c = rulePair(allRules, 'ka1', { nginxStandby: 'hot' });
    c.nginx('ka2', false);
    c.advance(6000);
    expect(c.names()).toEqual(['RedundancyLost']);
  });

  test('cold standby: a backup whose nginx config is invalid cannot take over', () => {
    const c = rulePair(redundancyLostRule, 'ka1', { nginxStandby: 'cold' });
    c.nginx('ka2', false);
    c.apply('ka2', { kind: 'nginx_config', valid: false, reason: 'unknown directive "sever"', source: 'nginx_probe' });
    c.advance(6000);
    expect(c.conditions('RedundancyLost')[0].annotations.summary).toMatch(/nginx configuration invalid/);
  });

  test('backup keepalived down, FAULT, or its agent unreachable', () => {
    const a = rulePair(redundancyLostRule);
    a.apply('ka2', { kind: 'keepalived', up: false });
    a.advance(6000);
    expect(a.conditions('RedundancyLost')[0].annotations.summary).toMatch(/keepalived not running/);
    const b = rulePair(redundancyLostRule);
    b.transition('ka2', 'FAULT');
    b.advance(6000);
    expect(b.conditions('RedundancyLost')[0].annotations.summary).toMatch(/instance VI_1 is FAULT/);
  });

  test('three nodes: one healthy backup left is enough', () => {
    const c = new RuleSim(redundancyLostRule, ['ka1', 'ka2', 'ka3']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    c.boot('ka3', [{ state: 'BACKUP', priority: 50 }]);
    c.transition('ka2', 'FAULT');
    c.advance(10_000);
    expect(c.conditions('RedundancyLost')).toHaveLength(0);
    c.apply('ka3', { kind: 'keepalived', up: false });
    c.advance(6000);
    expect(c.conditions('RedundancyLost')).toHaveLength(1);
  });
});
