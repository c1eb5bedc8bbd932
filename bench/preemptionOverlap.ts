// Preemption overlap: how long two nodes are both MASTER during a normal preemption, which is
// what rules.split_brain_for must absorb without paging, and what a shorter hold would cost.
//
// Two-node lab (priorities 150/100, preempt on, advert_int 1), agents on both nodes with a
// webhook receiver and rules.split_brain_for set to --hold. Two kinds of preemption, alternating:
//  - restart: ka1's keepalived stopped (ka2 takes over), then started: ka1 (higher priority)
//    preempts ka2 when its master-down timer ends;
//  - priority: ka1's tracked weight drops it below ka2 (ka2 preempts ka1), then restores it (ka1
//    preempts ka2): two preemptions per round.
// For each preemption it records keepalived's overlap (the new MASTER's VrrpStatusChange to the old
// MASTER's BACKUP one, both from dbus-monitor on the nodes' buses) and the overlap each agent saw:
// /api/v1/cluster polled every --poll ms, the longest run of polls with two fresh MASTERs. At the
// end it counts the SplitBrain pages that reached the receiver: each one is a false page.
//
// Run (root): npx tsx bench/preemptionOverlap.ts [--preemption-rounds=10] [--hold=500ms] [--poll=10]
import { startLab, cleanupIdSync, type Lab, type LabNode } from '../test/lab/lab';
import { startPeered, waitUntil, type LabAgent } from '../test/lab/agents';
import { RECEIVER_PORT, received, startReceiver } from './labReceiver';
import { watchSignals, type Signal } from './dbusSignals';
import { fmt, opt, requireRoot, runMain, sleep, summary, table, writeResult } from './lib';

interface Preemption {
  kind: 'restart' | 'priority-down' | 'priority-up';
  winner: string;
  loser: string;
  /** keepalived: the loser's BACKUP signal minus the winner's MASTER signal, ms. */
  keepalivedMs: number;
  /** Longest run of two fresh MASTERs in each agent's cluster view around this preemption, ms. */
  agentMs: Record<string, number>;
}

/** Polls every agent's cluster view; keeps, per agent, the runs of polls that showed two MASTERs. */
function watchViews(agents: LabAgent[], everyMs: number) {
  const runs: Record<string, Array<{ start: number; end: number }>> = {};
  const open: Record<string, number | undefined> = {};
  let stopped = false;
  const loop = async (a: LabAgent) => {
    const name = a.node.name;
    runs[name] = [];
    while (!stopped) {
      const t = Date.now();
      try {
        const view = JSON.parse(await a.get('/api/v1/cluster')) as { vrids: Array<{ masters: string[] }> };
        const two = view.vrids.some((v) => v.masters.length >= 2);
        if (two && open[name] === undefined) open[name] = t;
        if (!two && open[name] !== undefined) {
          runs[name].push({ start: open[name]!, end: t });
          open[name] = undefined;
        }
      } catch {
        // an agent restarting or a poll timing out: the next poll tells
      }
      await sleep(Math.max(0, everyMs - (Date.now() - t)));
    }
  };
  const done = Promise.all(agents.map(loop));
  return {
    /** The longest two-MASTER run per agent that overlaps [from, to]. */
    longest(from: number, to: number): Record<string, number> {
      const out: Record<string, number> = {};
      for (const [name, list] of Object.entries(runs)) {
        const mine = list.filter((r) => r.end >= from && r.start <= to).map((r) => r.end - r.start);
        out[name] = mine.length ? Math.max(...mine) : 0;
      }
      return out;
    },
    async stop() {
      stopped = true;
      await done;
    },
  };
}

function splitBrainPages(file: string): number {
  return received(file).filter((r) => (r.body.alerts ?? []).some((a) => a.status === 'firing' && a.labels.alertname === 'SplitBrain')).length;
}

