import { fingerprint } from '../../../agent/alerting/alert';
import { buildClusterView, clusterViewForApi } from '../../../agent/state/cluster';
import { NodeStore } from '../../../agent/state/store';
import type { Condition, Rule } from '../../../rules/rule';
import { allRules } from '../../../rules';
import { failoverRule } from '../../../rules/failoverRule';
import { flappingRule } from '../../../rules/flappingRule';
import { FakeClock } from '../../helpers/fakeClock';
import { healthyPair, SimCluster } from './harness';

describe('RulesEngine', () => {
  test('alerts carry alertname, severity, stable fingerprints of their labels, observer annotation', () => {
    const c = healthyPair();
    c.transition('ka2', 'MASTER');
    c.advance(2000);
    const a = c.firing('SplitBrain')[0];
    expect(a.fingerprint).toBe(fingerprint(a.labels));
    expect(a.annotations.observer).toBe('ka1');
    // The same condition seen by the other agent has the same identity (Alertmanager dedups).
    const other = healthyPair('ka2');
    other.transition('ka2', 'MASTER');
    other.advance(2000);
    expect(other.firing('SplitBrain')[0].fingerprint).toBe(a.fingerprint);
  });

  test('a rule that throws keeps its alerts (no false all-clear) and the others run on', () => {
    let broken = false;
    const flaky: Rule = {
      name: 'Flaky',
      severity: 'warning',
      evaluate() {
        if (broken) throw new Error('boom');
        return [{ severity: 'warning', labels: { node: 'ka1' }, annotations: { summary: 's', description: 'd' } }];
      },
    };
    const c = new SimCluster(['ka1', 'ka2'], 'ka1', {}, [flaky, ...allRules]);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    c.advance(2000);
    expect(c.firing('Flaky')).toHaveLength(1);
    broken = true;
    c.transition('ka2', 'MASTER');
    c.advance(3000);
    expect(c.firing('Flaky')).toHaveLength(1);
    expect(c.firing('SplitBrain')).toHaveLength(1);
    expect(c.state.lastEvaluation?.errors).toEqual(['Flaky: boom']);
  });

  test("alerts carry their rule's rank and event; a past condition is published as a past event", () => {
    let past = false;
    const ranked: Rule = {
      name: 'Ranked',
      severity: 'info',
      rank: 5,
      evaluate(ctx) {
        const out: Condition[] = [{ severity: 'warning', labels: { n: 'event' }, event: true, annotations: { summary: 'e', description: 'd' } }];
        // found once (rules remember what they reported)
        if (past) out.push({ severity: 'critical', labels: { n: 'past' }, startsAt: ctx.now - 9000, endsAt: ctx.now - 600, annotations: { summary: 'p', description: 'd' } });
        past = false;
        return out;
      },
    };
    const c = new SimCluster(['ka1', 'ka2'], 'ka1', {}, [ranked, ...allRules]);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    c.advance(1000);
    expect(c.firing('Ranked')).toEqual([expect.objectContaining({ rank: 5, event: true, labels: expect.objectContaining({ n: 'event' }) })]);
    past = true;
    c.advance(1000);
    const found = c.published.filter((a) => a.labels.n === 'past');
    expect(found.map((a) => [a.status, a.past, a.event, a.rank])).toEqual([
      ['firing', true, true, 5],
      ['resolved', true, true, 5],
    ]);
    // every shipped rule has a rank
    expect(allRules.filter((r) => r.rank === undefined).map((r) => r.name)).toEqual([]);
    c.transition('ka2', 'MASTER');
    c.advance(2000);
    expect(c.firing('SplitBrain')[0]).toMatchObject({ rank: 30 });
    expect(c.firing('SplitBrain')[0].event).toBeUndefined();
  });

  test('evaluates on the timer for time-based conditions, and wakes up exactly when one is due', () => {
    const c = healthyPair();
    const n0 = c.state.evaluations;
    c.advance(10_000, 10_000); // no changes: the 1 s timer still runs
    expect(c.state.evaluations - n0).toBeGreaterThanOrEqual(10);
    const d = healthyPair('ka1', { splitBrainForMs: 1700 });
    const at: number[] = [];
    d.hub.subscribe(() => at.push(d.now));
    d.transition('ka2', 'MASTER');
    const t = d.now;
    // One jump past 1.7 s: the timer ticks at +1 s and +2 s; the rule's wake-up fires it at +1.7 s.
    d.clock.advance(2500);
    expect(d.events('SplitBrain', 'firing')).toHaveLength(1);
    expect(at[0] - t).toBeGreaterThanOrEqual(1700);
    expect(at[0] - t).toBeLessThan(1800);
  });

  test('a repeated probe result wakes the rules only when its verdict changes; probe_run never does', () => {
    const c = healthyPair();
    c.nginx('ka1', true);
    c.advance(1000);
    const n0 = c.state.evaluations;
    for (let i = 0; i < 5; i++) {
      c.apply('ka1', { kind: 'probe_run', source: 'nginx_probe', at: c.now, probe: 'nginx_status', ok: true, durationMs: 1, cpuMs: 0.1, overlapSkips: 0 });
      c.apply('ka1', { kind: 'nginx_status', source: 'nginx_probe', at: c.now, up: true, status: { active: i, accepted: i, handled: i, requests: i, reading: 0, writing: 1, waiting: 0 } });
    }
    c.clock.advance(50);
    expect(c.state.evaluations).toBe(n0); // fresher numbers only: left to the timer
    c.nginx('ka1', false);
    c.clock.advance(50);
    expect(c.state.evaluations).toBe(n0 + 1); // nginx went down: at once
    c.transition('ka2', 'MASTER');
    c.clock.advance(50);
    expect(c.state.evaluations).toBe(n0 + 2); // a VRRP transition: always at once
  });

  test('stopping the engine leaves no timers and resolves nothing', () => {
    const c = healthyPair();
    c.transition('ka2', 'MASTER');
    c.advance(2000);
    void c.engine.stop();
    c.transition('ka2', 'BACKUP');
    c.advance(10_000);
    expect(c.firing('SplitBrain')).toHaveLength(1);
    expect(c.clock.pending()).toBe(0);
  });

  test('what an alert is published with: its rule\'s scope (kept by the resolved notice)', () => {
    const c = new SimCluster(['ka1', 'ka2', 'ka3']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    c.boot('ka3', [{ state: 'BACKUP', priority: 50 }]);
    c.advance(10_000);
    c.transition('ka3', 'MASTER');
    c.apply('ka2', { kind: 'keepalived', up: false, reason: 'stopped' });
    c.advance(6000);
    const scopes = Object.fromEntries(c.firing().map((a) => [a.labels.alertname, a.scope]));
    expect(scopes).toEqual({ SplitBrain: 'cluster', KeepalivedDown: 'node' });
    expect(c.firing('SplitBrain')[0].annotations.nodes).toBe('ka1,ka3');
    // The resolved notice keeps the scope (its delivery follows the same owner).
    c.transition('ka3', 'BACKUP');
    c.advance(200);
    expect(c.events('SplitBrain', 'resolved').map((a) => a.scope)).toEqual(['cluster']);
  });

  test('our own agent restarting during a split brain fires again; a reload of the rules does not', () => {
    const c = healthyPair();
    c.transition('ka2', 'MASTER');
    c.advance(2000);
    expect(c.events('SplitBrain')).toHaveLength(1);
    c.startEngine(c.state); // reload: same engine state
    c.advance(5000);
    expect(c.events('SplitBrain')).toHaveLength(1);
    c.startEngine({ ...c.state, active: new Map(), memory: new Map() }); // restart: state lost
    // Found again long after it began: it must outlast the late-confirmation window (3 s) first.
    c.advance(2000);
    expect(c.events('SplitBrain')).toHaveLength(1);
    c.advance(1500);
    const ev = c.events('SplitBrain');
    expect(ev.map((a) => a.status)).toEqual(['firing', 'firing']);
    expect(ev[1].fingerprint).toBe(ev[0].fingerprint); // a receiver or Alertmanager dedups it
  });

  test('flapping is an input of every rule, whatever their order: Failover folds into it with Flapping listed last', () => {
    const c = new SimCluster(['ka1', 'ka2'], 'ka1', {}, [failoverRule, flappingRule]);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    c.advance(10_000);
    for (let i = 0; i < 3; i++) {
      c.transition('ka1', 'FAULT');
      c.transition('ka2', 'MASTER');
      c.advance(3500);
      c.transition('ka1', 'BACKUP');
      c.transition('ka1', 'MASTER');
      c.transition('ka2', 'BACKUP');
      c.advance(3500);
    }
    expect(c.events('Flapping', 'firing')).toHaveLength(1);
    expect(c.events('Failover', 'firing')).toHaveLength(2);
    expect(c.state.folded.get('51')).toBe(4);
    expect([...c.state.flapping]).toEqual(['51']);
  });

  test('evaluation duration is observed in the histogram', async () => {
    const c = healthyPair();
    const m = await c.state.histogram.get();
    const count = m.values.find((v) => v.metricName === 'keepwatch_rule_evaluation_duration_seconds_count');
    expect(count?.value).toBeGreaterThan(5);
  });
});

describe('buildClusterView', () => {
  const clock = new FakeClock();
  const self = new NodeStore('ka1', clock);
  self.apply({ kind: 'instance', at: clock.now(), source: 'dbus', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, state: 'MASTER', vips: ['192.0.2.100'] });

  test('a peer that reports our own node name is a problem, not a member', () => {
    const v = buildClusterView(self.state, [{ name: 'ka2', up: true, state: structuredClone(self.state), receivedAt: clock.now() }], clock.now());
    expect(v.nodes.map((n) => n.node)).toEqual(['ka1']);
    expect(v.problems[0]).toMatch(/points at ourselves/);
  });

  test('a down peer keeps its last state, stale', () => {
    const other = new NodeStore('ka2', clock);
    other.apply({ kind: 'instance', at: clock.now(), source: 'dbus', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, state: 'MASTER', vips: ['192.0.2.100'] });
    const v = buildClusterView(self.state, [{ name: 'ka2', up: false, state: structuredClone(other.state), receivedAt: clock.now() - 5000 }], clock.now());
    expect(v.vrids[0].masters).toEqual(['ka1']);
    expect(v.vrids[0].staleMasters).toEqual(['ka2']);
    const api = clusterViewForApi(v) as { nodes: Array<Record<string, unknown>> };
    expect(api.nodes.every((n) => !('state' in n))).toBe(true);
    expect(JSON.stringify(api)).toContain('"staleMasters":["ka2"]');
  });

  test('IPv6 VRIDs are their own space', () => {
    const s = new NodeStore('ka1', clock);
    s.apply({ kind: 'instance', at: clock.now(), source: 'dbus', key: { iname: 'VI_4', intf: 'eth0', vrid: 51, family: 'IPv4' }, state: 'MASTER', vips: [] });
    s.apply({ kind: 'instance', at: clock.now(), source: 'dbus', key: { iname: 'VI_6', intf: 'eth0', vrid: 51, family: 'IPv6' }, state: 'MASTER', vips: [] });
    expect(buildClusterView(s.state, [], clock.now()).vrids.map((v) => v.key)).toEqual(['51', '51/IPv6']);
  });
});
