// Paging without the agent: when keepalived changes state while the keepwatch agent is down, the
// notify hook starts `keepwatch notify --deliver-spooled` detached, and this sends one alert per
// spooled record to the configured receivers, so a dead agent never silences a failover.
// - It never deletes records: the agent applies them to its store when it starts (and then removes
//   the delivered/<id> markers). A marker per record says which receivers already accepted it.
// - It runs as root in a spool the agent's user owns: it writes only in root's own <spool>-hook/
//   (markers, lock, log) and reads spool files without following links (agent/hook/spool.ts).
// - One deliverer at a time (<spool>-hook/deliver.lock: pid, start time and boot id, so a dead
//   deliverer's lock whose pid was reused does not block delivery for good).
//   A hook that finds the lock held leaves its record to the running deliverer, which re-scans after
//   releasing the lock, so a record spooled at any moment is picked up by someone.
// - It stops when the agent is back (heartbeat fresh): the agent's own rules page from then on.
// - Idempotency key per (node, record, receiver): a receiver that dedups drops a re-send.
// - What it could not page when it gives up is left as a failure record the agent alerts on when it
//   starts (agent/hook/deliveryFailure.ts): a pager that failed silently is found out.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../context';
import { fingerprint, type Alert, type Severity } from '../alerting/alert';
import { compareRecords, parseRecord, readPidMax, type HookRecord } from './record';
import { agentAlive, listSpool, readSpoolFile, secureHookDir, spoolPaths, type HookDirPaths, type SpoolPaths } from './spool';
import { LockFile, LockHeldError } from '../alerting/outbox/lockFile';
import { recordDeliveryFailure } from './deliveryFailure';

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
  /** /proc, for judging the deliver lock's holder (tests point it elsewhere). */
  procRoot?: string;
  sleep?: (ms: number) => Promise<void>;
}

export interface DeliverResult {
  /** Another deliverer holds the lock (it takes this record too). */
  skipped?: string;
  delivered: number;
  failed: number;
  /** Stopped because the agent came back. */
  agentBack?: boolean;
  /** Records still not accepted by every receiver when it gave up (left in a failure record). */
  undelivered?: number;
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

/** Receivers that already accepted a record. */
function doneReceivers(h: HookDirPaths, id: string): Set<string> {
  try {
    return new Set(fs.readFileSync(path.join(h.delivered, id), 'utf8').split('\n').filter(Boolean));
  } catch {
    return new Set();
  }
}

function markDone(h: HookDirPaths, id: string, receivers: Set<string>): void {
  const tmp = path.join(h.tmp, `delivered.${id}.${process.pid}`);
  fs.writeFileSync(tmp, [...receivers].map((r) => `${r}\n`).join(''), { flag: 'w', mode: 0o600 });
  fs.renameSync(tmp, path.join(h.delivered, id));
}

/** Markers of records the agent has applied (gone from the spool): the agent cannot remove root's files. */
function pruneMarkers(p: SpoolPaths, h: HookDirPaths): void {
  let names: string[];
  try {
    names = fs.readdirSync(h.delivered);
  } catch {
    return;
  }
  for (const id of names) {
    if (!fs.existsSync(path.join(p.dir, `${id}.rec`))) fs.rmSync(path.join(h.delivered, id), { force: true });
  }
}

function pending(p: SpoolPaths): HookRecord[] {
  const out: HookRecord[] = [];
  for (const name of listSpool(p.dir)) {
    if (!name.endsWith('.rec')) continue;
    try {
      const r = parseRecord(readSpoolFile(path.join(p.dir, name), 8192));
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
  const h = secureHookDir(o.spoolDir);
  const lock = new LockFile(h.lock, `hook deliverer ${h.dir}`, { procRoot: o.procRoot });
  const tryLock = (): boolean => {
    try {
      lock.acquire();
      return true;
    } catch (e) {
      if (e instanceof LockHeldError) return false;
      throw e;
    }
  };
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => o.clock.setTimeout(r, ms)));
  const settleMs = o.settleMs ?? 2000;
  const deadline = o.clock.now() + (o.maxRunMs ?? 600_000);
  const result: DeliverResult = { delivered: 0, failed: 0 };
  // A fresh heartbeat alone is not enough: an agent killed with -9 leaves one for a few seconds.
  const agentUp = async () => agentAlive(p, o.clock.now()) && (!o.socketPath || (await socketAccepts(o.socketPath)));
  if (!tryLock()) return { ...result, skipped: 'another deliverer is running' };
  const gaveUp = new Set<string>(); // `${id}\u0000${receiver}` refused for good
  const lastError = new Map<string, string>();
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
          const done = doneReceivers(h, r.id);
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
              lastError.set(recv, (e as Error).message.slice(0, 200));
              if (retryable) retryNeeded = true;
              else gaveUp.add(`${r.id}\u0000${recv}`);
            }
          }
          markDone(h, r.id, done);
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
      lock.release();
      const undone = (r: HookRecord) => {
        const done = doneReceivers(h, r.id);
        return o.target.receiversFor(alertForRecord(o.node, r)).filter((x) => !done.has(x));
      };
      const back = await agentUp();
      const left = o.clock.now() < deadline && !back && pending(p).some((r) => undone(r).some((x) => !gaveUp.has(`${r.id}\u0000${x}`)));
      if (!left) {
        if (!back) {
          const missed = pending(p).filter((r) => undone(r).length > 0);
          if (missed.length) {
            result.undelivered = missed.length;
            const lastErrors = [...lastError.entries()].map(([recv, err]) => `${recv}: ${err}`).join('; ');
            recordDeliveryFailure(o.spoolDir, `${missed.length} record(s) not paged (${missed.map((r) => `${r.name} ${r.state}`).slice(0, 5).join(', ')}): ${lastErrors || 'receivers did not accept them'}`, o.clock.now());
          }
        }
        return result;
      }
      if (!tryLock()) return result; // a deliverer that started meanwhile takes them
    }
  } finally {
    lock.release();
    pruneMarkers(p, h);
    await o.target.close?.();
  }
}
