// Fleet: N pairs (each node its own namespace with real keepalived, nginx and the agent; every
// pair keepalived's sample VRID 51 / VI_1, told apart by its `cluster` external label) paging one
// Alertmanager and scraped by one Prometheus (the shipped rules loaded, so it evaluates what a
// site's does). For each N: the agents' summed RSS and CPU, Alertmanager's and Prometheus's, over
// a quiet phase; then a keepalived SIGKILL on each pair's MASTER (one pair at a time) and the time
// from the kill to its pair's alert in Alertmanager's /api/v2/alerts. Then how these grow with N.
//
// Run (root): npx tsx bench/fleet.ts [--pairs=1,2,4] [--quiet=60] [--scrape=10]
//   --pairs: the fleet sizes, run one after the other (each from scratch);
//   --quiet: seconds of the quiet phase sampled for memory and CPU;
//   --scrape: Prometheus's scrape (and rule evaluation) interval, seconds.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type Lab, type LabNode } from '../test/lab/lab';
import { startPeered, waitUntil, type LabAgent } from '../test/lab/agents';
import { settled } from '../test/lab/scenarios';
import { startAlertmanagers, type AlertmanagerCluster } from '../test/lab/alertmanagers';
import { which } from '../test/lab/lab';
import { fmt, opt, procSample, procSampleSum, REPO, requireRoot, runMain, sleep, slope, summary, table, writeResult, type ProcSample } from './lib';

interface Pair {
  cluster: string;
  lab: Lab;
  agents: LabAgent[];
  /** Host ports of the agents' /metrics (lab.forward), for Prometheus. */
  ports: number[];
}

interface Usage {
  rssMiB: number;
  cpuPercentOfCore: number;
}

interface Step {
  pairs: number;
  agents: Usage & { perAgentRssMiB: number };
  alertmanager: Usage;
  prometheus?: Usage;
  /** Per fault: ms from keepalived's SIGKILL to the pair's first alert (KeepalivedDown or Failover) in Alertmanager. */
  faultToAlertmanagerMs: number[];
  faultToAlertmanager: ReturnType<typeof summary>;
  loadavg: number[];
}

const MiB = 1024 * 1024;

function usage(a: ProcSample, b: ProcSample): Usage {
  return { rssMiB: b.rssBytes / MiB, cpuPercentOfCore: ((b.cpuSec - a.cpuSec) / ((b.at - a.at) / 1000)) * 100 };
}

