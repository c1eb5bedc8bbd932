// VipLeftBound: a VIP still bound where no live keepalived claims it (keepalived killed with
// SIGKILL, or the instance BACKUP/FAULT/STOP), beside the incidents that look alike and are not this page.
// Every page must state what was observed.
import { Inhibitor } from '../../../agent/alerting/inhibit';
import { allRules } from '../../../rules';
import { splitBrainRule } from '../../../rules/splitBrainRule';
import { vipLeftBoundRule } from '../../../rules/vipLeftBoundRule';
import { rulePair } from './harness';

const VIP = '192.0.2.100';
const DUP = { kind: 'vip_duplicate', vip: VIP, duplicate: true, mac: '02:00:00:00:00:01', source: 'arp_probe' } as const;

describe('VipLeftBound', () => {
  test.each(['ka1', 'ka2'])('master keepalived killed with SIGKILL (seen from %s): VipLeftBound on ka1 at condition_for, no SplitBrain', (self) => {
    const c = rulePair(allRules, self);
    const t0 = c.now;
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'process gone' }); // the VIP stays bound on ka1
    c.advance(3500);
    c.transition('ka2', 'MASTER'); // three adverts missed
    c.advance(1400);
    expect(c.conditions('VipLeftBound')).toEqual([]);
    c.advance(200);
    const [a, ...more] = c.conditions('VipLeftBound');
    expect(more).toEqual([]);
    expect(a.severity).toBe('critical');
    expect(a.labels).toEqual({ vrid: '51', iname: 'VI_1', node: 'ka1', vip: VIP });
    expect(vipLeftBoundRule.scope).toBe('node');
    expect(a.startsAt).toBe(t0);
    expect(a.annotations.summary).toBe('VIP 192.0.2.100 (VRID 51) is left bound on ka1: keepalived is not running there (process gone); ka2 is MASTER');
    expect(a.annotations.fix).toBe('`ip addr del 192.0.2.100/24 dev eth0`');
    expect(a.annotations.description).toMatch(/ka2 is MASTER and holds it too/);
    expect(a.annotations.description).toMatch(/Fix on ka1: `ip addr del 192\.0\.2\.100\/24 dev eth0`, or restart keepalived there\.$/);
    // ka2's duplicate-address probe hears ka1 answer for the address it left behind: still no split brain.
    c.apply('ka2', DUP);
    c.advance(60_000);
    expect(c.occurrences('SplitBrain')).toEqual([]);
    expect(c.occurrences('VipMismatch')).toEqual([]);
    expect(c.names()).toEqual(['Failover', 'KeepalivedDown', 'RedundancyLost', 'VipLeftBound']);
    // The shipped inhibit rules hide nothing of it, KeepalivedDown of the same node included.
    const alerts = c.alerts();
    expect(new Inhibitor(undefined).inhibitedBy(alerts.find((x) => x.labels.alertname === 'VipLeftBound')!, alerts)).toEqual([]);
    // Deleted by hand: resolved.
    c.apply('ka1', { kind: 'vip', vips: [{ iname: 'VI_1', vip: VIP, intf: null }], source: 'vip_probe' });
    c.advance(100);
    expect(c.occurrences('VipLeftBound').map((o) => o.endedAt !== undefined)).toEqual([true]);
  });

  test('master keepalived stopped with SIGTERM (it removes its VIP): no VipLeftBound, no SplitBrain, no VipMismatch', () => {
    const c = rulePair(allRules);
    c.transition('ka1', 'STOP'); // VrrpStatusChange(98); the VIP is deleted with it
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'stopped (VrrpStopped)' });
    c.advance(650);
    c.transition('ka2', 'MASTER');
    c.advance(60_000);
    for (const name of ['VipLeftBound', 'SplitBrain', 'VipMismatch']) expect(c.occurrences(name)).toEqual([]);
    expect(c.names()).toEqual(['Failover', 'KeepalivedDown', 'RedundancyLost']);
  });

  test('VRRP firewalled: both keepalived processes claim MASTER: SplitBrain, no VipLeftBound', () => {
    const c = rulePair(allRules);
    c.transition('ka2', 'MASTER');
    c.advance(10_000);
    expect(c.names()).toEqual(['SplitBrain']);
    expect(c.conditions('SplitBrain')[0].annotations.summary).toBe('Split brain on VRID 51: ka1 and ka2 are both MASTER');
    c.transition('ka2', 'BACKUP'); // healed: ka2 hears ka1's higher priority and deletes the VIP
    c.advance(1000);
    const [over] = c.occurrences('SplitBrain');
    expect(c.resolvedNotice(over).summary).toMatch(/^Split brain on VRID 51 is over: ka1 and ka2 were both MASTER from .* \(10\.\d s\); ka1 is MASTER now$/);
    expect(c.occurrences('VipLeftBound')).toEqual([]);
  });

  test('a BACKUP, FAULT or STOP instance still holding the VIP, with keepalived running', () => {
    for (const state of ['BACKUP', 'FAULT', 'STOP'] as const) {
      const c = rulePair([vipLeftBoundRule, splitBrainRule]);
      c.transition('ka2', state, 'VI_1', { moveVip: false });
      c.vipsFromState('ka2', { [VIP]: true });
      c.advance(5100);
      const a = c.conditions('VipLeftBound');
      expect(a.map((x) => x.labels.node)).toEqual(['ka2']);
      expect(a[0].annotations.summary).toBe(`VIP 192.0.2.100 (VRID 51) is left bound on ka2: VI_1 is ${state} there; ka1 is MASTER`);
      expect(c.occurrences('SplitBrain')).toEqual([]);
    }
  });

  test('keepalived dead before any other node took over: the page says this address still answers, and fires anyway', () => {
    const c = rulePair(vipLeftBoundRule, 'ka1', { conditionForMs: 2000 });
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'process gone' });
    c.advance(2100);
    const [a] = c.conditions('VipLeftBound');
    expect(a.annotations.summary).toBe('VIP 192.0.2.100 (VRID 51) is left bound on ka1: keepalived is not running there (process gone)');
    expect(a.annotations.description).toMatch(/No other node holds it as MASTER yet, so this address is what answers for the VIP now\. Fix on ka1: restart keepalived there, or once another node is MASTER, `ip addr del 192\.0\.2\.100\/24 dev eth0`\.$/);
    // ka2 takes over: the condition's text follows (the API and the resolved notice show the current one).
    c.transition('ka2', 'MASTER');
    c.advance(100);
    expect(c.conditions('VipLeftBound')[0].annotations.summary).toMatch(/; ka2 is MASTER$/);
    expect(c.occurrences('VipLeftBound')).toHaveLength(1);
  });

  test('the prefix the VIP probe did not see is not invented', () => {
    const c = rulePair(vipLeftBoundRule);
    c.apply('ka2', { kind: 'vip', vips: [{ iname: 'VI_1', vip: VIP, intf: 'eth1' }], source: 'vip_probe' });
    c.advance(5100);
    expect(c.conditions('VipLeftBound')[0].annotations.fix).toBe('`ip addr del 192.0.2.100/<prefix shown by ip addr> dev eth1`');
  });

  test('a MASTER without its VIP stays VipMismatch', () => {
    const c = rulePair(allRules);
    c.vipsFromState('ka1', { [VIP]: false });
    c.advance(5100);
    expect(c.names()).toEqual(['VipMismatch']);
  });
});
