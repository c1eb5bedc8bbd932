// Exponential backoff with a cap and equal jitter, defined once for everything that retries: sources
// that reconnect (D-Bus) or re-read (dumps), the outbox's receiver queues, the peer client. Jitter
// keeps a fleet of agents from retrying in lockstep after a shared outage.

/** The delay of one attempt (0-based): capped exponential, jittered into [d/2, d] ("equal jitter"). */
export function equalJitterDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random, factor = 2): number {
  const d = Math.min(maxMs, initialMs * factor ** attempt);
  return Math.round(d / 2 + (d / 2) * random());
}

export interface BackoffOptions {
  /** First delay, ms. */
  initialMs?: number;
  /** Largest delay, ms. */
  maxMs?: number;
  factor?: number;
  /** Random in [0,1); injectable so tests get deterministic delays. */
  random?: () => number;
}

export class RetryBackoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.factor = opts.factor ?? 2;
    this.random = opts.random ?? Math.random;
  }

  /** The next delay: capped exponential, jittered into [d/2, d] ("equal jitter"). */
  next(): number {
    const delay = equalJitterDelay(this.attempt, this.initialMs, this.maxMs, this.random, this.factor);
    if (this.initialMs * this.factor ** this.attempt < this.maxMs) this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
