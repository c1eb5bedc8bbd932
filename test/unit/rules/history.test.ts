// What a restarted agent reads of its downtime is history: in its timeline and counters, but no
// live alert of its own (no Failover, no Flapping), and no past SplitBrain made of times that are
// only bounded. The peer's agent, up all along, is who paged the incident as it happened.
import { NodeStore, transitionCountKey } from '../../../agent/state/store';
import type { VrrpState } from '../../../agent/state/types';
import { masterIntervals } from '../../../rules/masterIntervals';
import { healthyPair, type SimCluster } from './harness';

/** ka2's agent comes back: a new store with its persisted last state, its backlog, then the live read. */
function restartWithHistory(c: SimCluster, node: string, last: { state: VrrpState; aliveAt: number }, backlog: Array<{ state: VrrpState; at: number; bounded?: boolean }>, live: VrrpState): void {
  const store = new NodeStore(node, c.clock);
  store.setBaseline({ node, aliveAt: last.aliveAt, instances: { VI_1: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4', state: last.state, since: last.aliveAt - 60_000 } } });
  c.stores.set(node, store);
  // Our own agent restarting: its rules start afresh on the new store.
  if (node === c.self) c.startEngine({ ...c.state, active: new Map(), memory: new Map() });
  for (const b of backlog) c.apply(node, { kind: 'transition', iname: 'VI_1', state: b.state, at: b.at, source: 'fifo', history: b.bounded ? { bounded: true } : {} });
  c.boot(node, [{ state: live, priority: node === 'ka1' ? 150 : 100 }]);
  if (node !== c.self) c.setPeerUp(node, true);
}

describe.each(['ka1', 'ka2'])('failover while the backup\'s agent was down, seen from %s', (self) => {
  test('the new master\'s agent: the takeover in its timeline and counter; no Failover, Flapping or SplitBrain of its own', () => {
    const c = healthyPair(self);
    const other = self === 'ka1' ? 'ka2' : 'ka1';
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
    expect(c.events('SplitBrain')).toEqual([]);
    expect(c.events('Flapping')).toEqual([]);
    if (self === 'ka2') {
      // History is no fresh page from the agent that was down.
      expect(c.events('Failover')).toEqual([]);
    } else {
      // ka1's agent, up all along, evaluates the failover when ka2 is back in sight, at its own
      // time; the alert is ka2's to deliver (scope node), and ka2 has no live failover to page.
      const f = c.events('Failover', 'firing');
      expect(f.map((a) => [a.labels.node, a.startsAt, a.scope])).toEqual([['ka2', takeoverAt, 'node']]);
    }
    expect(other).toBeDefined();
  });
});

test('a flap while the agent was down is history: no Flapping from its backlog', () => {
  const c = healthyPair('ka2');
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
  expect(c.events('Flapping')).toEqual([]);
  expect(c.events('Failover')).toEqual([]);
});

test('masterIntervals: a MASTER ended at a bounded time ends at the earliest, one begun at one starts at the latest', () => {
  const store = new NodeStore('ka1', { now: () => 1_000_000, setTimeout: () => 0 as never, clearTimeout: () => undefined, setInterval: () => 0 as never, clearInterval: () => undefined });
  store.setBaseline({ node: 'ka1', aliveAt: 100_000, instances: { VI_1: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4', state: 'BACKUP', since: 0 } } });
  // Exact (spool): MASTER at 200 s. FIFO (no time, written by 900 s): BACKUP, then MASTER again.
  store.apply({ kind: 'transition', iname: 'VI_1', state: 'MASTER', at: 200_000, source: 'hook', history: {} });
  store.apply({ kind: 'transition', iname: 'VI_1', state: 'BACKUP', at: 900_000, source: 'fifo', history: { bounded: true } });
  store.apply({ kind: 'transition', iname: 'VI_1', state: 'MASTER', at: 900_000, source: 'fifo', history: { bounded: true } });
  store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, state: 'MASTER', at: 1_000_000, source: 'dbus' });
  // MASTER for sure from 200 s to the BACKUP's earliest (200 s: after the MASTER it followed):
  // nothing certain; then MASTER again from 900 s at the latest.
  expect(masterIntervals(store.state, 'VI_1')).toEqual([{ start: 900_000 }]);
});

test('cold standby: a takeover read from history gets the grace from the agent\'s start, not from the takeover', () => {
  const c = healthyPair('ka2', { nginxStandby: 'cold' });
  const downAt = c.now;
  c.setPeerUp('ka1', false);
  c.advance(60_000);
  c.startEngine({ ...c.state, active: new Map(), memory: new Map() });
  // ka2 took over 30 s ago; its agent starts before its nginx probe has said anything.
  const store = new NodeStore('ka2', c.clock);
  store.setBaseline({ node: 'ka2', aliveAt: downAt, instances: { VI_1: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4', state: 'BACKUP', since: 0 } } });
  c.stores.set('ka2', store);
  c.startEngine({ ...c.state, active: new Map(), memory: new Map() });
  c.apply('ka2', { kind: 'transition', iname: 'VI_1', state: 'MASTER', at: c.now - 30_000, source: 'hook', history: {} });
  c.boot('ka2', [{ state: 'MASTER', priority: 100 }], { nginx: false });
  c.advance(5000);
  expect(c.events('NginxNotStartedOnTakeover')).toEqual([]);
  c.nginx('ka2', true);
  c.advance(30_000);
  expect(c.events('NginxNotStartedOnTakeover')).toEqual([]);
});
