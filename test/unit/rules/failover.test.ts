// Failover: the MASTER of a VRID moved to another node, with the cause the view shows; an event,
// over after event_hold; paged by the new master's agent.
import { transitionCountKey } from '../../../agent/state/store';
import { failoverRule } from '../../../rules/failoverRule';
import { flappingRule } from '../../../rules/flappingRule';
import { splitBrainRule } from '../../../rules/splitBrainRule';
import { restartWithHistory, rulePair, RuleSim } from './harness';

describe('Failover', () => {
  test('master keepalived stopped: Failover ka1 -> ka2 with the cause; over after the hold', () => {
    const c = rulePair(failoverRule);
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'stopped (VrrpStopped)' });
    c.vipsFromState('ka1');
    c.advance(3600);
    c.transition('ka2', 'MASTER');
    c.advance(100);
    const f = c.conditions('Failover');
    expect(f).toHaveLength(1);
    expect(f[0].severity).toBe('warning');
    expect(f[0].event).toBe(true);
    expect(f[0].labels).toEqual({ vrid: '51', iname: 'VI_1', node: 'ka2' });
    expect(f[0].annotations.from).toBe('ka1');
    expect(f[0].annotations.cause).toMatch(/keepalived stopped on ka1 \(stopped \(VrrpStopped\)\)/);
    c.advance(299_000);
    expect(c.conditions('Failover')).toHaveLength(1);
    c.advance(1000);
    expect(c.conditions('Failover')).toHaveLength(0);
    expect(c.occurrences('Failover').map((o) => o.endedAt !== undefined)).toEqual([true]);
  });

  test('a second failover in the same direction within the hold is a new occurrence (the first one is over)', () => {
    // A hold of 10 min: failovers 3 min apart are two MASTER changes per 5 min, not flapping.
    const c = rulePair(failoverRule, 'ka1', { eventHoldMs: 600_000 });
    c.transition('ka1', 'STOP');
    c.transition('ka2', 'MASTER');
    c.advance(180_000);
    c.transition('ka1', 'BACKUP');
    c.transition('ka1', 'MASTER');
    c.transition('ka2', 'BACKUP');
    c.advance(180_000);
    c.transition('ka1', 'STOP');
    c.transition('ka2', 'MASTER');
    c.advance(1000);
    const toKa2 = c.occurrences('Failover').filter((o) => o.labels.node === 'ka2');
    expect(toKa2.map((o) => o.endedAt !== undefined)).toEqual([true, false]);
    expect(toKa2[1].startsAt).toBeGreaterThan(toKa2[0].startsAt);
    expect(c.conditions('Failover').map((x) => x.labels.node).sort()).toEqual(['ka1', 'ka2']);
  });

  test('FAULT because nginx died under a track script', () => {
    const c = rulePair(failoverRule);
    c.nginx('ka1', false);
    c.apply('ka1', { kind: 'script', name: 'chk_nginx', good: false, source: 'dumps' });
    c.transition('ka1', 'FAULT');
    c.transition('ka2', 'MASTER');
    c.advance(100);
    expect(c.conditions('Failover')[0].annotations.cause).toMatch(/ka1 went FAULT \(failing track script: chk_nginx\); nginx down on ka1/);
  });

  test("the old master's agent out of sight: the cause says only that, with every reason it may have (its agent stopped among them)", () => {
    // Out of sight is what is observed: the host may be up with only its agent stopped (its VIP
    // even answering ARP), so "unreachable" or "host down" alone would be a guess.
    const c = rulePair(failoverRule, 'ka2');
    c.setPeerUp('ka1', false);
    c.advance(3000);
    c.transition('ka2', 'MASTER');
    c.advance(100);
    expect(c.conditions('Failover')[0].annotations.cause).toBe("ka1 out of sight: its agent does not answer (agent stopped, host down or cut off from ka2), so why ka1 stopped being MASTER is not observed");
  });

  test('preemption when the old master comes back', () => {
    const c = rulePair(failoverRule);
    c.transition('ka1', 'STOP');
    c.transition('ka2', 'MASTER');
    c.advance(20_000);
    c.transition('ka1', 'BACKUP');
    c.advance(1000);
    c.transition('ka1', 'MASTER');
    c.transition('ka2', 'BACKUP');
    c.advance(100);
    const back = c.conditions('Failover').find((x) => x.labels.node === 'ka1')!;
    expect(back.annotations.cause).toMatch(/preemption: ka1 came back with priority 150 > 100/);
  });

  test('priority change moves the master: cause names it', () => {
    const c = rulePair(failoverRule);
    c.apply('ka1', { kind: 'priority', iname: 'VI_1', priority: 90, source: 'fifo' });
    c.transition('ka1', 'BACKUP');
    c.transition('ka2', 'MASTER');
    c.advance(100);
    expect(c.conditions('Failover')[0].annotations.cause).toMatch(/priority change: ka1's priority fell to 90 \(configured 150\)/);
  });

  test('no master change, no failover: a backup restarting its keepalived', () => {
    const c = rulePair(failoverRule);
    c.transition('ka2', 'STOP');
    c.advance(2000);
    c.transition('ka2', 'BACKUP');
    c.advance(60_000);
    expect(c.occurrences('Failover')).toEqual([]);
  });

  test('late and reordered notify lines (FIFO/log behind D-Bus, peer update before ours) do not invent a failover', () => {
    const c = rulePair([failoverRule, splitBrainRule]);
    const t = c.now;
    // ka2 flips BACKUP -> MASTER -> BACKUP within 30 ms; D-Bus reports it at once...
    c.apply('ka2', { kind: 'transition', iname: 'VI_1', state: 'MASTER', at: t + 10, source: 'dbus' });
    c.apply('ka2', { kind: 'transition', iname: 'VI_1', state: 'BACKUP', at: t + 40, source: 'dbus' });
    // ...the FIFO and the log deliver the same lines later.
    c.advance(300);
    c.apply('ka2', { kind: 'transition', iname: 'VI_1', state: 'MASTER', at: t + 10, source: 'fifo' });
    c.apply('ka2', { kind: 'transition', iname: 'VI_1', state: 'BACKUP', at: t + 40, source: 'fifo' });
    c.apply('ka2', { kind: 'transition', iname: 'VI_1', state: 'MASTER', at: t + 10, source: 'log' });
    c.apply('ka2', { kind: 'transition', iname: 'VI_1', state: 'BACKUP', at: t + 40, source: 'log' });
    c.advance(60_000);
    expect(c.store('ka2').state.instances.VI_1.state).toBe('BACKUP');
    expect(c.occurrences('SplitBrain')).toEqual([]);
    expect(c.occurrences('Failover')).toEqual([]);
    // A real handover where the peer's news (ka2 MASTER) arrives before our own (ka1 BACKUP).
    c.transition('ka2', 'MASTER');
    c.advance(30, 10);
    c.transition('ka1', 'BACKUP');
    c.advance(60_000);
    expect(c.occurrences('SplitBrain')).toEqual([]);
    expect(c.occurrences('Failover')).toHaveLength(1);
  });

  test('three nodes: failover to the third node names it', () => {
    const c = new RuleSim(failoverRule, ['ka1', 'ka2', 'ka3']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 50 }]);
    c.boot('ka3', [{ state: 'BACKUP', priority: 100 }]);
    c.advance(5000);
    c.transition('ka1', 'FAULT');
    c.transition('ka3', 'MASTER');
    c.advance(100);
    expect(c.conditions('Failover').map((x) => [x.annotations.from, x.labels.node])).toEqual([['ka1', 'ka3']]);
  });

  test('paged by the new master\'s agent (node-scoped, labels.node = the new master)', () => {
    const c = rulePair(failoverRule);
    c.transition('ka1', 'STOP');
    c.transition('ka2', 'MASTER');
    c.advance(100);
    const [f] = c.conditions('Failover');
    expect(f.labels.node).toBe('ka2');
    expect(failoverRule.scope).toBe('node');
  });
});

