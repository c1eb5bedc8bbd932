// The failover outage measured on the new master, on the fake clock: for each kind of loss (the old
// master's keepalived leaving, its FAULT, its giving way to a preempting node, its last advert when
// its agent is gone), the record in the new master's state, the Failover alert's `outage` line as
// the facts arrive, and keepwatch_failover_duration_seconds; no measurement for keepalived's first
// election or for a second MASTER (split brain).
import { SimCluster } from '../rules/harness';
import { silentLogger } from '../../../agent/logger';
import { FailoverOutageTracker, masterDownIntervalMs, OUTAGE_MAX_WAIT_MS, type FailoverOutage } from '../../../agent/state/failoverOutage';
import type { PeerView } from '../../../agent/state/cluster';
import { failoverCollector } from '../../../exporters/failover';
import { createMetricsRegistry } from '../../../exporters/registry';
import { fmtTime } from '../../../agent/format';

const VIP = '192.0.2.100';
const PEER_TIMEOUT = 3000;

const flush = async () => {
  for (let i = 0; i < 3; i++) await Promise.resolve();
};

/** A pair whose `self` measures its takeovers; the other node streams its state as a peer. */
async function pair(self: 'ka1' | 'ka2', masterNode: 'ka1' | 'ka2', opts: { viaVip?: boolean } = {}) {
  const c = new SimCluster(['ka1', 'ka2'], self);
  const listeners = new Set<(n: string) => void>();
  const tracker = new FailoverOutageTracker({
    store: c.store(self),
    peers: {
      views: () => [...c.peers].map(([name, p]): PeerView => ({ name, up: p.up, since: p.since, state: p.snapshot, receivedAt: p.receivedAt, lastSeenAt: p.lastSeenAt })),
      subscribe: (fn) => {
        listeners.add(fn);
        return () => listeners.delete(fn);
      },
    },
    clock: c.clock,
    log: silentLogger(),
    settleMs: PEER_TIMEOUT + 1000,
    viaVip: opts.viaVip ?? true,
  });
  await tracker.start();
  const metrics = failoverCollector(c.store(self));
  const registry = createMetricsRegistry([metrics]);
  const other = self === 'ka1' ? 'ka2' : 'ka1';
  c.boot('ka1', [{ state: masterNode === 'ka1' ? 'MASTER' : 'BACKUP', priority: 150 }]);
  c.boot('ka2', [{ state: masterNode === 'ka2' ? 'MASTER' : 'BACKUP', priority: 100 }]);
  c.advance(10_000);
  const step = async (ms = 0) => {
    await flush();
    c.advance(Math.max(ms, 10)); // the engine evaluates what the measurement wrote
    await flush();
  };
  return {
    c,
    tracker,
    /** An event on the peer, streamed to us. */
    peer: async (fn: () => void) => {
      fn();
      for (const l of listeners) l(other);
      await step();
    },
    step,
    outages: (): FailoverOutage[] => c.store(self).state.failovers ?? [],
    outageLine: () => c.firing('Failover')[0]?.annotations.outage,
    goodRequest: () => c.apply(self, { kind: 'nginx_health', target: `vip:${VIP}`, up: true, durationMs: 2, source: 'nginx_probe' }),
    histogram: async () => (await registry.scrape()).body.split('\n').filter((l) => l.startsWith('keepwatch_failover_duration_seconds_')),
  };
}

