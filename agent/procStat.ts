// Who a pid is: its name, state and start time from /proc/<pid>/stat, and this boot's identity.
// A pid alone does not name a process: pids are reused (after a crash, after a reboot pid 1 and
// the early pids come back), so whoever trusts a pid read from a file (a lock, keepalived's pid
// file) checks it against the start time the file recorded or was written at.
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/<pid>/stat's starttime; 100 on every architecture Linux exports it for. */
export const CLOCK_TICKS_PER_S = 100;

export interface ProcStat {
  pid: number;
  /** The executable's name as the kernel keeps it (15 characters at most). */
  comm: string;
  /** R, S, D, Z (zombie), X (dead), ... */
  state: string;
  /** Start time in clock ticks since boot: with the boot id, unique for one process forever. */
  startTicks: number;
}

/** Parses "<pid> (<comm>) <state> ..." ; comm may hold spaces and ')' , the state follows the last ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); starttime is field 22.
  const startTicks = Number(rest[22 - 3]);
  if (!Number.isSafeInteger(pid) || !rest[0] || !Number.isSafeInteger(startTicks)) return undefined;
  return { pid, comm: text.slice(open + 1, close), state: rest[0], startTicks };
}

/** /proc/<pid>/stat, or undefined when the process is gone or /proc hides it. */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`${procRoot}/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** This boot's random id (a start time means nothing across a reboot); '' when unreadable. */
export function readBootId(procRoot = '/proc'): string {
  try {
    return readFileSync(`${procRoot}/sys/kernel/random/boot_id`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Boot time, ms since epoch (/proc/stat btime: whole seconds), or undefined. */
export function readBootTimeMs(procRoot = '/proc'): number | undefined {
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync(`${procRoot}/stat`, 'utf8'));
    return m ? Number(m[1]) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** When a process started, ms since epoch (to compare with a file's mtime), or undefined. */
export function processStartMs(stat: ProcStat, procRoot = '/proc'): number | undefined {
  const boot = readBootTimeMs(procRoot);
  return boot === undefined ? undefined : boot + (stat.startTicks * 1000) / CLOCK_TICKS_PER_S;
}
