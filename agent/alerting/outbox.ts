// Storage choice: an append-only journal with fdatasync (one file, one JSON record a line, a
// checksum per line, compacted by atomic rename) rather than better-sqlite3: the outbox is a
// per-receiver FIFO that only ever appends and forgets its head, which a journal does with one
// write and one fsync per batch; a native module would need a compiler (or approved install
// scripts and a prebuilt binary) on every node we install on, for no feature we use.
//
// The durable outbox: every notification is in the journal (fsynced) before its first send and
// is forgotten only after the receiver accepted it, so it survives kill -9 and restart (pending
// entries are sent again on start: at least once, with the same idempotency key). Each receiver
// has its own FIFO queue and retry timer, so a receiver that is down delays nobody else.
// Bounded in entries and bytes: when full, the oldest resolved notification goes first, then the
// oldest of all; every drop is counted and logged. When the disk fails (ENOSPC, EIO) delivery
// goes on from memory (still bounded), the error is counted and shown, and the journal is
// rewritten from memory as soon as the disk takes writes again.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { open as openFile, readFile, rename, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../context';
import { fsyncDir } from './atomicFile';
import { idempotencyKey, type NewNotification, type Notification } from './notification';
import { ReceiverError, type Receiver } from './receivers/receiver';

export type DropReason = 'overflow' | 'expired' | 'rejected' | 'receiver_removed' | 'corrupt';

/** What the outbox reports (implemented by exporters/notifications.ts). */
export interface OutboxMetrics {
  sent(receiver: string, latencySeconds: number): void;
  failed(receiver: string): void;
  retried(receiver: string): void;
  dropped(receiver: string, reason: DropReason, count?: number): void;
  writeError(): void;
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

export interface RetryPolicy {
  /** First retry delay (ms); doubles per attempt up to max, with jitter. */
  initial: number;
  max: number;
  /** A notification not accepted within this long after creation is dropped (counted, logged). */
  maxAge: number;
}

export interface OutboxOptions {
  dir: string;
  maxEntries: number;
  maxBytes: number;
  retry: RetryPolicy;
  clock: Clock;
  log: Logger;
  metrics?: OutboxMetrics;
  fs?: JournalFs;
  /** [0,1) source for jitter (tests pin it). */
  random?: () => number;
  /** On close, how long in-flight sends may finish before they are aborted (ms). */
  drainMs?: number;
}

interface Entry {
  n: Notification;
  bytes: number;
  /** Settled: in the journal, or the journal failed and it is kept in memory. Sent only when ready. */
  ready: boolean;
  durable: boolean;
  inFlight: boolean;
}

interface Queue {
  name: string;
  entries: Entry[];
  attempts: number;
  busy: boolean;
  timer?: NodeJS.Timeout;
  notBefore: number;
  abort?: AbortController;
  inflight?: Promise<void>;
  lastError?: string;
}

type Mode = 'normal' | 'failing' | 'disabled';

type RecordJson =
  | { t: 'add'; n: Notification }
  | { t: 'del'; seq: number }
  | { t: 'meta'; nextSeq: number }
  /** Small state that must become durable together with the notifications (the notification log); v null deletes. */
  | { t: 'state'; k: string; v: unknown };

const JOURNAL = 'journal';
const LOCK = 'lock';

function encode(r: RecordJson): string {
  const json = JSON.stringify(r);
  return `${createHash('sha256').update(json).digest('hex').slice(0, 8)} ${json}\n`;
}

function decode(line: string): RecordJson | undefined {
  const sp = line.indexOf(' ');
  if (sp !== 8) return undefined;
  const json = line.slice(9);
  if (createHash('sha256').update(json).digest('hex').slice(0, 8) !== line.slice(0, 8)) return undefined;
  try {
    return JSON.parse(json) as RecordJson;
  } catch {
    return undefined;
  }
}

export interface QueueStatus {
  receiver: string;
  depth: number;
  oldestAgeSeconds: number;
  attempts: number;
  nextAttemptAt?: number;
  lastError?: string;
}

export class Outbox {
  private readonly queues = new Map<string, Queue>();
  private receivers = new Map<string, Receiver>();
  private readonly fs: JournalFs;
  private readonly journalPath: string;
  private file?: JournalFile;
  private mode: Mode = 'normal';
  private nextSeq = 1;
  private count = 0;
  private bytes = 0;
  private journalBytes = 0;
  private unwritten: Array<{ line: string; entry?: Entry }> = [];
  private writing = false;
  private writeDone?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private writeFailures = 0;
  private closing = false;
  private closed = false;
  private opened = false;
  private lockHeld = false;
  private readonly state = new Map<string, unknown>();

