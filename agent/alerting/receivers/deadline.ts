// A send's time limit: the receiver's timeout, or sooner when the outbox stops the send.
import type { Clock } from '../../context';

/**
 * A signal that aborts when `outer` does or after `ms` on the clock, its timer held until clear().
 * Not AbortSignal.any([outer, AbortSignal.timeout(ms)]): on Node 20 the timeout signal inside it
 * is weakly held and can be garbage-collected before it fires, leaving a send to a hanging
 * receiver waiting forever; and AbortSignal.timeout runs on the wall clock, not the agent's.
 */
export function deadline(outer: AbortSignal, ms: number, clock: Clock): { signal: AbortSignal; clear(): void } {
  const ac = new AbortController();
  const onAbort = () => ac.abort(outer.reason);
  if (outer.aborted) ac.abort(outer.reason);
  else outer.addEventListener('abort', onAbort, { once: true });
  const timer = clock.setTimeout(() => ac.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  return {
    signal: ac.signal,
    clear() {
      clock.clearTimeout(timer);
      outer.removeEventListener('abort', onAbort);
    },
  };
}
