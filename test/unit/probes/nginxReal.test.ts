// The nginx probes against a real nginx (nginx-light) on 127.0.0.1 with a temporary config, and
// the per-run CPU cost of the probes measured in the same process (printed, not asserted: figures).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import si from 'systeminformation';
import { FakeClock } from '../../helpers/fakeClock';
import { silentLogger } from '../../../agent/logger';
import { NodeStore } from '../../../agent/state/store';
import { systemClock } from '../../../agent/context';
import { createHttpGet, type HttpGet } from '../../../agent/probes/httpGet';
import { NginxStatusProbe } from '../../../agent/probes/nginxStatusProbe';
import { NginxHealthProbe } from '../../../agent/probes/nginxHealthProbe';
import { NginxProcessProbe } from '../../../agent/probes/nginxProcessProbe';
import { NginxConfigProbe } from '../../../agent/probes/nginxConfigProbe';
import { runCommand } from '../../../agent/probes/runCommand';
import { VipProbe } from '../../../agent/probes/vipProbe';
import type { NginxConfigEvent, NginxStatusEvent, NodeEvent } from '../../../agent/state/types';
import type { Probe } from '../../../agent/probes/probe';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
if (!NGINX) console.warn('SKIPPED: real nginx probe tests need nginx (apt-get install nginx-light)');
const describeReal = NGINX ? describe : describe.skip;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sig = () => AbortSignal.timeout(3000);

function conf(dir: string, port: number, extra = ''): string {
  return `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server {
    listen 127.0.0.1:${port};
    location = /nginx_status { stub_status; }
    location = /health { return 200 "ok\\n"; }
    location = /broken { return 503; }
    ${extra}
  }
}
`;
}

