import { healthyPair, SimCluster } from './harness';

describe('Failover', () => {
  test('master keepalived stopped: Failover ka1 -> ka2 with the cause; resolves after the hold', () => {
    const c = healthyPair();
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'stopped (VrrpStopped)' });
    c.vipsFromState('ka1');
    c.advance(3600);
    c.transition('ka2', 'MASTER');
    c.advance(100);
    const f = c.firing('Failover');
    expect(f).toHaveLength(1);
    expect(f[0].labels).toEqual({ alertname: 'Failover', severity: 'warning', vrid: '51', iname: 'VI_1', node: 'ka2' });
    expect(f[0].annotations.from).toBe('ka1');
    expect(f[0].annotations.cause).toMatch(/keepalived stopped on ka1 \(stopped \(VrrpStopped\)\)/);
    c.advance(299_000);
    expect(c.firing('Failover')).toHaveLength(1);
    c.advance(1000);
    expect(c.firing('Failover')).toHaveLength(0);
    expect(c.events('Failover').map((a) => a.status)).toEqual(['firing', 'resolved']);
  });

  test('a second failover in the same direction within the hold pages again (the first one resolves)', () => {
    // A hold of 10 min: failovers 3 min apart are two MASTER changes per 5 min, not flapping.
    const c = healthyPair('ka1', { eventHoldMs: 600_000 });
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
    const toKa2 = c.events('Failover').filter((a) => a.labels.node === 'ka2');
    expect(toKa2.map((a) => a.status)).toEqual(['firing', 'resolved', 'firing']);
    expect(toKa2[2].startsAt).toBeGreaterThan(toKa2[0].startsAt);
    expect(c.firing('Failover').map((a) => a.labels.node).sort()).toEqual(['ka1', 'ka2']);
  });

  test('FAULT because nginx died under a track script', () => {
    const c = healthyPair();
    c.nginx('ka1', false);
    c.apply('ka1', { kind: 'script', name: 'chk_nginx', good: false, source: 'dumps' });
    c.transition('ka1', 'FAULT');
    c.transition('ka2', 'MASTER');
    c.advance(100);
    expect(c.firing('Failover')[0].annotations.cause).toMatch(/ka1 went FAULT \(failing track script: chk_nginx\); nginx down on ka1/);
  });

  test('the old master unreachable (host down): cause says so', () => {
    const c = healthyPair('ka2');
    c.setPeerUp('ka1', false);
    c.advance(3000);
    c.transition('ka2', 'MASTER');
    c.advance(100);
    expect(c.firing('Failover')[0].annotations.cause).toMatch(/ka1 unreachable/);
  });

  test('preemption when the old master comes back', () => {
    const c = healthyPair();
    c.transition('ka1', 'STOP');
    c.transition('ka2', 'MASTER');
    c.advance(20_000);
    c.transition('ka1', 'BACKUP');
    c.advance(1000);
    c.transition('ka1', 'MASTER');
    c.transition('ka2', 'BACKUP');
    c.advance(100);
    const back = c.firing('Failover').find((a) => a.labels.node === 'ka1')!;
    expect(back.annotations.cause).toMatch(/preemption: ka1 came back with priority 150 > 100/);
  });

  test('priority change moves the master: cause names it, and PriorityChanged fires as info', () => {
    const c = healthyPair();
    c.apply('ka1', { kind: 'priority', iname: 'VI_1', priority: 90, source: 'fifo' });
    c.transition('ka1', 'BACKUP');
    c.transition('ka2', 'MASTER');
    c.advance(100);
    expect(c.firing('Failover')[0].annotations.cause).toMatch(/priority change: ka1's priority fell to 90 \(configured 150\)/);
    const p = c.firing('PriorityChanged');
    expect(p).toHaveLength(1);
    expect(p[0].labels).toMatchObject({ severity: 'info', node: 'ka1', iname: 'VI_1', vrid: '51' });
    expect(p[0].annotations.summary).toMatch(/from 150 to 90/);
  });

  test('no master change, no failover: a backup restarting its keepalived', () => {
    const c = healthyPair();
    c.transition('ka2', 'STOP');
    c.advance(2000);
    c.transition('ka2', 'BACKUP');
    c.advance(60_000);
    expect(c.events('Failover')).toEqual([]);
  });

  test('late and reordered notify lines (FIFO/log behind D-Bus, peer update before ours) do not invent a failover', () => {
    const c = healthyPair();
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
    expect(c.events('SplitBrain')).toEqual([]);
    expect(c.events('Failover')).toEqual([]);
    // A real handover where the peer's news (ka2 MASTER) arrives before our own (ka1 BACKUP).
    c.transition('ka2', 'MASTER');
    c.advance(30, 10);
    c.transition('ka1', 'BACKUP');
    c.advance(60_000);
    expect(c.events('SplitBrain')).toEqual([]);
    expect(c.events('Failover', 'firing')).toHaveLength(1);
  });

  test('three nodes: failover to the third node names it', () => {
    const c = new SimCluster(['ka1', 'ka2', 'ka3']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 50 }]);
    c.boot('ka3', [{ state: 'BACKUP', priority: 100 }]);
    c.advance(5000);
    c.transition('ka1', 'FAULT');
    c.transition('ka3', 'MASTER');
    c.advance(100);
    expect(c.firing('Failover').map((a) => [a.annotations.from, a.labels.node])).toEqual([['ka1', 'ka3']]);
  });
});
