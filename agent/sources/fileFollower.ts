// Follows a text file like `tail -F`: from its end (or its start), through rotation by rename
// (the old file is read to its end, then the new one from its start), copytruncate (the size
// shrinks: read again from 0), deletion and re-creation. Driven by fs.watch on the directory
// (appends and renames arrive as events), with a low-frequency stat as the fallback for
// filesystems where inotify says nothing (NFS, some overlays): no fast polling.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../context';
import { LineSplitter } from './lineSplitter';

export interface FileFollowerOptions {
  path: string;
  /** Read the file present at start from its beginning (default: from its end). */
  fromStart?: boolean;
  maxLineBytes?: number;
  /** The stat fallback's period (default 1000 ms). */
  checkIntervalMs?: number;
  /** Bytes per read() (default 64 KiB). */
  readChunkBytes?: number;
  clock: Clock;
  /** A complete line, with the time it was read. */
  onLine(line: string, readAt: number): void;
  onOverlong(head: string, readAt: number): void;
  /** Whether the file can be read; called on changes only. */
  onHealth(up: boolean, error?: string): void;
  /** Rotation, truncation, re-creation: for the log. */
  onNotice?(what: string, detail: Record<string, unknown>): void;
}

/** Bytes read in one pass before yielding to the event loop (a big backlog is read in slices). */
const SLICE_BYTES = 4 * 1024 * 1024;

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err && err.code ? `${err.code}: ${err.message}` : String((e as Error)?.message ?? e);
}

export class FileFollower {
  private running = false;
  private fh: fs.promises.FileHandle | undefined;
  private dev = -1;
  private ino = -1;
  private pos = 0;
  /** The file present at start is read from its end; files that appear later from their start. */
  private firstOpen = true;
  private missingSince: number | undefined;
  private watcher: fs.FSWatcher | undefined;
  private interval: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private again = false;
  private health: { up: boolean; error?: string } | undefined;
  private readonly splitter: LineSplitter;
  private readonly buf: Buffer;
  private readAt = 0;
  private readonly checkIntervalMs: number;

  constructor(private readonly opts: FileFollowerOptions) {
    this.checkIntervalMs = opts.checkIntervalMs ?? 1000;
    this.buf = Buffer.allocUnsafe(opts.readChunkBytes ?? 64 * 1024);
    this.splitter = new LineSplitter({
      maxLineBytes: opts.maxLineBytes ?? 16 * 1024,
      onLine: (l) => opts.onLine(l, this.readAt),
      onOverlong: (h) => opts.onOverlong(h, this.readAt),
    });
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.watch();
    this.interval = this.opts.clock.setInterval(() => {
      if (!this.watcher) this.watch();
      void this.poke();
    }, this.checkIntervalMs);
    await this.poke();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.opts.clock.clearInterval(this.interval);
    this.interval = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.busy) await this.busy.catch(() => undefined);
    await this.closeFile();
  }

  /** Reads whatever is new; serialised and coalesced (a poke while busy runs one more pass). */
  poke(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return this.busy;
    }
    this.busy = (async () => {
      try {
        do {
          this.again = false;
          await this.step();
        } while (this.again && this.running);
      } finally {
        this.busy = undefined;
      }
    })();
    return this.busy;
  }

  private watch(): void {
    if (!this.running) return;
    const base = path.basename(this.opts.path);
    try {
      const w = fs.watch(path.dirname(this.opts.path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename === base) void this.poke();
      });
      w.on('error', () => {
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
    } catch {
      this.watcher = undefined; // directory missing: the interval retries
    }
  }

  private setHealth(up: boolean, error?: string): void {
    if (this.health && this.health.up === up && this.health.error === error) return;
    this.health = { up, error };
    this.opts.onHealth(up, error);
  }

  private async step(): Promise<void> {
    if (!this.running) return;
    // Only the file present at start is read from its end: once it was missing, or opened,
    // any file at the path is new.
    const first = this.firstOpen;
    const now = this.opts.clock.now();
    let st: fs.Stats | undefined;
    let statError: unknown;
    try {
      st = await fs.promises.stat(this.opts.path);
    } catch (e) {
      statError = e;
    }
    if (!st) {
      // Gone (deleted, or renamed away by rotation and not yet re-created). A writer may still
      // append to the file it has open: keep reading it until a new file takes the path.
      if (this.fh) await this.drain();
      this.firstOpen = false;
      const code = (statError as NodeJS.ErrnoException).code;
      this.missingSince ??= now;
      // Rotation leaves the path empty for an instant: only a file missing for a whole check
      // period (or missing from the start) is reported.
      if (!this.fh || now - this.missingSince >= this.checkIntervalMs) {
        this.setHealth(false, code === 'ENOENT' ? `log file ${this.opts.path} does not exist (waiting for it)` : `cannot stat log file ${this.opts.path}: ${errText(statError)}`);
      }
      return;
    }
    this.missingSince = undefined;
    if (!st.isFile()) {
      this.setHealth(false, `${this.opts.path} is not a regular file`);
      return;
    }
    if (!this.fh || st.dev !== this.dev || st.ino !== this.ino) {
      if (this.fh) {
        await this.drain();
        this.splitter.flush();
        await this.closeFile();
        this.opts.onNotice?.('log file replaced (rotated or re-created): reading the new one from its start', { path: this.opts.path });
      }
      try {
        const fh = await fs.promises.open(this.opts.path, 'r');
        this.fh = fh;
        const fst = await fh.stat();
        // The same file reopened after a read error goes on where it was; another file is new.
        if (fst.dev !== this.dev || fst.ino !== this.ino) {
          this.splitter.reset();
          this.pos = first && !this.opts.fromStart ? fst.size : 0;
        }
        this.dev = fst.dev;
        this.ino = fst.ino;
        this.firstOpen = false;
      } catch (e) {
        await this.closeFile(true);
        this.setHealth(false, `cannot open log file ${this.opts.path}: ${errText(e)}`);
        return;
      }
    }
    this.setHealth(true);
    await this.drain();
  }

  /** Reads from pos to the current end of the open file (a slice at a time). */
  private async drain(): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    try {
      const size = (await fh.stat()).size;
      if (size < this.pos) {
        this.opts.onNotice?.('log file truncated: reading it again from its start', { path: this.opts.path, size, pos: this.pos });
        this.splitter.reset();
        this.pos = 0;
      }
      let slice = 0;
      while (this.running && slice < SLICE_BYTES) {
        const { bytesRead } = await fh.read(this.buf, 0, this.buf.length, this.pos);
        if (bytesRead === 0) return;
        this.pos += bytesRead;
        slice += bytesRead;
        this.readAt = this.opts.clock.now();
        this.splitter.push(this.buf.subarray(0, bytesRead));
      }
      this.again = true; // more to read: continue after yielding
    } catch (e) {
      this.setHealth(false, `cannot read log file ${this.opts.path}: ${errText(e)}`);
      await this.closeFile(true);
    }
  }

  /** Closes the open file; keepPlace remembers which file and where, to resume after an error. */
  private async closeFile(keepPlace = false): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (!keepPlace) {
      this.dev = this.ino = -1;
      this.pos = 0;
    }
    if (fh) await fh.close().catch(() => undefined);
  }
}