  constructor(private readonly opts: OutboxOptions) {
    this.fs = opts.fs ?? nodeJournalFs;
    this.journalPath = join(opts.dir, JOURNAL);
  }

  /** True while notifications are kept in memory only (the disk refused writes). */
  get memoryOnly(): boolean {
    return this.mode !== 'normal';
  }

  /** Reads the journal (pending notifications come back, in order) and rewrites it compactly. Never throws. */
  async open(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    const { log } = this.opts;
    try {
      mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
      this.acquireLock();
    } catch (e) {
      this.mode = 'disabled';
      this.opts.metrics?.writeError();
      log.error({ dir: this.opts.dir, err: (e as Error).message }, 'outbox directory unusable: notifications are kept in memory only until restart');
      return;
    }
    let data: Buffer | undefined;
    try {
      data = await this.fs.read(this.journalPath);
    } catch (e) {
      // Do not overwrite a journal we could not read: it may hold notifications.
      this.mode = 'disabled';
      this.opts.metrics?.writeError();
      log.error({ dir: this.opts.dir, err: (e as Error).message }, 'outbox journal unreadable: left untouched, notifications kept in memory only');
      return;
    }
    if (data) this.replay(data);
    await this.rewrite();
  }

  private acquireLock(): void {
    const lock = join(this.opts.dir, LOCK);
    for (let i = 0; i < 2; i++) {
      try {
        const fd = openSync(lock, 'wx', 0o600);
        try {
          writeSync(fd, `${process.pid}\n`);
        } catch (e) {
          // A full disk takes the file but not its pid: no lock (an empty one reads as stale), no
          // descriptor left open on the filesystem.
          unlinkSync(lock);
          throw e;
        } finally {
          closeSync(fd);
        }
        this.lockHeld = true;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = parseInt(readFileSync(lock, 'utf8'), 10);
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
          throw new Error(`outbox ${this.opts.dir} is in use by process ${pid}`);
        }
        unlinkSync(lock); // stale (kill -9) or our own from an earlier instance
      }
    }
    throw new Error(`cannot take the outbox lock ${lock}`);
  }

  private replay(data: Buffer): void {
    const lines = data.toString('utf8').split('\n');
    const live = new Map<number, Notification>();
    let corrupt = 0;
    let maxSeq = 0;
    lines.forEach((line, i) => {
      if (!line) return;
      const r = decode(line);
      if (!r) {
        // The last line may be torn by a crash mid-write: that notification never became durable.
        if (i !== lines.length - 1) corrupt++;
        else this.opts.log.warn({ dir: this.opts.dir }, 'outbox journal ends with a torn record (crash during a write); ignored');
        return;
      }
      if (r.t === 'meta') maxSeq = Math.max(maxSeq, r.nextSeq - 1);
      else if (r.t === 'add') {
        if (!live.has(r.n.seq)) live.set(r.n.seq, r.n);
        maxSeq = Math.max(maxSeq, r.n.seq);
      } else if (r.t === 'del') live.delete(r.seq);
      else if (r.t === 'state') {
        if (r.v === null || r.v === undefined) this.state.delete(r.k);
        else this.state.set(r.k, r.v);
      }
    });
    this.nextSeq = maxSeq + 1;
    if (corrupt) {
      this.opts.metrics?.dropped('', 'corrupt', corrupt);
      this.opts.log.error({ dir: this.opts.dir, records: corrupt }, 'outbox journal: records failed their checksum and were dropped');
    }
    for (const n of [...live.values()].sort((a, b) => a.seq - b.seq)) {
      const bytes = Buffer.byteLength(encode({ t: 'add', n }));
      this.push({ n, bytes, ready: true, durable: true, inFlight: false });
    }
    if (live.size) this.opts.log.info({ pending: live.size }, 'outbox: pending notifications from before the restart will be sent again');
  }

  /** Sets the receivers (on start and reload). Queues of receivers that no longer exist are dropped, counted. */
  setReceivers(receivers: Receiver[]): void {
    this.receivers = new Map(receivers.map((r) => [r.name, r]));
    for (const q of this.queues.values()) {
      if (!this.receivers.has(q.name)) {
        for (const e of [...q.entries]) if (!e.inFlight) this.remove(q, e, 'receiver_removed');
      } else this.pump(q);
    }
  }