async function main(): Promise<void> {
  requireRoot('preemptionOverlap');
  const rounds = opt('preemption-rounds', 10);
  const hold = opt('hold', '500ms');
  const pollMs = opt('poll', 10);
  const id = opt('id', 'b8po');
  let lab: Lab | undefined;
  const preemptions: Preemption[] = [];
  try {
    console.log(`preemptionOverlap: ${rounds} rounds (a restart preemption and two priority preemptions each), rules.split_brain_for ${hold}, cluster views polled every ${pollMs} ms`);
    lab = await startLab({ id, weightFile: true });
    const [ka1, ka2] = lab.nodes;
    const recvFile = await startReceiver(lab);
    const config = () => ({
      log: { level: 'warn' },
      rules: { split_brain_for: hold, event_hold: '5s', flapping: { changes: 1000 } },
      alerting: { route: { receiver: 'bench' }, receivers: [{ name: 'bench', type: 'webhook', url: `http://192.0.2.50:${RECEIVER_PORT}/kw` }] },
    });
    const agents = await startPeered(lab, { config }, 'ka1', 30_000);
    const signals: Signal[] = [];
    for (const n of lab.nodes) watchSignals(n, signals);
    const views = watchViews(agents, pollMs);
    await sleep(1000);

    /** Runs `act`, then waits for `winner` MASTER and `loser` BACKUP and measures both overlaps. */
    const preempt = async (kind: Preemption['kind'], winner: LabNode, loser: LabNode, act: () => Promise<void> | void) => {
      const t = Date.now();
      await act();
      let won: Signal | undefined;
      let lost: Signal | undefined;
      await waitUntil(
        () => {
          won = signals.find((s) => s.node === winner.name && s.state === 2 && s.at > t);
          lost = won && signals.find((s) => s.node === loser.name && s.state !== 2 && s.at >= won!.at - 1000 && s.at > t);
          return won && lost;
        },
        30_000,
        10,
        `${winner.name} MASTER and ${loser.name} out of MASTER`,
      );
      // Let the agents' views settle before reading them.
      await sleep(1500);
      const p: Preemption = { kind, winner: winner.name, loser: loser.name, keepalivedMs: lost!.at - won!.at, agentMs: views.longest(won!.at - 500, Date.now()) };
      preemptions.push(p);
      console.log(`  ${kind}: ${winner.name} over ${loser.name}: keepalived ${fmt(p.keepalivedMs, 1)} ms; agents saw two MASTERs for ${Object.entries(p.agentMs).map(([n, ms]) => `${n} ${ms} ms`).join(', ')}`);
    };

    for (let r = 1; r <= rounds; r++) {
      // restart: ka1 down (ka2 takes over; not a preemption), then ka1 back: ka1 preempts.
      await lab.killKeepalived(ka1, 'SIGTERM');
      await lab.waitForState(ka2, 'MASTER', 15_000);
      await sleep(1000);
      await preempt('restart', ka1, ka2, () => lab!.startKeepalived(ka1));
      await sleep(1000);
      // priority: ka1 to 150 - 60 = 90 < 100: ka2 preempts; back to 150: ka1 preempts.
      await preempt('priority-down', ka2, ka1, () => lab!.setWeight(ka1, -60));
      await sleep(1000);
      await preempt('priority-up', ka1, ka2, () => lab!.setWeight(ka1, 0));
      await sleep(1000);
    }
    // A page would have left within the hold plus an evaluation and a send: wait that out.
    await sleep(3000);
    await views.stop();

    const k = summary(preemptions.map((p) => p.keepalivedMs));
    const seen = summary(preemptions.flatMap((p) => Object.values(p.agentMs)));
    const falsePages = splitBrainPages(recvFile);
    const byKind = (['restart', 'priority-down', 'priority-up'] as const).map((kind) => {
      const ps = preemptions.filter((p) => p.kind === kind);
      const ks = summary(ps.map((p) => p.keepalivedMs));
      const as = summary(ps.flatMap((p) => Object.values(p.agentMs)));
      return { kind, n: ps.length, 'keepalived p50 ms': fmt(ks.p50, 1), 'keepalived max ms': fmt(ks.max, 1), 'agents p50 ms': fmt(as.p50, 0), 'agents max ms': fmt(as.max, 0) };
    });
    console.log('\n' + table(byKind));
    console.log(`all ${k.n} preemptions: keepalived overlap p50 ${fmt(k.p50, 1)} ms, max ${fmt(k.max, 1)} ms; agents saw two MASTERs p50 ${fmt(seen.p50, 0)} ms, p95 ${fmt(seen.p95, 0)} ms, max ${fmt(seen.max, 0)} ms (poll ${pollMs} ms)`);
    console.log(`SplitBrain pages with split_brain_for ${hold}: ${falsePages} (each one false)`);
    writeResult(`preemptionOverlap-${hold}`, { options: { rounds, hold, pollMs }, keepalived: k, agents: seen, falsePages, preemptions });
  } finally {
    await lab?.stop();
    if (!lab) cleanupIdSync(id);
  }
}

runMain(main);