// What a restarted agent reads of its downtime is history: in its timeline and counters, but no
// live alert of its own (no Failover, no Flapping), and no past SplitBrain made of times that are
// only bounded. The peer's agent, up all along, is who paged the incident as it happened.
describe.each(['ka1', 'ka2'])('failover while the backup\'s agent was down, seen from %s', (self) => {
  test('the new master\'s agent: the takeover in its timeline and counter; no Failover, Flapping or SplitBrain of its own', () => {
    const c = rulePair([failoverRule, flappingRule, splitBrainRule], self);
    // ka2's agent goes down (from ka1's side: its peer stops answering).
    const downAt = c.now;
    if (self === 'ka1') c.setPeerUp('ka2', false);
    c.advance(5000);
    // ka1's keepalived dies; ka2 takes over while its agent is down (only ka1's agent sees ka1).
    const killedAt = c.now;
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'killed' });
    c.vipsFromState('ka1');
    const takeoverAt = killedAt + 3600;
    c.advance(20_000);
    restartWithHistory(c, 'ka2', { state: 'BACKUP', aliveAt: downAt }, [{ state: 'MASTER', at: takeoverAt }], 'MASTER');
    c.advance(30_000);

    const s = c.store('ka2').state;
    expect(s.timeline.map((t) => [t.from, t.to, t.at, t.history])).toEqual([['BACKUP', 'MASTER', takeoverAt, 'backlog']]);
    expect(s.transitionCounts[transitionCountKey('VI_1', 'BACKUP', 'MASTER')]).toBe(1);
    expect(s.instances.VI_1.since).toBe(takeoverAt);
    expect(c.occurrences('SplitBrain')).toEqual([]);
    expect(c.occurrences('Flapping')).toEqual([]);
    if (self === 'ka2') {
      // History is no fresh page from the agent that was down.
      expect(c.occurrences('Failover')).toEqual([]);
    } else {
      // ka1's agent, up all along, evaluates the failover when ka2 is back in sight, at its own
      // time; the alert is ka2's to deliver (scope node), and ka2 has no live failover to page.
      const f = c.occurrences('Failover');
      expect(f.map((o) => [o.labels.node, o.startsAt])).toEqual([['ka2', takeoverAt]]);
      expect(failoverRule.scope).toBe('node');
    }
  });
});
