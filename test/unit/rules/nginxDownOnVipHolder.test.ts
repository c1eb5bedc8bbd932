// NginxDownOnVipHolder: nginx down on the node that holds the VIP while keepalived keeps it there.
// With the shipped probe defaults, on the fake clock, the real nginx probes (status, health,
// process with its watch) on their default schedules feed the VIP holder's store: two failed
// health requests in a row page; the master process gone pages at once (after a restart's grace,
// before the health requests would); a reload or a quick restart pages nothing.
import { allRules } from '../../../rules';
import { nginxDownOnVipHolderRule } from '../../../rules/nginxDownOnVipHolderRule';
import { flappingRule } from '../../../rules/flappingRule';
import { failoverRule } from '../../../rules/failoverRule';
import { rulePair, type RuleSim } from './harness';
import { FakeNginx } from '../../helpers/fakeNginx';
import { silentLogger } from '../../../agent/logger';
import { ProbeScheduler, type ScheduledProbe } from '../../../agent/probes/scheduler';
import { NginxHealthProbe } from '../../../agent/probes/nginxHealthProbe';
import { NginxStatusProbe } from '../../../agent/probes/nginxStatusProbe';
import { NGINX_RESTART_GRACE_MS, NGINX_WATCH_INTERVAL_MS, NginxProcessProbe } from '../../../agent/probes/nginxProcessProbe';
import { effectiveSchedule, RECHECK_ON_MASTER_CHANGE, type ProbeName } from '../../../agent/probes/schedulePolicy';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

interface Holder {
  c: RuleSim;
  ngx: FakeNginx;
  sched: ProbeScheduler;
  /** When the scheduler started (health runs at t0 + k s). */
  t0: number;
  /** Moves the fake clock in 10 ms steps, letting the probes' async runs finish between them. */
  advance(ms: number): Promise<void>;
  /** Advances until NginxDownOnVipHolder fires (or ms pass); the fake time it took, or undefined. */
  untilFiring(ms: number): Promise<number | undefined>;
}

async function holder(): Promise<Holder> {
  const c = rulePair(allRules); // ka1 (this agent) MASTER with the VIP, ka2 BACKUP
  const ngx = new FakeNginx();
  ngx.start(100);
  const store = c.store('ka1');
  const probes: Partial<Record<ProbeName, ScheduledProbe['probe']>> = {
    nginx_status: new NginxStatusProbe({ url: 'http://127.0.0.1/nginx_status', http: ngx.http, clock: c.clock }),
    nginx_health: new NginxHealthProbe({ url: 'http://127.0.0.1/', viaVip: true, store, http: ngx.http, clock: c.clock }),
    nginx_process: new NginxProcessProbe({
      pidFile: ngx.pidFile,
      procRoot: ngx.procRoot,
      clock: c.clock,
      readFile: ngx.readFile,
      fileStamp: ngx.fileStamp,
      signal0: ngx.signal0,
      // As the probes module wires it.
      onMasterChange: () => RECHECK_ON_MASTER_CHANGE.forEach((n) => sched.trigger(n)),
    }),
  };
  const scheduled = (Object.keys(probes) as ProbeName[]).map((name) => {
    const s = effectiveSchedule(name, undefined); // the shipped defaults
    return { probe: probes[name]!, intervalMs: s.intervalMs, timeoutMs: s.timeoutMs };
  });
  const sched = new ProbeScheduler(scheduled, { clock: c.clock, log: silentLogger(), emit: (ev) => void store.apply(ev), monotonicNow: () => c.clock.now() });
  const t0 = c.now;
  await sched.start();
  await flush();
  const advance = async (ms: number) => {
    for (let t = 0; t < ms; t += 10) {
      c.advance(Math.min(10, ms - t), 10);
      await flush();
    }
  };
  const untilFiring = async (ms: number) => {
    const from = c.now;
    for (let t = 0; t < ms; t += 10) {
      if (c.conditions('NginxDownOnVipHolder').length) return c.now - from;
      await advance(10);
    }
    return undefined;
  };
  await advance(3000);
  return { c, ngx, sched, t0, advance, untilFiring };
}

