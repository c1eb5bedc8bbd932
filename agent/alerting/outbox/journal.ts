// The outbox's journal: one file, one JSON record a line with a checksum, appended with fdatasync
// and compacted by atomic rename. Group commit: the records queued while a write+fsync runs go
// out together in the next one. When the disk fails (ENOSPC, EIO) the journal stops writing (the
// outbox goes on from memory), the error is counted, and the journal is rewritten from memory as
// soon as the disk takes writes again.
//
// Storage choice: a journal rather than better-sqlite3: the outbox is a per-receiver FIFO that
// only ever appends and forgets its head, which a journal does with one write and one fsync per
// batch; a native module would need a compiler (or approved install scripts and a prebuilt binary)
// on every node we install on, for no feature we use.
import { createHash } from 'node:crypto';
import { open as openFile, readFile, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../context';
import { errText } from '../../errors';
import { fsyncDir } from '../atomicFile';
import type { Notification } from '../notification';

export type JournalRecord =
  | { t: 'add'; n: Notification }
  | { t: 'del'; seq: number }
  | { t: 'meta'; nextSeq: number }
  /** Small state that must become durable together with the notifications (the notification log); v null deletes. */
  | { t: 'state'; k: string; v: unknown };

/** `<8 hex of sha256(json)> <json>\n`: a record torn or changed on disk fails its checksum. */
export function encodeRecord(r: JournalRecord): string {
  const json = JSON.stringify(r);
  return `${createHash('sha256').update(json).digest('hex').slice(0, 8)} ${json}\n`;
}

function decodeRecord(line: string): JournalRecord | undefined {
  const sp = line.indexOf(' ');
  if (sp !== 8) return undefined;
  const json = line.slice(9);
  if (createHash('sha256').update(json).digest('hex').slice(0, 8) !== line.slice(0, 8)) return undefined;
  try {
    return JSON.parse(json) as JournalRecord;
  } catch {
    return undefined;
  }
}

export interface JournalContent {
  records: JournalRecord[];
  /** Records inside the file that failed their checksum. */
  corrupt: number;
  /** The last record is torn (a crash during a write): that record never became durable. */
  torn: boolean;
}

export function parseJournal(data: Buffer): JournalContent {
  const lines = data.toString('utf8').split('\n');
  const out: JournalContent = { records: [], corrupt: 0, torn: false };
  lines.forEach((line, i) => {
    if (!line) return;
    const r = decodeRecord(line);
    if (r) out.records.push(r);
    else if (i !== lines.length - 1) out.corrupt++;
    else out.torn = true;
  });
  return out;
}

export interface JournalFile {
  write(data: Buffer): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The filesystem operations the journal uses (injectable: tests make the disk fail). */
export interface JournalFs {
  openAppend(path: string): Promise<JournalFile>;
  /** undefined when the file does not exist. */
  read(path: string): Promise<Buffer | undefined>;
  /** Replaces path atomically and durably (temp file, fsync, rename, fsync dir). */
  replace(path: string, data: Buffer): Promise<void>;
}

export const nodeJournalFs: JournalFs = {
  async openAppend(path) {
    const fh = await openFile(path, 'a', 0o600);
    return {
      async write(data) {
        let off = 0;
        while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
      },
      sync: () => fh.datasync(),
      close: () => fh.close(),
    };
  },
  async read(path) {
    try {
      return await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  },
  async replace(path, data) {
    const dir = join(path, '..');
    await mkdir(dir, { recursive: true });
    const tmp = `${path}.tmp`;
    const fh = await openFile(tmp, 'w', 0o600);
    try {
      let off = 0;
      while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    fsyncDir(dir);
  },
};

/** The journal is compacted once it is over this size and more than twice what is live. */
const COMPACT_MIN_BYTES = 1024 * 1024;
/** After a failed write the journal is rewritten after 1 s, then 2, 4... up to 30 s: the disk is local, no fleet to spread. */
const REPAIR_FIRST_MS = 1000;
const REPAIR_MAX_MS = 30_000;

export interface JournalOptions<T> {
  path: string;
  fs: JournalFs;
  clock: Clock;
  log: Logger;
  /** The outbox directory, for log lines. */
  dir: string;
  /** A write failed (counted in keepwatch_notification_write_errors_total). */
  onWriteError(): void;
  /** Everything live, for a rewrite: its records, and the tags of the adds among them. */
  snapshot(): { records: JournalRecord[]; tags: T[] };
  /** Bytes of what is live (compaction compares the journal to it). */
  liveBytes(): number;
  /** These adds were written, or will not be (the disk failed: kept in memory): either way they may be sent now. */
  settled(tags: T[]): void;
}

/** normal: writing; failing: the disk refused, a rewrite is scheduled; disabled: never written (unusable or another process's). */
type Mode = 'normal' | 'failing' | 'disabled';

/** A record queued for the next write; `tag` marks an add (the outbox's entry for it). */
interface Unwritten<T> {
  line: string;
  tag?: T;
}

export class Journal<T> {
  private mode: Mode = 'normal';
  private file?: JournalFile;
  private unwritten: Array<Unwritten<T>> = [];
  private writing = false;
  private writeDone?: Promise<void>;
  private repairTimer?: NodeJS.Timeout;
  private writeFailures = 0;
  private bytes = 0;
  private repairsStopped = false;
  private closed = false;

  constructor(private readonly o: JournalOptions<T>) {}

  /** True while records are kept in memory only (the disk refused writes, or the journal is disabled). */
  get memoryOnly(): boolean {
    return this.mode !== 'normal';
  }

  /** Never writes again: the directory is unusable, or the journal could not be read (it may hold notifications). */
  disable(): void {
    this.mode = 'disabled';
  }

  read(): Promise<Buffer | undefined> {
    return this.o.fs.read(this.o.path);
  }

  /** Queues an encoded record for the next write; false when the journal is not writing (memory only). */
  append(line: string, tag?: T): boolean {
    if (this.mode !== 'normal') return false;
    this.unwritten.push({ line, tag });
    this.kickWriter();
    return true;
  }

  /**
   * Forgets the queued add of `tag` when it was never written, so neither its add nor its del is
   * written. False when it is written or being written (a rewrite may be putting it in the new
   * journal right now).
   */
  cancel(tag: T): boolean {
    if (this.writing) return false;
    const i = this.unwritten.findIndex((u) => u.tag === tag);
    if (i < 0) return false;
    this.unwritten.splice(i, 1);
    return true;
  }

  private kickWriter(): void {
    if (this.writing || this.closed) return; // a running loop picks up what was queued meanwhile
    this.writing = true;
    this.writeDone = this.writeLoop().finally(() => this.writerIdle());
  }

  /** Records queued between the loop's last check and now would otherwise wait for the next kick. */
  private writerIdle(): void {
    this.writing = false;
    if (this.mode === 'normal' && this.unwritten.length) this.kickWriter();
  }

  private async writeLoop(): Promise<void> {
    while (this.mode === 'normal' && this.unwritten.length) {
      const batch = this.unwritten;
      this.unwritten = [];
      try {
        if (!this.file) this.file = await this.o.fs.openAppend(this.o.path);
        const buf = Buffer.from(batch.map((b) => b.line).join(''));
        await this.file.write(buf);
        await this.file.sync();
        this.bytes += buf.length;
      } catch (e) {
        this.enterFailing(e, batch);
        return;
      }
      this.o.settled(tagsOf(batch));
      if (this.bytes > COMPACT_MIN_BYTES && this.bytes > 2 * this.o.liveBytes()) await this.rewrite();
    }
  }

  private enterFailing(err: unknown, batch: Array<Unwritten<T>>): void {
    this.o.onWriteError();
    this.writeFailures++;
    if (this.mode === 'normal') {
      this.o.log.error({ dir: this.o.dir, err: errText(err) }, 'outbox cannot write to disk: notifications are kept in memory until it can');
    }
    this.mode = 'failing';
    const file = this.file;
    this.file = undefined;
    void file?.close().catch(() => undefined);
    const tags = tagsOf([...batch, ...this.unwritten]);
    this.unwritten = [];
    this.o.settled(tags);
    this.scheduleRepair();
  }

  private scheduleRepair(): void {
    if (this.repairsStopped || this.repairTimer) return;
    const delay = Math.min(REPAIR_MAX_MS, REPAIR_FIRST_MS * 2 ** Math.min(5, this.writeFailures - 1));
    this.repairTimer = this.o.clock.setTimeout(() => {
      this.repairTimer = undefined;
      if (this.writing) return this.scheduleRepair();
      this.writing = true;
      this.writeDone = this.rewrite().finally(() => this.writerIdle());
    }, delay);
  }

  /** Writes the journal afresh from memory (on open, compaction, and recovery after disk errors). */
  async rewrite(): Promise<void> {
    if (this.mode === 'disabled') return;
    const { records, tags } = this.o.snapshot();
    const buf = Buffer.from(records.map(encodeRecord).join(''));
    const pendingBefore = this.unwritten;
    try {
      const old = this.file;
      this.file = undefined;
      await old?.close().catch(() => undefined);
      await this.o.fs.replace(this.o.path, buf);
      this.bytes = buf.length;
    } catch (e) {
      this.enterFailing(e, []);
      return;
    }
    // Everything live at the snapshot is now durable; records queued since are still to append
    // (state records queued during the rewrite are appended again: harmless, the last one wins).
    const snapshot = new Set(tags);
    this.unwritten = pendingBefore.filter((u) => !(u.tag !== undefined && snapshot.has(u.tag)));
    if (this.mode !== 'normal') {
      this.o.log.info({ dir: this.o.dir, pending: tags.length }, 'outbox writes to disk again');
      this.writeFailures = 0;
    }
    this.mode = 'normal';
    this.o.settled(tags);
  }

  /** No more repairs (the outbox is closing); appends still go out until close(). */
  stopRepairs(): void {
    this.repairsStopped = true;
    this.o.clock.clearTimeout(this.repairTimer);
  }

  /** Lets the writer finish what is queued (bounded: the dels of what was just accepted), then closes the file. */
  async close(): Promise<void> {
    for (let i = 0; i < 3 && (this.writing || (this.mode === 'normal' && this.unwritten.length)); i++) {
      if (!this.writing) this.kickWriter();
      await this.writeDone;
    }
    this.closed = true;
    await this.writeDone;
    await this.file?.close().catch(() => undefined);
    this.file = undefined;
  }
}

function tagsOf<T>(list: Array<Unwritten<T>>): T[] {
  return list.flatMap((u) => (u.tag !== undefined ? [u.tag] : []));
}
