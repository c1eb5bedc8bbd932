// One receiver's queue in the outbox: its notifications in order (FIFO: nothing overtakes a
// notification still being written or retried), one send at a time, and its own retry timer, so
// a receiver that is down delays nobody else. A retry waits what the receiver asked (Retry-After)
// or backs off exponentially with equal jitter; a notification not accepted within max_age is
// dropped as expired.
import type { Logger } from 'pino';
import { equalJitterDelay } from '../../backoff';
import type { Clock } from '../../context';
import { errText } from '../../errors';
import type { Notification } from '../notification';
import type { DropReason, OutboxMetrics } from '../outbox';
import { ReceiverError, type Receiver } from '../receivers/receiver';

/** A notification in a receiver's queue. */
export interface QueuedNotification {
  n: Notification;
  /** Its add record's size: the outbox is bounded in bytes. */
  bytes: number;
  /** Sent only when ready: in the journal, or the journal failed and it is kept in memory. */
  ready: boolean;
  inFlight: boolean;
}

export interface RetryPolicy {
  /** First retry delay (ms); doubles per attempt up to max, with jitter. */
  initial: number;
  max: number;
  /** A notification not accepted within this long after creation is dropped (counted, logged). */
  maxAge: number;
}

export interface QueueStatus {
  receiver: string;
  depth: number;
  oldestAgeSeconds: number;
  attempts: number;
  nextAttemptAt?: number;
  lastError?: string;
}

/** What the queues share with their outbox. */
export interface ReceiverQueueContext {
  clock: Clock;
  log: Logger;
  metrics?: OutboxMetrics;
  retry: RetryPolicy;
  /** [0,1) source for the jitter. */
  random: () => number;
  /** The receiver to send to now; undefined: not configured (its queue waits). */
  receiver(name: string): Receiver | undefined;
  /** True once the outbox closes: nothing new is sent. */
  closing(): boolean;
  /** Takes an entry out of its queue: accepted, or dropped for `reason`. */
  remove(q: ReceiverQueue, e: QueuedNotification, reason: DropReason | 'sent'): void;
}

export class ReceiverQueue {
  readonly entries: QueuedNotification[] = [];
  /** The last failure, for the status page and the log line of a notification refused for good. */
  lastError?: string;
  private attempts = 0;
  private busy = false;
  private timer?: NodeJS.Timeout;
  private notBefore = 0;
  private abortController?: AbortController;
  private inflight?: Promise<void>;

  constructor(readonly name: string, private readonly ctx: ReceiverQueueContext) {}

  /** Takes e out of the queue; false when it is not in it. */
  take(e: QueuedNotification): boolean {
    const i = this.entries.indexOf(e);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    return true;
  }

  /** Sends the head when it is ready and its time has come (or arms the timer for then). */
  pump(): void {
    const { ctx } = this;
    if (ctx.closing() || this.busy || this.timer) return;
    const rcv = ctx.receiver(this.name);
    if (!rcv) return;
    while (this.entries.length) {
      const head = this.entries[0];
      if (!head.ready) return; // FIFO: nothing overtakes a notification still being written
      const now = ctx.clock.now();
      if (now - head.n.createdAt > ctx.retry.maxAge) {
        ctx.remove(this, head, 'expired');
        this.attempts = 0;
        continue;
      }
      if (now < this.notBefore) {
        this.timer = ctx.clock.setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, this.notBefore - now);
        return;
      }
      this.inflight = this.attempt(head, rcv);
      return;
    }
  }

  private async attempt(e: QueuedNotification, rcv: Receiver): Promise<void> {
    const { ctx } = this;
    this.busy = true;
    e.inFlight = true;
    const ac = new AbortController();
    this.abortController = ac;
    let result: void | { retryAfterMs: number } = undefined;
    let error: ReceiverError | undefined;
    try {
      result = await rcv.send(e.n, ac.signal);
    } catch (err) {
      error = err instanceof ReceiverError ? err : new ReceiverError(`${this.name}: ${errText(err)}`, true);
    }
    this.busy = false;
    e.inFlight = false;
    this.abortController = undefined;
    const now = ctx.clock.now();
    if (!error) {
      ctx.metrics?.sent(this.name, Math.max(0, now - e.n.triggeredAt) / 1000);
      this.attempts = 0;
      this.lastError = undefined;
      this.notBefore = result && result.retryAfterMs > 0 ? now + result.retryAfterMs : 0;
      ctx.remove(this, e, 'sent');
    } else if (ac.signal.aborted && ctx.closing()) {
      return; // stopped mid-send: it stays in the journal and goes out after the restart
    } else {
      ctx.metrics?.failed(this.name);
      this.lastError = error.message;
      if (!error.retryable) {
        this.attempts = 0;
        ctx.remove(this, e, 'rejected');
      } else {
        this.attempts++;
        ctx.metrics?.retried(this.name);
        const delay = error.retryAfterMs !== undefined ? error.retryAfterMs : equalJitterDelay(this.attempts - 1, ctx.retry.initial, ctx.retry.max, ctx.random);
        this.notBefore = now + delay;
        ctx.log.warn({ receiver: this.name, seq: e.n.seq, attempt: this.attempts, retryInMs: delay, err: error.message }, 'notification not delivered; will retry');
      }
    }
    this.pump();
  }

  status(now: number): QueueStatus {
    return {
      receiver: this.name,
      depth: this.entries.length,
      oldestAgeSeconds: this.entries.length ? Math.max(0, now - this.entries[0].n.createdAt) / 1000 : 0,
      attempts: this.attempts,
      nextAttemptAt: this.notBefore > now ? this.notBefore : undefined,
      lastError: this.lastError,
    };
  }

  /** Stops the retry timer (the outbox closes); returns the last send, which may still run. */
  stop(): Promise<void> | undefined {
    this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    return this.inflight;
  }

  /** Aborts a send still running: its notification stays in the journal. */
  abort(): void {
    this.abortController?.abort();
  }
}
