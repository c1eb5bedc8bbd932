// Scrape cost: GET /metrics of the agent with 1, 16 and 255 VRRP instances, side by side with
// Debian's prometheus-nginx-exporter scraping the same nginx, in the same run, two ways:
// - as Prometheus sees it (bench/promScrape.cjs): scrapes spaced apart with Prometheus's headers,
//   each after a store change (a notify FIFO line the agent applies; at a 15 s cadence the probes
//   and dumps have always changed the store), so every answer is rendered afresh: latency and the
//   server's CPU per scrape (on-CPU time of its threads around each request); the nginx
//   exporter's CPU counts nginx's too, which its live scrape makes work;
// - the reused answer under wrk (requests/s, latency): back-to-back scrapes mostly get the answer
//   kept from the one before, a flood's figure, not what a Prometheus scrape pays.
// Both targets are loaded the same way, inside the node's namespace against 127.0.0.1 (no
// forwarder in the path of either).
// There is no Debian package of a keepalived exporter (and no Go toolchain here), so the Go
// keepalived exporter is not measured.
//
// Run (root): npx tsx bench/scrapeCost.ts [--instances=1,16,255] [--scrapes=20] [--gap-ms=500] [--wrk-seconds=10] [--connections=8] [--rounds=2] [--node-flags=...] [--profile=1]
//   --scrapes, --gap-ms: the Prometheus-like series (each scrape after a change); --rounds=0: no wrk.
//   --node-flags="--no-opt" or none: `node <flags> bin/keepwatch` instead of the agent's own V8 flags.
//   --profile=1 runs the agent under the CPU profiler (bench/cpuProfile.cjs); .cpuprofile files land in bench/out/profiles/.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, cleanupIdSync, type Lab, type LabNode } from '../test/lab/lab';
import { AGENT_PORT, sample, startAgents, waitUntil } from '../test/lab/agents';
import { readFileSync } from 'node:fs';
import { fmt, nodeFlagsOpt, opt, OUT_DIR, parseWrk, percentile, REPO, requireRoot, runMain, sleep, table, writeResult, type WrkResult } from './lib';
import { liveDescendants } from './procTree';

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

/** A Prometheus-like series of scrapes, each after a store change (keepwatch) or live (exporter). */
interface PromSeries {
  scrapes: number;
  latencyMs: { p50: number; p95: number; max: number };
  /** CPU of the serving processes per scrape, ms (median, mean). */
  cpuMs: { p50: number; mean: number };
  /** Answers that showed the change made before them (keepwatch: FIFO events counted). */
  changesSeen: number | null;
  wireBytes: number;
  perScrape: Array<{ ms: number; cpuMs: number; cpuByPidMs: number[]; wireBytes: number; bytes: number; gzip: boolean; change: number | null }>;
}

interface Row {
  instances: number;
  target: string;
  /** What CPU per scrape counts. */
  cpuOf: string;
  prom: PromSeries;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  bytes: number;
  series: number;
  errors: number;
  rounds: WrkResult[];
}

interface PromOptions { scrapes: number; gapMs: number }

/** Runs bench/promScrape.cjs inside the node's namespace. */
async function promSeries(node: LabNode, cfg: Record<string, unknown>, o: PromOptions): Promise<PromSeries> {
  const args = { count: o.scrapes, gapMs: o.gapMs, settleMs: 100, ...cfg };
  const r = await node.exec([process.execPath, join(REPO, 'bench/promScrape.cjs'), JSON.stringify(args)], { timeoutMs: o.scrapes * (o.gapMs + 10_200) + 10_000 });
  if (r.code !== 0) throw new Error(`promScrape ${String(cfg.url)}: exit ${r.code}: ${r.stderr}`);
  const per = (JSON.parse(r.stdout) as { scrapes: PromSeries['perScrape'] }).scrapes;
  const ms = per.map((x) => x.ms);
  const cpu = per.map((x) => x.cpuMs);
  // Each answer must count one more FIFO event than the one before: the change came first.
  const changes = per.map((x) => x.change);
  const changesSeen = changes[0] === null ? null : changes.filter((c, i) => i > 0 && c! > changes[i - 1]!).length + 1;
  return {
    scrapes: per.length,
    latencyMs: { p50: percentile(ms, 50), p95: percentile(ms, 95), max: Math.max(...ms) },
    cpuMs: { p50: percentile(cpu, 50), mean: cpu.reduce((a, b) => a + b, 0) / cpu.length },
    changesSeen,
    wireBytes: per[per.length - 1].wireBytes,
    perScrape: per,
  };
}

