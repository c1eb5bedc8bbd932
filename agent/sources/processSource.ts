// Keepalived's liveness from its pid file, for hosts where D-Bus is off (FIFO/log-only): a pid
// that is gone, a zombie, or no longer keepalived is a dead keepalived, whatever the last FIFO
// line said. Cheap: two small reads and a kill(0) per check.
import { keepalivedProcessAlive, readPidFile } from './keepalivedPid';
import type { Source, SourceFactory } from './source';

export interface ProcessSourceOptions {
  pidFile: string;
  /** How often to check; liveness is the fast path for keepalived_up, so default 1 s. */
  intervalMs?: number;
  /** /proc root (tests point it at a fixture tree). */
  procRoot?: string;
}

export interface ProcessSource extends Source {
  /** Looks once now; emits only when the answer changed. */
  check(): Promise<void>;
}

export const processSource: SourceFactory<ProcessSourceOptions, ProcessSource> = (opts, env) => {
  const { clock, log, emit } = env;
  let timer: NodeJS.Timeout | undefined;
  let last: { up: boolean; pid?: number; reason?: string } | undefined;

  async function observe(): Promise<{ up: boolean; pid?: number; reason?: string }> {
    const pid = await readPidFile(opts.pidFile);
    if (pid === undefined) return { up: false, reason: `pid file ${opts.pidFile} is missing or holds no pid` };
    if (!(await keepalivedProcessAlive(pid, opts.procRoot))) return { up: false, pid, reason: `pid ${pid} from ${opts.pidFile} is not a running keepalived` };
    return { up: true, pid };
  }

  async function check(): Promise<void> {
    const o = await observe();
    if (last && last.up === o.up && last.pid === o.pid && last.reason === o.reason) return;
    last = o;
    emit({ kind: 'keepalived', up: o.up, pid: o.pid, reason: o.reason, at: clock.now(), source: 'process' });
  }

  return {
    name: 'process',
    check,
    async start() {
      await check();
      timer = clock.setInterval(() => void check().catch((e) => log.warn({ err: e }, 'keepalived process check failed')), opts.intervalMs ?? 1000);
    },
    async stop() {
      clock.clearInterval(timer);
      timer = undefined;
    },
  };
};
