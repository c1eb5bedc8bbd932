// The incidents of issue 14's table, as faults driven on a two-node lab (ka1 MASTER, ka2 BACKUP):
// each injects its fault, notes when keepalived reacted (the lab's D-Bus polling, ~20 ms steps),
// holds it (a sleep, or whatever the caller does meanwhile: restarting agents, waiting for a page),
// undoes it, and waits for the pair's normal state again. Shared by the incidents e2e test (which
// judges the inbox) and bench/incidents.ts (which times it). Every wait is bounded.
import type { Lab, LabNode } from './lab';
import type { LabAgent } from './agents';
import { sleep } from '../helpers/wait';

const sleepUntil = (t: number) => sleep(Math.max(0, t - Date.now()));

/** What the caller does while the fault holds. */
export type Hold = () => Promise<void>;
export const holdFor = (ms: number): Hold => () => sleep(ms);

function pair(lab: Lab): [LabNode, LabNode] {
  if (lab.nodes.length !== 2) throw new Error(`scenarios: a two-node lab is needed, this one has ${lab.nodes.length}`);
  return [lab.nodes[0], lab.nodes[1]];
}

/** The pair's normal state: ka1 (priority 150) MASTER, ka2 BACKUP. */
export async function settled(lab: Lab, timeoutMs = 20_000): Promise<void> {
  const [ka1, ka2] = pair(lab);
  await lab.waitForState(ka1, 'MASTER', timeoutMs);
  await lab.waitForState(ka2, 'BACKUP', timeoutMs);
}

export interface SplitTimes {
  /** When the fault was injected (ms since epoch). */
  t0: number;
  /** ka2 MASTER while ka1 still is. */
  secondMasterAt: number;
  /** When the fault was undone. */
  healedAt: number;
}

/** VRRP dropped on ka2 by nftables (the common real split brain: everything else flows). */
export async function vrrpFirewalled(lab: Lab, hold: Hold): Promise<SplitTimes> {
  const [, ka2] = pair(lab);
  const t0 = Date.now();
  await lab.blockVrrp(ka2);
  let secondMasterAt = NaN;
  try {
    secondMasterAt = await lab.waitForState(ka2, 'MASTER', 15_000);
    await hold();
  } finally {
    await lab.unblockVrrp(ka2);
  }
  const healedAt = Date.now();
  await settled(lab);
  return { t0, secondMasterAt, healedAt };
}

/** ka2 cut off the bridge entirely: neither VRRP nor the agents' peer stream pass. */
export async function partitioned(lab: Lab, hold: Hold): Promise<SplitTimes> {
  const [, ka2] = pair(lab);
  const t0 = Date.now();
  await lab.partition(ka2);
  let secondMasterAt = NaN;
  try {
    secondMasterAt = await lab.waitForState(ka2, 'MASTER', 15_000);
    await hold();
  } finally {
    await lab.heal(ka2);
  }
  const healedAt = Date.now();
  await settled(lab);
  return { t0, secondMasterAt, healedAt };
}

export interface OutageTimes {
  t0: number;
  /** ka2 MASTER (NaN when nothing failed over). */
  takeoverAt: number;
  /** When what was stopped was started again. */
  restoredAt: number;
}

/** The MASTER's keepalived stopped: SIGTERM (priority-0 advert, VIP released) or SIGKILL (a crash: VIP left bound). */
export async function keepalivedStopped(lab: Lab, signal: 'SIGTERM' | 'SIGKILL', hold: Hold): Promise<OutageTimes> {
  const [ka1, ka2] = pair(lab);
  const t0 = Date.now();
  await lab.killKeepalived(ka1, signal);
  let takeoverAt = NaN;
  try {
    takeoverAt = await lab.waitForState(ka2, 'MASTER', 15_000);
    await hold();
  } finally {
    await lab.startKeepalived(ka1);
  }
  const restoredAt = Date.now();
  await settled(lab);
  return { t0, takeoverAt, restoredAt };
}

/** nginx stopped on the MASTER. With the track script keepalived fails over; without, it keeps the VIP on a dead nginx. */
export async function nginxStopped(lab: Lab, signal: 'SIGTERM' | 'SIGKILL', hold: Hold): Promise<OutageTimes> {
  const [ka1, ka2] = pair(lab);
  const t0 = Date.now();
  await lab.stopNginx(ka1, signal);
  let takeoverAt = NaN;
  try {
    if (lab.opts.trackScript ?? true) takeoverAt = await lab.waitForState(ka2, 'MASTER', 15_000);
    await hold();
  } finally {
    await lab.startNginx(ka1);
  }
  const restoredAt = Date.now();
  await settled(lab);
  return { t0, takeoverAt, restoredAt };
}

export interface FlapTimes {
  t0: number;
  /** Every MASTER change, in order (ka2 takes over, ka1 preempts back, ...). */
  failovers: number[];
}

/**
 * nginx on ka1 stopped and started `cycles` times, one cycle per `periodMs` (the track script moves
 * the VIP to ka2 and back each time: two failovers a cycle). Default: 6 cycles in 42 s, 12 failovers.
 */
export async function nginxFlapping(lab: Lab, cycles = 6, periodMs = 7_000): Promise<FlapTimes> {
  const [ka1, ka2] = pair(lab);
  if (!(lab.opts.trackScript ?? true)) throw new Error('scenarios: nginx flapping needs the track script');
  const t0 = Date.now();
  const failovers: number[] = [];
  try {
    for (let i = 0; i < cycles; i++) {
      const start = t0 + i * periodMs;
      await lab.stopNginx(ka1);
      failovers.push(await lab.waitForState(ka2, 'MASTER', periodMs + 5_000));
      await sleepUntil(start + periodMs / 2);
      await lab.startNginx(ka1);
      failovers.push(await lab.waitForState(ka1, 'MASTER', periodMs + 5_000));
      await sleepUntil(start + periodMs);
    }
  } finally {
    await lab.startNginx(ka1);
  }
  await settled(lab);
  return { t0, failovers };
}

/** An agent killed with -9 (its keepalived and nginx untouched), restarted after hold unless hold did. */
export async function agentKilled(agent: LabAgent, hold: Hold): Promise<{ t0: number; restartedAt: number }> {
  const t0 = Date.now();
  await agent.stop('SIGKILL');
  try {
    await hold();
  } finally {
    if (!agent.running()) await agent.restart();
  }
  return { t0, restartedAt: Date.now() };
}
