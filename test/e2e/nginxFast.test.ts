// Issue 14, items 5 and 7, on the real lab with the shipped defaults (the agents' config names only
// the lab's paths, the peers and the peer token: no probe interval, no rule duration):
// - nginx dies on the VIP holder (no track script: keepalived keeps the VIP on a dead nginx):
//   NginxDownOnVipHolder appears in the holder's /api/v1/alerts within seconds (the issue measured
//   10 s; the goal is 3 s), for a crash (SIGKILL of master and workers) and a clean stop;
// - a reload (SIGHUP) and a restart (the master exits, a new one starts) page nothing;
// - a real failover (keepalived SIGTERM'd, then SIGKILL'd on the master) is observed by the new
//   master's keepwatch_failover_duration_seconds (until="vip_bound" and "first_good_request"), and
//   its Failover alert carries the `outage` line.
// Latencies are printed, not asserted beyond a generous bound: speed belongs in bench/.
import * as fs from 'node:fs';
import { startLab, type Lab, type LabNode } from '../lab/lab';
import { restartPeered, sample, startPeered, waitUntil, type LabAgent } from '../lab/agents';
import { describeLab } from '../helpers/needs';
import { sleep } from '../helpers/wait';

jest.setTimeout(180_000);

interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
}

describeLab('nginx death seen in seconds, and the outage of each failover (shipped defaults)', () => {
  let lab: Lab;
  let agents: LabAgent[];
  let ka1: LabNode;
  let ka2: LabNode;

  const alerts = (a: LabAgent) => a.getJson<ApiAlert[]>('/api/v1/alerts');
  const nginxDown = async (a: LabAgent, node: string) => (await alerts(a)).find((x) => x.labels.alertname === 'NginxDownOnVipHolder' && x.labels.node === node);

  /** Polls the holder's alerts for `ms` and returns every NginxDownOnVipHolder seen meanwhile. */
  async function watchForNginxDown(a: LabAgent, ms: number): Promise<ApiAlert[]> {
    const seen: ApiAlert[] = [];
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const x = await nginxDown(a, a.node.name);
      if (x) seen.push(x);
      await sleep(50);
    }
    return seen;
  }

  const nginxPid = (n: LabNode) => Number(fs.readFileSync(n.nginxPidFile, 'utf8').trim());

  beforeAll(async () => {
    lab = await startLab({ id: 'ngxfast', trackScript: false });
    [ka1, ka2] = lab.nodes;
    agents = await startPeered(lab);
    // Healthy to start with: the health probe through the VIP answers on the holder.
    await waitUntil(async () => sample(await agents[0].metrics(), 'keepwatch_nginx_health_up', { target: `vip:${lab.vip}` }) === 1, 10_000, 100, 'health through the VIP on ka1');
  });
  afterAll(async () => {
    await lab?.stop();
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    test(`nginx ${signal === 'SIGKILL' ? 'crashes (SIGKILL, master and workers)' : 'stopped (SIGTERM)'} on the VIP holder: NginxDownOnVipHolder within seconds`, async () => {
      const [a1] = agents;
      expect(await nginxDown(a1, 'ka1')).toBeUndefined();
      const t0 = Date.now();
      await lab.stopNginx(ka1, signal);
      const seenAt = await waitUntil(() => nginxDown(a1, 'ka1'), 10_000, 20, 'NginxDownOnVipHolder in ka1\'s /api/v1/alerts');
      const a = (await nginxDown(a1, 'ka1'))!;
      console.log(`nginx ${signal} on the VIP holder: NginxDownOnVipHolder in the agent's /api/v1/alerts ${seenAt - t0} ms later (${a.annotations.summary})`);
      expect(seenAt - t0).toBeLessThan(10_000);
      expect(a.labels).toMatchObject({ severity: 'critical', vrid: '51', vip: lab.vip });
      expect(a.annotations.description).toMatch(/no track script/);
      expect(await lab.vipHolders()).toEqual(['ka1']); // no track script: keepalived kept the VIP there

      await lab.startNginx(ka1);
      const backAt = await waitUntil(async () => !(await nginxDown(a1, 'ka1')), 10_000, 20, 'NginxDownOnVipHolder resolved');
      console.log(`  nginx started again: resolved ${backAt - t0 - (seenAt - t0)} ms after it was seen (the watch sees the new pid file, then every nginx probe runs again)`);
    });
  }

  test('a reload (SIGHUP: same master) and a restart (the master exits, a new one starts) page nothing', async () => {
    const [a1] = agents;
    await waitUntil(async () => !(await nginxDown(a1, 'ka1')), 10_000, 50, 'no NginxDownOnVipHolder to start with');
    const pid = nginxPid(ka1);
    process.kill(pid, 'SIGHUP');
    expect(await watchForNginxDown(a1, 3_000)).toEqual([]);
    expect(nginxPid(ka1)).toBe(pid);

    // The restart systemd's nginx.service does: stop with QUIT (the master waits for its workers),
    // then start a new master (which writes a new pid file).
    const t0 = Date.now();
    await lab.stopNginx(ka1, 'SIGQUIT');
    const gone = Date.now();
    await lab.startNginx(ka1);
    const started = Date.now();
    console.log(`nginx restart: QUIT took ${gone - t0} ms, the new master was up ${started - gone} ms later`);
    // Longer than rules.condition_for (5 s): any failure the restart left would have fired by then.
    expect(await watchForNginxDown(a1, 7_000)).toEqual([]);
    const state = await a1.getJson<{ nginx: { process: { up: boolean; pid: number } } }>('/api/v1/state');
    expect(state.nginx.process).toMatchObject({ up: true, pid: nginxPid(ka1) });
    expect(nginxPid(ka1)).not.toBe(pid);
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`keepalived ${signal} on the master: the new master observes keepwatch_failover_duration_seconds and puts the outage in its Failover alert`, async () => {
      // Fresh agents: the earlier failovers of this file (and a preemption back) would otherwise
      // make this takeover the third MASTER change in 5 min, folded into Flapping.
      await restartPeered(agents, 'ka1', { wipe: true });
      const [, a2] = agents;
      const count = async (until: string) => sample(await a2.metrics(), 'keepwatch_failover_duration_seconds_count', { vrid: '51', until }) ?? 0;
      const sum = async (until: string) => sample(await a2.metrics(), 'keepwatch_failover_duration_seconds_sum', { vrid: '51', until }) ?? 0;
      const before = { vip: await count('vip_bound'), good: await count('first_good_request'), vipSum: await sum('vip_bound'), goodSum: await sum('first_good_request') };
      await lab.killKeepalived(ka1, signal);
      await lab.waitForState(ka2, 'MASTER', 15_000);
      await waitUntil(async () => (await count('vip_bound')) > before.vip && (await count('first_good_request')) > before.good, 15_000, 50, 'ka2 observed both stages');
      // Once each: no second observation of the same takeover.
      expect(await count('vip_bound')).toBe(before.vip + 1);
      const vipS = (await sum('vip_bound')) - before.vipSum;
      const goodS = (await sum('first_good_request')) - before.goodSum;
      const failover = await waitUntil(async () => (await alerts(a2)).find((x) => x.labels.alertname === 'Failover' && x.labels.node === 'ka2' && /first good request through the VIP/.test(x.annotations.outage ?? '')), 10_000, 50, "ka2's Failover alert with its outage line");
      expect(failover).toBeTruthy();
      const f = (await alerts(a2)).find((x) => x.labels.alertname === 'Failover' && x.labels.node === 'ka2')!;
      console.log(`keepalived ${signal} on ka1: ka2's keepwatch_failover_duration_seconds vip_bound ${vipS.toFixed(3)} s, first_good_request ${goodS.toFixed(3)} s\n  outage: ${f.annotations.outage}`);
      if (signal === 'SIGTERM') {
        expect(f.annotations.outage).toMatch(/^clients saw no service for [\d.]+ (ms|s): ka1's keepalived left at \S+; VIP bound on ka2 \+[\d.]+ (ms|s); first good request through the VIP \+[\d.]+ (ms|s)$/);
      } else {
        // kill -9 leaves the VIP bound on ka1, whose nginx still serves: no gap is claimed.
        expect(f.annotations.outage).toMatch(/^the move took [\d.]+ (ms|s): ka1's keepalived left at \S+ \(its VIP stayed bound on ka1 with nginx serving: clients that reached it were still served\); VIP bound on ka2 \+[\d.]+ (ms|s); first good request through the VIP \+[\d.]+ (ms|s)$/);
      }
      expect(goodS).toBeGreaterThanOrEqual(vipS);
      // A SIGTERM'd master hands over in under a second, a SIGKILL'd one after master_down_interval (~3.6 s).
      expect(vipS).toBeLessThan(10);

      // Back: ka1 preempts and measures its own takeover (ka2 gave way).
      await lab.startKeepalived(ka1);
      await lab.waitForState(ka1, 'MASTER', 20_000);
      const a1 = agents[0];
      await waitUntil(async () => (sample(await a1.metrics(), 'keepwatch_failover_duration_seconds_count', { vrid: '51', until: 'vip_bound' }) ?? 0) > 0, 15_000, 100, 'ka1 measured its takeover');
      await waitUntil(async () => (await lab.vipHolders()).join() === 'ka1', 15_000, 100, 'the VIP on ka1 alone');
    });
  }
});
