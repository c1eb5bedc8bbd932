// The hook spool: a directory where the notify hook leaves records the agent has not taken over its
// socket. Layout (shared with agent/hook/keepwatch-notify, keep them in step):
//   <spool>/<ns>-<pid>.rec     a record (one line), renamed into place whole (atomic)
//   <spool>/<ns>-<pid>.bad     a hook call with bad arguments, kept for inspection
//   <spool>/tmp/               where writers build a file before the rename
//   <spool>/bad/               records the agent could not parse, moved here (bounded)
//   <spool>/delivered/<id>     marker: the detached deliverer already paged for this record
//   <spool>/agent.alive        the agent's heartbeat: a deadline in epoch seconds, rewritten every second
//   <spool>/deliver.lock       held by the one running deliverer (pid inside)
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SpoolPaths {
  dir: string;
  tmp: string;
  bad: string;
  delivered: string;
  alive: string;
  lock: string;
}

export function spoolPaths(dir: string): SpoolPaths {
  return {
    dir,
    tmp: path.join(dir, 'tmp'),
    bad: path.join(dir, 'bad'),
    delivered: path.join(dir, 'delivered'),
    alive: path.join(dir, 'agent.alive'),
    lock: path.join(dir, 'deliver.lock'),
  };
}

/** A spooled file's name: `<ns>-<pid>.rec|bad`. */
export const SPOOL_FILE_RE = /^(\d{1,20})-(\d{1,10})\.(rec|bad)$/;

/** Creates the spool and its subdirectories (0750: records are not for every local user). */
export function ensureSpool(dir: string): SpoolPaths {
  const p = spoolPaths(dir);
  for (const d of [p.dir, p.tmp, p.bad, p.delivered]) fs.mkdirSync(d, { recursive: true, mode: 0o750 });
  return p;
}

/** Writes a file into dir atomically: whole in tmp/, fsync'd unless durable is false, then renamed (readers never see half). */
export function writeAtomic(p: SpoolPaths, name: string, content: string, target = p.dir, durable = true): string {
  const tmp = path.join(p.tmp, `${name}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeSync(fd, content);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const dest = path.join(target, name);
  fs.renameSync(tmp, dest);
  return dest;
}

/** The spooled records and bad calls, oldest name first (names start with epoch ns). */
export function listSpool(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.filter((n) => SPOOL_FILE_RE.test(n)).sort();
}

/**
 * The heartbeat the hook reads: "alive until" in epoch seconds. Renamed into place (never half
 * written) but not fsynced: rewritten every second, and one lost in a crash only makes a hook wait
 * its 40 ms for an ack before it spools; an fsync a second was most of the agent's idle I/O.
 */
export function writeHeartbeat(p: SpoolPaths, nowMs: number, aliveForS: number): void {
  writeAtomic(p, 'agent.alive', `${Math.floor(nowMs / 1000) + aliveForS}\n`, p.dir, false);
}

/** Whether the agent's heartbeat is fresh (what the hook checks, for the CLI and the deliverer). */
export function agentAlive(p: SpoolPaths, nowMs: number): boolean {
  try {
    const until = Number(fs.readFileSync(p.alive, 'utf8').trim());
    return Number.isInteger(until) && Math.floor(nowMs / 1000) <= until;
  } catch {
    return false;
  }
}

/** Keeps at most `max` files in a directory (oldest names removed): bad/ must not fill the disk. */
export function pruneDir(dir: string, max: number): number {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names.slice(0, Math.max(0, names.length - max))) {
    try {
      fs.unlinkSync(path.join(dir, n));
      removed++;
    } catch {
      /* gone already */
    }
  }
  return removed;
}
