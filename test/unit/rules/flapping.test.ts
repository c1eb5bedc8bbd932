// Flapping (rules/flapping.ts says when a VRID flaps, the Flapping rule pages it) with the shipped
// defaults (the harness's settings are the schema's: 3 MASTER changes within 5 min fire, 2 min
// without one clear), on the fake clock.
import type { VrrpState } from '../../../agent/state/types';
import { failoverRule } from '../../../rules/failoverRule';
import { flappingRule } from '../../../rules/flappingRule';
import { splitBrainRule } from '../../../rules/splitBrainRule';
import { fmtDuration, fmtTime } from '../../../agent/format';
import { restartWithHistory, rulePair, SimCluster, type SimNodes } from './harness';

/** A settled pair under Flapping and Failover (a per-transition rule that folds into it). */
const pair = (self = 'ka1') => rulePair([flappingRule, failoverRule], self);

/**
 * A flapping pair: nginx down and up on the master with a track script, 6 times in 42 s. Each
 * down makes ka1 FAULT and ka2 MASTER; each up makes ka1 BACKUP and then MASTER again (priority
 * 150 > 100: preemption). 12 failovers, one every 3.5 s. Returns when each failover happened.
 */
function nginxLoop(c: SimNodes, cycles: number, seen: (failover: number) => void = () => undefined): number[] {
  const at: number[] = [];
  for (let i = 0; i < cycles; i++) {
    c.nginx('ka1', false);
    c.transition('ka1', 'FAULT');
    c.transition('ka2', 'MASTER');
    at.push(c.now);
    c.advance(3500);
    seen(at.length);
    c.nginx('ka1', true);
    c.transition('ka1', 'BACKUP');
    c.transition('ka1', 'MASTER');
    c.transition('ka2', 'BACKUP');
    at.push(c.now);
    c.advance(3500);
    seen(at.length);
  }
  return at;
}

