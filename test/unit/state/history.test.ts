// What happened while the agent was down, in the store: backlogs (hook spool, log, FIFO) placed
// at their time before the start, counted once across sources, never applied over the state read
// live; what no backlog kept is inferred from the persisted last state.
import { NodeStore, transitionCountKey } from '../../../agent/state/store';
import type { LastState, NodeEvent, SourceName, VrrpState } from '../../../agent/state/types';
import { FakeClock } from '../../helpers/fakeClock';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const KEY = { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' as const };

/** The agent's previous run: VI_1 in `state` since T0, last alive at T0 + 10 s. */
function lastState(state: VrrpState, aliveAt = T0 + 10_000): LastState {
  return { node: 'ka2', aliveAt, instances: { VI_1: { ...KEY, state, since: T0 } } };
}

/** The agent starts 60 s after T0 (down since T0 + 10 s). */
function setup(opts: { baseline?: LastState; expect?: SourceName[] } = {}) {
  const clock = new FakeClock(T0 + 60_000);
  const store = new NodeStore('ka2', clock);
  store.setBaseline(opts.baseline);
  if (opts.expect) store.expectBacklogs(opts.expect, 10_000);
  const backlog = (source: SourceName, state: VrrpState, at: number, bounded = false) =>
    store.apply({ kind: 'transition', iname: 'VI_1', state, at, source, history: bounded ? { bounded: true } : {} });
  const read = (state: VrrpState) => store.apply({ kind: 'instance', key: KEY, state, at: clock.now(), source: 'dbus' });
  const count = (from: VrrpState, to: VrrpState) => store.state.transitionCounts[transitionCountKey('VI_1', from, to)] ?? 0;
  const timeline = () => store.state.timeline.map((t) => `${t.from}->${t.to}@${t.at - T0}${t.history ? `(${t.history}${t.bounds ? ` ${t.bounds.earliest === undefined ? '?' : t.bounds.earliest - T0}..` : ''})` : ''}`);
  return { clock, store, backlog, read, count, timeline };
}

describe('backlogs are history', () => {
  test('a failover while the agent was down: the spooled MASTER at its time, the D-Bus read confirms it, counted once', () => {
    const { store, backlog, read, count, timeline } = setup({ baseline: lastState('BACKUP') });
    backlog('hook', 'MASTER', T0 + 30_000);
    read('MASTER');
    expect(timeline()).toEqual(['BACKUP->MASTER@30000(backlog)']);
    expect(store.state.instances.VI_1).toMatchObject({ state: 'MASTER', since: T0 + 30_000 });
    expect(count('BACKUP', 'MASTER')).toBe(1);
  });

  test('the same when the live read comes first: the read is not applied twice, the backlog goes before it', () => {
    const { store, backlog, read, count, timeline } = setup({ baseline: lastState('BACKUP') });
    const c = read('MASTER');
    // Until a backlog says when, the change is inferred from the last state.
    expect(c.transitions[0]).toMatchObject({ from: 'BACKUP', to: 'MASTER', history: 'inferred', bounds: { earliest: T0 + 10_000 }, at: T0 + 60_000 });
    expect(c.transitions[0].cause).toMatch(/^BACKUP -> MASTER while the agent was down, between 2026-11-25T12:00:10.000Z and 2026-11-25T12:01:00.000Z/);
    backlog('hook', 'MASTER', T0 + 30_000);
    expect(timeline()).toEqual(['BACKUP->MASTER@30000(backlog)']);
    expect(store.state.instances.VI_1).toMatchObject({ state: 'MASTER', since: T0 + 30_000 });
    expect(count('BACKUP', 'MASTER')).toBe(1);
  });

  test('spool, log and FIFO backlogs of one failover are one transition, at the exact time', () => {
    const { store, backlog, read, count, timeline } = setup({ baseline: lastState('BACKUP'), expect: ['hook', 'fifo', 'log'] });
    backlog('hook', 'MASTER', T0 + 30_123);
    store.backlogDone('hook');
    read('MASTER');
    // The FIFO has no time: bounded by the FIFO's last write.
    backlog('fifo', 'MASTER', T0 + 30_130, true);
    store.backlogDone('fifo');
    // The log has whole seconds.
    backlog('log', 'MASTER', T0 + 30_000);
    expect(count('BACKUP', 'MASTER')).toBe(0); // not before every backlog is in
    store.backlogDone('log');
    expect(timeline()).toEqual(['BACKUP->MASTER@30123(backlog)']);
    expect(count('BACKUP', 'MASTER')).toBe(1);
    expect(store.historySettled).toBe(true);
  });

  test('a FIFO line alone is placed between the last known time and the FIFO\'s last write, then made exact by the log', () => {
    const { store, backlog, read, count, timeline } = setup({ baseline: lastState('BACKUP'), expect: ['fifo', 'log'] });
    read('MASTER');
    backlog('fifo', 'MASTER', T0 + 30_005, true);
    store.backlogDone('fifo');
    expect(timeline()).toEqual(['BACKUP->MASTER@30005(backlog 10000..)']);
    expect(store.state.timeline[0].cause).toMatch(/while the agent was down, between 2026-11-25T12:00:10.000Z and 2026-11-25T12:00:30.005Z \(read from the fifo backlog/);
    backlog('log', 'MASTER', T0 + 30_000);
    store.backlogDone('log');
    expect(timeline()).toEqual(['BACKUP->MASTER@30000(backlog)']);
    expect(store.state.instances.VI_1.since).toBe(T0 + 30_000);
    expect(count('BACKUP', 'MASTER')).toBe(1);
  });

  test('agent start on a steady MASTER: the FIFO lines of keepalived\'s own start are history, no MASTER -> BACKUP -> MASTER', () => {
    // First start ever (no last state): keepalived wrote BACKUP then MASTER before the agent opened the FIFO.
    const { store, backlog, read, count, timeline } = setup({ expect: ['fifo'] });
    read('MASTER');
    backlog('fifo', 'BACKUP', T0 + 55_000, true);
    backlog('fifo', 'MASTER', T0 + 55_000, true);
    store.backlogDone('fifo');
    expect(timeline()).toEqual(['UNKNOWN->BACKUP@55000(backlog ?..)', 'BACKUP->MASTER@55000(backlog ?..)']);
    expect(store.state.timeline.some((t) => t.from === 'MASTER')).toBe(false);
    expect(store.state.instances.VI_1.state).toBe('MASTER');
    expect(count('BACKUP', 'MASTER')).toBe(1);
    expect(count('MASTER', 'BACKUP')).toBe(0);
  });

  test('a restart on a steady MASTER with an empty backlog: nothing in the timeline, nothing counted', () => {
    const { store, read, timeline } = setup({ baseline: lastState('MASTER') });
    expect(read('MASTER').transitions).toEqual([]);
    expect(timeline()).toEqual([]);
    expect(store.state.instances.VI_1).toMatchObject({ state: 'MASTER', since: T0 });
    expect(store.state.transitionCounts).toEqual({});
  });

  test('a restart before the previous run\'s backlogs settled (no last alive time): keepalived\'s start read again is not history again', () => {
    const { store, backlog, read, timeline } = setup({ baseline: lastState('MASTER', 0) });
    read('MASTER');
    expect(backlog('hook', 'BACKUP', T0 - 3_400).transitions).toEqual([]);
    expect(backlog('hook', 'MASTER', T0).transitions).toEqual([]);
    expect(backlog('fifo', 'BACKUP', T0 - 3_000, true).transitions).toEqual([]);
    expect(timeline()).toEqual([]);
    expect(store.state.transitionCounts).toEqual({});
  });

  test('a backlog that ends elsewhere than the live read never moves the current state; the unseen way back is inferred', () => {
    const { store, backlog, read, count, timeline } = setup({ baseline: lastState('BACKUP') });
    read('BACKUP');
    backlog('log', 'MASTER', T0 + 20_000);
    expect(store.state.instances.VI_1.state).toBe('BACKUP');
    expect(timeline()).toEqual(['BACKUP->MASTER@20000(backlog)', 'MASTER->BACKUP@60000(inferred 20000..)']);
    expect(count('BACKUP', 'MASTER')).toBe(1);
    expect(count('MASTER', 'BACKUP')).toBe(1);
  });

  test('what the previous run saw (at or before its last alive time) is not counted again', () => {
    const { store, backlog, read, timeline } = setup({ baseline: lastState('BACKUP') });
    read('BACKUP');
    expect(backlog('log', 'MASTER', T0 + 5_000).transitions).toEqual([]);
    expect(backlog('log', 'BACKUP', T0 + 8_000).transitions).toEqual([]);
    // FIFO lines last written before then (a FIFO the previous run did not read): the same.
    expect(backlog('fifo', 'MASTER', T0 + 9_000, true).transitions).toEqual([]);
    expect(timeline()).toEqual([]);
    expect(store.state.transitionCounts).toEqual({});
  });

  test('a flap while down, kept by the spool and partly by the FIFO (whose lines carry no time): each change once, in order', () => {
    const { store, backlog, read, count, timeline } = setup({ baseline: lastState('BACKUP'), expect: ['hook', 'fifo'] });
    backlog('hook', 'MASTER', T0 + 20_000);
    backlog('hook', 'BACKUP', T0 + 25_000);
    backlog('hook', 'MASTER', T0 + 30_000);
    store.backlogDone('hook');
    read('MASTER');
    for (const st of ['MASTER', 'BACKUP', 'MASTER'] as const) backlog('fifo', st, T0 + 30_002, true);
    store.backlogDone('fifo');
    expect(timeline()).toEqual(['BACKUP->MASTER@20000(backlog)', 'MASTER->BACKUP@25000(backlog)', 'BACKUP->MASTER@30000(backlog)']);
    expect(count('BACKUP', 'MASTER')).toBe(2);
    expect(count('MASTER', 'BACKUP')).toBe(1);
  });

  test('a transition only the log kept goes in between, the others follow it', () => {
    const { store, backlog, read, count, timeline } = setup({ baseline: lastState('BACKUP'), expect: ['hook', 'log'] });
    // The hook missed the FAULT (its record was lost); the log has it.
    backlog('hook', 'MASTER', T0 + 40_000);
    store.backlogDone('hook');
    read('MASTER');
    backlog('log', 'FAULT', T0 + 20_000);
    backlog('log', 'BACKUP', T0 + 30_000);
    backlog('log', 'MASTER', T0 + 40_000);
    store.backlogDone('log');
    expect(timeline()).toEqual(['BACKUP->FAULT@20000(backlog)', 'FAULT->BACKUP@30000(backlog)', 'BACKUP->MASTER@40000(backlog)']);
    expect([count('BACKUP', 'FAULT'), count('FAULT', 'BACKUP'), count('BACKUP', 'MASTER')]).toEqual([1, 1, 1]);
  });

  test('counting waits for the backlogs at most the timeout', () => {
    const { clock, store, backlog, read, count } = setup({ baseline: lastState('BACKUP'), expect: ['log'] });
    read('MASTER');
    backlog('hook', 'MASTER', T0 + 30_000);
    expect(count('BACKUP', 'MASTER')).toBe(0);
    const revs: number[] = [];
    store.subscribe((c) => revs.push(c.revision));
    clock.advance(10_000);
    expect(count('BACKUP', 'MASTER')).toBe(1);
    expect(revs).toHaveLength(1); // the settling is a change (the counters moved)
    // After settling, a late backlog is counted as it comes.
    backlog('log', 'BACKUP', T0 + 40_000);
    expect(count('MASTER', 'BACKUP')).toBe(1);
  });

  test('keepalived down at start, MASTER before: inferred MASTER -> STOP, the instance STOP', () => {
    const { store } = setup({ baseline: lastState('MASTER') });
    const c = store.apply({ kind: 'keepalived', up: false, at: T0 + 60_000, source: 'dbus', reason: 'not running' });
    expect(c.transitions).toEqual([expect.objectContaining({ from: 'MASTER', to: 'STOP', history: 'inferred', bounds: { earliest: T0 + 10_000 } })]);
    expect(store.state.instances.VI_1).toMatchObject({ state: 'STOP', intf: 'eth0', vrid: 51 });
    expect(store.state.transitionCounts[transitionCountKey('VI_1', 'MASTER', 'STOP')]).toBe(1);
  });

  test('keepalived stopped while the agent was down, from the log backlog: STOP at its time, then the restart', () => {
    const { store, backlog, read, count, timeline } = setup({ baseline: lastState('MASTER') });
    store.apply({ kind: 'keepalived', up: false, at: T0 + 20_000, source: 'log', reason: 'stopping', history: {} });
    backlog('log', 'BACKUP', T0 + 30_000);
    backlog('log', 'MASTER', T0 + 34_000);
    // The backlog's keepalived events do not touch the live keepalived state.
    expect(store.state.keepalived.reason).toBe('not yet seen');
    read('MASTER');
    expect(timeline()).toEqual(['MASTER->STOP@20000(backlog)', 'STOP->BACKUP@30000(backlog)', 'BACKUP->MASTER@34000(backlog)']);
    expect(count('MASTER', 'STOP')).toBe(1);
  });

  test('no last state, no backlog: the first sighting as before (from UNKNOWN, not counted)', () => {
    const { store, read, timeline } = setup();
    read('BACKUP');
    expect(timeline()).toEqual(['UNKNOWN->BACKUP@60000']);
    expect(store.state.transitionCounts).toEqual({});
  });

  test('a backlog line newer than the live read is news: the live path dedups it against the live report', () => {
    const { clock, store, backlog, read, count } = setup({ baseline: lastState('BACKUP') });
    read('BACKUP');
    clock.advance(50);
    store.apply({ kind: 'transition', iname: 'VI_1', state: 'MASTER', at: clock.now(), source: 'dbus' });
    // The FIFO opened a moment later: the same change in its backlog.
    backlog('fifo', 'MASTER', clock.now() + 5, true);
    expect(count('BACKUP', 'MASTER')).toBe(1);
    expect(store.state.timeline).toHaveLength(1);
  });

  test('backlog priorities, groups and scripts fill only what no live source has said', () => {
    const { store, read } = setup();
    read('MASTER');
    store.apply({ kind: 'priority', iname: 'VI_1', priority: 150, at: T0 + 61_000, source: 'dumps' });
    store.apply({ kind: 'priority', iname: 'VI_1', priority: 50, at: T0 + 30_000, source: 'fifo', history: {} });
    store.apply({ kind: 'group', group: 'G1', state: 'BACKUP', at: T0 + 30_000, source: 'fifo', history: {} });
    store.apply({ kind: 'group', group: 'G1', state: 'MASTER', at: T0 + 31_000, source: 'fifo', history: {} });
    expect(store.state.instances.VI_1.effectivePriority).toBe(150);
    // No live source reported the group: the backlog's last word stands.
    expect(store.state.groups.G1.state).toBe('MASTER');
  });

  test('the persisted state: every known instance over the baseline\'s others, until keepalived runs without them', () => {
    const base: LastState = { node: 'ka2', aliveAt: T0, instances: { VI_1: { ...KEY, state: 'BACKUP', since: T0 }, VI_2: { ...KEY, iname: 'VI_2', vrid: 52, state: 'MASTER', since: T0 } } };
    const { store, backlog, read } = setup({ baseline: base });
    backlog('hook', 'MASTER', T0 + 30_000);
    // keepalived not read yet: the baseline's VI_2 is kept as it was.
    expect(store.persistable(T0 + 61_000)).toEqual({ node: 'ka2', aliveAt: T0 + 61_000, instances: { VI_1: expect.objectContaining({ state: 'MASTER', since: T0 + 30_000 }), VI_2: expect.objectContaining({ state: 'MASTER', vrid: 52 }) } });
    read('MASTER');
    // keepalived runs and nothing lists VI_2 (removed from keepalived.conf): not carried over...
    expect(Object.keys(store.persistable(T0 + 62_000).instances)).toEqual(['VI_1']);
    // ...but an instance keepalived.conf lists, with no state read yet, keeps its last one.
    store.apply({ kind: 'instance', key: { ...KEY, iname: 'VI_2', vrid: 52 }, at: T0 + 61_000, source: 'keepalived_conf' });
    expect(store.persistable(T0 + 62_000).instances.VI_2).toMatchObject({ state: 'MASTER', since: T0 });
  });

  test('a backlog longer than the timeline keeps the newest, each counted once', () => {
    const clock = new FakeClock(T0 + 60_000);
    const store = new NodeStore('ka2', clock, { timelineSize: 10 });
    store.setBaseline(lastState('BACKUP'));
    for (let i = 0; i < 30; i++) store.apply({ kind: 'transition', iname: 'VI_1', state: i % 2 ? 'BACKUP' : 'MASTER', at: T0 + 11_000 + i * 1000, source: 'log', history: {} });
    store.apply({ kind: 'instance', key: KEY, state: 'BACKUP', at: clock.now(), source: 'dbus' });
    expect(store.state.timeline).toHaveLength(10);
    expect(store.state.timeline[9].at).toBe(T0 + 40_000);
    expect(store.state.transitionCounts[transitionCountKey('VI_1', 'BACKUP', 'MASTER')]).toBe(15);
    expect(store.state.transitionCounts[transitionCountKey('VI_1', 'MASTER', 'BACKUP')]).toBe(15);
  });

  test('a last state of another node is ignored', () => {
    const { store, read, timeline } = setup({ baseline: { ...lastState('BACKUP'), node: 'ka1' } });
    read('MASTER');
    expect(timeline()).toEqual(['UNKNOWN->MASTER@60000']);
    expect(store.state.transitionCounts).toEqual({});
  });
});

describe('live behaviour unchanged', () => {
  test('events without a history mark fold as before', () => {
    const clock = new FakeClock();
    const store = new NodeStore('ka1', clock);
    const tr = (source: NodeEvent['source'], state: VrrpState) => store.apply({ kind: 'transition', iname: 'VI_1', state, at: clock.now(), source });
    tr('dbus', 'BACKUP');
    clock.advance(3000);
    tr('dbus', 'MASTER');
    tr('fifo', 'MASTER');
    expect(store.state.transitionCounts[transitionCountKey('VI_1', 'BACKUP', 'MASTER')]).toBe(1);
    expect(store.state.timeline.map((t) => `${t.from}->${t.to}`)).toEqual(['UNKNOWN->BACKUP', 'BACKUP->MASTER']);
  });
});

describe('sync groups in a backlog', () => {
  test('the backlog sets a group in its own order until a live source reports it; then a backlog never overwrites it', () => {
    const { store, clock } = setup();
    const group = (state: VrrpState, at: number, history: boolean) =>
      store.apply({ kind: 'group', group: 'G1', state, at, source: 'fifo', ...(history ? { history: { bounded: true } } : {}) });
    group('BACKUP', T0 + 1_000, true);
    group('MASTER', T0 + 1_000, true);
    expect(store.state.groups.G1?.state).toBe('MASTER');
    group('BACKUP', T0 + 500, true); // older than what the backlog already said
    expect(store.state.groups.G1?.state).toBe('MASTER');
    group('BACKUP', clock.now(), false);
    group('MASTER', T0 + 2_000, true);
    expect(store.state.groups.G1?.state).toBe('BACKUP');
  });
});
