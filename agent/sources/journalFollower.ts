// Follows journald through `journalctl -f -o json`: one JSON object per line, with MESSAGE,
// SYSLOG_IDENTIFIER, _PID, __REALTIME_TIMESTAMP (µs) and __CURSOR. journalctl is the stable
// interface to the journal (its files' format is internal), and needs no native module.
// When journalctl exits it is restarted with backoff, after the last cursor seen, so nothing
// written meanwhile is lost.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../context';
import { LineSplitter } from './lineSplitter';
import { RetryBackoff, type BackoffOptions } from '../backoff';
import { errText } from '../errors';

/**
 * The VRRP process's messages, and the parent's (it logs the VRRP child's start, death and its
 * own stop). -n 0: only what comes after the start; state is re-read from the other sources.
 */
export const DEFAULT_JOURNALCTL_COMMAND = [
  'journalctl', '-f', '-o', 'json', '-n', '0', 'SYSLOG_IDENTIFIER=Keepalived_vrrp', 'SYSLOG_IDENTIFIER=Keepalived',
];

export interface JournalEntry {
  message: string;
  /** ms since epoch (__REALTIME_TIMESTAMP, which is µs). */
  time?: number;
  ident?: string;
  pid?: number;
}

export interface JournalFollowerOptions {
  /** argv of journalctl (default DEFAULT_JOURNALCTL_COMMAND); `--after-cursor=` is appended on restarts. */
  command?: string[];
  /**
   * The cursor of the last entry the agent read before it went down: the entries after it are
   * read first (journalctl without --follow: the backlog), then followed from there.
   */
  afterCursor?: string;
  /** Called once, when the backlog has been read (or there was none). */
  onBacklogDone?(): void;
  /** The backlog run's longest time (default 30 s); then it is stopped and following starts. */
  backlogTimeoutMs?: number;
  maxLineBytes?: number;
  backoff?: BackoffOptions;
  clock: Clock;
  /** An entry; backlog: logged while the agent was down (see afterCursor). */
  onEntry(entry: JournalEntry, readAt: number, backlog: boolean): void;
  onBadLine(reason: string, input: string, readAt: number): void;
  onHealth(up: boolean, error?: string): void;
  onNotice?(what: string, detail: Record<string, unknown>): void;
}

/**
 * The command without following and without a line count: what was logged after a cursor, then
 * exit. -q: without it journalctl prints "-- No entries --" (and "-- Reboot --") as plain text
 * between the JSON entries.
 */
export function backlogArgv(command: string[], cursor: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < command.length; i++) {
    const a = command[i];
    if (a === '-f' || a === '--follow') continue;
    if (a === '-n' || a === '--lines') {
      i++;
      continue;
    }
    if (/^-n\d+$/.test(a) || a.startsWith('--lines=')) continue;
    out.push(a);
  }
  if (!out.includes('-q') && !out.includes('--quiet')) out.push('-q');
  return [...out, `--after-cursor=${cursor}`];
}

/** A child that ran this long was healthy: the next failure starts the backoff afresh. */
const HEALTHY_RUN_MS = 10_000;
const STDERR_KEEP = 400;

export class JournalFollower {
  private running = false;
  private child: ChildProcess | undefined;
  private cursor: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: RetryBackoff;
  private readonly command: string[];
  private health: { up: boolean; error?: string } | undefined;
  private readAt = 0;
  private startedAt = 0;

