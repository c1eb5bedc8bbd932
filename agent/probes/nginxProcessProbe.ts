// Is nginx's master process alive: the pid from nginx.pid_file, signal 0 to it, and
// /proc/<pid>/comm saying "nginx" (a stale pid file pointing at a reused pid is not nginx).
// It also notices a restart (new pid or start time) or a reload (new worker processes) and
// calls onMasterChange, so the config probe re-checks `nginx -T` right after.
//
// Between its scheduled runs it watches the master it knows (start()): every watchIntervalMs a
// signal 0 to the pid, a read of its /proc stat (a zombie is dead) and a stat of the pid file (tens
// of microseconds), so a death is seen in a fraction of a second, and a rewritten pid file
// (restart, binary upgrade, a start after a death) at once. A master that vanishes is reported down only when no new master took its place within
// restartGraceMs: a restart (systemctl restart: the old master exits, `nginx -t`, a new one starts)
// leaves a gap of that order and must not page; a reload (SIGHUP) keeps the master and its pid and
// is no gap at all.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../context';
import type { NginxProcessEvent, NodeEvent } from '../state/types';
import type { Probe } from './probe';

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
  /** How often start() checks the known master between runs, ms (0: no watch). */
  watchIntervalMs?: number;
  /** How long a vanished master may take to be replaced (a restart) before it is reported down, ms. */
  restartGraceMs?: number;
  /** Identity of the pid file (changes when it is rewritten or removed); fs.statSync by default. */
  fileStamp?: (p: string) => string | undefined;
}

/** The watch of the known master: four cheap checks a second. */
export const NGINX_WATCH_INTERVAL_MS = 250;
/** A restart's gap (old master gone, `nginx -t`, new master up) on an ordinary host is well under this. */
export const NGINX_RESTART_GRACE_MS = 1000;

function statStamp(p: string): string | undefined {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  return st ? `${st.ino}:${st.mtimeMs}:${st.size}` : undefined;
}

export class NginxProcessProbe implements Probe {
  readonly name = 'nginx_process';
  readonly source = 'nginx_probe';
  private identity?: { pid: number; start: string; workers: string };
  private readonly read: (p: string) => string;
  private readonly stamp: (p: string) => string | undefined;
  private readonly restartGraceMs: number;
  /** The verdict last reported: up with this pid, or down (undefined before the first). */
  private reported?: { up: boolean; pid?: number };
  /** When the reported master was first seen gone (a restart may still bring a new one). */
  private goneAt?: number;
  /** The pid file's stamp at the last full check. */
  private lastStamp?: string;
  private watch?: NodeJS.Timeout;
  /** Ends a vanished master's grace on time rather than at the next watch tick. */
  private graceTimer?: NodeJS.Timeout;
  private emit?: (ev: NodeEvent) => void;

  constructor(private readonly opts: NginxProcessProbeOptions) {
    this.read = opts.readFile ?? ((p) => fs.readFileSync(p, 'utf8'));
    this.stamp = opts.fileStamp ?? statStamp;
    this.restartGraceMs = opts.restartGraceMs ?? NGINX_RESTART_GRACE_MS;
  }

  async run(signal: AbortSignal): Promise<NodeEvent[]> {
    signal.throwIfAborted();
    const ev = this.verdict();
    // Nothing while a vanished master may still be replaced: neither up (it is gone) nor down (yet).
    return ev ? [ev] : [];
  }

  /** A master reported down fails the run (no event while a restart's grace runs: no verdict yet). */
  judge(events: NodeEvent[]): string | undefined {
    for (const ev of events) if (ev.kind === 'nginx_process' && !ev.up) return ev.reason ?? 'nginx_process down';
    return undefined;
  }

  async start(emit: (ev: NodeEvent) => void): Promise<void> {
    const every = this.opts.watchIntervalMs ?? NGINX_WATCH_INTERVAL_MS;
    this.emit = emit;
    if (every > 0) this.watch = this.opts.clock.setInterval(() => this.tick(), every);
  }

  async stop(): Promise<void> {
    this.opts.clock.clearInterval(this.watch);
    this.opts.clock.clearTimeout(this.graceTimer);
    this.watch = undefined;
    this.graceTimer = undefined;
    this.emit = undefined;
  }

  /** One watch step: a full check only when something changed (or a vanished master's grace runs). */
  tick(): void {
    if (!this.reported) return; // the first scheduled run has not said anything yet
    let changed = this.goneAt !== undefined || this.stampNow() !== this.lastStamp;
    if (!changed && this.reported.up && this.reported.pid !== undefined) changed = !this.alive(this.reported.pid);
    if (!changed) return;
    const ev = this.verdict();
    if (ev && this.emit) this.emit(ev);
  }

  /** A full check, with a vanished master's grace: the event to report, or undefined while the grace runs. */
  private verdict(): NginxProcessEvent | undefined {
    this.lastStamp = this.stampNow();
    const ev = this.check();
    const prev = this.reported;
    if (ev.up) {
      this.goneAt = undefined;
      this.reported = { up: true, pid: ev.pid };
      return ev;
    }
    if (prev?.up) {
      if (this.goneAt === undefined) {
        this.goneAt = ev.at;
        if (this.watch) {
          this.graceTimer = this.opts.clock.setTimeout(() => {
            this.graceTimer = undefined;
            this.tick();
          }, this.restartGraceMs);
        }
      }
      if (ev.at - this.goneAt < this.restartGraceMs) return undefined;
    }
    this.opts.clock.clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.goneAt = undefined;
    this.reported = { up: false };
    return ev;
  }

  private stampNow(): string | undefined {
    try {
      return this.stamp(this.opts.pidFile);
    } catch (e) {
      return `error:${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
  }

  /** Signal 0, and not a zombie: a daemonized master that exited stays one until init reaps it
   *  (seen for over a second under a slow init), and signal 0 still reaches it. */
  private alive(pid: number): boolean {
    try {
      (this.opts.signal0 ?? ((p: number) => process.kill(p, 0)))(pid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
    }
    try {
      const stat = this.read(path.join(this.opts.procRoot ?? '/proc', String(pid), 'stat'));
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
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
      // Fields 3 (state) and 22 (starttime) of stat, counted after the ")" that ends comm.
      const stat = this.read(path.join(proc, String(pid), 'stat'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // A zombie has exited: its parent has not reaped it yet.
      if (fields[0] === 'Z') return this.down(base, `pid ${pid} from ${this.opts.pidFile} has exited`, pid);
      start = fields[19] ?? '';
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
