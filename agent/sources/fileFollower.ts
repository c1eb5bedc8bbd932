// Follows a text file like `tail -F`: from its end (or its start), through rotation by rename
// (the old file is read to its end, then the new one from its start), copytruncate (the size
// shrinks: read again from 0), deletion and re-creation. Driven by fs.watch on the directory
// (appends and renames arrive as events), with a low-frequency stat as the fallback for
// filesystems where inotify says nothing (NFS, some overlays): no fast polling.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../context';
import { errText } from '../errors';
import { CoalescedRun } from './coalescedRun';
import { LineSplitter } from './lineSplitter';

/** A place in a file: which file (device and inode) and the offset after the last whole line read. */
export interface FilePlace {
  dev: number;
  ino: number;
  offset: number;
}

export interface FileFollowerOptions {
  path: string;
  /** Read the file present at start from its beginning (default: from its end). */
  fromStart?: boolean;
  /**
   * Where the agent stopped reading last time: the file present at start is read from there (or
   * from its start when it is another file: rotated meanwhile; the rotated one, when still in the
   * directory, is read from there first). What was in the files at start is the backlog.
   */
  resume?: FilePlace;
  /** Called once, when the backlog (what the files held at start) has been read. */
  onBacklogDone?(): void;
  maxLineBytes?: number;
  /** The stat fallback's period (default 1000 ms). */
  checkIntervalMs?: number;
  /** Bytes per read() (default 64 KiB). */
  readChunkBytes?: number;
  clock: Clock;
  /** A complete line, with the time it was read; backlog: it was in the file at start (see resume). */
  onLine(line: string, readAt: number, backlog: boolean): void;
  onOverlong(head: string, readAt: number): void;
  /** Whether the file can be read; called on changes only. */
  onHealth(up: boolean, error?: string): void;
  /** Rotation, truncation, re-creation: for the log. */
  onNotice?(what: string, detail: Record<string, unknown>): void;
  /** After each chunk read from the current file and split (place() has moved). */
  onRead?(): void;
}

/** Bytes read in one pass before yielding to the event loop (a big backlog is read in slices). */
const SLICE_BYTES = 4 * 1024 * 1024;

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
  private readonly reads = new CoalescedRun(() => this.step(), () => this.running);
  private health: { up: boolean; error?: string } | undefined;
  private readonly splitter: LineSplitter;
  private readonly buf: Buffer;
  private readAt = 0;
  private readonly checkIntervalMs: number;
  /** Offset in the current file up to which its lines are backlog; undefined: none (left). */
  private backlogEnd: number | undefined;
  private inBacklog = false;
  private backlogDone = false;
  private rotatedRead = false;

  constructor(private readonly opts: FileFollowerOptions) {
    this.checkIntervalMs = opts.checkIntervalMs ?? 1000;
    this.buf = Buffer.allocUnsafe(opts.readChunkBytes ?? 64 * 1024);
    this.splitter = new LineSplitter({
      maxLineBytes: opts.maxLineBytes ?? 16 * 1024,
      onLine: (l) => opts.onLine(l, this.readAt, this.inBacklog),
      onOverlong: (h) => opts.onOverlong(h, this.readAt),
    });
  }

  /** Where reading stands: the current file and the offset after its last whole line. */
  place(): FilePlace | undefined {
    if (this.dev < 0) return undefined;
    return { dev: this.dev, ino: this.ino, offset: Math.max(0, this.pos - this.splitter.pendingBytes) };
  }

  private finishBacklog(): void {
    this.backlogEnd = undefined;
    if (this.backlogDone) return;
    this.backlogDone = true;
    this.opts.onBacklogDone?.();
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
    await this.reads.settled();
    // The place is kept: the log source saves it after the stop.
    await this.closeFile(true);
    this.finishBacklog();
  }

  /** Reads whatever is new; serialised and coalesced (a poke while busy runs one more pass). */
  poke(): Promise<void> {
    return this.reads.request();
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
    const resume = first && !this.backlogDone ? this.opts.resume : undefined;
    if (first && !this.backlogDone && (!resume || !st || st.dev !== resume.dev || st.ino !== resume.ino)) {
      // Rotated since the last read (or no position): the old file, if still there, to its end.
      if (resume && !this.rotatedRead) {
        this.rotatedRead = true;
        await this.readRotated(resume);
      }
      if (!st || !resume) this.finishBacklog();
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
          if (resume) {
            // What the file holds now is the backlog: from the last read position when it is
            // the same file (and not truncated since), else all of it (a new file since).
            const same = fst.dev === resume.dev && fst.ino === resume.ino;
            this.pos = same && resume.offset <= fst.size ? resume.offset : 0;
            this.backlogEnd = fst.size;
            if (this.pos >= fst.size) this.finishBacklog();
          }
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
        // The backlog is read up to its end, not past it: lines after it are live.
        const end = this.backlogEnd;
        const want = end !== undefined && end > this.pos ? Math.min(this.buf.length, end - this.pos) : this.buf.length;
        const { bytesRead } = await fh.read(this.buf, 0, want, this.pos);
        if (bytesRead === 0) {
          if (end !== undefined) this.finishBacklog();
          return;
        }
        this.pos += bytesRead;
        slice += bytesRead;
        this.readAt = this.opts.clock.now();
        this.inBacklog = end !== undefined;
        try {
          this.splitter.push(this.buf.subarray(0, bytesRead));
        } finally {
          this.inBacklog = false;
        }
        this.opts.onRead?.();
        if (end !== undefined && this.pos >= end) this.finishBacklog();
      }
      this.reads.requestAgain(); // more to read: continue after yielding
    } catch (e) {
      this.setHealth(false, `cannot read log file ${this.opts.path}: ${errText(e)}`);
      await this.closeFile(true);
    }
  }

  /** The file that was at the path when the agent last read it, found by inode (rotated by rename). */
  private async readRotated(resume: FilePlace): Promise<void> {
    const dir = path.dirname(this.opts.path);
    let names: string[];
    try {
      names = await fs.promises.readdir(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      let st: fs.Stats;
      try {
        st = await fs.promises.stat(p);
      } catch {
        continue;
      }
      if (!st.isFile() || st.dev !== resume.dev || st.ino !== resume.ino) continue;
      this.opts.onNotice?.('log file rotated while the agent was down: reading the rotated one from the last read position', { path: p });
      let fh: fs.promises.FileHandle | undefined;
      try {
        fh = await fs.promises.open(p, 'r');
        let pos = resume.offset <= st.size ? resume.offset : 0;
        this.splitter.reset();
        for (;;) {
          const { bytesRead } = await fh.read(this.buf, 0, this.buf.length, pos);
          if (bytesRead === 0) break;
          pos += bytesRead;
          this.readAt = this.opts.clock.now();
          this.inBacklog = true;
          try {
            this.splitter.push(this.buf.subarray(0, bytesRead));
          } finally {
            this.inBacklog = false;
          }
        }
        // The rotated file is complete: an unfinished last line is a line.
        this.inBacklog = true;
        try {
          this.splitter.flush();
        } finally {
          this.inBacklog = false;
        }
      } catch (e) {
        this.opts.onNotice?.('cannot read the rotated log file', { path: p, error: errText(e) });
      } finally {
        await fh?.close().catch(() => undefined);
      }
      return;
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