/** Per-run CPU of the agent process (user+system), ms, median over `runs` after warm-up. */
async function cpuPerRun(probe: Probe, runs: number): Promise<{ median: number; mean: number }> {
  for (let i = 0; i < 10; i++) await probe.run(sig());
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    await probe.run(sig());
    const c = process.cpuUsage(c0);
    samples.push((c.user + c.system) / 1000);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

describeReal('nginx probes against a real nginx', () => {
  let dir: string;
  let port: number;
  let child: ChildProcess | undefined;
  let http: HttpGet & { close(): void };
  const clock = new FakeClock();

  const startNginx = async () => {
    child = spawn(NGINX as string, ['-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
    const t0 = Date.now();
    while (Date.now() - t0 < 5000) {
      try {
        await http(`http://127.0.0.1:${port}/health`, { signal: sig() });
        return;
      } catch {
        await sleep(20);
      }
    }
    throw new Error(`nginx did not start: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
  };
  const stopNginx = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill('SIGTERM');
    });
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-nginx-'));
    fs.mkdirSync(path.join(dir, 'tmp'));
    port = await freePort();
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf(dir, port));
    http = createHttpGet();
    await startNginx();
  });
  afterAll(async () => {
    await stopNginx();
    http.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('status, health, process and config while nginx runs; a reload is noticed and re-checked', async () => {
    const status = new NginxStatusProbe({ url: `http://127.0.0.1:${port}/nginx_status`, http, clock });
    const [st] = (await status.run(sig())) as NginxStatusEvent[];
    expect(st).toMatchObject({ up: true });
    expect(st.status!.accepted).toBeGreaterThanOrEqual(1);
    expect(st.status!.requests).toBeGreaterThanOrEqual(1);
    expect(st.status!.active).toBeGreaterThanOrEqual(1);

    const store = new NodeStore('n1', clock);
    const health = new NginxHealthProbe({ url: `http://127.0.0.1:${port}/health`, viaVip: true, store, http, clock });
    expect(await health.run(sig())).toEqual([expect.objectContaining({ target: 'local', up: true, statusCode: 200 })]);
    const broken = new NginxHealthProbe({ url: `http://127.0.0.1:${port}/broken`, viaVip: false, store, http, clock });
    expect(await broken.run(sig())).toEqual([expect.objectContaining({ target: 'local', up: false, statusCode: 503 })]);

    const changes: string[] = [];
    const proc = new NginxProcessProbe({ pidFile: path.join(dir, 'nginx.pid'), clock, onMasterChange: (w) => changes.push(w) });
    expect(await proc.run(sig())).toEqual([expect.objectContaining({ up: true, pid: child!.pid })]);

    const cfg = new NginxConfigProbe({ binary: NGINX as string, config: path.join(dir, 'nginx.conf'), clock });
    const [c1] = (await cfg.run(sig())) as NginxConfigEvent[];
    expect(c1).toMatchObject({ valid: true, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const [c2] = (await cfg.run(sig())) as NginxConfigEvent[];
    expect(c2.hash).toBe(c1.hash);

    // Edit and reload: new workers -> onMasterChange; the config hash follows the edit.
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf(dir, port, 'location = /new { return 204; }'));
    process.kill(child!.pid as number, 'SIGHUP');
    const t0 = Date.now();
    while (changes.length === 0 && Date.now() - t0 < 5000) {
      await sleep(50);
      await proc.run(sig());
    }
    expect(changes).toEqual(['nginx workers replaced (reload)']);
    const [c3] = (await cfg.run(sig())) as NginxConfigEvent[];
    expect(c3.valid).toBe(true);
    expect(c3.hash).not.toBe(c1.hash);
    // Keep-alive connections survive the reload (or are retried once): health stays up.
    expect(await health.run(sig())).toEqual([expect.objectContaining({ up: true })]);

    // A broken edit: invalid with nginx's own words, file and line.
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf(dir, port, 'bogus_directive on;'));
    const [c4] = (await cfg.run(sig())) as NginxConfigEvent[];
    expect(c4).toMatchObject({ valid: false, reason: `[emerg] unknown directive "bogus_directive" in ${dir}/nginx.conf:15` });
    expect(c4.hash).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf(dir, port));
  }, 20000);

  test('nginx -T without nginx\'s permissions (as nobody): a failed check, not an invalid configuration', async () => {
    if (process.getuid?.() !== 0) {
      console.warn('SKIPPED: running nginx -T as nobody needs root');
      return;
    }
    const cfg = new NginxConfigProbe({
      binary: NGINX as string,
      config: path.join(dir, 'nginx.conf'),
      clock,
      run: (argv, o) => runCommand(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...argv], o),
    });
    await expect(cfg.run(sig())).rejects.toThrow(/^cannot check the nginx configuration as this user .*\(13: Permission denied\)$/);
  });

  test('per-run CPU of the probes (figures for the report)', async () => {
    const store = new NodeStore('n1', clock);
    for (const [i, vip] of [['VI_1', '192.0.2.100'], ['VI_2', '192.0.2.101']]) {
      store.apply({ kind: 'instance', source: 'keepalived_conf', at: 1, key: { iname: i, intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: [vip] });
    }
    const fetchGet: HttpGet = async (url, o) => {
      const r = await fetch(url, { signal: o.signal, headers: o.headers });
      return { status: r.status, body: await r.text() };
    };
    const noKeepAlive = createHttpGet({ keepAlive: false });
    const url = `http://127.0.0.1:${port}/nginx_status`;
    const figures: Record<string, { median: number; mean: number }> = {
      'nginx_status (node:http keep-alive, the default)': await cpuPerRun(new NginxStatusProbe({ url, http, clock }), 300),
      'nginx_status (node:http, new connection each run)': await cpuPerRun(new NginxStatusProbe({ url, http: noKeepAlive, clock }), 300),
      'nginx_status (fetch/undici)': await cpuPerRun(new NginxStatusProbe({ url, http: fetchGet, clock }), 300),
      'nginx_health (local only)': await cpuPerRun(new NginxHealthProbe({ url: `http://127.0.0.1:${port}/health`, viaVip: true, store, http, clock }), 300),
      nginx_process: await cpuPerRun(new NginxProcessProbe({ pidFile: path.join(dir, 'nginx.pid'), clock }), 300),
      'nginx_config (spawn nginx -T)': await cpuPerRun(new NginxConfigProbe({ binary: NGINX as string, config: path.join(dir, 'nginx.conf'), clock }), 20),
      'vip (os.networkInterfaces, 2 VIPs)': await cpuPerRun(new VipProbe({ store, clock: systemClock, log: silentLogger(), monitorCommand: null }), 1000),
    };
    noKeepAlive.close();
    // systeminformation's networkInterfaces against os.networkInterfaces, same process.
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) os.networkInterfaces();
    const osMs = (performance.now() - t0) / 200;
    const c0 = process.cpuUsage();
    const t1 = performance.now();
    for (let i = 0; i < 3; i++) await si.networkInterfaces();
    const siMs = (performance.now() - t1) / 3;
    const siCpu = process.cpuUsage(c0);
    const lines = Object.entries(figures).map(([k, v]) => `  ${k.padEnd(52)} median ${v.median.toFixed(3)} ms  mean ${v.mean.toFixed(3)} ms`);
    lines.push(`  os.networkInterfaces(): ${(osMs * 1000).toFixed(1)} us wall per call; systeminformation networkInterfaces(): ${siMs.toFixed(1)} ms wall, ${((siCpu.user + siCpu.system) / 3000).toFixed(1)} ms CPU per call`);
    console.log(`Probe CPU per run (agent process, user+system):\n${lines.join('\n')}`);
    fs.writeFileSync(path.join(os.tmpdir(), 'keepwatch-probe-cpu.json'), JSON.stringify({ at: new Date().toISOString(), figures, osNetworkInterfacesUs: osMs * 1000, siNetworkInterfacesMs: siMs }, null, 2));
    for (const v of Object.values(figures)) expect(Number.isFinite(v.median)).toBe(true);
  }, 120000);

  test('nginx stopped: status, health and process all down with the reason', async () => {
    await stopNginx();
    const store = new NodeStore('n1', clock);
    const evs: NodeEvent[] = [
      ...(await new NginxStatusProbe({ url: `http://127.0.0.1:${port}/nginx_status`, http, clock }).run(sig())),
      ...(await new NginxHealthProbe({ url: `http://127.0.0.1:${port}/health`, viaVip: true, store, http, clock }).run(sig())),
      ...(await new NginxProcessProbe({ pidFile: path.join(dir, 'nginx.pid'), clock }).run(sig())),
    ];
    expect(evs).toEqual([
      expect.objectContaining({ kind: 'nginx_status', up: false, reason: expect.stringContaining('ECONNREFUSED') }),
      expect.objectContaining({ kind: 'nginx_health', up: false, reason: expect.stringContaining('ECONNREFUSED') }),
      expect.objectContaining({ kind: 'nginx_process', up: false, reason: expect.stringContaining('no pid file') }),
    ]);
    expect(spawnSync('true').status).toBe(0);
  });
});
