// Cold standby (nginx.standby: cold): nginx is stopped on the backup and the script keepalived
// runs on takeover (notify_master) starts it. A takeover then fails silently when that script is
// gone or not executable (a package upgrade, a config-management run that dropped the mode), and
// nobody notices until the master dies. This probe checks the script the config names in
// nginx.start_hook: it exists, is a regular file, and has an execute bit (keepalived runs it as
// script_user, root by default, for whom any execute bit will do). It also says whether keepalived.conf names it in a
// notify / notify_master line (information for the alert's description, not a failure: the hook
// may be called by another notify script).
import * as fs from 'node:fs';
import type { Clock } from '../context';
import type { NginxStartHookEvent, NodeEvent } from '../state/types';
import type { KeepalivedConf } from '../keepalived/confTypes';
import type { Probe } from './probe';

export interface StartHookProbeOptions {
  path: string;
  clock: Clock;
  /** The last parse of keepalived.conf (undefined: not read yet). */
  conf?: () => KeepalivedConf | undefined;
  stat?: (p: string) => fs.Stats;
}

/** Is `path` named by a notify or notify_master hook of an instance or sync group? */
export function startHookReferenced(conf: KeepalivedConf, path: string): boolean {
  const hooks = [...conf.instances.map((i) => i.notify), ...conf.syncGroups.map((g) => g.notify)];
  // A hook line is "script arg arg" (quoted or not): the script is its first word.
  return hooks.some((n) => [n.master, n.notify].some((cmd) => cmd !== undefined && cmd.trim().split(/\s+/)[0] === path));
}

export class StartHookProbe implements Probe {
  readonly name = 'nginx_start_hook';
  readonly source = 'nginx_probe';

  constructor(private readonly opts: StartHookProbeOptions) {}

  async run(signal: AbortSignal): Promise<NodeEvent[]> {
    signal.throwIfAborted();
    return [this.check()];
  }

  /** A missing or unusable start hook fails the run; not being named in keepalived.conf does not. */
  judge(events: NodeEvent[]): string | undefined {
    for (const ev of events) if (ev.kind === 'nginx_start_hook' && !ev.ok) return ev.reason ?? 'nginx start hook missing';
    return undefined;
  }

  check(): NginxStartHookEvent {
    const { path } = this.opts;
    const conf = this.opts.conf?.();
    const base = {
      kind: 'nginx_start_hook' as const,
      source: 'nginx_probe' as const,
      at: this.opts.clock.now(),
      path,
      referenced: conf && conf.files.length ? startHookReferenced(conf, path) : undefined,
    };
    let st: fs.Stats;
    try {
      st = (this.opts.stat ?? fs.statSync)(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { ...base, ok: false, reason: code === 'ENOENT' ? `${path} does not exist` : `cannot stat ${path}: ${code ?? (e as Error).message}` };
    }
    if (!st.isFile()) return { ...base, ok: false, reason: `${path} is not a regular file` };
    if ((st.mode & 0o111) === 0) {
      return { ...base, ok: false, reason: `${path} is not executable (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})` };
    }
    return { ...base, ok: true };
  }
}
