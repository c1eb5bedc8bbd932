// Two real agents (every default module) on loopback, peered through their config: the cluster
// API, SplitBrain seen by both, metrics, a reload of the rules that does not re-page, and a peer
// that goes away. (Detection and peer-down times are figures for the benchmarks, bench/timeToPage.ts
// and bench/peerStream.ts, not assertions here.)
import { readFileSync, writeFileSync } from 'node:fs';
import { healthyMasterEvents, startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';
import type { Alert } from '../../../agent/alerting/alert';
import { sleep, waitFor } from '../../helpers/wait';

const TOKEN = 'peer-token-0123456789abcdef';

async function json(url: string): Promise<any> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

describe('two peered agents', () => {
  let a: InProcessAgent;
  let b: InProcessAgent;
  const published: Record<string, Alert[]> = { ka1: [], ka2: [] };

  beforeAll(async () => {
    a = await startInProcessAgent({ node: 'ka1', extraYaml: `peer_token: ${TOKEN}\n` });
    b = await startInProcessAgent({ node: 'ka2', extraYaml: `peer_token: ${TOKEN}\npeers:\n  - {name: ka1, url: "${a.url}"}\n` });
    writeFileSync(a.configFile, readFileSync(a.configFile, 'utf8') + `peers:\n  - {name: ka2, url: "${b.url}"}\n`);
    await a.daemon.reload();
    for (const [agent, node] of [[a, 'ka1'], [b, 'ka2']] as const) {
      agent.daemon.hubs.alerts.subscribe((alert) => published[node].push(alert));
    }
    const now = Date.now();
    for (const ev of healthyMasterEvents(now)) a.apply(ev);
    for (const ev of healthyMasterEvents(now, { state: 'BACKUP' })) b.apply({ ...ev, ...(ev.kind === 'instance' ? { priority: 100 } : {}) } as never);
  }, 20_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  test('each sees the other: /api/v1/cluster, keepwatch_peer_up', async () => {
    const view = await waitFor(
      async () => {
        const v = await json(`${a.url}/api/v1/cluster`);
        return v.nodes.length === 2 && v.nodes.every((n: { up: boolean }) => n.up) ? v : undefined;
      },
      { what: 'cluster view with both nodes up', timeoutMs: 8000 },
    );
    expect(view.vrids[0].masters).toEqual(['ka1']);
    expect(view.vrids[0].members.map((m: { node: string; state: string; via: string }) => [m.node, m.state, m.via])).toEqual([
      ['ka1', 'MASTER', 'self'],
      ['ka2', 'BACKUP', 'ka2'],
    ]);
    expect(JSON.stringify(view)).not.toContain(TOKEN);
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toMatch(/^keepwatch_peer_up\{peer="ka1"\} 1$/m);
    expect(metrics).toMatch(/^keepwatch_split_brain\{vrid="51"\} 0$/m);
    expect(metrics).toMatch(/^keepwatch_rule_evaluation_duration_seconds_count \d+/m);

  });

  test('second MASTER: both agents fire SplitBrain; a rules reload does not re-page', async () => {
    await sleep(1500);
    expect(published.ka1.filter((f) => f.status === 'firing').map((f) => f.labels.alertname)).toEqual([]);
    const t0 = Date.now();
    b.apply({ kind: 'transition', at: t0, source: 'dbus', iname: 'VI_1', state: 'MASTER' });
    b.apply({ kind: 'vip', at: t0, source: 'vip_probe', vips: [{ iname: 'VI_1', vip: '192.0.2.100', intf: 'eth0' }] });
    const got = await waitFor(
      () => {
        const f = ['ka1', 'ka2'].map((n) => published[n].find((x) => x.labels.alertname === 'SplitBrain' && x.status === 'firing'));
        return f.every(Boolean) ? f : undefined;
      },
      { what: 'SplitBrain on both' },
    );
    expect(got[0]!.fingerprint).toBe(got[1]!.fingerprint);
    const rules = await json(`${a.url}/api/v1/rules`);
    expect(rules.active.map((x: Alert) => x.labels.alertname)).toContain('SplitBrain');
    expect(await (await fetch(`${a.url}/metrics`)).text()).toMatch(/^keepwatch_split_brain\{vrid="51"\} 1$/m);
    // Reload with a changed rules section: the rules module is rebuilt, SplitBrain is not re-published.
    writeFileSync(a.configFile, readFileSync(a.configFile, 'utf8') + 'rules: {no_master_for: 7s}\n');
    await a.daemon.reload();
    await sleep(1500);
    expect(published.ka1.filter((f) => f.labels.alertname === 'SplitBrain')).toHaveLength(1);
    // Healed: resolved on both.
    const t1 = Date.now();
    b.apply({ kind: 'transition', at: t1, source: 'dbus', iname: 'VI_1', state: 'BACKUP' });
    b.apply({ kind: 'vip', at: t1, source: 'vip_probe', vips: [{ iname: 'VI_1', vip: '192.0.2.100', intf: null }] });
    await waitFor(() => ['ka1', 'ka2'].every((n) => published[n].some((x) => x.labels.alertname === 'SplitBrain' && x.status === 'resolved')), {
      what: 'resolved on both',
      timeoutMs: 8000,
    });
  });

  test('peer gone: keepwatch_peer_up 0, the agent goes on alone', async () => {
    await b.stop();
    await waitFor(async () => /^keepwatch_peer_up\{peer="ka2"\} 0$/m.test(await (await fetch(`${a.url}/metrics`)).text()), { what: 'peer down' });
    const view = await json(`${a.url}/api/v1/cluster`);
    expect(view.nodes.find((n: { node: string }) => n.node === 'ka2').up).toBe(false);
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
  });
});
