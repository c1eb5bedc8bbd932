// Waiting in tests and benchmarks, defined once: poll until a condition holds or the time is up
// (the error names what was awaited and the last error the condition threw), and sleep. Plain
// Node: the lab and the benchmarks use it too.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface WaitOptions {
  /** Give up after this long (default 5000 ms). */
  timeoutMs?: number;
  /** Poll this often (default 25 ms). */
  stepMs?: number;
  /** What is awaited, for the error. */
  what?: string;
  /** An error the condition throws that ends the wait at once (rethrown), e.g. the awaited process exited. */
  stopOn?: (e: unknown) => boolean;
}

/**
 * Polls `fn` until it returns something other than undefined, null or false (a throw counts as not
 * yet); resolves with that value. Rejects after timeoutMs with what was awaited.
 */
export async function waitFor<T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, opts: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 5000, stepMs = 25, what = 'condition', stopOn } = opts;
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      if (stopOn?.(e)) throw e;
      lastErr = e;
    }
    if (Date.now() >= end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message ?? String(lastErr)}` : ''}`);
    await sleep(stepMs);
  }
}
