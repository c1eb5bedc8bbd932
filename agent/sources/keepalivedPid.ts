// keepalived's pid from its pid file, and whether that process is alive. Used by the D-Bus source
// (keepalived off the bus: stopped, or running but detached from a restarted dbus-daemon?) and
// by the dumps source (where to send signals, where its /tmp is).
import { readFile, stat as stat_ } from 'fs/promises';
import { parseProcStat, processStartMs } from '../procStat';

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
  let text: string;
  try {
    text = await readFile(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return true; // /proc hidden (hidepid) or gone this instant: trust signal 0
  }
  const stat = parseProcStat(text);
  if (!stat) return true;
  if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return false;
  return stat.comm === 'keepalived';
}

/**
 * Why pid (read from pidFile) must not be sent a signal, or undefined when it is keepalived: its
 * name is keepalived and it started before the pid file was written (a pid reused by a process
 * started later is not the one keepalived wrote there). USR2 to an nginx master that inherited the
 * pid would start a binary upgrade; an unknown signal kills most programs.
 */
export async function keepalivedSignalRefusal(pid: number, pidFile: string, procRoot = '/proc'): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(`${procRoot}/${pid}/stat`, 'utf8');
  } catch (e) {
    return `pid ${pid} from ${pidFile}: ${procRoot}/${pid}/stat unreadable (${(e as NodeJS.ErrnoException).code ?? 'error'}); not signalling an unchecked process`;
  }
  const stat = parseProcStat(text);
  if (!stat) return `pid ${pid} from ${pidFile}: ${procRoot}/${pid}/stat unparsable; not signalling an unchecked process`;
  if (stat.state === 'Z' || stat.state === 'X') return `pid ${pid} from ${pidFile} has exited`;
  if (stat.comm !== 'keepalived') return `pid ${pid} from ${pidFile} is "${stat.comm}", not keepalived (stale pid file?): refusing to signal it`;
  let writtenMs: number;
  try {
    writtenMs = (await stat_(pidFile)).mtimeMs;
  } catch (e) {
    return `cannot stat ${pidFile} (${(e as NodeJS.ErrnoException).code ?? 'error'}): refusing to signal pid ${pid}`;
  }
  const started = processStartMs(stat, procRoot);
  // 2 s: btime is whole seconds and drifts with clock adjustments.
  if (started !== undefined && started > writtenMs + 2000) {
    return `pid ${pid} from ${pidFile} started ${new Date(started).toISOString()}, after the pid file was written (${new Date(writtenMs).toISOString()}): a reused pid, refusing to signal it`;
  }
  return undefined;
}

/** A liveness check for DbusSourceOptions.keepalivedAlive, from keepalived's pid file. */
export function pidFileLiveness(pidFile: string, procRoot = '/proc'): () => Promise<KeepalivedLiveness> {
  return async () => {
    const pid = await readPidFile(pidFile);
    return pid !== undefined && (await keepalivedProcessAlive(pid, procRoot)) ? { alive: true, pid } : { alive: false, pid };
  };
}