async function startPrometheus(dir: string, pairs: Pair[], amUrl: string, scrapeS: number): Promise<{ proc: ChildProcess; url: string }> {
  const port = 19090;
  const targets = pairs.map((p) => ({ targets: p.ports.map((port) => `127.0.0.1:${port}`), labels: { cluster: p.cluster } }));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    JSON.stringify({
      global: { scrape_interval: `${scrapeS}s`, evaluation_interval: `${scrapeS}s` },
      rule_files: [join(REPO, 'rules/prometheus/keepwatch.rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [amUrl.replace('http://', '')] }] }] },
      scrape_configs: [{ job_name: 'keepwatch', static_configs: targets }],
    }),
  );
  const proc = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prom-data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(async () => proc.exitCode === null && (await fetch(`${url}/-/ready`)).ok, 30_000, 200, 'prometheus ready');
  // every target scraped once
  await waitUntil(async () => {
    const r = (await (await fetch(`${url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string }> } };
    return r.data.activeTargets.length === pairs.length * 2 && r.data.activeTargets.every((t) => t.health === 'up');
  }, 60_000, 500, 'prometheus: every agent up');
  return { proc, url };
}

async function runStep(n: number, quietS: number, scrapeS: number): Promise<Step> {
  const dir = mkdtempSync(join(tmpdir(), `kw-fleet-${n}-`));
  const am = await startAlertmanagers(join(dir, 'am'), 1);
  const pairs: Pair[] = [];
  let prom: ChildProcess | undefined;
  try {
    for (let i = 1; i <= n; i++) {
      const cluster = `pair-${i}`;
      const lab = await startLab({ id: `fleet${i}` });
      pairs.push({ cluster, lab, agents: [], ports: [] });
      await am.relayInto(lab);
      const agents = await startPeered(lab, {
        config: (_node: LabNode) => ({
          alerting: {
            external_labels: { cluster },
            receivers: [{ name: 'am', type: 'alertmanager', urls: am.urls }],
            route: { receiver: 'am' },
          },
        }),
      }, 'ka1', 60_000);
      pairs[i - 1].agents = agents;
      pairs[i - 1].ports = agents.map((a) => Number(new URL(a.url).port));
      console.log(`  pair ${i}/${n} up`);
    }
    const amMember = am.members[0];
    let promUrl: string | undefined;
    if (which('prometheus')) {
      const p = await startPrometheus(dir, pairs, amMember.url, scrapeS);
      prom = p.proc;
      promUrl = p.url;
    }
    const agentPids = pairs.flatMap((p) => p.agents.map((a) => a.proc.pid!));
    // Quiet phase: samples at its start and end (CPU is the difference), RSS at the end.
    await sleep(10_000); // start-up work (first dumps, first scrapes) is not the steady state
    const a0 = procSampleSum(agentPids)!;
    const m0 = procSample(amMember.pid!)!;
    const p0 = prom ? procSample(prom.pid!) : undefined;
    await sleep(quietS * 1000);
    const a1 = procSampleSum(agentPids)!;
    const m1 = procSample(amMember.pid!)!;
    const p1 = prom ? procSample(prom.pid!) : undefined;
    const agents = usage(a0, a1);
    // Faults: one pair at a time, keepalived SIGKILLed on its MASTER (ka1), until its alert is in Alertmanager.
    const faultMs: number[] = [];
    for (const p of pairs) {
      const [ka1] = p.lab.nodes;
      const t0 = Date.now();
      await p.lab.killKeepalived(ka1, 'SIGKILL');
      const at = await waitUntil(async () => {
        const list = (await (await fetch(`${amMember.url}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string> }>;
        return list.some((a) => a.labels.cluster === p.cluster && (a.labels.alertname === 'KeepalivedDown' || a.labels.alertname === 'Failover'));
      }, 60_000, 20, `${p.cluster}'s alert in Alertmanager`);
      faultMs.push(at - t0);
      await p.lab.startKeepalived(ka1);
      await settled(p.lab, 30_000);
    }
    const step: Step = {
      pairs: n,
      agents: { ...agents, perAgentRssMiB: agents.rssMiB / agentPids.length },
      alertmanager: usage(m0, m1),
      ...(p0 && p1 ? { prometheus: usage(p0, p1) } : {}),
      faultToAlertmanagerMs: faultMs,
      faultToAlertmanager: summary(faultMs),
      loadavg: (await import('node:os')).loadavg(),
    };
    console.log(`  ${n} pair(s): agents ${fmt(step.agents.rssMiB)} MiB / ${fmt(step.agents.cpuPercentOfCore)} % core; alertmanager ${fmt(step.alertmanager.rssMiB)} MiB / ${fmt(step.alertmanager.cpuPercentOfCore, 2)} %; prometheus ${step.prometheus ? `${fmt(step.prometheus.rssMiB)} MiB / ${fmt(step.prometheus.cpuPercentOfCore, 2)} %` : 'not installed'}; fault to Alertmanager ${faultMs.join(', ')} ms`);
    void promUrl;
    return step;
  } finally {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    for (const p of pairs) await p.lab.stop();
    await am.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

runMain(async () => {
  requireRoot('fleet');
  const sizes = opt('pairs', '1,2,4').split(',').map(Number);
  const quietS = opt('quiet', 60);
  const scrapeS = opt('scrape', 10);
  const prometheus = Boolean(which('prometheus'));
  if (!prometheus) console.log('prometheus is not installed: Alertmanager and the agents only');
  const steps: Step[] = [];
  for (const n of sizes) {
    console.log(`fleet of ${n} pair(s)`);
    steps.push(await runStep(n, quietS, scrapeS));
  }
  const xs = steps.map((s) => s.pairs);
  const growth = {
    agentsRssMiBPerPair: slope(xs, steps.map((s) => s.agents.rssMiB)),
    agentsCpuPercentPerPair: slope(xs, steps.map((s) => s.agents.cpuPercentOfCore)),
    alertmanagerRssMiBPerPair: slope(xs, steps.map((s) => s.alertmanager.rssMiB)),
    prometheusRssMiBPerPair: prometheus ? slope(xs, steps.map((s) => s.prometheus!.rssMiB)) : null,
    prometheusCpuPercentPerPair: prometheus ? slope(xs, steps.map((s) => s.prometheus!.cpuPercentOfCore)) : null,
  };
  console.log('\n' + table(steps.map((s) => ({
    pairs: s.pairs,
    'agents RSS MiB': fmt(s.agents.rssMiB),
    'agents CPU %': fmt(s.agents.cpuPercentOfCore),
    'AM RSS MiB': fmt(s.alertmanager.rssMiB),
    'AM CPU %': fmt(s.alertmanager.cpuPercentOfCore, 2),
    'Prom RSS MiB': s.prometheus ? fmt(s.prometheus.rssMiB) : '-',
    'Prom CPU %': s.prometheus ? fmt(s.prometheus.cpuPercentOfCore, 2) : '-',
    'fault→AM p50 ms': fmt(s.faultToAlertmanager.p50, 0),
    'fault→AM max ms': fmt(s.faultToAlertmanager.max, 0),
  }))));
  console.log(`growth per pair: ${JSON.stringify(growth)}`);
  writeResult('fleet', { options: { pairs: sizes, quietS, scrapeS }, prometheusInstalled: prometheus, steps, growth });
});
