// What is true when a VIP is bound on two nodes: the views of the incidents (a master's
// keepalived killed with SIGKILL or stopped with SIGTERM, VRRP firewalled) and the meanings of a
// duplicate-address answer. Every page must state what was observed.
import { Inhibitor } from '../../../agent/alerting/inhibit';
import { healthyPair } from './harness';

const VIP = '192.0.2.100';
const DUP = { kind: 'vip_duplicate', vip: VIP, duplicate: true, mac: '02:00:00:00:00:01', source: 'arp_probe' } as const;

describe('VipLeftBound', () => {
  test.each(['ka1', 'ka2'])('master keepalived killed with SIGKILL (seen from %s): VipLeftBound on ka1 at condition_for, no SplitBrain', (self) => {
    const c = healthyPair(self);
    const t0 = c.now;
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'process gone' }); // the VIP stays bound on ka1
    c.advance(3500);
    c.transition('ka2', 'MASTER'); // three adverts missed
    c.advance(1400);
    expect(c.firing('VipLeftBound')).toEqual([]);
    c.advance(200);
    const [a, ...more] = c.firing('VipLeftBound');
    expect(more).toEqual([]);
    expect(a.labels).toEqual({ alertname: 'VipLeftBound', severity: 'critical', vrid: '51', iname: 'VI_1', node: 'ka1', vip: VIP });
    expect(a.scope).toBe('node');
    expect(a.startsAt).toBe(t0);
    expect(a.annotations.summary).toBe('VIP 192.0.2.100 (VRID 51) is left bound on ka1: keepalived is not running there (process gone); ka2 is MASTER');
    expect(a.annotations.fix).toBe('`ip addr del 192.0.2.100/24 dev eth0`');
    expect(a.annotations.description).toMatch(/ka2 is MASTER and holds it too/);
    expect(a.annotations.description).toMatch(/Fix on ka1: `ip addr del 192\.0\.2\.100\/24 dev eth0`, or restart keepalived there\.$/);
    // ka2's duplicate-address probe hears ka1 answer for the address it left behind: still no split brain.
    c.apply('ka2', DUP);
    c.advance(60_000);
    expect(c.events('SplitBrain')).toEqual([]);
    expect(c.events('VipMismatch')).toEqual([]);
    expect(c.names()).toEqual(['Failover', 'KeepalivedDown', 'RedundancyLost', 'VipLeftBound']);
    // The shipped inhibit rules hide nothing of it, KeepalivedDown of the same node included.
    expect(new Inhibitor(undefined).inhibitedBy(a, c.firing())).toEqual([]);
    // Deleted by hand: resolved.
    c.apply('ka1', { kind: 'vip', vips: [{ iname: 'VI_1', vip: VIP, intf: null }], source: 'vip_probe' });
    c.advance(100);
    expect(c.events('VipLeftBound').map((x) => x.status)).toEqual(['firing', 'resolved']);
  });

  test('master keepalived stopped with SIGTERM (it removes its VIP): no VipLeftBound, no SplitBrain, no VipMismatch', () => {
    const c = healthyPair();
    c.transition('ka1', 'STOP'); // VrrpStatusChange(98); the VIP is deleted with it
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'stopped (VrrpStopped)' });
    c.advance(650);
    c.transition('ka2', 'MASTER');
    c.advance(60_000);
    for (const name of ['VipLeftBound', 'SplitBrain', 'VipMismatch']) expect(c.events(name)).toEqual([]);
    expect(c.names()).toEqual(['Failover', 'KeepalivedDown', 'RedundancyLost']);
  });

  test('VRRP firewalled: both keepalived processes claim MASTER: SplitBrain, no VipLeftBound', () => {
    const c = healthyPair();
    c.transition('ka2', 'MASTER');
    c.advance(10_000);
    expect(c.names()).toEqual(['SplitBrain']);
    expect(c.firing('SplitBrain')[0].annotations.summary).toBe('Split brain on VRID 51: ka1 and ka2 are both MASTER');
    c.transition('ka2', 'BACKUP'); // healed: ka2 hears ka1's higher priority and deletes the VIP
    c.advance(1000);
    expect(c.events('SplitBrain', 'resolved')[0].annotations.summary).toMatch(/^Split brain on VRID 51 is over: ka1 and ka2 were both MASTER from .* \(10\.\d s\); ka1 is MASTER now$/);
    expect(c.events('VipLeftBound')).toEqual([]);
  });

  test('a BACKUP, FAULT or STOP instance still holding the VIP, with keepalived running', () => {
    for (const state of ['BACKUP', 'FAULT', 'STOP'] as const) {
      const c = healthyPair();
      c.transition('ka2', state, 'VI_1', { moveVip: false });
      c.vipsFromState('ka2', { [VIP]: true });
      c.advance(5100);
      const a = c.firing('VipLeftBound');
      expect(a.map((x) => x.labels.node)).toEqual(['ka2']);
      expect(a[0].annotations.summary).toBe(`VIP 192.0.2.100 (VRID 51) is left bound on ka2: VI_1 is ${state} there; ka1 is MASTER`);
      expect(c.events('SplitBrain')).toEqual([]);
    }
  });

  test('keepalived dead before any other node took over: the page says this address still answers, and fires anyway', () => {
    const c = healthyPair('ka1', { conditionForMs: 2000 });
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'process gone' });
    c.advance(2100);
    const [a] = c.firing('VipLeftBound');
    expect(a.annotations.summary).toBe('VIP 192.0.2.100 (VRID 51) is left bound on ka1: keepalived is not running there (process gone)');
    expect(a.annotations.description).toMatch(/No other node holds it as MASTER yet, so this address is what answers for the VIP now\. Fix on ka1: restart keepalived there, or once another node is MASTER, `ip addr del 192\.0\.2\.100\/24 dev eth0`\.$/);
    // ka2 takes over: the alert's text follows (the API and the resolved notice show the current one).
    c.transition('ka2', 'MASTER');
    c.advance(100);
    expect(c.firing('VipLeftBound')[0].annotations.summary).toMatch(/; ka2 is MASTER$/);
    expect(c.events('VipLeftBound', 'firing')).toHaveLength(1);
  });

  test('the prefix the VIP probe did not see is not invented', () => {
    const c = healthyPair();
    c.apply('ka2', { kind: 'vip', vips: [{ iname: 'VI_1', vip: VIP, intf: 'eth1' }], source: 'vip_probe' });
    c.advance(5100);
    expect(c.firing('VipLeftBound')[0].annotations.fix).toBe('`ip addr del 192.0.2.100/<prefix shown by ip addr> dev eth1`');
  });

  test('a MASTER without its VIP stays VipMismatch', () => {
    const c = healthyPair();
    c.vipsFromState('ka1', { [VIP]: false });
    c.advance(5100);
    expect(c.names()).toEqual(['VipMismatch']);
  });
});

