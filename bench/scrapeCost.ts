// Scrape cost: GET /metrics of the agent with 1, 16 and 255 VRRP instances, requests/s and
// latency under wrk, side by side with Debian's prometheus-nginx-exporter scraping the same nginx,
// in the same run; bytes per scrape. Both targets are loaded the same way: wrk runs inside the
// node's namespace against 127.0.0.1 (no forwarder in the path of either).
// There is no Debian package of a keepalived exporter (and no Go toolchain here), so the Go
// keepalived exporter is not measured.
//
// Run (root): npx tsx bench/scrapeCost.ts [--instances=1,16,255] [--wrk-seconds=10] [--connections=8] [--rounds=2] [--node-flags=...] [--profile=1]
//   --node-flags="--no-opt" or none: `node <flags> bin/keepwatch` instead of bin/keepwatch's shebang.
//   --profile=1 runs the agent under the CPU profiler (bench/cpuProfile.cjs); .cpuprofile files land in bench/out/profiles/.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, cleanupIdSync, type Lab, type LabNode } from '../test/lab/lab';
import { AGENT_PORT, sample, startAgents, waitUntil } from '../test/lab/agents';
import { fmt, nodeFlagsOpt, opt, OUT_DIR, parseWrk, requireRoot, runMain, sleep, table, writeResult, type WrkResult } from './lib';

const EXPORTER_PORT = 9113;

/** The VIP of the k-th extra instance: every free address of 192.0.2.0/24 (lab nodes and client excluded). */
function vipPool(): string[] {
  const taken = new Set([11, 12, 50, 100]);
  const out: string[] = [];
  for (let i = 1; i <= 254; i++) if (!taken.has(i)) out.push(`192.0.2.${i}`);
  return out;
}

/** n - 1 more instances on eth0, VRIDs 1..255 except 51 (VI_1's). The pool of the /24 runs out
 *  after 250 extra VIPs: the last few instances then have none (keepalived warns and runs them). */
export function extraInstances(node: LabNode, n: number): string {
  const pool = vipPool();
  const blocks: string[] = [];
  let vrid = 0;
  for (let k = 0; k < n - 1; k++) {
    vrid++;
    if (vrid === 51) vrid++;
    const vip = pool[k];
    blocks.push(`vrrp_instance VI_X${vrid} {
  state BACKUP
  interface ${node.intf}
  virtual_router_id ${vrid}
  priority ${node.priority}
  advert_int 1
${vip ? `  virtual_ipaddress {\n    ${vip}/24 dev ${node.intf}\n  }\n` : ''}}`);
  }
  return blocks.join('\n');
}

async function wrk(node: LabNode, url: string, seconds: number, connections: number): Promise<WrkResult> {
  const r = await node.exec(['wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s', url], { timeoutMs: (seconds + 30) * 1000 });
  if (r.code !== 0) throw new Error(`wrk ${url}: exit ${r.code}: ${r.stderr}`);
  return parseWrk(r.stdout);
}

async function bytesPerScrape(node: LabNode, url: string): Promise<number> {
  const r = await node.exec(['curl', '-s', '-o', '/dev/null', '-w', '%{size_download}', url]);
  return Number(r.stdout);
}

interface Row {
  instances: number;
  target: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  bytes: number;
  series: number;
  errors: number;
  rounds: WrkResult[];
}

