// The hook spool: a directory where the notify hook leaves records the agent has not taken over its
// socket. Layout (shared with agent/hook/keepwatch-notify, keep them in step):
//   <spool>/<ns>-<pid>.rec     a record (one line), renamed into place whole (atomic)
//   <spool>/<ns>-<pid>.bad     a hook call with bad arguments, kept for inspection
//   <spool>/<ns>-<pid>.failed  the fallback pager could not page (agent/hook/deliveryFailure.ts)
//   <spool>/tmp/               where the agent builds a file before the rename
//   <spool>/bad/               records the agent could not parse, moved here (bounded)
//   <spool>/agent.alive        the agent's heartbeat: a deadline in epoch seconds, rewritten every second
// The spool belongs to the agent's user; the hook and the deliverer run as root. Root never opens,
// creates or appends a path there (a link the agent's user planted would make root write through
// it): it builds a file in its own directory beside the spool and rename(2)s it in (rename replaces
// a link, never follows it), and reads spool files with O_NOFOLLOW. Root's own directory:
//   <spool>-hook/              root-owned 0700, every directory above it writable by root only
//   <spool>-hook/tmp/          where root builds a file before the rename into the spool
//   <spool>-hook/delivered/<id> marker: the detached deliverer already paged for this record
//   <spool>-hook/deliver.lock  held by the one running deliverer (agent/alerting/outbox/lockFile.ts)
//   <spool>-hook/deliver.log   the deliverer's log
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SpoolPaths {
  dir: string;
  tmp: string;
  bad: string;
  alive: string;
}

export function spoolPaths(dir: string): SpoolPaths {
  return {
    dir,
    tmp: path.join(dir, 'tmp'),
    bad: path.join(dir, 'bad'),
    alive: path.join(dir, 'agent.alive'),
  };
}

/** Root's own directory beside the spool (see the file comment). */
export interface HookDirPaths {
  dir: string;
  tmp: string;
  delivered: string;
  lock: string;
  log: string;
}

export function hookDirPaths(spoolDir: string): HookDirPaths {
  const dir = `${spoolDir.replace(/\/+$/, '')}-hook`;
  return { dir, tmp: path.join(dir, 'tmp'), delivered: path.join(dir, 'delivered'), lock: path.join(dir, 'deliver.lock'), log: path.join(dir, 'deliver.log') };
}

/** A spooled file's name: `<ns>-<pid>.rec|bad`. */
export const SPOOL_FILE_RE = /^(\d{1,20})-(\d{1,10})\.(rec|bad)$/;

/** Creates the spool and its subdirectories (0750: records are not for every local user). The agent's side. */
export function ensureSpool(dir: string): SpoolPaths {
  const p = spoolPaths(dir);
  for (const d of [p.dir, p.tmp, p.bad]) fs.mkdirSync(d, { recursive: true, mode: 0o750 });
  return p;
}

const uid = () => process.getuid?.() ?? 0;

/** Why a directory is not private to this user (undefined: it is): a link, another owner, writable by others. */
function notPrivate(d: string, st: fs.Stats): string | undefined {
  if (st.isSymbolicLink()) return `${d} is a symbolic link`;
  if (!st.isDirectory()) return `${d} is not a directory`;
  if (st.uid !== uid()) return `${d} is owned by uid ${st.uid}, not ${uid()}`;
  if (st.mode & 0o022) return `${d} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

/**
 * Creates (0700) and checks root's own directory beside the spool: its directories are this
 * user's, not links, writable by no one else, and so is every directory above them (or sticky and
 * root's, like /tmp), so no one else can swap them between the check and a write. Throws naming
 * the path and why.
 */
export function secureHookDir(spoolDir: string): HookDirPaths {
  const h = hookDirPaths(path.resolve(spoolDir));
  for (const d of [h.dir, h.tmp, h.delivered]) {
    try {
      fs.mkdirSync(d, { mode: 0o700 }); // never -p: mkdir does not follow a link, a recursive one would
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create ${d}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const why = notPrivate(d, fs.lstatSync(d));
    if (why) throw new Error(`unsafe hook directory: ${why}; root writes only into a directory no other user can change`);
  }
  for (let d = path.dirname(h.dir); ; d = path.dirname(d)) {
    const st = fs.statSync(d); // a link above is as safe as the directory it names (checked here)
    const sticky = (st.mode & 0o1000) !== 0 && st.uid === 0;
    if ((st.uid !== 0 && st.uid !== uid()) || (st.mode & 0o022 && !sticky)) {
      throw new Error(`unsafe hook directory: ${d} (above ${h.dir}) is owned by uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8)}: another user could swap ${h.dir}`);
    }
    if (d === path.dirname(d)) break;
  }
  return h;
}

/**
 * Root's way to put a file into the spool: built whole in <spool>-hook/tmp (created exclusively,
 * never through a link), fsync'd, then renamed into the spool (a link planted at the name is
 * replaced, not followed). Returns the spooled path.
 */
export function handOver(spoolDir: string, name: string, content: string): string {
  if (path.basename(name) !== name) throw new Error(`not a spool file name: ${name}`);
  const h = secureHookDir(spoolDir);
  // The spool shares its parent with the hook directory, checked above: creating it cannot follow a link.
  if (!fs.existsSync(spoolDir)) fs.mkdirSync(spoolDir, { mode: 0o750 });
  const tmp = path.join(h.tmp, `${name}.${process.pid}.tmp`);
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const dest = path.join(spoolDir, name);
  fs.renameSync(tmp, dest);
  return dest;
}

/** Writes a record into the spool the safe way for whoever runs: root hands it over, the agent's user writes it in place. */
export function spoolFile(spoolDir: string, name: string, content: string): string {
  return uid() === 0 ? handOver(spoolDir, name, content) : writeAtomic(ensureSpool(spoolDir), name, content);
}

/** Reads a spool file without following a link or blocking on a FIFO someone put there; at most maxBytes. */
export function readSpoolFile(file: string, maxBytes = 64 * 1024): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    if (!fs.fstatSync(fd).isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'EINVAL' });
    const buf = Buffer.alloc(maxBytes);
    const n = fs.readSync(fd, buf, 0, maxBytes, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
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
    const until = Number(readSpoolFile(p.alive, 64).trim());
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
