// Keepalived's notify FIFO (vrrp_notify_fifo / notify_fifo), owned by the agent.
//
// The agent creates the FIFO (mkfifo) and opens it read-write and non-blocking: holding a write
// end itself means it never reads EOF when keepalived closes it (restart, reload), and keepalived,
// which opens it non-blocking too and drops lines when the pipe is full, always finds a reader
// draining it. Reads go through libuv (net.Socket on the fd), so lines are handled as they arrive,
// with no polling. If the FIFO is deleted or replaced, a new one is created and opened; the old one
// stays open and drained until the new one carries data, because a running keepalived keeps
// writing to the FIFO it opened until it restarts. The FIFO is left in place on stop: keepalived
// may still hold it, and whatever it writes meanwhile (up to the pipe's 64 KiB) is read on restart.
// What the pipe holds when it is opened is the backlog: read at once, before any live line, and
// marked as history. FIFO lines carry no time; the kernel stamps the FIFO's mtime on each write,
// so the backlog's lines happened at or before the FIFO's last write (the store bounds them below
// by the agent's last known time).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { NodeEvent } from '../state/types';
import { CoalescedRun } from './coalescedRun';
import { LineSplitter } from './lineSplitter';
import { parseFifoLine } from './parse/fifoLine';
import { RetryBackoff, type BackoffOptions } from '../backoff';
import { errText } from '../errors';
import type { Source, SourceEnv, SourceFactory } from './source';
import type { SourceReporter } from './sourceReporter';

export interface FifoSourceOptions {
  /** Where the FIFO lives; keepalived's vrrp_notify_fifo must name the same path. */
  path: string;
  /** Permissions of a FIFO the agent creates (default 0600: keepalived runs as root). */
  mode?: number;
  /** The mkfifo program (default "mkfifo", from coreutils). */
  mkfifoCommand?: string;
  /** Longest accepted line; keepalived's lines are under 600 bytes. */
  maxLineBytes?: number;
  /** Low-frequency check that the FIFO is still there, besides fs.watch (default 1000 ms). */
  checkIntervalMs?: number;
  backoff?: BackoffOptions;
  /** Called once, after the first open at start read the backlog (or failed). */
  onBacklogDone?(): void;
}

/** What the source has done, for tests and benchmarks. */
export interface FifoSourceStats {
  bytes: number;
  lines: number;
  events: number;
  parseErrors: number;
  /** Times the FIFO was (re)created by the agent. */
  created: number;
  /** Lines that were in the pipe when it was opened (written while nobody read it). */
  backlogLines: number;
}

interface Reader {
  fdPath: string;
  dev: number;
  ino: number;
  socket: net.Socket;
  splitter: LineSplitter;
  gotData: boolean;
  /** What the pipe held at open, and the latest it can have been written. */
  backlog?: { chunks: Buffer[]; latest: number };
}

/** The kernel stamps a FIFO's mtime from its coarse clock (one tick behind at most): the margin added. */
const MTIME_SLACK_MS = 10;
/** Most bytes read from the pipe at open (a pipe holds 64 KiB by default, 1 MiB at most unprivileged). */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

/** Old FIFOs kept open at most (keepalived may still write to them). */
const MAX_RETIRED = 2;

export class FifoSource implements Source {
  readonly name = 'fifo' as const;
  readonly stats: FifoSourceStats = { bytes: 0, lines: 0, events: 0, parseErrors: 0, created: 0, backlogLines: 0 };

  private readonly log: SourceEnv['log'];
  private readonly clock: SourceEnv['clock'];
  private readonly mode: number;
  private readonly maxLineBytes: number;
  private readonly checkIntervalMs: number;
  private readonly backoff: RetryBackoff;
  private running = false;
  private current: Reader | undefined;
  private retired: Reader[] = [];
  private watcher: fs.FSWatcher | undefined;
  private interval: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly checks = new CoalescedRun(() => this.checkOnce(), () => this.running);
  private readonly report: SourceReporter;

  constructor(private readonly opts: FifoSourceOptions, env: SourceEnv) {
    this.log = env.log;
    this.clock = env.clock;
    this.report = env.report;
    this.mode = opts.mode ?? 0o600;
    this.maxLineBytes = opts.maxLineBytes ?? 4096;
    this.checkIntervalMs = opts.checkIntervalMs ?? 1000;
    this.backoff = new RetryBackoff({ initialMs: 200, maxMs: 10_000, ...opts.backoff });
  }