describe('Flapping (defaults: 3 MASTER changes within 5 min; clears after 2 min without one)', () => {
  test('the 12-failover loop: Flapping at the 3rd change (before the 4th failover), the rest folded, one alert', () => {
    const c = pair();
    const firingAfter: number[] = [];
    const at = nginxLoop(c, 6, () => firingAfter.push(c.conditions('Flapping').length));
    expect(at).toHaveLength(12);
    // Not after 2 failovers; after the 3rd, before the 4th.
    expect(firingAfter.slice(0, 3)).toEqual([0, 0, 1]);
    const [flap, ...more] = c.occurrences('Flapping');
    expect(more).toEqual([]);
    expect(flap.startsAt).toBe(at[0]);
    expect(flap.severity).toBe('warning');
    expect(flap.labels).toEqual({ vrid: '51', iname: 'VI_1' });
    // Pages: the first two failovers; the other ten folded into Flapping.
    expect(c.occurrences('Failover')).toHaveLength(2);
    expect(c.folded.get('51')).toBe(10);
    const live = c.conditions('Flapping')[0];
    expect(live.annotations.summary).toBe(
      'VRID 51 is flapping: the MASTER changed 12 times in 38.5 s (MASTER in turn: ..., ka2, ka1, ka2, ka1, ka2, ka1)',
    );
    expect(live.annotations.master_changes).toBe('12');
  });

  test('it clears only after quiet (2 min without a MASTER change), once; a later single failover does not re-fire it', () => {
    const c = pair();
    const at = nginxLoop(c, 6);
    const last = at[at.length - 1];
    c.advance(last + 119_000 - c.now);
    expect(c.conditions('Flapping')).toHaveLength(1);
    c.advance(2000);
    expect(c.conditions('Flapping')).toEqual([]);
    const [over, ...more] = c.occurrences('Flapping');
    expect(more).toEqual([]);
    expect(over.endedAt).toBeGreaterThanOrEqual(last + 120_000);
    expect(over.endedAt).toBeLessThan(last + 121_000);
    expect(c.resolvedNotice(over).summary).toMatch(/^VRID 51 stopped flapping: the MASTER changed 12 times from \S+ to \S+, and not since$/);
    // One more failover within the 5 min window of the loop: a new page for it, not a second Flapping.
    c.transition('ka1', 'FAULT');
    c.transition('ka2', 'MASTER');
    c.advance(10_000);
    expect(c.occurrences('Flapping')).toHaveLength(1);
    expect(c.occurrences('Failover')).toHaveLength(3);
  });

  test('the resolved notice the engine publishes: from the first change to the last, and how long none since', () => {
    const c = new SimCluster(['ka1', 'ka2'], 'ka1', {}, [flappingRule, failoverRule]);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    c.advance(10_000);
    const at = nginxLoop(c, 6);
    const last = at[at.length - 1];
    c.advance(last + 125_000 - c.now);
    const [resolved, ...more] = c.events('Flapping', 'resolved');
    expect(more).toEqual([]);
    // The engine sees the last change when it evaluates, a few ms after the transition.
    const lastChange = Date.parse(resolved.annotations.last_change);
    expect(lastChange - last).toBeGreaterThanOrEqual(0);
    expect(lastChange - last).toBeLessThan(100);
    expect(resolved.annotations.summary).toBe(`VRID 51 stopped flapping: the MASTER changed 12 times from ${fmtTime(at[0])} to ${fmtTime(lastChange)}, and not since`);
    expect(resolved.endsAt! - lastChange).toBeGreaterThanOrEqual(120_000);
    expect(resolved.annotations.description).toMatch(new RegExp(`^No MASTER change for ${fmtDuration(resolved.endsAt! - lastChange)}\\. Keepalived keeps moving`));
  });

  test('a change during the quiet period keeps it firing: hysteresis, not a page per burst', () => {
    const c = pair();
    nginxLoop(c, 2);
    c.advance(100_000);
    c.transition('ka1', 'FAULT');
    c.transition('ka2', 'MASTER');
    c.advance(100_000);
    expect(c.conditions('Flapping')).toHaveLength(1);
    c.advance(30_000);
    expect(c.conditions('Flapping')).toEqual([]);
    expect(c.occurrences('Flapping').map((o) => o.endedAt !== undefined)).toEqual([true]);
  });

  test('two changes never flap: a failover and its failback, however quick, and again after the window', () => {
    const c = pair();
    for (let round = 0; round < 3; round++) {
      c.nginx('ka1', false);
      c.transition('ka1', 'FAULT');
      c.transition('ka2', 'MASTER');
      c.advance(1000);
      c.nginx('ka1', true);
      c.transition('ka1', 'BACKUP');
      c.transition('ka1', 'MASTER');
      c.transition('ka2', 'BACKUP');
      c.advance(301_000);
    }
    expect(c.occurrences('Flapping')).toEqual([]);
    expect(c.occurrences('Failover')).toHaveLength(6);
  });

  test('split brains that heal back to the same master are no MASTER change (the master never changed)', () => {
    const c = rulePair([flappingRule, splitBrainRule]);
    for (let i = 0; i < 4; i++) {
      c.transition('ka2', 'MASTER');
      c.advance(3000);
      c.transition('ka2', 'BACKUP');
      c.advance(3000);
    }
    expect(c.occurrences('SplitBrain')).toHaveLength(4);
    expect(c.occurrences('Flapping')).toEqual([]);
  });

  test('a peer going out of sight and back is not a MASTER change', () => {
    const c = pair();
    for (let i = 0; i < 10; i++) {
      c.setPeerUp('ka2', false);
      c.advance(2000);
      c.setPeerUp('ka2', true);
      c.advance(2000);
    }
    expect(c.occurrences('Flapping')).toEqual([]);
  });

  test('the VIP moving between nodes without state transitions counts', () => {
    const c = pair();
    for (let i = 0; i < 4; i++) {
      c.vipsFromState('ka1', { '192.0.2.100': i % 2 === 1 });
      c.vipsFromState('ka2', { '192.0.2.100': i % 2 === 0 });
      c.advance(2000);
    }
    expect(c.occurrences('Flapping')).toHaveLength(1);
  });

  test('changes before the agent started do not count (a restarted agent needs 3 new ones)', () => {
    const c = pair();
    nginxLoop(c, 1);
    c.restartAgent(); // memory lost, the timelines kept
    c.advance(1000);
    c.transition('ka1', 'FAULT');
    c.transition('ka2', 'MASTER');
    c.advance(10_000);
    expect(c.occurrences('Flapping')).toEqual([]);
  });

  test('a flap while the agent was down is history: no Flapping from its backlog', () => {
    const c = pair('ka2');
    const downAt = c.now;
    c.advance(1000);
    const t0 = c.now;
    const flap: Array<{ state: VrrpState; at: number }> = [];
    // A change every 30 s for 5 min (seen live, this would page Flapping with the defaults).
    for (let i = 0; i < 10; i++) flap.push({ state: i % 2 ? 'BACKUP' : 'MASTER', at: t0 + i * 30_000 });
    // The peer went out of sight meanwhile: only ka2's own (history) timeline is there to judge.
    c.setPeerUp('ka1', false);
    c.advance(280_000);
    restartWithHistory(c, 'ka2', { state: 'BACKUP', aliveAt: downAt }, flap, 'BACKUP');
    c.advance(5000);
    expect(c.store('ka2').state.timeline.filter((t) => t.history === 'backlog')).toHaveLength(10);
    expect(c.occurrences('Flapping')).toEqual([]);
    expect(c.occurrences('Failover')).toEqual([]);
  });
});
