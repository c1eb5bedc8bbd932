// What one run of each probe costs the agent's process (user+system CPU, median over many runs,
// after warm-up), against a real nginx (nginx-light) on 127.0.0.1 with a temporary config; the
// HTTP client variants compared in the same process (node:http keep-alive, a new connection each
// run, fetch/undici); os.networkInterfaces against systeminformation's networkInterfaces. As root
// with arping: the arp probe against real arping between two namespaces (answered and not), and
// how soon the VIP probe's address monitor sees a VIP appear or vanish. Figures for
// bench/RESULTS.md, moved out of the probes' unit tests.
// Run: npx tsx bench/probeCost.ts [--runs=300]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import si from 'systeminformation';
import { FakeClock } from '../test/helpers/fakeClock';
import { freePort } from '../test/helpers/freePort';
import { sleep, waitFor } from '../test/helpers/wait';
import { silentLogger } from '../agent/logger';
import { systemClock } from '../agent/context';
import { NodeStore } from '../agent/state/store';
import type { VipObservationEvent } from '../agent/state/types';
import { createHttpGet, type HttpGet } from '../agent/probes/httpGet';
import type { Probe } from '../agent/probes/probe';
import { NginxStatusProbe } from '../agent/probes/nginxStatusProbe';
import { NginxHealthProbe } from '../agent/probes/nginxHealthProbe';
import { NginxProcessProbe } from '../agent/probes/nginxProcessProbe';
import { NginxConfigProbe } from '../agent/probes/nginxConfigProbe';
import { VipProbe, type AddressReader } from '../agent/probes/vipProbe';
import { ArpProbe } from '../agent/probes/arpProbe';
import { parseIpAddrJson } from '../agent/probes/parse/ipAddrJson';
import { fmt, opt, runMain, writeResult } from './lib';

const sig = () => AbortSignal.timeout(3000);

