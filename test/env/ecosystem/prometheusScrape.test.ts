// A real Prometheus server scrapes a real agent: it asks with its own headers (Accept-Encoding:
// gzip), takes the answer (target up, no error) and stores the keepalived exporter's series with
// the labels dashboards written for that exporter query.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';
import { freePort } from '../../helpers/freePort';
import { waitFor } from '../../helpers/wait';
import { commandPath, describeNeeding, needs, requiredAsRoot } from '../../helpers/needs';

const PROMETHEUS = commandPath('prometheus') ?? 'prometheus';

interface Target {
  health: string;
  lastError: string;
  scrapeUrl: string;
}

describeNeeding([requiredAsRoot(needs.command('prometheus', 'apt-get install prometheus'))], 'a real Prometheus server scraping the agent', () => {
  let dir: string;
  let agent: InProcessAgent | undefined;
  let prom: ChildProcess | undefined;
  let stderr = '';

  afterEach(async () => {
    prom?.kill('SIGKILL');
    await agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Prometheus scrapes /metrics (gzip, as it asks): target up, keepalived_vrrp_state stored with the exporter\'s labels', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-prom-'));
    agent = await startInProcessAgent();
    const at = Date.now();
    agent.apply({ kind: 'keepalived', up: true, pid: 4242, at, source: 'dbus' });
    agent.apply({
      kind: 'instance',
      key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' },
      vips: ['192.0.2.100'],
      vipEntries: [{ address: '192.0.2.100', prefix: 24, dev: 'eth0' }],
      state: 'MASTER',
      at,
      source: 'dumps',
    });
    const target = new URL(agent.url).host;
    const port = await freePort();
    writeFileSync(join(dir, 'prometheus.yml'), `global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n  - job_name: keepwatch\n    static_configs: [{targets: ['${target}']}]\n`);
    prom = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    prom.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    const api = async <T>(path: string): Promise<T> => ((await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as { data: T }).data;
    const scraped = await waitFor(
      async () => {
        const t = (await api<{ activeTargets: Target[] }>('/api/v1/targets')).activeTargets[0];
        return t && t.health !== 'unknown' ? t : undefined;
      },
      { timeoutMs: 20_000, stepMs: 200, what: `Prometheus's first scrape of ${target} (its stderr: ${stderr})` },
    );
    expect(scraped).toMatchObject({ health: 'up', lastError: '', scrapeUrl: `http://${target}/metrics` });
    const series = await waitFor(
      async () => {
        const r = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>('/api/v1/query?query=keepalived_vrrp_state');
        return r.result.length ? r.result : undefined;
      },
      { timeoutMs: 10_000, stepMs: 200, what: 'keepalived_vrrp_state in Prometheus' },
    );
    expect(series).toEqual([{ metric: { __name__: 'keepalived_vrrp_state', iname: 'VI_1', intf: 'eth0', vrid: '51', ip_address: '192.0.2.100/24', instance: target, job: 'keepwatch' }, value: [expect.any(Number), '2'] }]);
    const samples = await api<{ result: Array<{ value: [number, string] }> }>('/api/v1/query?query=scrape_samples_scraped');
    expect(Number(samples.result[0].value[1])).toBeGreaterThan(100);
  }, 45_000);
});
