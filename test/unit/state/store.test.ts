import { NodeStore, transitionCountKey } from '../../../agent/state/store';
import type { NodeEvent } from '../../../agent/state/types';
import { FakeClock } from '../../helpers/fakeClock';

function setup() {
  const clock = new FakeClock();
  const store = new NodeStore('ka1', clock);
  const tr = (source: NodeEvent['source'], state: string, dt = 0) =>
    store.apply({ kind: 'transition', iname: 'VI_1', state: state as never, at: clock.now() + dt, source });
  return { clock, store, tr };
}

describe('NodeStore transitions', () => {
  test('the same transition from several sources counts once', () => {
    const { store, tr } = setup();
    tr('dbus', 'BACKUP');
    expect(tr('dbus', 'MASTER').transitions).toHaveLength(1);
    expect(tr('fifo', 'MASTER').transitions).toHaveLength(0);
    expect(tr('log', 'MASTER').transitions).toHaveLength(0);
    expect(store.state.transitionCounts[transitionCountKey('VI_1', 'BACKUP', 'MASTER')]).toBe(1);
    expect(store.state.instances.VI_1.source).toBe('dbus');
    expect(store.state.instances.VI_1.confirmedBy).toEqual(['fifo', 'log']);
  });

  test('a lagging source replaying A->B->A does not invent transitions', () => {
    const { store, tr } = setup();
    tr('dbus', 'BACKUP');
    tr('log', 'BACKUP');
    tr('dbus', 'MASTER');
    tr('dbus', 'BACKUP');
    // the log reports the same two transitions later
    expect(tr('log', 'MASTER', 50).transitions).toHaveLength(0);
    expect(tr('log', 'BACKUP', 60).transitions).toHaveLength(0);
    expect(store.state.instances.VI_1.state).toBe('BACKUP');
    expect(store.state.transitionCounts[transitionCountKey('VI_1', 'BACKUP', 'MASTER')]).toBe(1);
    expect(store.state.transitionCounts[transitionCountKey('VI_1', 'MASTER', 'BACKUP')]).toBe(1);
  });

  test('a report outside the dedup window is a new transition', () => {
    const { clock, store, tr } = setup();
    tr('dbus', 'BACKUP');
    tr('dbus', 'MASTER');
    clock.advance(5000);
    tr('dbus', 'BACKUP');
    clock.advance(5000);
    expect(tr('fifo', 'MASTER').transitions).toHaveLength(1);
    expect(store.state.instances.VI_1.state).toBe('MASTER');
  });

  test('first sighting is recorded but not counted as a transition', () => {
    const { store, tr } = setup();
    const c = tr('dbus', 'MASTER');
    expect(c.transitions[0]).toMatchObject({ from: 'UNKNOWN', to: 'MASTER' });
    expect(store.state.transitionCounts).toEqual({});
  });

  test('keepalived down: no stale MASTER, every instance STOP; a late MASTER line is not believed', () => {
    const { clock, store, tr } = setup();
    tr('dbus', 'MASTER');
    clock.advance(1000);
    const c = store.apply({ kind: 'keepalived', up: false, at: clock.now(), source: 'dbus', reason: 'stopped' });
    expect(c.transitions).toEqual([expect.objectContaining({ from: 'MASTER', to: 'STOP' })]);
    expect(store.state.instances.VI_1.state).toBe('STOP');
    expect(store.state.keepalived.up).toBe(false);
    // a log line read late, stamped before the death
    expect(tr('log', 'MASTER', -500).transitions).toHaveLength(0);
    expect(store.state.instances.VI_1.state).toBe('STOP');
  });

  test('an out-of-order report older than the current state is not applied', () => {
    const { clock, store, tr } = setup();
    tr('hook', 'BACKUP');
    clock.advance(5000);
    tr('hook', 'MASTER');
    clock.advance(100);
    // a reversed record: BACKUP stamped before the MASTER that is already applied
    expect(tr('hook', 'BACKUP', -3000).transitions).toHaveLength(0);
    expect(store.state.instances.VI_1.state).toBe('MASTER');
  });

  test('timeline is bounded', () => {
    const clock = new FakeClock();
    const store = new NodeStore('ka1', clock, { timelineSize: 5 });
    for (let i = 0; i < 20; i++) {
      clock.advance(3000);
      store.apply({ kind: 'transition', iname: 'VI_1', state: i % 2 ? 'MASTER' : 'BACKUP', at: clock.now(), source: 'dbus' });
    }
    expect(store.state.timeline).toHaveLength(5);
  });
});

