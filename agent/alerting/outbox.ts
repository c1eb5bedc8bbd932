// The durable outbox: every notification is in the journal (fsynced) before its first send and
// is forgotten only after the receiver accepted it, so it survives kill -9 and restart (pending
// entries are sent again on start: at least once, with the same idempotency key). It composes
// four parts under outbox/: the journal (the file and its records), the lock file (one process
// per directory), one retry queue per receiver (a receiver that is down delays nobody else) and
// the small state journalled with the notifications (notification log, incidents, threads).
// Bounded in entries and bytes: when full, the oldest resolved notification goes first, then the
// oldest of all; every drop is counted and logged. When the disk fails (ENOSPC, EIO) delivery
// goes on from memory (still bounded), the error is counted and shown, and the journal is
// rewritten from memory as soon as the disk takes writes again.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../context';
import { errText } from '../errors';
import { idempotencyKey, type NewNotification, type Notification } from './notification';
import type { Receiver } from './receivers/receiver';
import { encodeRecord, Journal, nodeJournalFs, parseJournal, type JournalFs, type JournalRecord } from './outbox/journal';
import { OutboxLock } from './outbox/lockFile';
import { ReceiverQueue, type QueuedNotification, type QueueStatus, type ReceiverQueueContext, type RetryPolicy } from './outbox/receiverQueue';
import { StateStore, type DurableState } from './outbox/stateStore';

export type { QueueStatus } from './outbox/receiverQueue';

export type DropReason = 'overflow' | 'expired' | 'rejected' | 'receiver_removed' | 'corrupt';

export const DROP_REASONS: readonly DropReason[] = ['overflow', 'expired', 'rejected', 'receiver_removed', 'corrupt'];

/** What the outbox reports (implemented by exporters/notifications.ts). */
export interface OutboxMetrics {
  sent(receiver: string, latencySeconds: number): void;
  failed(receiver: string): void;
  retried(receiver: string): void;
  dropped(receiver: string, reason: DropReason, count?: number): void;
  writeError(): void;
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

export class Outbox implements DurableState {
  private readonly queues = new Map<string, ReceiverQueue>();
  private receivers = new Map<string, Receiver>();
  private readonly journal: Journal<QueuedNotification>;
  private readonly lock: OutboxLock;
  private readonly state: StateStore;
  private readonly queueContext: ReceiverQueueContext;
  private nextSeq = 1;
  private count = 0;
  private bytes = 0;
  private closing = false;
  private opened = false;

  constructor(private readonly opts: OutboxOptions) {
    this.journal = new Journal({
      path: join(opts.dir, 'journal'),
      fs: opts.fs ?? nodeJournalFs,
      clock: opts.clock,
      log: opts.log,
      dir: opts.dir,
      onWriteError: () => opts.metrics?.writeError(),
      snapshot: () => this.snapshot(),
      liveBytes: () => this.bytes,
      settled: (entries) => this.settled(entries),
    });
    this.lock = new OutboxLock(opts.dir);
    // Before open() the journal is not read yet: the rewrite at open writes the current state.
    this.state = new StateStore((r) => this.opened && this.journal.append(encodeRecord(r)));
    this.queueContext = {
      clock: opts.clock,
      log: opts.log,
      metrics: opts.metrics,
      retry: opts.retry,
      random: opts.random ?? Math.random,
      receiver: (name) => this.receivers.get(name),
      closing: () => this.closing,
      remove: (q, e, reason) => this.remove(q, e, reason),
    };
  }

  /** True while notifications are kept in memory only (the disk refused writes). */
  get memoryOnly(): boolean {
    return this.journal.memoryOnly;
  }

  /** Reads the journal (pending notifications come back, in order) and rewrites it compactly. Never throws. */
  async open(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    const { log } = this.opts;
    try {
      mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
      this.lock.acquire();
    } catch (e) {
      this.journal.disable();
      this.opts.metrics?.writeError();
      log.error({ dir: this.opts.dir, err: errText(e) }, 'outbox directory unusable: notifications are kept in memory only until restart');
      return;
    }
    let data: Buffer | undefined;
    try {
      data = await this.journal.read();
    } catch (e) {
      // Do not overwrite a journal we could not read: it may hold notifications.
      this.journal.disable();
      this.opts.metrics?.writeError();
      log.error({ dir: this.opts.dir, err: errText(e) }, 'outbox journal unreadable: left untouched, notifications kept in memory only');
      return;
    }
    if (data) this.replay(data);
    await this.journal.rewrite();
  }

  private replay(data: Buffer): void {
    const { records, corrupt, torn } = parseJournal(data);
    if (torn) this.opts.log.warn({ dir: this.opts.dir }, 'outbox journal ends with a torn record (crash during a write); ignored');
    const live = new Map<number, Notification>();
    let maxSeq = 0;
    for (const r of records) {
      if (r.t === 'meta') maxSeq = Math.max(maxSeq, r.nextSeq - 1);
      else if (r.t === 'add') {
        if (!live.has(r.n.seq)) live.set(r.n.seq, r.n);
        maxSeq = Math.max(maxSeq, r.n.seq);
      } else if (r.t === 'del') live.delete(r.seq);
      else if (r.t === 'state') this.state.restore(r.k, r.v);
    }
    this.nextSeq = maxSeq + 1;
    if (corrupt) {
      this.opts.metrics?.dropped('', 'corrupt', corrupt);
      this.opts.log.error({ dir: this.opts.dir, records: corrupt }, 'outbox journal: records failed their checksum and were dropped');
    }
    for (const n of [...live.values()].sort((a, b) => a.seq - b.seq)) {
      const bytes = Buffer.byteLength(encodeRecord({ t: 'add', n }));
      this.push({ n, bytes, ready: true, inFlight: false });
    }
    if (live.size) this.opts.log.info({ pending: live.size }, 'outbox: pending notifications from before the restart will be sent again');
  }