async function oneSize(n: number, seconds: number, connections: number, rounds: number, profile: boolean, po: PromOptions): Promise<Row[]> {
  const id = `b8sc${n}`;
  let lab: Lab | undefined;
  try {
    console.log(`\n== ${n} instance(s): starting a one-node lab (${id})`);
    lab = await startLab({ id, nodes: 1, trackScript: false, fifo: true, blocksExtra: n > 1 ? (node) => extraInstances(node, n) : undefined, startTimeoutMs: 30_000 });
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
    // As Prometheus sees it: keepwatch after a store change each time, the exporter live.
    const nginxMaster = Number(readFileSync(node.nginxPidFile, 'utf8').trim());
    const goPids = [exporter.pid!, nginxMaster, ...liveDescendants(nginxMaster)];
    const kwProm = await promSeries(node, { url: kwUrl, pids: [agent.proc.pid!], fifo: node.fifoPath, fifoLine: 'INSTANCE "VI_1" MASTER 150', changeMetric: 'keepwatch_fifo_events_total' }, po);
    const goProm = await promSeries(node, { url: goUrl, pids: goPids }, po);
    for (const [name, p] of [['keepwatch     ', kwProm], ['nginx-exporter', goProm]] as const) {
      console.log(`  as Prometheus scrapes, ${name}: ${p.scrapes} scrapes ${po.gapMs} ms apart${p.changesSeen === null ? '' : ` (${p.changesSeen} after a store change)`}: latency p50 ${fmt(p.latencyMs.p50, 2)} ms, p95 ${fmt(p.latencyMs.p95, 2)} ms; CPU per scrape p50 ${fmt(p.cpuMs.p50, 3)} ms, mean ${fmt(p.cpuMs.mean, 3)} ms; ${p.wireBytes} bytes on the wire`);
    }
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
    const none: WrkResult = { requestsPerSec: NaN, p50Ms: NaN, p99Ms: NaN, requests: 0, errors: 0, transferPerSec: '' };
    const best = (rs: WrkResult[]) => rs.reduce((a, b) => (b.requestsPerSec > a.requestsPerSec ? b : a), rs[0] ?? none);
    const kb = best(kwRounds);
    const gb = best(goRounds);
    exporter.kill('SIGTERM');
    await agent.stop();
    if (profile) console.log(`  profile(s) in ${profDir}: ${readdirSync(profDir).join(', ')}`);
    return [
      { instances: n, target: 'keepwatch', cpuOf: 'the agent', prom: kwProm, requestsPerSec: kb.requestsPerSec, p50Ms: kb.p50Ms, p99Ms: kb.p99Ms, bytes: await Promise.resolve(Buffer.byteLength(kwText)), series: series(kwText), errors: kb.errors, rounds: kwRounds },
      { instances: n, target: 'prometheus-nginx-exporter', cpuOf: 'the exporter and nginx (master, workers)', prom: goProm, requestsPerSec: gb.requestsPerSec, p50Ms: gb.p50Ms, p99Ms: gb.p99Ms, bytes: Buffer.byteLength(goText), series: series(goText), errors: gb.errors, rounds: goRounds },
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
  const po: PromOptions = { scrapes: opt('scrapes', 20), gapMs: opt('gap-ms', 500) };
  console.log(`scrapeCost: instances ${sizes.join(',')}; as Prometheus scrapes: ${po.scrapes} scrapes ${po.gapMs} ms apart, each after a store change; reused answer: wrk -t1 -c${connections} -d${seconds}s, ${rounds} round(s) per target (best kept), wrk inside the node namespace on 127.0.0.1`);
  const rows: Row[] = [];
  for (const n of sizes) rows.push(...(await oneSize(n, seconds, connections, rounds, profile, po)));
  console.log('\nas Prometheus scrapes (each keepwatch scrape after a store change):\n' + table(rows.map((r) => ({
    instances: r.instances,
    target: r.target,
    'latency p50 ms': fmt(r.prom.latencyMs.p50, 2),
    'p95 ms': fmt(r.prom.latencyMs.p95, 2),
    'CPU/scrape p50 ms': fmt(r.prom.cpuMs.p50, 3),
    'CPU/scrape mean ms': fmt(r.prom.cpuMs.mean, 3),
    'wire bytes': r.prom.wireBytes,
    'CPU of': r.cpuOf,
  }))));
  console.log('\nreused answer (wrk, back-to-back scrapes):\n' + table(rows.map((r) => ({
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
    console.log(`${n} instance(s): as Prometheus scrapes, keepwatch/nginx-exporter CPU per scrape ${fmt(kw.prom.cpuMs.p50 / go.prom.cpuMs.p50, 2)}x, latency p50 ${fmt(kw.prom.latencyMs.p50 / go.prom.latencyMs.p50, 2)}x; reused answer under wrk, throughput ratio ${fmt(kw.requestsPerSec / go.requestsPerSec, 2)}`);
  }
  console.log('(keepalived exporter: not measured: no Debian package of it and no Go toolchain on this machine)');
  const options = { sizes, scrapes: po.scrapes, gapMs: po.gapMs, seconds, connections, rounds, profile, nodeFlags: opt('node-flags', '') };
  writeResult('scrapeCost', { options, rows }, { options, rows: rows.map(({ prom: { perScrape: _, ...prom }, ...r }) => ({ ...r, prom })) });
}

if (require.main === module) runMain(main);
