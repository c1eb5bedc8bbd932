// Keepalived's log as a source of state: a log file followed like `tail -F` (rotation,
// truncation, deletion and re-creation survived), or journald through journalctl. The log is the
// fallback where keepalived is built without D-Bus; both keepalived generations' lines are parsed
// (parse/logLine.ts). Lines about other things are ignored; malformed state lines are counted.
// With a position file, where reading stopped is kept (file and offset, or journal cursor): the
// next start reads what was logged while the agent was down, as history (the backlog).
import type { NodeEvent } from '../state/types';
import { FileFollower, type FilePlace } from './fileFollower';
import { JournalFollower, type JournalEntry } from './journalFollower';
import { parseLogLine } from './parse/logLine';
import { ReadPositionFile, type ReadPosition } from './readPosition';
import type { BackoffOptions } from '../backoff';
import { errText } from '../errors';
import type { Source, SourceEnv, SourceFactory } from './source';
import type { SourceReporter } from './sourceReporter';

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
  /** Where the read position is kept across restarts (none: read from the end at start, as tail -F). */
  positionFile?: string;
  /** Called once when what was logged while the agent was down has been read. */
  onBacklogDone?(): void;
  /** Without news, the position is saved at most this often (default 5 s); after a line that says something, at once. */
  positionSaveIntervalMs?: number;
}

export interface LogSourceStats {
  lines: number;
  events: number;
  parseErrors: number;
}

export class LogSource implements Source {
  readonly name = 'log' as const;
  readonly stats: LogSourceStats = { lines: 0, events: 0, parseErrors: 0 };
  private readonly log: SourceEnv['log'];
  private readonly clock: SourceEnv['clock'];
  private readonly follower: FileFollower | JournalFollower;
  private readonly report: SourceReporter;
  private readonly positions: ReadPositionFile | undefined;
  private lastSave = 0;
  private lastSaved = '';
  /** Events emitted since the position was last saved. */
  private unsaved = false;

  constructor(private readonly opts: LogSourceOptions, env: SourceEnv) {
    this.log = env.log.child({ path: opts.path });
    this.clock = env.clock;
    this.report = env.report;
    this.positions = opts.positionFile ? new ReadPositionFile(opts.positionFile) : undefined;
    const saved = this.loadPosition();
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
        afterCursor: saved?.kind === 'journal' ? saved.cursor : undefined,
        onBacklogDone: () => opts.onBacklogDone?.(),
        maxLineBytes: opts.maxLineBytes,
        backoff: opts.backoff,
        clock: env.clock,
        onEntry: (e, readAt, backlog) => {
          this.onJournalEntry(e, readAt, backlog);
          this.savePosition(false);
        },
        onBadLine: (reason, input, readAt) => this.parseError('journal', reason, input, readAt),
        onHealth,
        onNotice: (what, detail) => this.log.warn(detail, what),
      });
    } else {
      const resume: FilePlace | undefined = saved?.kind === 'file' && saved.path === opts.path ? saved : undefined;
      this.follower = new FileFollower({
        path: opts.path,
        fromStart: opts.fromStart,
        resume,
        onBacklogDone: () => opts.onBacklogDone?.(),
        maxLineBytes: opts.maxLineBytes,
        checkIntervalMs: opts.checkIntervalMs,
        clock: env.clock,
        onLine: (line, readAt, backlog) => this.onLine(line, { readAt, backlog }),
        onOverlong: (head, readAt) => this.parseError('overlong', `line longer than ${opts.maxLineBytes ?? 16 * 1024} bytes, skipped`, head, readAt),
        onHealth,
        onNotice: (what, detail) => this.log.info(detail, what),
        onRead: () => this.savePosition(false),
      });
    }
  }

  /** Starts following; a missing file or journalctl is a source-down event and a retry, never a throw. */
  start(): Promise<void> {
    return this.follower.start();
  }

  async stop(): Promise<void> {
    await this.follower.stop();
    this.savePosition(true);
  }

  /** Where reading stands (what the position file gets). */
  position(): ReadPosition | undefined {
    if (this.follower instanceof JournalFollower) {
      const cursor = this.follower.lastCursor();
      return cursor ? { kind: 'journal', cursor } : undefined;
    }
    const p = this.follower.place();
    return p ? { kind: 'file', path: this.opts.path, ...p } : undefined;
  }

  private loadPosition(): ReadPosition | undefined {
    if (!this.positions) return undefined;
    try {
      const p = this.positions.load();
      if (p && (p.kind === 'journal') !== (this.opts.path === 'journal')) return undefined;
      if (p) this.log.info({ position: p, file: this.positions.file }, 'reading what keepalived logged since the last read position');
      return p;
    } catch (e) {
      this.log.warn({ err: errText(e) }, 'log read position not usable: reading the log from its end');
      return undefined;
    }
  }

  /** Saves the read position: at once after a line that said something, else at most every interval. */
  private savePosition(force: boolean): void {
    if (!this.positions) return;
    const now = this.clock.now();
    if (!force && !this.unsaved && now - this.lastSave < (this.opts.positionSaveIntervalMs ?? 5000)) return;
    const p = this.position();
    if (!p) return;
    const text = JSON.stringify(p);
    this.lastSave = now;
    this.unsaved = false;
    if (text === this.lastSaved) return;
    try {
      this.positions.save(p);
      this.lastSaved = text;
    } catch (e) {
      this.report.once(`position:${(e as NodeJS.ErrnoException).code ?? 'error'}`, () =>
        this.log.warn({ err: errText(e), file: this.positions!.file }, 'cannot save the log read position (after a restart the log is read from its end)'),
      );
    }
  }

  private onJournalEntry(e: JournalEntry, readAt: number, backlog: boolean): void {
    // A journal MESSAGE may hold several lines (rare for keepalived): each is a log line.
    for (const line of e.message.split('\n')) this.onLine(line, { readAt, time: e.time, ident: e.ident, backlog });
  }

  private onLine(line: string, lctx: { readAt: number; time?: number; ident?: string; backlog?: boolean }): void {
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
    this.unsaved = true;
    this.report.emit(ev);
  }
}

export const logSource: SourceFactory<LogSourceOptions, LogSource> = (opts, env) => new LogSource(opts, env);