  /** What a rewrite writes: the next sequence, the state, and every pending notification in order. */
  private snapshot(): { records: JournalRecord[]; tags: QueuedNotification[] } {
    const live = [...this.queues.values()].flatMap((q) => q.entries).sort((a, b) => a.n.seq - b.n.seq);
    const adds = live.map((e): JournalRecord => ({ t: 'add', n: e.n }));
    return { records: [{ t: 'meta', nextSeq: this.nextSeq }, ...this.state.records(), ...adds], tags: live };
  }

  /** The journal wrote these entries (or gave up on the disk): they may be sent. */
  private settled(entries: QueuedNotification[]): void {
    for (const e of entries) e.ready = true;
    for (const e of entries) this.queues.get(e.n.receiver)?.pump();
  }

  /** Sets the receivers (on start and reload). Queues of receivers that no longer exist are dropped, counted. */
  setReceivers(receivers: Receiver[]): void {
    this.receivers = new Map(receivers.map((r) => [r.name, r]));
    for (const q of this.queues.values()) {
      if (!this.receivers.has(q.name)) {
        for (const e of [...q.entries]) if (!e.inFlight) this.remove(q, e, 'receiver_removed');
      } else q.pump();
    }
  }

  /** Adds a notification; it is sent once in the journal. Returns it with its sequence and key. */
  enqueue(nn: NewNotification): Notification {
    if (!this.opened) throw new Error('outbox: enqueue before open()');
    const seq = this.nextSeq++;
    const n: Notification = { ...nn, seq, idempotencyKey: idempotencyKey({ ...nn, seq }) };
    const line = encodeRecord({ t: 'add', n });
    const entry: QueuedNotification = { n, bytes: Buffer.byteLength(line), ready: false, inFlight: false };
    if (!this.makeRoom(entry.bytes)) {
      this.opts.metrics?.dropped(n.receiver, 'overflow');
      this.opts.log.error({ receiver: n.receiver, seq, groupKey: n.groupKey }, 'outbox full of in-flight notifications: new notification dropped');
      return n;
    }
    const q = this.push(entry);
    if (!this.journal.append(line, entry)) {
      entry.ready = true; // the disk is failing: deliver from memory, do not hold pages hostage
      q.pump();
    }
    return n;
  }

  private push(e: QueuedNotification): ReceiverQueue {
    let q = this.queues.get(e.n.receiver);
    if (!q) {
      q = new ReceiverQueue(e.n.receiver, this.queueContext);
      this.queues.set(q.name, q);
    }
    q.entries.push(e);
    this.count++;
    this.bytes += e.bytes;
    return q;
  }

  /** Evicts until one more entry of `bytes` fits: oldest resolved first, then oldest. False if it cannot fit. */
  private makeRoom(bytes: number): boolean {
    while (this.count + 1 > this.opts.maxEntries || this.bytes + bytes > this.opts.maxBytes) {
      let victim: { q: ReceiverQueue; e: QueuedNotification } | undefined;
      let oldest: { q: ReceiverQueue; e: QueuedNotification } | undefined;
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

  private remove(q: ReceiverQueue, e: QueuedNotification, reason: DropReason | 'sent'): void {
    if (!q.take(e)) return;
    this.count--;
    this.bytes -= e.bytes;
    if (reason !== 'sent') {
      this.opts.metrics?.dropped(q.name, reason);
      const info = { receiver: q.name, seq: e.n.seq, groupKey: e.n.groupKey, status: e.n.status, ageSeconds: Math.round((this.opts.clock.now() - e.n.createdAt) / 1000) };
      if (reason === 'rejected') this.opts.log.error({ ...info, err: q.lastError }, 'notification rejected by the receiver: dropped');
      else this.opts.log.warn({ ...info, reason }, 'notification dropped');
    }
    if (this.journal.memoryOnly) return; // the next rewrite writes what is left
    if (this.journal.cancel(e)) return; // never written: neither its add nor a del
    this.journal.append(encodeRecord({ t: 'del', seq: e.n.seq }));
  }

  /**
   * Sets a small piece of state (value undefined deletes it) that is written in the same journal,
   * after the notifications enqueued before it (see outbox/stateStore.ts).
   */
  putState(key: string, value: unknown): void {
    this.state.put(key, value);
  }

  /** The state read from the journal (after open) and set since. */
  states(): ReadonlyMap<string, unknown> {
    return this.state.all();
  }

  /** Pending notifications per receiver, for metrics and the status page. */
  status(): QueueStatus[] {
    const now = this.opts.clock.now();
    return [...this.queues.values()].map((q) => q.status(now));
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
    this.journal.stopRepairs();
    const inflight = [...this.queues.values()].map((q) => q.stop()).filter((p): p is Promise<void> => p !== undefined);
    if (inflight.length) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(inflight), new Promise<void>((r) => (t = clock.setTimeout(r, this.opts.drainMs ?? 2000)))]);
      clock.clearTimeout(t);
      for (const q of this.queues.values()) q.abort();
    }
    await this.journal.close();
    this.lock.release();
  }
}
