// Exponential backoff with a cap and jitter, for sources that reconnect (D-Bus) or retry a read
// (dumps). Jitter keeps a fleet of agents from reconnecting in lockstep after a shared outage.

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
    const d = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    if (d < this.maxMs) this.attempt++;
    return Math.round(d / 2 + (d / 2) * this.random());
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