async function oneSize(n: number, seconds: number, connections: number, rounds: number, profile: boolean): Promise<Row[]> {
  const id = `b8sc${n}`;
  let lab: Lab | undefined;
  try {
    console.log(`\n== ${n} instance(s): starting a one-node lab (${id})`);
    lab = await startLab({ id, nodes: 1, trackScript: false, blocksExtra: n > 1 ? (node) => extraInstances(node, n) : undefined, startTimeoutMs: 30_000 });
    const node = lab.nodes[0];
    const profDir = join(OUT_DIR, 'profiles');
    if (profile) mkdirSync(profDir, { recursive: true });
    const [agent] = await startAgents(lab, {
      // Counters from the dumps as the lab's agents have them; probes at their defaults.
      config: () => ({ log: { level: 'warn' } }),
      // --cpu-prof is not allowed in NODE_OPTIONS: a preload runs the inspector's profiler instead.
      ...nodeFlagsOpt(),
      env: profile ? { NODE_OPTIONS: `--require ${join(__dirname, 'cpuProfile.cjs')}`, KW_CPU_PROF_DIR: profDir } : undefined,
    });
    // Wait until the agent shows every instance (enumerated over D-Bus) with its counters (dumps).
    await waitUntil(async () => {
      const m = await agent.metrics();
      const names = new Set([...m.matchAll(/^keepalived_vrrp_state\{iname="([^"]+)"/gm)].map((x) => x[1]));
      const counted = new Set([...m.matchAll(/^keepalived_advertisements_sent_total\{iname="([^"]+)"/gm)].map((x) => x[1]));
      return names.size >= n && counted.size >= n && sample(m, 'keepalived_up') === 1;
    }, 90_000, 250, `${n} instances with counters on /metrics`);
    // The nginx exporter in the same namespace, scraping the same nginx.
    const exporter = node.spawn(['prometheus-nginx-exporter', `-web.listen-address=127.0.0.1:${EXPORTER_PORT}`, '-nginx.scrape-uri=http://127.0.0.1/nginx_status']);
    const kwUrl = `http://127.0.0.1:${AGENT_PORT}/metrics`;
    const goUrl = `http://127.0.0.1:${EXPORTER_PORT}/metrics`;
    await waitUntil(async () => (await node.exec(['curl', '-sf', '-o', '/dev/null', goUrl])).code === 0, 10_000, 100, 'nginx exporter up');
    const kwText = (await node.exec(['curl', '-s', kwUrl])).stdout;
    const series = (t: string) => t.split('\n').filter((l) => l && !l.startsWith('#')).length;
    const goText = (await node.exec(['curl', '-s', goUrl])).stdout;
    const kwRounds: WrkResult[] = [];
    const goRounds: WrkResult[] = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate the order so neither always runs on a warmer (or busier) machine.
      const order = r % 2 ? (['go', 'kw'] as const) : (['kw', 'go'] as const);
      for (const which of order) {
        const res = await wrk(node, which === 'kw' ? kwUrl : goUrl, seconds, connections);
        (which === 'kw' ? kwRounds : goRounds).push(res);
        console.log(`  round ${r + 1} ${which === 'kw' ? 'keepwatch     ' : 'nginx-exporter'}: ${fmt(res.requestsPerSec, 0)} req/s, p50 ${fmt(res.p50Ms, 2)} ms, p99 ${fmt(res.p99Ms, 2)} ms, errors ${res.errors}`);
        await sleep(500);
      }
    }
    if (profile) {
      // The profile covers start-up and every wrk round: SIGUSR2 makes the preload write it.
      agent.proc.kill('SIGUSR2');
      await sleep(1000);
    }
    const best = (rs: WrkResult[]) => rs.reduce((a, b) => (b.requestsPerSec > a.requestsPerSec ? b : a));
    const kb = best(kwRounds);
    const gb = best(goRounds);
    exporter.kill('SIGTERM');
    await agent.stop();
    if (profile) console.log(`  profile(s) in ${profDir}: ${readdirSync(profDir).join(', ')}`);
    return [
      { instances: n, target: 'keepwatch', requestsPerSec: kb.requestsPerSec, p50Ms: kb.p50Ms, p99Ms: kb.p99Ms, bytes: await Promise.resolve(Buffer.byteLength(kwText)), series: series(kwText), errors: kb.errors, rounds: kwRounds },
      { instances: n, target: 'prometheus-nginx-exporter', requestsPerSec: gb.requestsPerSec, p50Ms: gb.p50Ms, p99Ms: gb.p99Ms, bytes: Buffer.byteLength(goText), series: series(goText), errors: gb.errors, rounds: goRounds },
    ];
  } finally {
    await lab?.stop();
    cleanupIdSync(id);
  }
}

export async function main(): Promise<void> {
  requireRoot('scrapeCost');
  const sizes = opt('instances', '1,16,255').split(',').map(Number).filter((x) => x >= 1 && x <= 255);
  const seconds = opt('wrk-seconds', 10);
  const connections = opt('connections', 8);
  const rounds = opt('rounds', 2);
  const profile = opt('profile', 0) === 1;
  console.log(`scrapeCost: instances ${sizes.join(',')}, wrk -t1 -c${connections} -d${seconds}s, ${rounds} round(s) per target (best kept), wrk inside the node namespace on 127.0.0.1`);
  const rows: Row[] = [];
  for (const n of sizes) rows.push(...(await oneSize(n, seconds, connections, rounds, profile)));
  console.log('\n' + table(rows.map((r) => ({
    instances: r.instances,
    target: r.target,
    'req/s': fmt(r.requestsPerSec, 0),
    'p50 ms': fmt(r.p50Ms, 2),
    'p99 ms': fmt(r.p99Ms, 2),
    'bytes/scrape': r.bytes,
    series: r.series,
  }))));
  for (const n of sizes) {
    const kw = rows.find((r) => r.instances === n && r.target === 'keepwatch')!;
    const go = rows.find((r) => r.instances === n && r.target !== 'keepwatch')!;
    console.log(`${n} instance(s): keepwatch/nginx-exporter throughput ratio ${fmt(kw.requestsPerSec / go.requestsPerSec, 2)}`);
  }
  console.log('(keepalived exporter: not measured: no Debian package of it and no Go toolchain on this machine)');
  writeResult('scrapeCost', { options: { sizes, seconds, connections, rounds, profile, nodeFlags: opt('node-flags', '') }, rows });
}

if (require.main === module) runMain(main);