describe('NginxDownOnVipHolder', () => {
  test('nginx dies on the master and keepalived keeps the VIP there (no track script)', () => {
    const c = rulePair(allRules);
    c.nginx('ka1', false);
    c.advance(4900);
    expect(c.conditions('NginxDownOnVipHolder')).toHaveLength(0);
    c.advance(200);
    const a = c.conditions('NginxDownOnVipHolder');
    expect(a).toHaveLength(1);
    expect(a[0].severity).toBe('critical');
    expect(a[0].labels).toEqual({ vrid: '51', iname: 'VI_1', node: 'ka1', vip: '192.0.2.100' });
    expect(a[0].annotations.description).toMatch(/no track script/);
    // While the master does not serve, RedundancyLost is not the page.
    expect(c.conditions('RedundancyLost')).toHaveLength(0);
    c.nginx('ka1', true);
    c.advance(100);
    expect(c.conditions('NginxDownOnVipHolder')).toHaveLength(0);
  });

  test('a failure not yet confirmed (stub_status, one failed request) and a track script that moves the VIP in time: no page', () => {
    const c = rulePair(nginxDownOnVipHolderRule);
    c.nginx('ka1', false);
    c.advance(2000);
    c.transition('ka1', 'FAULT');
    c.transition('ka2', 'MASTER');
    c.advance(60_000);
    expect(c.occurrences('NginxDownOnVipHolder')).toEqual([]);
  });

  test('while its VRID flaps (track script): nginx dying on the holder that the track script answers is a turn of the flapping; one the track script leaves outlasting condition_for pages', () => {
    const c = rulePair([flappingRule, failoverRule, nginxDownOnVipHolderRule]);
    c.apply('ka1', { kind: 'script', name: 'chk_nginx', good: true, source: 'dumps' });
    const cycle = (faultAfterMs: number) => {
      c.apply('ka1', { kind: 'nginx_process', up: false, reason: 'master process not running', source: 'nginx_probe' });
      c.advance(faultAfterMs, 50); // chk_nginx's fall
      c.transition('ka1', 'FAULT');
      c.transition('ka2', 'MASTER');
      c.advance(3500 - faultAfterMs, 50);
      c.apply('ka1', { kind: 'nginx_process', up: true, pid: 200, source: 'nginx_probe' });
      c.transition('ka1', 'BACKUP');
      c.transition('ka1', 'MASTER');
      c.transition('ka2', 'BACKUP');
      c.advance(3500, 50);
    };
    cycle(1500);
    cycle(1500);
    expect(c.occurrences('NginxDownOnVipHolder')).toHaveLength(2); // before it flapped: each the cause of its failover
    expect(c.conditions('Flapping')).toHaveLength(1);
    for (let i = 0; i < 4; i++) cycle(1500);
    expect(c.occurrences('NginxDownOnVipHolder')).toHaveLength(2);
    c.apply('ka1', { kind: 'nginx_process', up: false, reason: 'master process not running', source: 'nginx_probe' });
    c.advance(4900, 50);
    expect(c.conditions('NginxDownOnVipHolder')).toEqual([]);
    c.advance(200, 50);
    expect(c.conditions('NginxDownOnVipHolder')).toHaveLength(1);
  });

  test('nginx down on the backup is not this alert (it is RedundancyLost)', () => {
    const c = rulePair(allRules);
    c.nginx('ka2', false);
    c.advance(6000);
    expect(c.names()).toEqual(['RedundancyLost']);
  });
});

