// keepalived's pid from its pid file, and whether that process is alive. Used by the D-Bus source
// (keepalived off the bus: stopped, or running but detached from a restarted dbus-daemon?) and
// by the dumps source (where to send signals, where its /tmp is).
import { readFile } from 'fs/promises';

/** Whether keepalived runs, and as which pid when its pid file names one. */
export interface KeepalivedLiveness {
  alive: boolean;
  pid?: number;
}

/** The pid in a pid file, or undefined when the file is missing or holds no pid. */
export async function readPidFile(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^\s*(\d+)\s*$/.exec(text);
  const pid = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
}

/**
 * Whether pid is a live keepalived: it exists (signal 0; EPERM means it exists), is not a zombie
 * (a killed keepalived not yet reaped still answers signal 0) and, when /proc says, is named
 * keepalived (a stale pid file can name a reused pid).
 */
export async function keepalivedProcessAlive(pid: number, procRoot = '/proc'): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = await readFile(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return true; // /proc hidden (hidepid) or gone this instant: trust signal 0
  }
  // "<pid> (<comm>) <state> ...": comm may hold spaces and parentheses, the state follows the last ')'.
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return true;
  const comm = stat.slice(open + 1, close);
  const state = stat.slice(close + 2, close + 3);
  if (state === 'Z' || state === 'X' || state === 'x') return false;
  return comm === 'keepalived';
}

/** A liveness check for DbusSourceOptions.keepalivedAlive, from keepalived's pid file. */
export function pidFileLiveness(pidFile: string, procRoot = '/proc'): () => Promise<KeepalivedLiveness> {
  return async () => {
    const pid = await readPidFile(pidFile);
    return pid !== undefined && (await keepalivedProcessAlive(pid, procRoot)) ? { alive: true, pid } : { alive: false, pid };
  };
}