describe('a duplicate-address answer for a VIP a MASTER holds', () => {
  test('the peer out of sight: the other side of a split brain, said as observed', () => {
    const c = healthyPair();
    c.setPeerUp('ka2', false);
    c.advance(5000);
    c.apply('ka1', DUP);
    c.advance(1500);
    const sb = c.firing('SplitBrain');
    expect(sb).toHaveLength(1);
    expect(sb[0].annotations.summary).toBe('Split brain on VRID 51: ka1 is MASTER and another host (MAC 02:00:00:00:00:01) answers for its VIP 192.0.2.100; ka2 out of sight');
  });

  test('every node in sight and none holds it: an address conflict with a host outside the pair (VipMismatch), not a split brain', () => {
    const c = healthyPair();
    c.apply('ka1', DUP);
    c.advance(4900);
    expect(c.firing('VipMismatch')).toEqual([]);
    c.apply('ka1', { ...DUP }); // the probe repeats while it lasts
    c.advance(200);
    const v = c.firing('VipMismatch');
    expect(v.map((a) => a.labels.node)).toEqual(['ka1']);
    expect(v[0].annotations.summary).toMatch(/another host \(MAC 02:00:00:00:00:01\) answers for VIP 192\.0\.2\.100, which ka1 holds as MASTER; no other node of the pair holds it/);
    expect(c.events('SplitBrain')).toEqual([]);
  });
});
