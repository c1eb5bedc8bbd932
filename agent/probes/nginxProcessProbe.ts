// Is nginx's master process alive: the pid from nginx.pid_file, signal 0 to it, and
// /proc/<pid>/comm saying "nginx" (a stale pid file pointing at a reused pid is not nginx).
// It also notices a restart (new pid or start time) or a reload (new worker processes) and
// calls onMasterChange, so the config probe re-checks `nginx -T` right after.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../context';
import type { NginxProcessEvent, NodeEvent } from '../state/types';
import type { JudgedProbe } from './scheduler';

export interface NginxProcessProbeOptions {
  pidFile: string;
  clock: Clock;
  /** /proc by default (tests point it at a fixture tree). */
  procRoot?: string;
  readFile?: (p: string) => string;
  /** process.kill(pid, 0) by default. */
  signal0?: (pid: number) => void;
  /** Called when nginx restarted or reloaded since the last run (not on the first run). */
  onMasterChange?: (why: string) => void;
}

export class NginxProcessProbe implements JudgedProbe {
  readonly name = 'nginx_process';
  private identity?: { pid: number; start: string; workers: string };
  private readonly read: (p: string) => string;

  constructor(private readonly opts: NginxProcessProbeOptions) {
    this.read = opts.readFile ?? ((p) => fs.readFileSync(p, 'utf8'));
  }

  async run(signal: AbortSignal): Promise<NodeEvent[]> {
    signal.throwIfAborted();
    const ev = this.check();
    return [ev];
  }

  check(): NginxProcessEvent {
    const at = this.opts.clock.now();
    const base = { kind: 'nginx_process' as const, source: 'nginx_probe' as const, at };
    const proc = this.opts.procRoot ?? '/proc';
    let text: string;
    try {
      text = this.read(this.opts.pidFile);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return this.down(base, code === 'ENOENT' ? `no pid file ${this.opts.pidFile} (nginx not running?)` : `cannot read ${this.opts.pidFile}: ${code ?? (e as Error).message}`);
    }
    const pid = /^\s*(\d{1,10})\s*$/.test(text) ? Number(text.trim()) : NaN;
    if (!Number.isSafeInteger(pid) || pid <= 0) return this.down(base, `${this.opts.pidFile} holds no pid`);
    try {
      (this.opts.signal0 ?? ((p: number) => process.kill(p, 0)))(pid);
    } catch (e) {
      // EPERM: it exists but belongs to someone else; comm below decides.
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') return this.down(base, `pid ${pid} from ${this.opts.pidFile} is not running`, pid);
    }
    let comm = '';
    let start = '';
    let workers = '';
    try {
      comm = this.read(path.join(proc, String(pid), 'comm')).trim();
      // Field 22 (starttime) of stat, counted after the ")" that ends comm.
      const stat = this.read(path.join(proc, String(pid), 'stat'));
      start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
    } catch {
      return this.down(base, `pid ${pid} from ${this.opts.pidFile} is not running`, pid);
    }
    if (comm !== 'nginx') return this.down(base, `pid ${pid} from ${this.opts.pidFile} is "${comm}", not nginx (stale pid file)`, pid);
    try {
      workers = this.read(path.join(proc, String(pid), 'task', String(pid), 'children')).trim().split(/\s+/).sort().join(' ');
    } catch {
      /* kernels without CONFIG_PROC_CHILDREN: restarts are still seen, reloads not */
    }
    const prev = this.identity;
    this.identity = { pid, start, workers };
    if (prev && this.opts.onMasterChange) {
      if (prev.pid !== pid || prev.start !== start) this.opts.onMasterChange(`nginx master changed (pid ${prev.pid} -> ${pid})`);
      else if (workers && prev.workers && prev.workers !== workers) this.opts.onMasterChange('nginx workers replaced (reload)');
    }
    return { ...base, up: true, pid };
  }

  private down(base: { kind: 'nginx_process'; source: 'nginx_probe'; at: number }, reason: string, pid?: number): NginxProcessEvent {
    // A later start is a change too (the config may differ from the one last checked).
    this.identity = { pid: -1, start: '', workers: '' };
    return { ...base, up: false, pid, reason };
  }
}
