// VipMismatch: what keepalived says and where the VIP is disagree on a node, in the ways that
// VipLeftBound (an address left behind) and SplitBrain (two MASTER claims) do not cover.
import { splitBrainRule } from '../../../rules/splitBrainRule';
import { vipLeftBoundRule } from '../../../rules/vipLeftBoundRule';
import { vipMismatchRule } from '../../../rules/vipMismatchRule';
import { rulePair } from './harness';

const DUP = { kind: 'vip_duplicate', vip: '192.0.2.100', duplicate: true, mac: '02:00:00:00:00:01', source: 'arp_probe' } as const;

describe('VipMismatch', () => {
  test('MASTER without its VIP', () => {
    const c = rulePair(vipMismatchRule);
    c.vipsFromState('ka1', { '192.0.2.100': false });
    c.advance(6000);
    const v = c.conditions('VipMismatch');
    expect(v).toHaveLength(1);
    expect(v[0].labels).toMatchObject({ node: 'ka1', vip: '192.0.2.100', vrid: '51' });
    expect(v[0].annotations.summary).toMatch(/MASTER but VIP 192\.0\.2\.100 is not bound/);
  });

  test('keepalived killed with SIGKILL leaves the VIP behind: that is VipLeftBound (and no split brain), not VipMismatch', () => {
    const c = rulePair([vipMismatchRule, vipLeftBoundRule, splitBrainRule], 'ka2');
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'process gone' }); // VIP stays bound on ka1
    c.advance(3600);
    c.transition('ka2', 'MASTER');
    c.advance(6000);
    expect(c.conditions('VipMismatch')).toEqual([]);
    expect(c.conditions('VipLeftBound').map((x) => x.labels.node)).toEqual(['ka1']);
    expect(c.conditions('SplitBrain')).toEqual([]);
  });

  test('an instance INIT with the VIP bound', () => {
    const c = rulePair([vipMismatchRule, vipLeftBoundRule]);
    c.transition('ka2', 'INIT', 'VI_1', { moveVip: false });
    c.vipsFromState('ka2', { '192.0.2.100': true });
    c.advance(5100);
    expect(c.conditions('VipMismatch')[0].annotations.summary).toBe('VIP mismatch on VRID 51: ka2\'s VI_1 is INIT but VIP 192.0.2.100 is bound there on eth0');
    expect(c.conditions('VipLeftBound')).toEqual([]);
  });

  test('a duplicate-address answer with every node in sight and none holding it: an address conflict with a host outside the pair, not a split brain', () => {
    const c = rulePair([vipMismatchRule, splitBrainRule]);
    c.apply('ka1', DUP);
    c.advance(4900);
    expect(c.conditions('VipMismatch')).toEqual([]);
    c.apply('ka1', { ...DUP }); // the probe repeats while it lasts
    c.advance(200);
    const v = c.conditions('VipMismatch');
    expect(v.map((x) => x.labels.node)).toEqual(['ka1']);
    expect(v[0].annotations.summary).toMatch(/another host \(MAC 02:00:00:00:00:01\) answers for VIP 192\.0\.2\.100, which ka1 holds as MASTER; no other node of the pair holds it/);
    expect(c.occurrences('SplitBrain')).toEqual([]);
  });
});
