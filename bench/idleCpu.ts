// Idle CPU, taken apart: one agent process (ka1's, in a peered pair on the lab) measured over
// windows of the same length, its config changed between windows (SIGHUP reload: the process,
// its JIT and its heap stay the same). Each window prints the agent's CPU (% of a core, from
// /proc/<pid>/stat: user and system apart) and its voluntary context switches per second (its
// wake-ups: timers, sockets, child exits).
//
// Run (root): npx tsx bench/idleCpu.ts [--window=60] [--id=b8ic]
//   --window: seconds per variant (after 5 s of settling following each reload).
//   --only: run only the variants whose name contains this text (e.g. --only=default).
// The footprint bench measures the same agent as shipped over a longer run; this one says where
// its idle CPU goes.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { startLab, cleanupIdSync, type Lab } from '../test/lab/lab';
import { sample, startAgents, waitPeered, waitUntil } from '../test/lab/agents';
import { CLK_TCK, fmt, opt, procSample, requireRoot, runMain, sleep, table, writeResult } from './lib';
import { treeMeter, type TreeMeter } from './procTree';

type Probes = Record<string, { interval?: string; enabled?: boolean }>;
const EVERY_SECOND = { interval: '1s' };
const OFF = { enabled: false };
const ALL: Probes = { vip: EVERY_SECOND, arp: EVERY_SECOND, nginx_status: EVERY_SECOND, nginx_health: EVERY_SECOND, nginx_process: EVERY_SECOND };

const VARIANTS: Array<{ name: string; probes: Probes | 'default'; peers?: 'none' }> = [
  { name: 'all five probes each second (the footprint bench)', probes: ALL },
  { name: 'without arp', probes: { ...ALL, arp: OFF } },
  { name: 'without the HTTP probes (nginx_status, nginx_health)', probes: { ...ALL, nginx_status: OFF, nginx_health: OFF } },
  { name: 'no probes (rules, dumps 15 s, hook heartbeat, D-Bus, peer stream)', probes: { vip: OFF, arp: OFF, nginx_status: OFF, nginx_health: OFF, nginx_process: OFF } },
  { name: 'no probes, following no peer (ka2 still follows ka1)', probes: { vip: OFF, arp: OFF, nginx_status: OFF, nginx_health: OFF, nginx_process: OFF }, peers: 'none' },
  { name: 'probes at their default intervals (nginx_health 1 s, the others 5-10 s)', probes: 'default' },
  { name: 'the defaults with nginx_health at 5 s (as before issue 14)', probes: { nginx_health: { interval: '5s' } } },
];

async function main(): Promise<void> {
  requireRoot('idleCpu');
  const windowS = opt('window', 60);
  const id = opt('id', 'b8ic');
  let lab: Lab | undefined;
  let meter: TreeMeter | undefined;
  try {
    console.log(`idleCpu: two-node lab (${id}), agents on ka1 and ka2, ka1's measured; ${windowS} s per variant, the config reloaded (SIGHUP) between them`);
    lab = await startLab({ id, fifo: true });
    const agents = await startAgents(lab, { config: () => ({ log: { level: 'warn' }, keepalived: { dumps: { interval: '15s' } }, probes: ALL }) });
    const agent = agents[0];
    await waitUntil(async () => sample(await agent.metrics(), 'keepalived_up') === 1, 15_000, 100, 'agent sees keepalived');
    await waitPeered(agents, 'ka1');
    const pid = agent.proc.pid!;
    meter = treeMeter(pid, `keepwatch-bench-${id}`);
    console.log(`idleCpu: CPU of the agent's process tree: ${meter.method}`);
    const base = parse(readFileSync(agent.configFile, 'utf8')) as Record<string, unknown>;
    await sleep(10_000); // start-up (JIT, first probe runs, first dumps) out of the first window
    const rows: Array<{ variant: string; cpuPercent: number; userPercent: number; systemPercent: number; agentProcessPercent: number; childrenPercent: number; wakeupsPerSecond: number; children: string[] }> = [];
    const only = opt('only', '');
    for (const v of VARIANTS.filter((x) => x.name.includes(only))) {
      const cfg = structuredClone(base);
      if (v.probes === 'default') delete cfg.probes;
      else cfg.probes = v.probes;
      if (v.peers === 'none') cfg.peers = [];
      writeFileSync(agent.configFile, stringify(cfg));
      process.kill(pid, 'SIGHUP');
      await sleep(5_000);
      const a = procSample(pid);
      const ta = meter.sample();
      await sleep(windowS * 1000);
      const b = procSample(pid);
      const tb = meter.sample();
      if (!a || !b || !ta || !tb) throw new Error('the agent died during the run');
      const s = (tb.at - ta.at) / 1000;
      const pct = (sec: number) => (sec / s) * 100;
      const agentProcessPercent = pct(b.cpuSec - a.cpuSec);
      const row = {
        variant: v.name,
        cpuPercent: pct(tb.cpuSec - ta.cpuSec),
        userPercent: pct(tb.userSec - ta.userSec),
        systemPercent: pct(tb.systemSec - ta.systemSec),
        agentProcessPercent,
        childrenPercent: pct(tb.cpuSec - ta.cpuSec) - agentProcessPercent,
        wakeupsPerSecond: (b.wakeups - a.wakeups) / s,
        children: [...new Set([...ta.children, ...tb.children])],
      };
      rows.push(row);
      console.log(`  ${v.name}: tree ${fmt(row.cpuPercent, 2)} %, agent process ${fmt(agentProcessPercent, 2)} % (${fmt(row.wakeupsPerSecond, 1)} wake-ups/s; live children seen: ${row.children.join(', ') || 'none'})`);
    }
    console.log(
      `\n${table(rows.map((r) => ({ variant: r.variant, 'tree CPU % core': fmt(r.cpuPercent, 2), 'user %': fmt(r.userPercent, 2), 'system %': fmt(r.systemPercent, 2), 'agent process %': fmt(r.agentProcessPercent, 2), 'children %': fmt(r.childrenPercent, 2), 'wake-ups/s': fmt(r.wakeupsPerSecond, 1) })))}`,
    );
    console.log(`(tree: ${meter.method})`);
    console.log(`(CPU time comes in 10 ms ticks: ±${fmt((1 / CLK_TCK / windowS) * 100 * 2, 2)} % per window from rounding alone)`);
    const summary = { options: { windowS, id, only }, cpuMeasuredOver: meter.method, rows };
    writeResult('idleCpu', summary, summary);
  } finally {
    meter?.close();
    await lab?.stop();
    cleanupIdSync(id);
  }
}

runMain(main);