describe('NginxDownOnVipHolder with the shipped probe defaults', () => {
  test('the site fails (HTTP 502, master alive): not on the first failed request, at the second', async () => {
    const h = await holder();
    expect(h.c.now).toBe(h.t0 + 3000); // the health request of t0+3 s has just run, and passed
    h.ngx.status = 502;
    await h.advance(1500); // the request of t0+4 s failed: one failure is no page
    expect(h.c.conditions('NginxDownOnVipHolder')).toEqual([]);
    expect(h.c.store('ka1').state.nginx.health.local).toMatchObject({ up: false, failures: 1 });
    const took = await h.untilFiring(5000);
    expect(h.c.now - h.t0).toBeLessThanOrEqual(5000 + 50); // the second failure (t0+5 s), not condition_for
    expect(took).toBeDefined();
    const [a] = h.c.conditions('NginxDownOnVipHolder');
    expect(a.labels).toMatchObject({ node: 'ka1', vip: '192.0.2.100', vrid: '51' });
    expect(a.startsAt).toBe(h.t0 + 4000); // since the first failed request
    expect(a.annotations.summary).toMatch(/nginx is down on ka1, which holds the VIP 192\.0\.2\.100 of VRID 51: health check failed \(HTTP 502\)/);
    h.ngx.status = 200;
    await h.advance(1100);
    expect(h.c.conditions('NginxDownOnVipHolder')).toEqual([]);
    await h.sched.stop();
  });

  test('the master process killed: paged once the restart grace is over, before two health requests could fail', async () => {
    const h = await holder();
    h.ngx.kill({ keepPidFile: true }); // kill -9 of master and workers: the port closes, the pid file stays
    const took = await h.untilFiring(5000);
    expect(took).toBeDefined();
    // The watch sees it within a tick, then waits out a restart's gap: the health requests of t0+4 s
    // and t0+5 s would have fired it 2 s after the kill.
    expect(took!).toBeLessThanOrEqual(NGINX_WATCH_INTERVAL_MS + NGINX_RESTART_GRACE_MS + 50);
    const [a] = h.c.conditions('NginxDownOnVipHolder');
    expect(a.annotations.summary).toMatch(/master process not running: pid 100 from \/run\/nginx\.pid is not running/);
    expect(a.annotations.description).toMatch(/no track script/);
    await h.sched.stop();
  });

  test('with a track script: paged as the cause at once, resolved when keepalived has moved the VIP away', async () => {
    const h = await holder();
    h.c.apply('ka1', { kind: 'script', name: 'chk_nginx', good: true, source: 'dumps' });
    h.ngx.kill({ keepPidFile: true });
    const took = await h.untilFiring(5000);
    expect(took).toBeDefined();
    expect(h.c.conditions('NginxDownOnVipHolder')[0].annotations.description).toMatch(/its track script should move the VIP within seconds/);
    // chk_nginx (interval 1, fall 2) fails: ka1 FAULT, ka2 takes the VIP.
    h.c.apply('ka1', { kind: 'script', name: 'chk_nginx', good: false, source: 'dumps' });
    h.c.transition('ka1', 'FAULT');
    h.c.transition('ka2', 'MASTER');
    await h.advance(100);
    expect(h.c.conditions('NginxDownOnVipHolder')).toEqual([]);
    expect(h.c.conditions('Failover')[0].annotations.summary).toMatch(/from ka1 to ka2: ka1 went FAULT \(failing track script: chk_nginx\); nginx down on ka1/);
    await h.sched.stop();
  });

  test('a reload (same master, new workers, the port stays open) pages nothing', async () => {
    const h = await holder();
    for (let i = 0; i < 5; i++) {
      h.ngx.reload();
      await h.advance(2000);
    }
    expect(h.c.occurrences('NginxDownOnVipHolder')).toEqual([]);
    expect(h.c.occurrences()).toEqual([]);
    await h.sched.stop();
  });

  test('a restart (the old master exits, a new one serves 300 ms later, over a health request) pages nothing', async () => {
    const h = await holder();
    await h.advance(900);
    h.ngx.kill(); // at t0+3.9 s: the request of t0+4 s finds the port closed
    await h.advance(300);
    h.ngx.start(200);
    await h.advance(20_000);
    expect(h.c.occurrences('NginxDownOnVipHolder')).toEqual([]);
    expect(h.c.store('ka1').state.nginx.process).toMatchObject({ up: true, pid: 200 });
    await h.sched.stop();
  });

  test('a "restart" whose new master never comes within the grace is a death', async () => {
    const h = await holder();
    h.ngx.kill();
    await h.advance(3000);
    h.ngx.start(200);
    expect(h.c.occurrences('NginxDownOnVipHolder')).toHaveLength(1);
    // Back: the watch sees the new pid file at its next tick and every nginx probe runs again.
    await h.advance(NGINX_WATCH_INTERVAL_MS + 50);
    expect(h.c.conditions('NginxDownOnVipHolder')).toEqual([]);
    await h.sched.stop();
  });
});
