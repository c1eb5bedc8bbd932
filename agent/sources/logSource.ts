// Keepalived's log as a source of state: a log file followed like `tail -F` (rotation,
// truncation, deletion and re-creation survived), or journald through journalctl. The log is the
// fallback where keepalived is built without D-Bus; both keepalived generations' lines are parsed
// (parse/logLine.ts). Lines about other things are ignored; malformed state lines are counted.
import type { Ctx } from '../context';
import type { NodeEvent } from '../state/types';
import { FileFollower } from './fileFollower';
import { JournalFollower, type JournalEntry } from './journalFollower';
import { parseLogLine } from './parse/logLine';
import type { BackoffOptions } from './retryBackoff';
import type { Emit, Source } from './source';
import { SourceReporter } from './sourceReporter';

export interface LogSourceOptions {
  /** A log file, or "journal" for journald. */
  path: string;
  /** journal mode: argv of journalctl (default: follow Keepalived_vrrp and Keepalived as JSON). */
  journalctlCommand?: string[];
  /** file mode: read the file from its beginning (default: from its end, like tail -F). */
  fromStart?: boolean;
  /** Longest accepted line (default 16 KiB for a file, 64 KiB for a journal JSON entry). */
  maxLineBytes?: number;
  /** file mode: the stat fallback's period beside fs.watch (default 1000 ms). */
  checkIntervalMs?: number;
  /** journal mode: restart backoff of journalctl. */
  backoff?: BackoffOptions;
}

export interface LogSourceStats {
  lines: number;
  events: number;
  parseErrors: number;
}

export class LogSource implements Source {
  readonly name = 'log' as const;
  readonly stats: LogSourceStats = { lines: 0, events: 0, parseErrors: 0 };
  private readonly log: Ctx['log'];
  private readonly follower: FileFollower | JournalFollower;
  private readonly report: SourceReporter;

  constructor(private readonly opts: LogSourceOptions, private readonly ctx: Ctx, emitEvent: Emit) {
    this.log = ctx.log.child({ source: 'log', path: opts.path });
    this.report = new SourceReporter('log', emitEvent, ctx.clock, this.log, 'keepalived log');
    const onHealth = (up: boolean, error?: string) => {
      if (up) {
        this.log.info('reading keepalived log');
        this.report.up();
      } else {
        this.report.down(error ?? 'unknown error');
      }
    };
    if (opts.path === 'journal') {
      this.follower = new JournalFollower({
        command: opts.journalctlCommand,
        maxLineBytes: opts.maxLineBytes,
        backoff: opts.backoff,
        clock: ctx.clock,
        onEntry: (e, readAt) => this.onJournalEntry(e, readAt),
        onBadLine: (reason, input, readAt) => this.parseError('journal', reason, input, readAt),
        onHealth,
      });
    } else {
      this.follower = new FileFollower({
        path: opts.path,
        fromStart: opts.fromStart,
        maxLineBytes: opts.maxLineBytes,
        checkIntervalMs: opts.checkIntervalMs,
        clock: ctx.clock,
        onLine: (line, readAt) => this.onLine(line, { readAt }),
        onOverlong: (head, readAt) => this.parseError('overlong', `line longer than ${opts.maxLineBytes ?? 16 * 1024} bytes, skipped`, head, readAt),
        onHealth,
        onNotice: (what, detail) => this.log.info(detail, what),
      });
    }
  }

  /** Starts following; a missing file or journalctl is a source-down event and a retry, never a throw. */
  start(): Promise<void> {
    return this.follower.start();
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }

  /** journal mode: the journalctl argv of the next (re)start. */
  journalArgv(): string[] | undefined {
    return this.follower instanceof JournalFollower ? this.follower.argv() : undefined;
  }

  private onJournalEntry(e: JournalEntry, readAt: number): void {
    // A journal MESSAGE may hold several lines (rare for keepalived): each is a log line.
    for (const line of e.message.split('\n')) this.onLine(line, { readAt, time: e.time, ident: e.ident });
  }

  private onLine(line: string, lctx: { readAt: number; time?: number; ident?: string }): void {
    this.stats.lines++;
    const r = parseLogLine(line, lctx);
    if (r.ok) {
      for (const ev of r.events) this.emit(ev);
    } else {
      this.parseError(r.code, r.reason, line, lctx.readAt);
    }
  }

  private parseError(code: string, reason: string, input: string, at: number): void {
    this.stats.parseErrors++;
    this.report.parseError(code, reason, at, input);
  }

  private emit(ev: NodeEvent): void {
    this.stats.events++;
    this.report.emit(ev);
  }
}

export function logSource(opts: LogSourceOptions, ctx: Ctx, emit: Emit): LogSource {
  return new LogSource(opts, ctx, emit);
}
