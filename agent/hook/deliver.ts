// Paging without the agent: when keepalived changes state while the keepwatch agent is down, the
// notify hook starts `keepwatch notify --deliver-spooled` detached, and this sends one alert per
// spooled record to the configured receivers, so a dead agent never silences a failover.
// - It never deletes records: the agent applies them to its store when it starts (and then removes
//   the delivered/<id> markers). A marker per record says which receivers already accepted it.
// - One deliverer at a time (<spool>/deliver.lock with its pid; a lock whose pid is gone is stale).
//   A hook that finds the lock held leaves its record to the running deliverer, which re-scans after
//   releasing the lock, so a record spooled at any moment is picked up by someone.
// - It stops when the agent is back (heartbeat fresh): the agent's own rules page from then on.
// - Idempotency key per (node, record, receiver): a receiver that dedups drops a re-send.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../context';
import { fingerprint, type Alert, type Severity } from '../alerting/alert';
import { compareRecords, parseRecord, readPidMax, type HookRecord } from './record';
import { agentAlive, listSpool, spoolPaths, type SpoolPaths } from './spool';

export interface DeliverTarget {
  /** Receiver names the alert goes to (the route tree's choice). */
  receiversFor(alert: Alert): string[];
  /** Sends one alert to one receiver; throws { retryable?: boolean } when it was not accepted. */
  send(receiver: string, alert: Alert, record: HookRecord): Promise<void>;
  close?(): Promise<void>;
}

export interface DeliverOptions {
  spoolDir: string;
  node: string;
  target: DeliverTarget;
  clock: Clock;
  log: Logger;
  /** Exit after no new record for this long (default 2 s). */
  settleMs?: number;
  /** Give up after this long in total (default 10 min); what is left stays spooled for the agent. */
  maxRunMs?: number;
  /** First retry delay (default 1 s), doubling up to 30 s. */
  retryMs?: number;
  /** The agent's hook socket: the agent counts as up only when it also accepts a connection there. */
  socketPath?: string;
  /** Whether a pid is alive (injectable for tests). */
  pidAlive?: (pid: number) => boolean;
  sleep?: (ms: number) => Promise<void>;
}

export interface DeliverResult {
  /** Another deliverer holds the lock (it takes this record too). */
  skipped?: string;
  delivered: number;
  failed: number;
  /** Stopped because the agent came back. */
  agentBack?: boolean;
}

const SEVERITY: Record<string, Severity> = { FAULT: 'critical', STOP: 'critical', MASTER: 'warning', BACKUP: 'warning', MASTER_RX_LOWER_PRI: 'critical' };

/** The alert a spooled record stands for when the agent cannot evaluate its rules. */
export function alertForRecord(node: string, r: HookRecord): Alert {
  const what = r.type === 'INSTANCE' ? 'iname' : 'group';
  const evidence = r.state === 'MASTER_RX_LOWER_PRI';
  const labels: Record<string, string> = {
    alertname: evidence ? 'SplitBrainEvidence' : 'KeepalivedStateChange',
    severity: SEVERITY[r.state] ?? 'info',
    node,
    [what]: r.name,
    state: r.state,
    source: 'notify_hook',
  };
  const prio = r.priority !== undefined && r.type === 'INSTANCE' ? ` (priority ${r.priority})` : '';
  const when = new Date(r.at).toISOString();
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: {
      summary: evidence
        ? `${node}: ${r.name} as MASTER received an advert with lower priority: another MASTER was on the segment (split brain) at ${when}`
        : `${node}: keepalived ${r.type.toLowerCase()} ${r.name} entered ${r.state}${prio} at ${when}; keepwatch agent down, sent by the notify hook`,
      description:
        `keepalived on ${node} ran the keepwatch notify hook at ${when}. The keepwatch agent on ${node} is not running, ` +
        `so split-brain, failover-cause and nginx checks are not evaluated for this node: check the other node's view ` +
        `(keepwatch status there), then start this agent (systemctl status keepwatch). This page was sent once per transition ` +
        `by \`keepwatch notify --deliver-spooled\`.`,
      record: r.id,
    },
    status: 'firing',
    startsAt: r.at,
  };
}

/** Whether a Unix socket accepts a connection within timeoutMs. */
export function socketAccepts(sockPath: string, timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(sockPath);
    const t = setTimeout(() => {
      c.destroy();
      resolve(false);
    }, timeoutMs);
    c.once('connect', () => {
      clearTimeout(t);
      c.destroy();
      resolve(true);
    });
    c.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

function defaultPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryLock(p: SpoolPaths, pidAlive: (pid: number) => boolean): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(p.lock, 'wx', 0o644);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = NaN;
    try {
      holder = Number(fs.readFileSync(p.lock, 'utf8').trim());
    } catch {
      /* released meanwhile: try again */
    }
    if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) return false;
    try {
      fs.unlinkSync(p.lock); // stale: its deliverer died
    } catch {
      /* someone else removed it */
    }
  }
  return false;
}