describe('failover outage, measured on the new master', () => {
  test("the old master's keepalived leaves (SIGTERM): counted from its leaving; the Failover line follows the facts", async () => {
    const p = await pair('ka2', 'ka1');
    const t0 = p.c.now;
    await p.peer(() => {
      p.c.apply('ka1', { kind: 'keepalived', up: false, reason: 'stopped' });
      p.c.vipsFromState('ka1');
    });
    p.c.advance(600 - 10);
    p.c.transition('ka2', 'MASTER', 'VI_1', { moveVip: false });
    await p.step();
    expect(p.outages()).toEqual([expect.objectContaining({ vrid: '51', node: 'ka2', from: 'ka1', masterAt: t0 + 600, loss: { at: t0, kind: 'keepalived_left', cause: 'keepalived stopped' }, done: false })]);
    expect(p.outageLine()).toBe(`clients without service since ka1's keepalived left at ${fmtTime(t0)}; VIP not bound on ka2 yet`);

    p.c.vipsFromState('ka2'); // the address monitor: bound at t0+610 ms
    await p.step(90);
    expect(p.outageLine()).toBe(`clients without service since ka1's keepalived left at ${fmtTime(t0)}; VIP bound on ka2 +610 ms; no good request through the VIP yet`);
    p.goodRequest(); // at t0+700 ms
    await p.step();
    expect(p.outages()[0]).toMatchObject({ vipBoundAt: t0 + 610, firstGoodAt: t0 + 700, done: true });
    expect(p.outageLine()).toBe(`clients saw no service for 700 ms: ka1's keepalived left at ${fmtTime(t0)}; VIP bound on ka2 +610 ms; first good request through the VIP +700 ms`);
    expect(p.tracker.inProgress()).toBe(0);
    expect(await p.histogram()).toEqual(
      expect.arrayContaining([
        'keepwatch_failover_duration_seconds_bucket{le="0.5",vrid="51",until="vip_bound"} 0',
        'keepwatch_failover_duration_seconds_bucket{le="1",vrid="51",until="vip_bound"} 1',
        'keepwatch_failover_duration_seconds_sum{vrid="51",until="vip_bound"} 0.61',
        'keepwatch_failover_duration_seconds_count{vrid="51",until="vip_bound"} 1',
        'keepwatch_failover_duration_seconds_sum{vrid="51",until="first_good_request"} 0.7',
        'keepwatch_failover_duration_seconds_count{vrid="51",until="first_good_request"} 1',
      ]),
    );
    // Later good requests and re-evaluations observe nothing more.
    p.goodRequest();
    await p.step(10_000);
    expect((await p.histogram()).filter((l) => l.includes('_count'))).toEqual([
      'keepwatch_failover_duration_seconds_count{vrid="51",until="vip_bound"} 1',
      'keepwatch_failover_duration_seconds_count{vrid="51",until="first_good_request"} 1',
    ]);
  });

  test("the old master's keepalived killed with -9: its VIP stays bound there with nginx serving, so the line claims no gap", async () => {
    const p = await pair('ka2', 'ka1');
    const t0 = p.c.now;
    await p.peer(() => p.c.apply('ka1', { kind: 'keepalived', up: false, reason: 'exited' })); // no VIP cleanup
    p.c.advance(3600);
    p.c.transition('ka2', 'MASTER');
    await p.step();
    p.goodRequest();
    await p.step();
    expect(p.outages()[0]).toMatchObject({ from: 'ka1', loss: { at: t0, kind: 'keepalived_left', vipLeftBound: true }, done: true });
    expect(p.outageLine()).toBe(
      `the move took 3.6 s: ka1's keepalived left at ${fmtTime(t0)} (its VIP stayed bound on ka1 with nginx serving: clients that reached it were still served); VIP bound on ka2 +3.6 s; first good request through the VIP +3.6 s`,
    );
    // The histogram keeps its definition: from the old master's loss.
    expect(await p.histogram()).toContain('keepwatch_failover_duration_seconds_sum{vrid="51",until="vip_bound"} 3.61');
  });

  test('the old master goes FAULT (its track script): counted from the FAULT', async () => {
    const p = await pair('ka2', 'ka1');
    const t0 = p.c.now;
    await p.peer(() => p.c.transition('ka1', 'FAULT'));
    p.c.advance(590);
    p.c.transition('ka2', 'MASTER'); // with its VIP
    await p.step();
    p.goodRequest();
    await p.step();
    expect(p.outages()[0]).toMatchObject({ from: 'ka1', loss: { at: t0, kind: 'fault' }, vipBoundAt: t0 + 600, firstGoodAt: t0 + 610, done: true });
    expect(p.outageLine()).toBe(`clients saw no service for 610 ms: ka1 went FAULT at ${fmtTime(t0)}; VIP bound on ka2 +600 ms; first good request through the VIP +610 ms`);
  });

  test("the old master's agent is gone with its host: counted from its last advert, estimated with master_down_interval", async () => {
    const p = await pair('ka2', 'ka1');
    const t0 = p.c.now; // ka1's host dies: no report, its agent falls silent
    p.c.advance(PEER_TIMEOUT);
    await p.peer(() => p.c.setPeerUp('ka1', false));
    const mdi = masterDownIntervalMs({ advertIntervalMs: 1000, priority: 100 });
    expect(mdi).toBe(3609.375);
    p.c.advance(Math.round(mdi) - PEER_TIMEOUT - 10);
    p.c.transition('ka2', 'MASTER');
    await p.step();
    const masterAt = t0 + Math.round(mdi);
    expect(p.outages()[0]).toMatchObject({ from: 'ka1', masterAt, loss: { at: masterAt - mdi, kind: 'last_advert', masterDownMs: mdi }, vipBoundAt: masterAt });
    expect(p.outageLine()).toMatch(/^clients without service since ka1's last advert \(estimated: ka2's takeover minus master_down_interval 3\.6 s\) at .*; VIP bound on ka2 \+3\.6 s; no good request through the VIP yet$/);
  });

  /** ka1's agent falls silent (its host still up), ka2 takes over 600 ms after the peer timeout and serves. */
  async function takeoverWithOldMasterUnseen(): Promise<Awaited<ReturnType<typeof pair>>> {
    const p = await pair('ka2', 'ka1');
    p.c.advance(PEER_TIMEOUT);
    await p.peer(() => p.c.setPeerUp('ka1', false));
    p.c.advance(600);
    p.c.transition('ka2', 'MASTER');
    await p.step();
    p.goodRequest();
    return p;
  }

  test("the old master's agent gone, its host still answering for the VIP after our takeover (its keepalived killed with -9): the first probe after the bind says so, and the line claims no gap", async () => {
    const dup = (duplicate: boolean) => p.c.apply('ka2', { kind: 'vip_duplicate', vip: VIP, duplicate, mac: duplicate ? '02:00:00:00:00:01' : undefined, source: 'arp_probe' });
    const p = await takeoverWithOldMasterUnseen();
    await p.step();
    expect(p.outages()[0]).toMatchObject({ loss: { kind: 'last_advert' }, done: true });
    expect(p.outageLine()).toMatch(/^clients saw no service for 3\.6 s: /);
    // The arp probe's first run after the bind (every 10 s by default): another host answers.
    await p.step(4_000);
    dup(true);
    await p.step();
    expect(p.outages()[0].loss.stillAnswered).toBe(true);
    expect(p.outageLine()).toMatch(
      /^the move took 3\.6 s: ka1's last advert \(estimated: ka2's takeover minus master_down_interval 3\.6 s\) at \S+ \(ka1 still answered for the VIP after the takeover \(duplicate-address probe\): clients that reached it may have been served\); VIP bound on ka2 \+3\.6 s; first good request through the VIP \+3\.6 s$/,
    );
    // The answers ending later changes nothing of what the takeover was.
    dup(false);
    await p.step();
    expect(p.outages()[0].loss.stillAnswered).toBe(true);
  });

  test('after an estimated loss, a first probe that hears nobody decides it: a later answer is another matter', async () => {
    const p = await takeoverWithOldMasterUnseen();
    await p.step(4_000);
    p.c.apply('ka2', { kind: 'vip_duplicate', vip: VIP, duplicate: false, source: 'arp_probe' });
    await p.step(10_000);
    p.c.apply('ka2', { kind: 'vip_duplicate', vip: VIP, duplicate: true, mac: '02:00:00:00:00:01', source: 'arp_probe' });
    await p.step();
    expect(p.outages()[0].loss.stillAnswered).toBeUndefined();
    expect(p.outageLine()).toMatch(/^clients saw no service for 3\.6 s: /);
  });

  test('the old master still says MASTER when we take over (its agent not timed out yet): waits for its report, then estimates', async () => {
    const p = await pair('ka2', 'ka1');
    const t0 = p.c.now;
    p.c.advance(3600);
    p.c.transition('ka2', 'MASTER'); // ka1's agent has said nothing since its host died; still "up"
    await p.step();
    expect(p.outages()).toEqual([]);
    expect(p.c.firing('Failover')).toEqual([]); // two MASTERs in the view: no failover verdict yet
    await p.peer(() => p.c.setPeerUp('ka1', false)); // peer_timeout
    p.c.advance(PEER_TIMEOUT + 1000);
    await p.step();
    expect(p.outages()[0]).toMatchObject({ from: 'ka1', loss: { kind: 'last_advert' } });
    expect(p.outages()[0].loss.at).toBeCloseTo(t0 + 3600 - 3609.375, 3); // our takeover at t0+3.6 s minus master_down_interval
    expect(p.outageLine()).toMatch(/ka1's last advert \(estimated/);
  });

  test('preemption: ka1 comes back and takes over; ka2 gives way after our takeover (no gap)', async () => {
    const p = await pair('ka1', 'ka2');
    const t0 = p.c.now;
    p.c.transition('ka1', 'MASTER'); // with its VIP at once
    await p.step();
    expect(p.outages()).toEqual([]); // ka2 still says MASTER: its report comes
    await p.peer(() => p.c.transition('ka2', 'BACKUP'));
    p.goodRequest();
    await p.step();
    expect(p.outages()[0]).toMatchObject({ from: 'ka2', loss: { at: t0 + 10, kind: 'released' }, vipBoundAt: t0, done: true });
    // The VIP was ours before ka2 let go: no gap (the first request is timed when it was made).
    expect(p.outageLine()).toMatch(/^clients saw no service for \d+ ms: ka2 gave up MASTER at .*; VIP bound on ka1 \+0 ms; first good request through the VIP \+\d+ ms$/);
    expect(await p.histogram()).toContain('keepwatch_failover_duration_seconds_sum{vrid="51",until="vip_bound"} 0');
  });

  test('no measurement for keepalived\'s first election, nor for a second MASTER that stays (split brain)', async () => {
    const c = await pair('ka2', 'ka1');
    // Split brain: ka2 MASTER while ka1 stays MASTER and its agent keeps reporting.
    c.c.transition('ka2', 'MASTER');
    await c.step(PEER_TIMEOUT + 1000);
    await c.peer(() => c.c.apply('ka1', { kind: 'priority', iname: 'VI_1', priority: 150 }));
    expect(c.outages()).toEqual([]);
    expect(c.tracker.inProgress()).toBe(0);

    // First election: nobody was MASTER, ka2 waited exactly master_down_interval.
    const s = new SimCluster(['ka2'], 'ka2');
    const t = new FailoverOutageTracker({ store: s.store('ka2'), peers: { views: () => [], subscribe: () => () => undefined }, clock: s.clock, log: silentLogger(), settleMs: 4000, viaVip: true });
    await t.start();
    s.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    s.advance(3609);
    s.transition('ka2', 'MASTER');
    await flush();
    s.advance(10_000);
    await flush();
    expect(s.store('ka2').state.failovers).toEqual([]);
  });

  test('this node leaves MASTER before a stage is measured: the record closes with what it has', async () => {
    const p = await pair('ka2', 'ka1', { viaVip: true });
    await p.peer(() => p.c.transition('ka1', 'FAULT'));
    p.c.transition('ka2', 'MASTER', 'VI_1', { moveVip: false });
    await p.step();
    p.c.transition('ka2', 'FAULT', 'VI_1', { moveVip: false });
    await p.step();
    expect(p.outages()[0]).toMatchObject({ done: true });
    expect(p.outages()[0].vipBoundAt).toBeUndefined();
    expect(await p.histogram()).toEqual([]);

    // A VIP bound but no request through it within OUTAGE_MAX_WAIT_MS: closed, the VIP stage kept.
    const q = await pair('ka2', 'ka1');
    await q.peer(() => q.c.transition('ka1', 'FAULT'));
    q.c.transition('ka2', 'MASTER');
    await q.step(OUTAGE_MAX_WAIT_MS);
    expect(q.outages()[0]).toMatchObject({ done: true, vipBoundAt: expect.any(Number) });
    expect(q.outages()[0].firstGoodAt).toBeUndefined();
    expect(await q.histogram()).toContain('keepwatch_failover_duration_seconds_count{vrid="51",until="vip_bound"} 1');
  });
});
