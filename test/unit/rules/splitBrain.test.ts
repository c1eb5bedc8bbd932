// SplitBrain: two keepalived processes claim MASTER for one VRID, each path a claim observed
// (the cluster view, one VIP bound on two MASTERs, duplicate-address probing, keepalived's own
// evidence), live or found after the fact in the nodes' timelines.
import { allRules } from '../../../rules';
import { failoverRule } from '../../../rules/failoverRule';
import { noMasterRule } from '../../../rules/noMasterRule';
import { splitBrainRule } from '../../../rules/splitBrainRule';
import { vipLeftBoundRule } from '../../../rules/vipLeftBoundRule';
import { vipMismatchRule } from '../../../rules/vipMismatchRule';
import { rulePair, RuleSim } from './harness';

/** A total partition in which ka2 became MASTER 20 s ago, ending now with the peers meeting again while both still claim MASTER. */
function partitionedThenMet(): { c: ReturnType<typeof rulePair>; t1: number } {
  const c = rulePair(splitBrainRule);
  c.setPeerUp('ka2', false);
  c.advance(3500);
  const t1 = c.now;
  c.transition('ka2', 'MASTER');
  c.advance(20_000);
  c.setPeerUp('ka2', true);
  return { c, t1 };
}

describe('SplitBrain', () => {
  test('a healthy pair raises nothing', () => {
    const c = rulePair(allRules);
    c.advance(60_000);
    expect(c.names()).toEqual([]);
    expect(c.occurrences()).toEqual([]);
  });

  test('second MASTER seen through the peer: fires within 2 s with the second MASTER\'s time, over once one master remains', () => {
    const c = rulePair(splitBrainRule);
    const t0 = c.now;
    c.transition('ka2', 'MASTER');
    c.advance(900, 50);
    expect(c.conditions('SplitBrain')).toHaveLength(0); // absorbs a preemption's milliseconds
    c.advance(1100, 50);
    const fired = c.conditions('SplitBrain');
    expect(fired).toHaveLength(1);
    expect(c.occurrences('SplitBrain')[0].startsAt).toBe(t0);
    expect(fired[0].severity).toBe('critical');
    expect(fired[0].labels).toEqual({ vrid: '51', iname: 'VI_1' });
    expect(fired[0].annotations.summary).toBe('Split brain on VRID 51: ka1 and ka2 are both MASTER');
    expect(fired[0].annotations.description).toMatch(/keepalived on ka1 and ka2 reports MASTER; VIP 192\.0\.2\.100 is bound on ka1 and ka2, each MASTER/);
    expect(fired[0].annotations.detected).toBeUndefined();
    c.advance(20_000);
    expect(c.occurrences('SplitBrain').map((o) => o.endedAt)).toEqual([undefined]); // one occurrence while it lasts
    c.transition('ka2', 'BACKUP');
    c.advance(200);
    expect(c.conditions('SplitBrain')).toHaveLength(0);
    const [over] = c.occurrences('SplitBrain');
    expect(over.endedAt! - over.startsAt).toBeGreaterThanOrEqual(21_000);
    expect(c.resolvedNotice(over).summary).toMatch(/^Split brain on VRID 51 is over: ka1 and ka2 were both MASTER from \S+Z to \S+Z \(2\d\.\d s\); ka1 is MASTER now$/);
    // No after-the-fact duplicate from the timelines once the live one is over.
    c.advance(60_000);
    expect(c.occurrences('SplitBrain')).toHaveLength(1);
  });

  test('a preemption (both MASTER for 100 ms) is not a split brain', () => {
    const c = rulePair(splitBrainRule);
    c.transition('ka1', 'BACKUP');
    c.transition('ka2', 'MASTER');
    c.advance(30_000);
    c.transition('ka1', 'MASTER');
    c.advance(100, 10);
    c.transition('ka2', 'BACKUP');
    c.advance(120_000);
    expect(c.occurrences('SplitBrain')).toEqual([]);
  });

  test('simultaneous transitions (one evaluation sees master handed over) raise no SplitBrain and no NoMaster', () => {
    const c = rulePair([splitBrainRule, noMasterRule, failoverRule]);
    c.apply('ka1', { kind: 'transition', iname: 'VI_1', state: 'BACKUP' });
    c.apply('ka2', { kind: 'transition', iname: 'VI_1', state: 'MASTER' });
    c.vipsFromState('ka1');
    c.vipsFromState('ka2');
    c.advance(30_000);
    expect(c.occurrences('SplitBrain')).toEqual([]);
    expect(c.occurrences('NoMaster')).toEqual([]);
    expect(c.occurrences('Failover')).toHaveLength(1);
  });

  test('one VIP bound on two nodes is not a split brain when one of them is BACKUP: the address is left there (VipLeftBound)', () => {
    const c = rulePair([splitBrainRule, vipLeftBoundRule, vipMismatchRule]);
    c.vipsFromState('ka2', { '192.0.2.100': true });
    c.advance(10_000);
    expect(c.occurrences('SplitBrain')).toEqual([]);
    expect(c.conditions('VipLeftBound').map((x) => x.labels.node)).toEqual(['ka2']);
    expect(c.conditions('VipMismatch')).toEqual([]);
  });

  test('one VIP bound on two nodes, each MASTER of its own instance (configs disagree on the VRID): a split brain', () => {
    const c = new RuleSim(splitBrainRule, ['ka1', 'ka2']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150, vrid: 51 }]);
    c.boot('ka2', [{ state: 'MASTER', priority: 100, vrid: 52 }]);
    c.advance(3000);
    const sb = c.conditions('SplitBrain');
    expect(sb.map((x) => x.labels.vrid).sort()).toEqual(['51', '52']);
    expect(sb[0].annotations.description).toMatch(/VIP 192\.0\.2\.100 is bound on ka1 and ka2, each MASTER/);
  });

  test('a node alone: duplicate-address probing on a VIP it holds', () => {
    const c = new RuleSim(splitBrainRule, ['ka1']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.advance(5000);
    c.apply('ka1', { kind: 'vip_duplicate', vip: '192.0.2.100', duplicate: true, mac: '02:00:00:00:00:02', source: 'arp_probe' });
    c.advance(1500);
    const sb = c.conditions('SplitBrain');
    expect(sb).toHaveLength(1);
    expect(sb[0].annotations.description).toMatch(/MAC 02:00:00:00:00:02/);
    expect(sb[0].annotations.summary).toBe('Two hosts answer for VIP 192.0.2.100 (VRID 51): ka1, MASTER, and another host (MAC 02:00:00:00:00:02); no peer agent to say what runs on that host');
    c.apply('ka1', { kind: 'vip_duplicate', vip: '192.0.2.100', duplicate: false, source: 'arp_probe' });
    c.advance(500);
    expect(c.conditions('SplitBrain')).toHaveLength(0);
  });

  test('a node alone: keepalived forcing new elections again and again, while it lasts', () => {
    const c = new RuleSim(splitBrainRule, ['ka1']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.advance(5000);
    for (let i = 0; i < 5; i++) {
      c.apply('ka1', { kind: 'evidence', iname: 'VI_1', type: 'RX_LOWER_PRI_ADVERT', peer: '192.0.2.12', peerPriority: 100, ourPriority: 150, source: 'log' });
      c.advance(1000);
    }
    expect(c.conditions('SplitBrain')).toHaveLength(1);
    expect(c.conditions('SplitBrain')[0].annotations.description).toMatch(/forcing new elections/);
    c.advance(5000);
    expect(c.conditions('SplitBrain')).toHaveLength(0);
    expect(c.occurrences('SplitBrain').map((o) => o.endedAt !== undefined)).toEqual([true]);
  });

  test('the fight\'s last adverts reaching ka2\'s agent after the split brain resolved there: one page, not a second split brain', () => {
    // As seen in the lab: ka2 yields, its agent resolves at once, and ka1's MASTER_RX_LOWER_PRI
    // (the second of the fight, so "keeps receiving") arrives through the peer 50 ms later.
    const c = rulePair(splitBrainRule, 'ka2');
    c.transition('ka2', 'MASTER');
    c.advance(3000, 50);
    c.apply('ka1', { kind: 'evidence', iname: 'VI_1', type: 'MASTER_RX_LOWER_PRI', source: 'fifo' });
    c.advance(1000, 50);
    c.transition('ka2', 'BACKUP');
    c.advance(50, 50);
    expect(c.conditions('SplitBrain')).toEqual([]);
    c.apply('ka1', { kind: 'evidence', iname: 'VI_1', type: 'MASTER_RX_LOWER_PRI', source: 'fifo' });
    c.advance(60_000, 50);
    expect(c.occurrences('SplitBrain').map((o) => o.condition.annotations.summary)).toEqual(['Split brain on VRID 51: ka1 and ka2 are both MASTER']);
  });

  test('ka2 yields while keepalived\'s evidence of its adverts is still current: the resolved notice names the two MASTERs, not a third "another keepalived"', () => {
    const c = rulePair(splitBrainRule);
    c.transition('ka2', 'MASTER');
    c.advance(2000, 50);
    c.apply('ka1', { kind: 'evidence', iname: 'VI_1', type: 'MASTER_RX_LOWER_PRI', source: 'fifo' });
    c.advance(1000, 50);
    c.apply('ka1', { kind: 'evidence', iname: 'VI_1', type: 'MASTER_RX_LOWER_PRI', source: 'fifo' });
    c.transition('ka2', 'BACKUP');
    c.advance(10_000, 50);
    const [o, ...more] = c.occurrences('SplitBrain');
    expect(more).toEqual([]);
    expect(c.resolvedNotice(o).summary).toMatch(/^Split brain on VRID 51 is over: ka1 and ka2 were both MASTER from /);
  });

  test('keepalived\'s evidence that goes on after a split brain resolved (ka2 out of sight): a live split brain again', () => {
    const c = rulePair(splitBrainRule);
    c.transition('ka2', 'MASTER');
    c.advance(3000, 50);
    c.transition('ka2', 'BACKUP');
    c.advance(500, 50);
    c.setPeerUp('ka2', false);
    for (let i = 0; i < 8; i++) {
      c.apply('ka1', { kind: 'evidence', iname: 'VI_1', type: 'MASTER_RX_LOWER_PRI', source: 'fifo' });
      c.advance(1000, 50);
    }
    const occ = c.occurrences('SplitBrain');
    expect(occ).toHaveLength(2);
    expect(occ[1].condition.annotations.description).toMatch(/forcing new elections/);
  });

  test('a node alone: one MASTER_RX_LOWER_PRI is reported as a split brain that ended', () => {
    const c = new RuleSim(splitBrainRule, ['ka1']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.advance(5000);
    const at = c.now;
    c.apply('ka1', { kind: 'evidence', iname: 'VI_1', type: 'MASTER_RX_LOWER_PRI', source: 'fifo' });
    c.advance(2000);
    expect(c.occurrences('SplitBrain')).toEqual([]); // waits a few adverts: a fight that goes on is a live split brain
    c.advance(2000);
    const [past, ...more] = c.occurrences('SplitBrain');
    expect(more).toEqual([]);
    expect(past.condition.endsAt).toBe(at);
    expect(past.endedAt).toBe(at);
    c.advance(60_000);
    expect(c.occurrences('SplitBrain')).toHaveLength(1);
  });

  test('full partition: nothing while it lasts, "lasted from X to Y" when the peers meet again', () => {
    const c = rulePair(splitBrainRule);
    c.setPeerUp('ka2', false); // no path at all: the peer stream is cut too
    c.advance(3500);
    const t1 = c.now;
    c.transition('ka2', 'MASTER'); // ka2 stops hearing ka1
    c.advance(40_000);
    expect(c.occurrences('SplitBrain')).toEqual([]);
    const t2 = c.now;
    c.transition('ka2', 'BACKUP'); // healed: ka2 hears ka1's higher priority
    c.apply('ka1', { kind: 'evidence', iname: 'VI_1', type: 'MASTER_RX_LOWER_PRI', source: 'fifo' });
    c.advance(2000);
    c.setPeerUp('ka2', true); // the peer stream reconnects a little later
    c.advance(1000);
    const [past, ...more] = c.occurrences('SplitBrain');
    expect(more).toEqual([]);
    expect(past.startsAt).toBe(t1);
    expect(past.endedAt).toBe(t2);
    expect(past.condition.annotations.summary).toMatch(/lasted from .* to .* \(40\.0 s\): ka1 and ka2 were both MASTER/);
    expect(past.condition.annotations.detected).toBe('after healing');
    c.advance(120_000); // the keepalived evidence is explained by the timelines: not a second report
    expect(c.occurrences('SplitBrain')).toHaveLength(1);
  });

  test('full partition healed in the other order: the peers meet while both still look MASTER, one yields a moment later: told once, as past', () => {
    const { c, t1 } = partitionedThenMet();
    c.advance(1000, 50);
    expect(c.conditions('SplitBrain')).toEqual([]);
    const t2 = c.now;
    c.transition('ka2', 'BACKUP'); // it heard ka1's adverts again
    c.advance(60_000);
    const [past, ...more] = c.occurrences('SplitBrain');
    expect(more).toEqual([]);
    expect(past.startsAt).toBe(t1);
    expect(past.endedAt).toBe(t2);
    expect(past.condition.annotations.detected).toBe('after healing');
    expect(past.condition.annotations.summary).toMatch(/lasted from .* to .* \(21\.\d s\): ka1 and ka2 were both MASTER/);
  });

  test('the peers meet again and both stay MASTER (VRRP still cut): paged live once the confirmation window passed, marked late', () => {
    const { c, t1 } = partitionedThenMet();
    const met = c.now;
    c.advance(2900, 50);
    expect(c.conditions('SplitBrain')).toEqual([]);
    c.advance(300, 50);
    const live = c.conditions('SplitBrain');
    expect(live).toHaveLength(1);
    expect(c.now - met).toBeLessThan(3300);
    expect(live[0].startsAt).toBe(t1);
    expect(live[0].annotations.detected).toMatch(/^late/);
    c.transition('ka2', 'BACKUP');
    c.advance(60_000);
    const [over, ...more] = c.occurrences('SplitBrain');
    expect(more).toEqual([]);
    expect(c.resolvedNotice(over).summary).toMatch(/^Split brain on VRID 51 is over: ka1 and ka2 were both MASTER from .* \(2\d\.\d s\); ka1 is MASTER now$/);
  });

  test('a peer agent restarting during a split brain: not over, no second occurrence', () => {
    const c = rulePair(splitBrainRule);
    c.transition('ka2', 'MASTER');
    c.advance(2000);
    expect(c.conditions('SplitBrain')).toHaveLength(1);
    c.restartPeerAgent('ka2', [{ state: 'MASTER', priority: 100 }]);
    expect(c.store('ka2').state.bootAt).toBeGreaterThan(c.store('ka1').state.bootAt);
    c.advance(10_000);
    expect(c.occurrences('SplitBrain').map((o) => o.endedAt)).toEqual([undefined]);
    c.transition('ka2', 'BACKUP');
    c.advance(1000);
    expect(c.occurrences('SplitBrain').map((o) => o.endedAt !== undefined)).toEqual([true]);
  });

  test('the other MASTER going out of sight keeps it; seen BACKUP again ends it', () => {
    const c = rulePair(splitBrainRule);
    c.transition('ka2', 'MASTER');
    c.advance(2000);
    c.setPeerUp('ka2', false);
    c.advance(60_000);
    expect(c.conditions('SplitBrain')).toHaveLength(1);
    expect(c.conditions('SplitBrain')[0].annotations.description).toMatch(/out of sight/);
    c.transition('ka2', 'BACKUP');
    c.setPeerUp('ka2', true);
    c.advance(1000);
    expect(c.conditions('SplitBrain')).toHaveLength(0);
    expect(c.occurrences('SplitBrain').map((o) => o.endedAt !== undefined)).toEqual([true]);
  });

  test('three nodes: counts masters, names the two', () => {
    const c = new RuleSim(allRules, ['ka1', 'ka2', 'ka3']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    c.boot('ka3', [{ state: 'BACKUP', priority: 50 }]);
    c.advance(30_000);
    expect(c.occurrences()).toEqual([]);
    c.transition('ka3', 'MASTER');
    c.advance(2000);
    const sb = c.conditions('SplitBrain');
    expect(sb).toHaveLength(1);
    expect(sb[0].annotations.nodes).toBe('ka1,ka3');
  });

  test('three nodes, observed from a backup that sees both masters', () => {
    const c = new RuleSim(splitBrainRule, ['ka1', 'ka2', 'ka3'], 'ka2');
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    c.boot('ka3', [{ state: 'BACKUP', priority: 50 }]);
    c.advance(10_000);
    c.transition('ka3', 'MASTER');
    c.advance(2000);
    expect(c.conditions('SplitBrain')).toHaveLength(1);
    expect(c.alerts()[0].annotations.observer).toBe('ka2');
  });

  test('active-active: two VRIDs, each node MASTER of one: no alert', () => {
    const c = new RuleSim(allRules, ['ka1', 'ka2']);
    c.boot('ka1', [
      { iname: 'VI_1', vrid: 51, state: 'MASTER', priority: 150, vips: ['192.0.2.100'] },
      { iname: 'VI_2', vrid: 52, state: 'BACKUP', priority: 100, vips: ['192.0.2.101'] },
    ]);
    c.boot('ka2', [
      { iname: 'VI_1', vrid: 51, state: 'BACKUP', priority: 100, vips: ['192.0.2.100'] },
      { iname: 'VI_2', vrid: 52, state: 'MASTER', priority: 150, vips: ['192.0.2.101'] },
    ]);
    c.advance(120_000);
    expect(c.occurrences()).toEqual([]);
    // And a split brain on one VRID is reported for that VRID only.
    c.transition('ka2', 'MASTER', 'VI_1');
    c.advance(2000);
    expect(c.conditions('SplitBrain').map((x) => x.labels.vrid)).toEqual(['51']);
  });
});

describe('SplitBrain from duplicate-address probing', () => {
  const DUP = { kind: 'vip_duplicate', vip: '192.0.2.100', duplicate: true, mac: '02:00:00:00:00:01', source: 'arp_probe' } as const;

  test('the peer out of sight: said as observed (two hosts answer, the peer\'s keepalived unknown), never "both MASTER", with the fix for either case', () => {
    // ka2's agent is gone, then another host answers for ka1's VIP: keepalived on ka2 may be MASTER
    // (VRRP cut) or dead with its VIP left bound (kill -9); ka1 sees the answer, not a MASTER.
    const c = rulePair(splitBrainRule);
    c.setPeerUp('ka2', false);
    c.advance(5000);
    c.apply('ka1', DUP);
    c.advance(1500);
    const sb = c.conditions('SplitBrain');
    expect(sb).toHaveLength(1);
    const a = sb[0].annotations;
    expect(a.summary).toBe("Two hosts answer for VIP 192.0.2.100 (VRID 51): ka1, MASTER, and another host (MAC 02:00:00:00:00:01); ka2 out of sight, keepalived's state there unknown");
    expect(a.summary).not.toMatch(/both MASTER|Split brain/);
    expect(a.description).toMatch(/^The duplicate-address probe on ka1 hears another host \(MAC 02:00:00:00:00:01\) answer ARP for VIP 192\.0\.2\.100, which ka1 holds as MASTER on eth0\. /);
    expect(a.description).toMatch(/Find that host by its MAC: `ip neigh \| grep -i 02:00:00:00:00:01` on ka1 gives its address\. ka2 is out of sight \(no agent answers there\)/);
    expect(a.description).toMatch(/Not observed: whether keepalived on that host is MASTER too \(VRRP between the nodes cut: a split brain\) or dead/);
    expect(a.description).toMatch(/On that host: if keepalived is not running there, `ip addr del 192\.0\.2\.100\/24 dev eth0`/);
    expect(a.description).toMatch(/if it runs and is MASTER, check that VRRP/);
    expect(a.description).not.toMatch(/One MASTER remains|Both sides answer/);
    expect(a.fix).toBe('`ip addr del 192.0.2.100/24 dev eth0`');
    // Over once the other host lets go: the notice ends the answers, it names no second MASTER.
    c.advance(20_000);
    c.apply('ka1', { ...DUP, duplicate: false, mac: undefined });
    c.advance(200);
    expect(c.conditions('SplitBrain')).toHaveLength(0);
    const [over] = c.occurrences('SplitBrain');
    const done = c.resolvedNotice(over);
    expect(done.summary).toMatch(/^Two hosts no longer answer for VIP 192\.0\.2\.100 \(VRID 51\): ka1 and another host \(MAC 02:00:00:00:00:01\) both answered from \S+Z to \S+Z \(2\d\.\d s\); ka1 is MASTER now$/);
    expect(done.summary).not.toMatch(/were both MASTER/);
    expect(done.description).toMatch(/^No longer observed: ka1 holding the VIP as MASTER while another host answers for it\. /);
  });

  test("the answering MAC is the one the neighbour table has for the unseen peer's address: the page names that peer, still claims no MASTER for it", () => {
    const c = rulePair(splitBrainRule);
    c.setPeerUrl('ka2', 'http://192.0.2.12:9723');
    c.setPeerUp('ka2', false);
    c.advance(5000);
    c.apply('ka1', { ...DUP, macAddresses: ['192.0.2.12'] });
    c.advance(1500);
    const a = c.conditions('SplitBrain')[0].annotations;
    expect(a.summary).toBe("Two hosts answer for VIP 192.0.2.100 (VRID 51): ka1, MASTER, and ka2 (MAC 02:00:00:00:00:01, as ka2's address 192.0.2.12); ka2 out of sight, keepalived's state there unknown");
    expect(a.description).toMatch(/^The duplicate-address probe on ka1 hears ka2 answer ARP for VIP 192\.0\.2\.100, which ka1 holds as MASTER on eth0\. ka1's neighbour table gives MAC 02:00:00:00:00:01 for ka2's address 192\.0\.2\.12\. /);
    expect(a.description).toMatch(/On ka2: if keepalived is not running there, `ip addr del 192\.0\.2\.100\/24 dev eth0`/);
    // An address that is no peer's: said, not named.
    c.apply('ka1', { ...DUP, macAddresses: ['192.0.2.77'] });
    c.advance(200);
    expect(c.conditions('SplitBrain')[0].annotations.summary).toMatch(/and another host \(MAC 02:00:00:00:00:01, address 192\.0\.2\.77\); ka2 out of sight/);
  });

  test('the answering host then seen as a second MASTER: the usual split-brain words, one occurrence', () => {
    const c = rulePair(splitBrainRule);
    c.setPeerUp('ka2', false);
    c.advance(5000);
    c.apply('ka1', DUP);
    c.advance(1500);
    expect(c.conditions('SplitBrain')[0].annotations.evidence).toBe('duplicate-address answers only');
    c.transition('ka2', 'MASTER');
    c.setPeerUp('ka2', true);
    c.advance(2000);
    const sb = c.conditions('SplitBrain');
    expect(sb).toHaveLength(1);
    expect(sb[0].annotations.summary).toMatch(/^Split brain on VRID 51: ka1 and ka2 are/);
    expect(sb[0].annotations.evidence).toBeUndefined();
    expect(c.occurrences('SplitBrain')).toHaveLength(1);
  });

  test('on a pair that preempts back and forth: an answer heard by a probe that straddled a VIP move is not a second holder; one heard 3 s after taking the VIP, with the peer out of sight, is', () => {
    const c = rulePair(splitBrainRule);
    // ka1 took the VIP back 1 s ago; its arping (up to 2 s) still heard ka2 answer before ka2 let go.
    c.transition('ka2', 'BACKUP');
    c.transition('ka1', 'BACKUP');
    c.advance(500);
    c.transition('ka1', 'MASTER');
    c.advance(1000);
    c.apply('ka1', { ...DUP, mac: '02:00:00:00:00:02' });
    c.advance(5000);
    expect(c.occurrences('SplitBrain')).toEqual([]);
    // The next probe, well after the move, still hears another holder while ka2 is out of sight:
    // the other side of a split brain.
    c.setPeerUp('ka2', false);
    c.apply('ka1', { ...DUP, mac: '02:00:00:00:00:02' });
    c.advance(1500);
    expect(c.conditions('SplitBrain')).toHaveLength(1);
  });
});