  /** Creates and opens the FIFO; failures are reported as source events and retried, never thrown. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.watch();
    this.interval = this.clock.setInterval(() => {
      if (!this.watcher) this.watch();
      // While failing, the backoff timer paces the retries.
      if (!this.retryTimer) void this.check();
    }, this.checkIntervalMs);
    await this.check();
    this.opts.onBacklogDone?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.clock.clearInterval(this.interval);
    this.clock.clearTimeout(this.retryTimer);
    this.interval = this.retryTimer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    await this.checks.settled();
    for (const r of [...this.retired, ...(this.current ? [this.current] : [])]) this.closeReader(r);
    this.retired = [];
    this.current = undefined;
  }

  /** Makes sure the FIFO exists and the current reader reads it; serialised, coalesced. */
  check(): Promise<void> {
    return this.checks.request();
  }

  private watch(): void {
    if (!this.running) return;
    const dir = path.dirname(this.opts.path);
    const base = path.basename(this.opts.path);
    try {
      const w = fs.watch(dir, { persistent: false }, (event, filename) => {
        // 'change' fires on every write into the FIFO: only creation/deletion/rename matter here.
        if (event === 'rename' && (filename === null || filename === base)) void this.check();
      });
      w.on('error', () => {
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
    } catch {
      // Directory missing: the interval check reports it and retries the watch.
      this.watcher = undefined;
    }
  }

  private async checkOnce(): Promise<void> {
    if (!this.running) return;
    const p = this.opts.path;
    let st: fs.Stats | undefined;
    try {
      st = await fs.promises.stat(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return this.fail(`cannot stat FIFO ${p}: ${errText(e)}`);
    }
    if (st && !st.isFIFO()) {
      if (!st.isFile()) return this.fail(`${p} exists and is not a FIFO (${describe(st)}); remove it or choose another keepalived.notify_fifo`);
      // A regular file where the FIFO belongs (someone wrote to the path while it was missing):
      // kept aside, not deleted, in case the path was a typo for a file that matters.
      const aside = `${p}.not-a-fifo.${this.clock.now()}`;
      try {
        await fs.promises.rename(p, aside);
      } catch (e) {
        return this.fail(`${p} is a regular file, not a FIFO, and could not be moved aside: ${errText(e)}`);
      }
      this.report.down(`${p} was a regular file, not a FIFO: moved it to ${aside} and created the FIFO`);
      st = undefined;
    }
    if (!st) {
      try {
        await this.mkfifo(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return this.fail(`cannot create FIFO ${p}: ${errText(e)}`);
      }
      this.stats.created++;
      if (this.current) this.log.warn({ path: p }, 'notify FIFO was deleted: created a new one (the old one stays drained until keepalived reopens)');
      try {
        st = await fs.promises.stat(p);
      } catch (e) {
        return this.fail(`cannot stat FIFO ${p} after creating it: ${errText(e)}`);
      }
      if (!st.isFIFO()) return this.fail(`${p} is not a FIFO after mkfifo (${describe(st)})`);
    }
    if (this.current && this.current.dev === st.dev && this.current.ino === st.ino) {
      this.report.up();
      return;
    }
    let reader: Reader;
    try {
      reader = await this.openReader(p);
    } catch (e) {
      return this.fail(`cannot open FIFO ${p}: ${errText(e)}`);
    }
    if (!this.running) {
      this.closeReader(reader);
      return;
    }
    if (this.current) {
      this.retired.push(this.current);
      while (this.retired.length > MAX_RETIRED) this.closeReader(this.retired.shift()!);
    }
    this.current = reader;
    this.backoff.reset();
    this.log.info({ path: p, ino: reader.ino }, 'reading notify FIFO');
    this.report.up();
    if (reader.backlog) this.readBacklog(reader, reader.backlog);
    reader.backlog = undefined;
  }

  /** The lines the pipe held at open: history, each no later than the FIFO's last write. */
  private readBacklog(reader: Reader, b: { chunks: Buffer[]; latest: number }): void {
    const lines = this.stats.lines;
    this.stats.bytes += b.chunks.reduce((n, c) => n + c.length, 0);
    this.backlogAt = b.latest;
    try {
      for (const c of b.chunks) reader.splitter.push(c);
    } finally {
      this.backlogAt = undefined;
    }
    this.stats.backlogLines += this.stats.lines - lines;
    if (this.stats.lines > lines) this.log.info({ lines: this.stats.lines - lines, writtenBy: new Date(b.latest).toISOString() }, 'notify FIFO held lines written while the agent was not reading: applied as history');
  }

  /** Set while the backlog is split: its lines' latest time. */
  private backlogAt: number | undefined;

  private mkfifo(p: string): Promise<void> {
    const cmd = this.opts.mkfifoCommand ?? 'mkfifo';
    return new Promise((resolve, reject) => {
      execFile(cmd, ['-m', this.mode.toString(8), p], { timeout: 5000 }, (err, _stdout, stderr) => {
        if (!err) return resolve();
        const msg = String(stderr).trim();
        const e = new Error(msg || err.message) as NodeJS.ErrnoException;
        e.code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'ENOENT' : /File exists/.test(msg) ? 'EEXIST' : undefined;
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') e.message = `${cmd} not found (install coreutils or set mkfifoCommand)`;
        reject(e);
      });
    });
  }

  private async openReader(p: string): Promise<Reader> {
    const fd = await new Promise<number>((resolve, reject) => {
      fs.open(p, fs.constants.O_RDWR | fs.constants.O_NONBLOCK, (err, n) => (err ? reject(err) : resolve(n)));
    });
    let st: fs.Stats;
    let backlog: Reader['backlog'];
    try {
      st = await new Promise<fs.Stats>((resolve, reject) => fs.fstat(fd, (err, s) => (err ? reject(err) : resolve(s))));
      if (!st.isFIFO()) throw new Error(`${p} was replaced by a ${describe(st)} while opening it`);
      const chunks = drainNow(fd);
      if (chunks.length) {
        // Read, then stat: the mtime is that of the last write, at or after every line read.
        const mtime = fs.fstatSync(fd).mtimeMs;
        backlog = { chunks, latest: Math.min(this.clock.now(), Math.floor(mtime) + MTIME_SLACK_MS) };
      }
    } catch (e) {
      fs.close(fd, () => undefined);
      throw e;
    }
    const socket = new net.Socket({ fd, readable: true, writable: false });
    const reader: Reader = {
      fdPath: p,
      dev: st.dev,
      ino: st.ino,
      socket,
      gotData: false,
      backlog,
      splitter: new LineSplitter({
        maxLineBytes: this.maxLineBytes,
        onLine: (line) => this.onLine(line),
        onOverlong: (head) => this.parseError('overlong', `line longer than ${this.maxLineBytes} bytes, skipped`, head),
      }),
    };
    socket.on('data', (chunk: Buffer) => this.onData(reader, chunk));
    socket.on('error', (e) => this.onReaderEnd(reader, `FIFO read error: ${errText(e)}`));
    // Not expected (the agent holds a write end), but if the fd ends, reopen.
    socket.on('end', () => this.onReaderEnd(reader, 'FIFO read end closed'));
    return reader;
  }

  private onData(reader: Reader, chunk: Buffer): void {
    this.readAt = this.clock.now();
    this.stats.bytes += chunk.length;
    if (!reader.gotData) {
      reader.gotData = true;
      // Keepalived writes to the new FIFO: it has reopened, the old ones can go.
      if (reader === this.current && this.retired.length) {
        for (const r of this.retired) this.closeReader(r);
        this.retired = [];
      }
    }
    reader.splitter.push(chunk);
  }

  /** Read time of the chunk being split; every line of one read shares it. */
  private readAt = 0;

  private onLine(line: string): void {
    this.stats.lines++;
    const past = this.backlogAt;
    const r = parseFifoLine(line, past ?? this.readAt);
    if (r.ok) {
      for (const ev of r.events) this.emit(past === undefined ? ev : { ...ev, history: { bounded: true } });
    } else {
      this.parseError(r.code, r.reason, line);
    }
  }

  private parseError(code: string, reason: string, input: string): void {
    this.stats.parseErrors++;
    this.report.parseError(code, reason, this.readAt || this.clock.now(), input);
  }

  private onReaderEnd(reader: Reader, why: string): void {
    this.closeReader(reader);
    this.retired = this.retired.filter((r) => r !== reader);
    if (reader !== this.current) return;
    this.current = undefined;
    this.fail(why);
  }

  private closeReader(r: Reader): void {
    // keepalived writes each line with one write() (atomic under PIPE_BUF): an unfinished line
    // here is noise, not a line to parse.
    r.splitter.reset();
    r.socket.removeAllListeners('data');
    r.socket.removeAllListeners('end');
    // A late error of a closed socket must find a listener.
    r.socket.removeAllListeners('error');
    r.socket.on('error', () => undefined);
    r.socket.destroy(); // closes the fd
  }

  private emit(ev: NodeEvent): void {
    this.stats.events++;
    this.report.emit(ev);
  }

  private fail(error: string): void {
    this.report.down(error);
    if (!this.running || this.retryTimer) return;
    const delay = this.backoff.next();
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.check();
    }, delay);
  }
}

/** Whatever the pipe holds right now (the fd is non-blocking; the agent's own write end means no EOF). */
function drainNow(fd: number): Buffer[] {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < MAX_BACKLOG_BYTES) {
    const buf = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
    total += n;
  }
  return chunks;
}

function describe(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isFile()) return 'a regular file';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a FIFO';
}

export const fifoSource: SourceFactory<FifoSourceOptions, FifoSource> = (opts, env) => new FifoSource(opts, env);
