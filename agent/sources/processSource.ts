// Keepalived's liveness from its pid file, for hosts where D-Bus is off (FIFO/log-only) and as a
// second opinion where it is on: a pid that is gone, or is no longer keepalived, is a dead
// keepalived, whatever the last FIFO line said. Cheap: one small read and a kill(0) per check.
import { readFile } from 'node:fs/promises';
import type { Ctx } from '../context';
import type { Emit, Source } from './source';

export interface ProcessSourceOptions {
  pidFile: string;
  /** How often to check; liveness is a fast path for keepalived_up, so default 1 s. */
  intervalMs?: number;
  /** /proc root (tests point it at a fixture tree). */
  procRoot?: string;
  /** Process existence check (tests inject). */
  alive?: (pid: number) => boolean;
}

function defaultAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

export function processSource(opts: ProcessSourceOptions, ctx: Ctx, emit: Emit): Source & { check(): Promise<void> } {
  const procRoot = opts.procRoot ?? '/proc';
  const alive = opts.alive ?? defaultAlive;
  let timer: NodeJS.Timeout | undefined;
  let last: { up: boolean; pid?: number; reason?: string } | undefined;

  async function observe(): Promise<{ up: boolean; pid?: number; reason?: string }> {
    let text: string;
    try {
      text = await readFile(opts.pidFile, 'utf8');
    } catch (e) {
      return { up: false, reason: `pid file ${opts.pidFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
    }
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0) return { up: false, reason: `pid file ${opts.pidFile} holds no pid` };
    if (!alive(pid)) return { up: false, pid, reason: `pid ${pid} from ${opts.pidFile} is not running` };
    try {
      const comm = (await readFile(`${procRoot}/${pid}/comm`, 'utf8')).trim();
      if (comm !== 'keepalived') return { up: false, pid, reason: `pid ${pid} is ${comm}, not keepalived (stale pid file)` };
    } catch {
      /* /proc not readable (hidepid): trust kill(0) */
    }
    return { up: true, pid };
  }

  async function check(): Promise<void> {
    const o = await observe();
    if (last && last.up === o.up && last.pid === o.pid && last.reason === o.reason) return;
    last = o;
    emit({ kind: 'keepalived', up: o.up, pid: o.pid, reason: o.up ? undefined : o.reason, at: ctx.clock.now(), source: 'process' });
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