/** Per-run CPU of this process (user+system), ms, over `runs` after warm-up. */
async function cpuPerRun(probe: Pick<Probe, 'run'>, runs: number, warmup = 10): Promise<{ median: number; mean: number }> {
  for (let i = 0; i < warmup; i++) await probe.run(sig());
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

async function nginxProbes(runs: number): Promise<Record<string, { median: number; mean: number }>> {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
  if (!nginx) {
    console.log('probeCost: no nginx (apt-get install nginx-light): nginx probes not measured');
    return {};
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-probecost-'));
  fs.mkdirSync(path.join(dir, 'tmp'));
  const port = await freePort();
  const t = `${dir}/tmp`;
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off; master_process on; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 64; }
http { access_log off; client_body_temp_path ${t}; proxy_temp_path ${t}; fastcgi_temp_path ${t}; uwsgi_temp_path ${t}; scgi_temp_path ${t};
  server { listen 127.0.0.1:${port}; location = /nginx_status { stub_status; } location = /health { return 200 "ok\\n"; } } }
`,
  );
  const child = spawn(nginx, ['-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const http = createHttpGet();
  const noKeepAlive = createHttpGet({ keepAlive: false });
  try {
    await waitFor(() => http(`http://127.0.0.1:${port}/health`, { signal: sig() }).then(() => true), { what: 'nginx answering' });
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    for (const [i, vip] of [['VI_1', '192.0.2.100'], ['VI_2', '192.0.2.101']]) {
      store.apply({ kind: 'instance', source: 'keepalived_conf', at: 1, key: { iname: i, intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: [vip] });
    }
    const fetchGet: HttpGet = async (url, o) => {
      const r = await fetch(url, { signal: o.signal, headers: o.headers });
      return { status: r.status, body: await r.text() };
    };
    const url = `http://127.0.0.1:${port}/nginx_status`;
    return {
      'nginx_status (node:http keep-alive, the default)': await cpuPerRun(new NginxStatusProbe({ url, http, clock }), runs),
      'nginx_status (node:http, new connection each run)': await cpuPerRun(new NginxStatusProbe({ url, http: noKeepAlive, clock }), runs),
      'nginx_status (fetch/undici)': await cpuPerRun(new NginxStatusProbe({ url, http: fetchGet, clock }), runs),
      'nginx_health (local only)': await cpuPerRun(new NginxHealthProbe({ url: `http://127.0.0.1:${port}/health`, viaVip: true, store, http, clock }), runs),
      nginx_process: await cpuPerRun(new NginxProcessProbe({ pidFile: path.join(dir, 'nginx.pid'), clock }), runs),
      'nginx_config (spawn nginx -T)': await cpuPerRun(new NginxConfigProbe({ binary: nginx, config: path.join(dir, 'nginx.conf'), clock }), Math.max(5, Math.round(runs / 15)), 2),
      'vip (os.networkInterfaces, 2 VIPs)': await cpuPerRun(new VipProbe({ store, clock: systemClock, log: silentLogger(), monitorCommand: null }), runs * 3),
    };
  } finally {
    http.close();
    noKeepAlive.close();
    await new Promise<void>((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGTERM');
    });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** os.networkInterfaces() against systeminformation's networkInterfaces(), same process. */
async function addressReaders(): Promise<{ osUs: number; siMs: number; siCpuMs: number }> {
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) os.networkInterfaces();
  const osUs = ((performance.now() - t0) / 200) * 1000;
  const c0 = process.cpuUsage();
  const t1 = performance.now();
  for (let i = 0; i < 3; i++) await si.networkInterfaces();
  const siMs = (performance.now() - t1) / 3;
  const c = process.cpuUsage(c0);
  return { osUs, siMs, siCpuMs: (c.user + c.system) / 3000 };
}

const ip = (...a: string[]): string => {
  const r = spawnSync('ip', a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** Real arping between two namespaces: per-run CPU when another host answers, and when none does. */
async function arpProbe(): Promise<{ answeredMs: number; unansweredMs: number } | undefined> {
  const A = `kwb-arpa-${process.pid}`;
  const B = `kwb-arpb-${process.pid}`;
  ip('netns', 'add', A);
  ip('netns', 'add', B);
  try {
    ip('link', 'add', 'eth0', 'netns', A, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', B);
    for (const [ns, addr] of [[A, '192.0.2.11/24'], [B, '192.0.2.12/24']]) {
      ip('-n', ns, 'addr', 'add', addr, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
    }
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    store.apply({ kind: 'instance', source: 'keepalived_conf', at: 1, key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100'] });
    store.apply({ kind: 'vip', source: 'vip_probe', at: 1, vips: [{ iname: 'VI_1', vip: '192.0.2.100', intf: 'eth0' }] });
    const p = new ArpProbe({ store, clock, log: silentLogger(), command: (d, v) => ['ip', 'netns', 'exec', A, 'arping', '-D', '-c', '2', '-w', '2', '-I', d, v], ownMacs: () => new Set() });
    ip('-n', A, 'addr', 'add', '192.0.2.100/24', 'dev', 'eth0');
    ip('-n', B, 'addr', 'add', '192.0.2.100/24', 'dev', 'eth0');
    // Answered runs end at the first reply; unanswered ones wait arping's 2 s.
    const answered = await cpuPerRun(p, 10, 1);
    ip('-n', B, 'addr', 'del', '192.0.2.100/24', 'dev', 'eth0');
    const unanswered = await cpuPerRun(p, 2, 0);
    return { answeredMs: answered.mean, unansweredMs: unanswered.mean };
  } finally {
    spawnSync('ip', ['netns', 'del', A]);
    spawnSync('ip', ['netns', 'del', B]);
  }
}

/** How soon the VIP probe's `ip -o monitor address` child makes it see a VIP appear or vanish
 *  (no scheduled runs: only the monitor), each including one `ip -json addr` read. */
async function vipMonitor(): Promise<{ appearMs: number; appear6Ms: number; vanishMs: number }> {
  const NS = `kwb-vip-${process.pid}`;
  ip('netns', 'add', NS);
  try {
    ip('-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    ip('-n', NS, 'link', 'set', 'eth1', 'up');
    ip('-n', NS, 'link', 'set', 'eth0', 'up');
    const store = new NodeStore('n1', new FakeClock());
    store.apply({ kind: 'instance', source: 'keepalived_conf', at: 1, key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100'] });
    store.apply({ kind: 'instance', source: 'keepalived_conf', at: 1, key: { iname: 'VI_6', intf: 'eth0', vrid: 52, family: 'IPv6' }, vips: ['2001:db8::100'] });
    const read: AddressReader = () => {
      const r = parseIpAddrJson(spawnSync('ip', ['-n', NS, '-json', 'addr', 'show'], { encoding: 'utf8' }).stdout);
      return new Map(r.ok ? r.addresses.map((a) => [a.address, a.dev]) : []);
    };
    const p = new VipProbe({ store, clock: systemClock, log: silentLogger(), readAddresses: read, monitorCommand: ['ip', 'netns', 'exec', NS, 'ip', '-o', 'monitor', 'address'] });
    const seen: Array<{ at: number; ev: VipObservationEvent }> = [];
    await p.start((e) => {
      if (e.kind === 'vip') seen.push({ at: performance.now(), ev: e });
    });
    try {
      // The first observation comes once the monitor started; ip then needs a moment to subscribe.
      await waitFor(() => seen.length > 0, { what: 'the monitor started' });
      await sleep(300);
      const after = async (change: () => void, pred: (ev: VipObservationEvent) => boolean): Promise<number> => {
        seen.length = 0;
        const t0 = performance.now();
        change();
        const hit = await waitFor(() => seen.find((s) => pred(s.ev)), { what: 'the change seen', stepMs: 1, timeoutMs: 5000 });
        return hit.at - t0;
      };
      const bound = (ev: VipObservationEvent, vip: string) => ev.vips.find((v) => v.vip === vip)?.intf;
      return {
        appearMs: await after(() => ip('-n', NS, 'addr', 'add', '192.0.2.100/24', 'dev', 'eth0', 'label', 'eth0:vip'), (ev) => bound(ev, '192.0.2.100') === 'eth0'),
        appear6Ms: await after(() => ip('-n', NS, '-6', 'addr', 'add', '2001:db8::100/64', 'dev', 'eth0', 'nodad'), (ev) => bound(ev, '2001:db8::100') === 'eth0'),
        vanishMs: await after(() => ip('-n', NS, 'addr', 'del', '192.0.2.100/24', 'dev', 'eth0'), (ev) => bound(ev, '192.0.2.100') === null),
      };
    } finally {
      await p.stop();
    }
  } finally {
    spawnSync('ip', ['netns', 'del', NS]);
  }
}

runMain(async () => {
  const runs = opt('runs', 300);
  const probes = await nginxProbes(runs);
  const readers = await addressReaders();
  const lines = Object.entries(probes).map(([k, v]) => `  ${k.padEnd(52)} median ${fmt(v.median, 3)} ms  mean ${fmt(v.mean, 3)} ms`);
  lines.push(`  os.networkInterfaces(): ${fmt(readers.osUs, 1)} us wall per call; systeminformation networkInterfaces(): ${fmt(readers.siMs, 1)} ms wall, ${fmt(readers.siCpuMs, 1)} ms CPU per call`);
  const root = process.getuid?.() === 0;
  const hasArping = spawnSync('arping', ['-V']).status === 0 || spawnSync('which', ['arping']).status === 0;
  let arp: Awaited<ReturnType<typeof arpProbe>>;
  let vip: Awaited<ReturnType<typeof vipMonitor>> | undefined;
  if (root && hasArping) {
    arp = await arpProbe();
    lines.push(`  arp (one VIP, real arping through ip netns exec): ${fmt(arp!.answeredMs, 2)} ms answered, ${fmt(arp!.unansweredMs, 2)} ms unanswered (2 s wall)`);
  } else lines.push(`  arp: not measured (needs root and iputils-arping; root=${root}, arping=${hasArping})`);
  if (root) {
    vip = await vipMonitor();
    lines.push(`  vip address monitor, seen after: appear ${fmt(vip.appearMs, 1)} ms, IPv6 appear ${fmt(vip.appear6Ms, 1)} ms, vanish ${fmt(vip.vanishMs, 1)} ms`);
  } else lines.push('  vip address monitor: not measured (needs root for a namespace)');
  console.log(`Probe cost per run (agent process, user+system CPU):\n${lines.join('\n')}`);
  writeResult('probeCost', { options: { runs }, probes, addressReaders: readers, arp, vipMonitor: vip });
});