describe('NodeStore other events', () => {
  test('instance info, vip observation, parse errors, source health', () => {
    const { clock, store } = setup();
    store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100'], state: 'BACKUP', at: clock.now(), source: 'dbus' });
    store.apply({ kind: 'vip', vips: [{ iname: 'VI_1', vip: '192.0.2.100', intf: null }], at: clock.now(), source: 'vip_probe' });
    store.apply({ kind: 'vip', vips: [{ iname: 'VI_1', vip: '192.0.2.100', intf: 'eth0' }], at: clock.now(), source: 'vip_probe' });
    store.apply({ kind: 'parse_error', reason: 'bad', at: clock.now(), source: 'fifo' });
    store.apply({ kind: 'source', up: false, error: 'gone', at: clock.now(), source: 'log' });
    const s = store.state;
    expect(s.instances.VI_1).toMatchObject({ intf: 'eth0', vrid: 51, vips: ['192.0.2.100'], state: 'BACKUP' });
    expect(s.vips['VI_1|192.0.2.100'].intf).toBe('eth0');
    expect(s.vipChanges).toBe(1);
    expect(s.sources.fifo?.parseErrors).toBe(1);
    expect(s.sources.log).toMatchObject({ up: false, error: 'gone' });
  });

  test('subscribers see every change with a growing revision', () => {
    const { clock, store } = setup();
    const seen: number[] = [];
    const off = store.subscribe((c) => seen.push(c.revision));
    store.apply({ kind: 'priority', iname: 'VI_1', priority: 200, at: clock.now(), source: 'fifo' });
    store.apply({ kind: 'priority', iname: 'VI_1', priority: 100, at: clock.now(), source: 'fifo' });
    off();
    store.apply({ kind: 'priority', iname: 'VI_1', priority: 50, at: clock.now(), source: 'fifo' });
    expect(seen).toEqual([1, 2]);
    expect(store.state.instances.VI_1.effectivePriority).toBe(50);
  });
});

describe('NodeStore material changes', () => {
  test('a repeated probe result is not material; a changed verdict, a new VIP binding or a transition is', () => {
    const { clock, store, tr } = setup();
    const status = (up: boolean, n: number) => store.apply({ kind: 'nginx_status', source: 'nginx_probe', at: clock.now(), up, status: { active: n, accepted: n, handled: n, requests: n, reading: 0, writing: 1, waiting: 0 } }).material;
    expect(status(true, 1)).toBe(true); // first word
    expect(status(true, 2)).toBe(false); // fresher numbers only
    expect(status(false, 2)).toBe(true);
    const health = (up: boolean) => store.apply({ kind: 'nginx_health', source: 'nginx_probe', at: clock.now(), target: 'local', up, durationMs: 1 }).material;
    expect([health(true), health(true), health(false)]).toEqual([true, false, true]);
    const vips = (intf: string | null) => store.apply({ kind: 'vip', source: 'vip_probe', at: clock.now(), vips: [{ iname: 'VI_1', vip: '192.0.2.100', intf }] }).material;
    expect([vips('eth0'), vips('eth0'), vips(null), vips(null)]).toEqual([true, false, true, false]);
    vips('eth0');
    const dup = (duplicate: boolean) => store.apply({ kind: 'vip_duplicate', source: 'arp_probe', at: clock.now(), vip: '192.0.2.100', duplicate }).material;
    expect([dup(false), dup(false), dup(true), dup(true), dup(false)]).toEqual([true, false, true, false, true]);
    expect(store.apply({ kind: 'probe_run', source: 'nginx_probe', at: clock.now(), probe: 'nginx_status', ok: true, durationMs: 1, cpuMs: 0, overlapSkips: 0 }).material).toBe(false);
    expect(store.apply({ kind: 'counters', source: 'dumps', at: clock.now(), iname: 'VI_1', counters: { advertisements_received: 5 } }).material).toBe(false);
    expect(tr('dbus', 'MASTER').material).toBe(true);
  });
});