  /** Adds a notification; it is sent once in the journal. Returns it with its sequence and key. */
  enqueue(nn: NewNotification): Notification {
    if (!this.opened) throw new Error('outbox: enqueue before open()');
    const seq = this.nextSeq++;
    const n: Notification = { ...nn, seq, idempotencyKey: idempotencyKey({ ...nn, seq }) };
    const line = encode({ t: 'add', n });
    const entry: Entry = { n, bytes: Buffer.byteLength(line), ready: false, durable: false, inFlight: false };
    if (!this.makeRoom(entry.bytes)) {
      this.opts.metrics?.dropped(n.receiver, 'overflow');
      this.opts.log.error({ receiver: n.receiver, seq, groupKey: n.groupKey }, 'outbox full of in-flight notifications: new notification dropped');
      return n;
    }
    this.push(entry);
    if (this.mode === 'normal') {
      this.unwritten.push({ line, entry });
      this.kickWriter();
    } else {
      entry.ready = true; // the disk is failing: deliver from memory, do not hold pages hostage
      this.pump(this.queues.get(n.receiver)!);
    }
    return n;
  }

  private push(e: Entry): void {
    let q = this.queues.get(e.n.receiver);
    if (!q) {
      q = { name: e.n.receiver, entries: [], attempts: 0, busy: false, notBefore: 0 };
      this.queues.set(q.name, q);
    }
    q.entries.push(e);
    this.count++;
    this.bytes += e.bytes;
  }

  /** Evicts until one more entry of `bytes` fits: oldest resolved first, then oldest. False if it cannot fit. */
  private makeRoom(bytes: number): boolean {
    while (this.count + 1 > this.opts.maxEntries || this.bytes + bytes > this.opts.maxBytes) {
      let victim: { q: Queue; e: Entry } | undefined;
      let oldest: { q: Queue; e: Entry } | undefined;
      for (const q of this.queues.values()) {
        for (const e of q.entries) {
          if (e.inFlight) continue;
          if (!oldest || e.n.seq < oldest.e.n.seq) oldest = { q, e };
          if (e.n.status === 'resolved' && (!victim || e.n.seq < victim.e.n.seq)) victim = { q, e };
        }
      }
      const v = victim ?? oldest;
      if (!v) return false;
      this.remove(v.q, v.e, 'overflow');
    }
    return true;
  }

  private remove(q: Queue, e: Entry, reason: DropReason | 'sent'): void {
    const i = q.entries.indexOf(e);
    if (i < 0) return;
    q.entries.splice(i, 1);
    this.count--;
    this.bytes -= e.bytes;
    if (reason !== 'sent') {
      this.opts.metrics?.dropped(q.name, reason);
      const info = { receiver: q.name, seq: e.n.seq, groupKey: e.n.groupKey, status: e.n.status, ageSeconds: Math.round((this.opts.clock.now() - e.n.createdAt) / 1000) };
      if (reason === 'rejected') this.opts.log.error({ ...info, err: q.lastError }, 'notification rejected by the receiver: dropped');
      else this.opts.log.warn({ ...info, reason }, 'notification dropped');
    }
    if (this.mode !== 'normal') return; // the next rewrite writes what is left
    // Never written yet: forget both records instead of writing add+del.
    // (Not while a write runs: a rewrite may be putting its add in the new journal right now.)
    const pendingAdd = this.writing ? -1 : this.unwritten.findIndex((u) => u.entry === e);
    if (pendingAdd >= 0) {
      this.unwritten.splice(pendingAdd, 1);
      return;
    }
    this.unwritten.push({ line: encode({ t: 'del', seq: e.n.seq }) });
    this.kickWriter();
  }

  private kickWriter(): void {
    if (this.writing || this.closed) return; // a running loop picks up what was queued meanwhile
    this.writing = true;
    this.writeDone = this.writeLoop().finally(() => this.writerIdle());
  }

