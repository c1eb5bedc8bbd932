// keepalived's pid from its pid file, and whether that process is alive. Used by the D-Bus source
// (keepalived off the bus: stopped, or running but detached from a restarted dbus-daemon?) and
// by the dumps source (where to send signals, where its /tmp is).
import { readFile } from 'fs/promises';

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

/** Signal 0: the process exists (EPERM means it exists but is not ours to signal). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A liveness check for DbusSourceOptions.keepalivedAlive, from keepalived's pid file. */
export function pidFileLiveness(pidFile: string): () => Promise<{ alive: boolean; pid?: number }> {
  return async () => {
    const pid = await readPidFile(pidFile);
    return pid !== undefined && processAlive(pid) ? { alive: true, pid } : { alive: false, pid };
  };
}
