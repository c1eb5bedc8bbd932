// Keepalived's liveness from its pid file, for hosts where D-Bus is off (FIFO/log-only): a pid
// that is gone, a zombie, or no longer keepalived is a dead keepalived, whatever the last FIFO
// line said. Cheap: two small reads and a kill(0) per check.
import type { Ctx } from '../context';
import { keepalivedProcessAlive, readPidFile } from './keepalivedPid';
import type { Emit, Source } from './source';

export interface ProcessSourceOptions {
  pidFile: string;
  /** How often to check; liveness is the fast path for keepalived_up, so default 1 s. */
  intervalMs?: number;
  /** /proc root (tests point it at a fixture tree). */
  procRoot?: string;
}

export function processSource(opts: ProcessSourceOptions, ctx: Ctx, emit: Emit): Source & { check(): Promise<void> } {
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
    emit({ kind: 'keepalived', up: o.up, pid: o.pid, reason: o.reason, at: ctx.clock.now(), source: 'process' });
  }

  return {
    name: 'process',
    check,
    async start() {
      await check();
      timer = ctx.clock.setInterval(() => void check().catch((e) => ctx.log.warn({ err: e }, 'keepalived process check failed')), opts.intervalMs ?? 1000);
    },
    async stop() {
      ctx.clock.clearInterval(timer);
      timer = undefined;
    },
  };
}