  constructor(private readonly opts: JournalFollowerOptions) {
    this.command = opts.command && opts.command.length ? opts.command : DEFAULT_JOURNALCTL_COMMAND;
    this.backoff = new RetryBackoff({ initialMs: 500, maxMs: 30_000, ...opts.backoff });
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.opts.afterCursor) await this.readBacklog(this.opts.afterCursor);
    this.backlogFinished();
    await this.spawnChild();
  }

  /** The cursor of the last entry read (to resume after it). */
  lastCursor(): string | undefined {
    return this.cursor;
  }

  private backlogDone = false;

  private backlogFinished(): void {
    if (this.backlogDone) return;
    this.backlogDone = true;
    this.opts.onBacklogDone?.();
  }

  /** journalctl without --follow after the saved cursor, to its exit: the backlog. */
  private readBacklog(cursor: string): Promise<void> {
    const [cmd, ...args] = backlogArgv(this.command, cursor);
    this.cursor = cursor;
    return new Promise<void>((resolve) => {
      let stderr = '';
      let child: ChildProcess;
      try {
        child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        this.opts.onNotice?.('cannot read the journal backlog', { error: errText(e) });
        this.cursor = undefined;
        resolve();
        return;
      }
      this.child = child;
      const timer = setTimeout(() => child.kill('SIGKILL'), this.opts.backlogTimeoutMs ?? 30_000);
      const splitter = this.readOutput(child, true, (text) => (stderr = (stderr + text).slice(-STDERR_KEEP)));
      child.once('error', (e) => {
        // Not startable (journalctl missing): following reports it.
        clearTimeout(timer);
        if (this.child === child) this.child = undefined;
        this.opts.onNotice?.('cannot read the journal backlog', { error: e.message });
        resolve();
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        splitter.flush();
        if (this.child === child) this.child = undefined;
        if (code !== 0) {
          // A cursor the journal no longer has (vacuumed, another machine's): follow from now.
          this.opts.onNotice?.('journal backlog not read: following from now', { exit: signal ?? code, stderr: stderr.trim().split('\n').pop() });
          if (this.cursor === cursor) this.cursor = undefined;
        }
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.backlogFinished();
    this.opts.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 2000);
      child.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** The argv of the next start: after the last cursor seen, so nothing is read twice or skipped. */
  private argv(): string[] {
    return this.cursor ? [...this.command, `--after-cursor=${this.cursor}`] : [...this.command];
  }

  private setHealth(up: boolean, error?: string): void {
    if (this.health && this.health.up === up && this.health.error === error) return;
    this.health = { up, error };
    this.opts.onHealth(up, error);
  }

  private spawnChild(): Promise<void> {
    if (!this.running) return Promise.resolve();
    const [cmd, ...args] = this.argv();
    let stderr = '';
    let settled = false;
    return new Promise<void>((resolve) => {
      const settle = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      let child: ChildProcess;
      try {
        child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        this.failed(`cannot run ${cmd}: ${errText(e)}`);
        settle();
        return;
      }
      this.child = child;
      const splitter = this.readOutput(child, false, (text) => (stderr = (stderr + text).slice(-STDERR_KEEP)));
      child.once('spawn', () => {
        this.startedAt = this.opts.clock.now();
        this.setHealth(true);
        settle();
      });
      child.once('error', (e: NodeJS.ErrnoException) => {
        if (this.child !== child) return;
        this.child = undefined;
        const why = e.code === 'ENOENT'
          ? `${cmd} not found: journald needs journalctl (systemd); or set keepalived.log to a log file`
          : `cannot run ${cmd}: ${e.message}`;
        this.failed(why);
        settle();
      });
      child.once('close', (code, signal) => {
        splitter.flush();
        if (this.child !== child) return;
        this.child = undefined;
        if (!this.running) return;
        if (this.opts.clock.now() - this.startedAt >= HEALTHY_RUN_MS) this.backoff.reset();
        const tail = stderr.trim().split('\n').pop() ?? '';
        this.failed(`${cmd} exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}`);
        settle();
      });
    });
  }

  private failed(error: string): void {
    this.setHealth(false, error);
    if (!this.running || this.retryTimer) return;
    this.retryTimer = this.opts.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.spawnChild();
    }, this.backoff.next());
  }

  /** Splits journalctl's stdout into entries (history: the backlog run) and hands its stderr on; the caller flushes the splitter at exit. */
  private readOutput(child: ChildProcess, history: boolean, onStderr: (text: string) => void): LineSplitter {
    const maxLineBytes = this.opts.maxLineBytes ?? 64 * 1024;
    const splitter = new LineSplitter({
      maxLineBytes,
      onLine: (l) => this.onLine(l, history),
      onOverlong: (h) => this.opts.onBadLine(`journal entry longer than ${maxLineBytes} bytes, skipped`, h, this.readAt),
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      this.readAt = this.opts.clock.now();
      splitter.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => onStderr(chunk.toString('utf8')));
    return splitter;
  }

  private onLine(line: string, backlog: boolean): void {
    if (line.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      this.opts.onBadLine('journalctl output is not JSON (is -o json set?)', line, this.readAt);
      return;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      this.opts.onBadLine('journal entry is not a JSON object', line, this.readAt);
      return;
    }
    const rec = obj as Record<string, unknown>;
    if (typeof rec.__CURSOR === 'string') this.cursor = rec.__CURSOR;
    const message = fieldText(rec.MESSAGE);
    if (message === undefined) {
      this.opts.onBadLine('journal entry has no MESSAGE', line, this.readAt);
      return;
    }
    const us = typeof rec.__REALTIME_TIMESTAMP === 'string' && /^\d{1,20}$/.test(rec.__REALTIME_TIMESTAMP) ? Number(rec.__REALTIME_TIMESTAMP) : undefined;
    const pid = typeof rec._PID === 'string' && /^\d+$/.test(rec._PID) ? Number(rec._PID) : undefined;
    this.opts.onEntry(
      {
        message,
        time: us !== undefined && Number.isFinite(us) ? Math.floor(us / 1000) : undefined,
        ident: fieldText(rec.SYSLOG_IDENTIFIER),
        pid,
      },
      this.readAt,
      backlog,
    );
  }
}

/** journald gives text fields as strings, or as arrays of bytes when they are not valid UTF-8. */
function fieldText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length <= 1 << 20 && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    return Buffer.from(v as number[]).toString('utf8');
  }
  return undefined;
}