  /** Group commit: everything queued while a write+fsync runs goes out in the next one. */
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
        if (!this.file) this.file = await this.fs.openAppend(this.journalPath);
        const buf = Buffer.from(batch.map((b) => b.line).join(''));
        await this.file.write(buf);
        await this.file.sync();
        this.journalBytes += buf.length;
        for (const b of batch) {
          if (!b.entry) continue;
          b.entry.durable = true;
          b.entry.ready = true;
        }
      } catch (e) {
        this.enterFailing(e as Error, batch);
        return;
      }
      for (const b of batch) if (b.entry) this.pumpFor(b.entry);
      if (this.journalBytes > 1024 * 1024 && this.journalBytes > 2 * this.bytes) await this.rewrite();
    }
  }

  private pumpFor(e: Entry): void {
    const q = this.queues.get(e.n.receiver);
    if (q) this.pump(q);
  }

  private enterFailing(err: Error, batch: Array<{ entry?: Entry }>): void {
    this.opts.metrics?.writeError();
    this.writeFailures++;
    if (this.mode === 'normal') {
      this.opts.log.error({ dir: this.opts.dir, err: err.message }, 'outbox cannot write to disk: notifications are kept in memory until it can');
    }
    this.mode = 'failing';
    const file = this.file;
    this.file = undefined;
    void file?.close().catch(() => undefined);
    const entries = [...batch, ...this.unwritten].map((b) => b.entry).filter((e): e is Entry => Boolean(e));
    this.unwritten = [];
    for (const e of entries) e.ready = true;
    for (const e of entries) this.pumpFor(e);
    this.scheduleRepair();
  }

  private scheduleRepair(): void {
    if (this.closing || this.retryTimer) return;
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(5, this.writeFailures - 1));
    this.retryTimer = this.opts.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.writing) return this.scheduleRepair();
      this.writing = true;
      this.writeDone = this.rewrite().finally(() => this.writerIdle());
    }, delay);
  }

  /** Writes the journal afresh from memory (compaction, and recovery after disk errors). */
  private async rewrite(): Promise<void> {
    if (this.mode === 'disabled') return;
    const live = [...this.queues.values()].flatMap((q) => q.entries).sort((a, b) => a.n.seq - b.n.seq);
    const text =
      encode({ t: 'meta', nextSeq: this.nextSeq }) +
      [...this.state].map(([k, v]) => encode({ t: 'state', k, v })).join('') +
      live.map((e) => encode({ t: 'add', n: e.n })).join('');
    const buf = Buffer.from(text);
    const pendingBefore = this.unwritten;
    try {
      const old = this.file;
      this.file = undefined;
      await old?.close().catch(() => undefined);
      await this.fs.replace(this.journalPath, buf);
      this.journalBytes = buf.length;
    } catch (e) {
      this.enterFailing(e as Error, []);
      return;
    }
    // Everything live at the snapshot is now durable; records queued since are still to append
    // (state records queued during the rewrite are appended again: harmless, the last one wins).
    const snapshot = new Set(live);
    for (const e of live) {
      e.durable = true;
      e.ready = true;
    }
    this.unwritten = pendingBefore.filter((u) => !(u.entry && snapshot.has(u.entry)));
    if (this.mode !== 'normal') {
      this.opts.log.info({ dir: this.opts.dir, pending: live.length }, 'outbox writes to disk again');
      this.writeFailures = 0;
    }
    this.mode = 'normal';
    for (const e of live) this.pumpFor(e);
  }

  private backoff(attempt: number): number {
    const { initial, max } = this.opts.retry;
    const base = Math.min(max, initial * 2 ** Math.min(30, attempt - 1));
    const r = (this.opts.random ?? Math.random)();
    return Math.round(base / 2 + (r * base) / 2); // "equal jitter": between half and all of the step
  }

  private pump(q: Queue): void {
    if (this.closing || q.busy || q.timer) return;
    const rcv = this.receivers.get(q.name);
    if (!rcv) return;
    while (q.entries.length) {
      const head = q.entries[0];
      if (!head.ready) return; // FIFO: nothing overtakes a notification still being written
      const now = this.opts.clock.now();
      if (now - head.n.createdAt > this.opts.retry.maxAge) {
        this.remove(q, head, 'expired');
        q.attempts = 0;
        continue;
      }
      if (now < q.notBefore) {
        q.timer = this.opts.clock.setTimeout(() => {
          q.timer = undefined;
          this.pump(q);
        }, q.notBefore - now);
        return;
      }
      q.inflight = this.attempt(q, head, rcv);
      return;
    }
  }

  private async attempt(q: Queue, e: Entry, rcv: Receiver): Promise<void> {
    q.busy = true;
    e.inFlight = true;
    const ac = new AbortController();
    q.abort = ac;
    let result: void | { retryAfterMs: number } = undefined;
    let error: ReceiverError | undefined;
    try {
      result = await rcv.send(e.n, ac.signal);
    } catch (err) {
      error = err instanceof ReceiverError ? err : new ReceiverError(`${q.name}: ${(err as Error)?.message ?? String(err)}`, true);
    }
    q.busy = false;
    e.inFlight = false;
    q.abort = undefined;
    const now = this.opts.clock.now();
    if (!error) {
      this.opts.metrics?.sent(q.name, Math.max(0, now - e.n.triggeredAt) / 1000);
      q.attempts = 0;
      q.lastError = undefined;
      q.notBefore = result && result.retryAfterMs > 0 ? now + result.retryAfterMs : 0;
      this.remove(q, e, 'sent');
    } else if (ac.signal.aborted && this.closing) {
      return; // stopped mid-send: it stays in the journal and goes out after the restart
    } else {
      this.opts.metrics?.failed(q.name);
      q.lastError = error.message;
      if (!error.retryable) {
        q.attempts = 0;
        this.remove(q, e, 'rejected');
      } else {
        q.attempts++;
        this.opts.metrics?.retried(q.name);
        const delay = error.retryAfterMs !== undefined ? error.retryAfterMs : this.backoff(q.attempts);
        q.notBefore = now + delay;
        this.opts.log.warn({ receiver: q.name, seq: e.n.seq, attempt: q.attempts, retryInMs: delay, err: error.message }, 'notification not delivered; will retry');
      }
    }
    this.pump(q);
  }

  /**
   * Sets a small piece of state (value undefined deletes it) that is written in the same journal,
   * after the notifications enqueued before it, so it never becomes durable ahead of them: the
   * notification log says "paged" only once the page itself is safe on disk.
   */
  putState(key: string, value: unknown): void {
    if (value === undefined) this.state.delete(key);
    else this.state.set(key, value);
    if (this.mode !== 'normal' || !this.opened) return; // the next rewrite writes the current state
    this.unwritten.push({ line: encode({ t: 'state', k: key, v: value ?? null }) });
    this.kickWriter();
  }

  /** The state read from the journal (after open) and set since. */
  states(): ReadonlyMap<string, unknown> {
    return this.state;
  }

  /** Pending notifications per receiver, for metrics and the status page. */
  status(): QueueStatus[] {
    const now = this.opts.clock.now();
    return [...this.queues.values()].map((q) => ({
      receiver: q.name,
      depth: q.entries.length,
      oldestAgeSeconds: q.entries.length ? Math.max(0, now - q.entries[0].n.createdAt) / 1000 : 0,
      attempts: q.attempts,
      nextAttemptAt: q.notBefore > now ? q.notBefore : undefined,
      lastError: q.lastError,
    }));
  }

  /** The pending notifications of a receiver (oldest first). */
  pending(receiver: string): Notification[] {
    return (this.queues.get(receiver)?.entries ?? []).map((e) => e.n);
  }

  /** Stops delivery: in-flight sends get drainMs to finish, then are aborted (they stay in the journal). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const { clock } = this.opts;
    clock.clearTimeout(this.retryTimer);
    for (const q of this.queues.values()) {
      clock.clearTimeout(q.timer);
      q.timer = undefined;
    }
    const inflight = [...this.queues.values()].map((q) => q.inflight).filter(Boolean) as Promise<void>[];
    if (inflight.length) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(inflight), new Promise<void>((r) => (t = setTimeout(r, this.opts.drainMs ?? 2000)))]);
      clearTimeout(t);
      for (const q of this.queues.values()) q.abort?.abort();
    }
    // Let the writer finish what it has (dels of what was just accepted), bounded.
    for (let i = 0; i < 3 && (this.writing || (this.mode === 'normal' && this.unwritten.length)); i++) {
      if (!this.writing) this.kickWriter();
      await this.writeDone;
    }
    this.closed = true;
    await this.writeDone;
    await this.file?.close().catch(() => undefined);
    this.file = undefined;
    if (this.lockHeld) {
      try {
        unlinkSync(join(this.opts.dir, LOCK));
      } catch {
        /* gone */
      }
      this.lockHeld = false;
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