function unlock(p: SpoolPaths): void {
  try {
    if (Number(fs.readFileSync(p.lock, 'utf8').trim()) === process.pid) fs.unlinkSync(p.lock);
  } catch {
    /* gone */
  }
}

/** Receivers that already accepted a record. */
function doneReceivers(p: SpoolPaths, id: string): Set<string> {
  try {
    return new Set(fs.readFileSync(path.join(p.delivered, id), 'utf8').split('\n').filter(Boolean));
  } catch {
    return new Set();
  }
}

function markDone(p: SpoolPaths, id: string, receivers: Set<string>): void {
  fs.mkdirSync(p.delivered, { recursive: true, mode: 0o750 });
  const tmp = path.join(p.delivered, `.${id}.${process.pid}`);
  fs.writeFileSync(tmp, [...receivers].map((r) => `${r}\n`).join(''));
  fs.renameSync(tmp, path.join(p.delivered, id));
}

function pending(p: SpoolPaths): HookRecord[] {
  const out: HookRecord[] = [];
  for (const name of listSpool(p.dir)) {
    if (!name.endsWith('.rec')) continue;
    try {
      const r = parseRecord(fs.readFileSync(path.join(p.dir, name), 'utf8'));
      if (r.ok) out.push(r.record);
    } catch {
      /* the agent took it meanwhile */
    }
  }
  const pidMax = readPidMax();
  return out.sort((a, b) => compareRecords(a, b, { pidMax }));
}

/** Delivers every spooled record not yet delivered to all its receivers. See the file comment. */
export async function deliverSpooled(o: DeliverOptions): Promise<DeliverResult> {
  const p = spoolPaths(o.spoolDir);
  const pidAlive = o.pidAlive ?? defaultPidAlive;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => o.clock.setTimeout(r, ms)));
  const settleMs = o.settleMs ?? 2000;
  const deadline = o.clock.now() + (o.maxRunMs ?? 600_000);
  const result: DeliverResult = { delivered: 0, failed: 0 };
  // A fresh heartbeat alone is not enough: an agent killed with -9 leaves one for a few seconds.
  const agentUp = async () => agentAlive(p, o.clock.now()) && (!o.socketPath || (await socketAccepts(o.socketPath)));
  if (!tryLock(p, pidAlive)) return { ...result, skipped: 'another deliverer is running' };
  const gaveUp = new Set<string>(); // `${id}\u0000${receiver}` refused for good
  let delay = o.retryMs ?? 1000;
  try {
    for (;;) {
      let idleSince = o.clock.now();
      let retryNeeded = false;
      while (o.clock.now() < deadline) {
        if (await agentUp()) {
          o.log.info('keepwatch agent is back: it takes over the spooled records');
          result.agentBack = true;
          return result;
        }
        retryNeeded = false;
        let progressed = false;
        for (const r of pending(p)) {
          const alert = alertForRecord(o.node, r);
          const done = doneReceivers(p, r.id);
          const todo = o.target.receiversFor(alert).filter((x) => !done.has(x) && !gaveUp.has(`${r.id}\u0000${x}`));
          if (todo.length === 0) continue;
          for (const recv of todo) {
            try {
              await o.target.send(recv, alert, r);
              done.add(recv);
              result.delivered++;
              progressed = true;
              o.log.info({ record: r.id, receiver: recv }, 'page delivered by the hook (agent down)');
            } catch (e) {
              const retryable = (e as { retryable?: boolean }).retryable !== false;
              result.failed++;
              o.log.warn({ record: r.id, receiver: recv, error: (e as Error).message, retryable }, 'page delivery failed');
              if (retryable) retryNeeded = true;
              else gaveUp.add(`${r.id}\u0000${recv}`);
            }
          }
          markDone(p, r.id, done);
        }
        if (progressed) {
          idleSince = o.clock.now();
          delay = o.retryMs ?? 1000;
        }
        if (retryNeeded) {
          await sleep(delay);
          delay = Math.min(delay * 2, 30_000);
          continue;
        }
        if (o.clock.now() - idleSince >= settleMs) break;
        await sleep(Math.min(250, settleMs));
      }
      // Release, then look once more: a hook that found the lock held just before left its record to us.
      unlock(p);
      const left = o.clock.now() < deadline && !(await agentUp()) && pending(p).some((r) => {
        const done = doneReceivers(p, r.id);
        return o.target.receiversFor(alertForRecord(o.node, r)).some((x) => !done.has(x) && !gaveUp.has(`${r.id}\u0000${x}`));
      });
      if (!left || !tryLock(p, pidAlive)) return result;
    }
  } finally {
    unlock(p);
    await o.target.close?.();
  }
}
