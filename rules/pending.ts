// "True for at least X" (Prometheus' `for:`): a condition pages only once it has held that long,
// so the moments of a handover or a probe's single miss never page. Kept in the rule's memory.
import type { RuleContext } from './rule';

/**
 * Remembers since when each keyed condition has been true, for "true for at least X" rules.
 * Keys not seen in an evaluation are forgotten (the condition went away and restarts if it returns).
 */
export class PendingSince {
  private since = new Map<string, number>();
  private seen = new Set<string>();

  /** Marks key true now (or since `from` when the condition's own start is known); returns its start. */
  hold(key: string, now: number, from?: number): number {
    this.seen.add(key);
    let s = this.since.get(key);
    if (s === undefined) {
      s = from !== undefined ? Math.min(from, now) : now;
      this.since.set(key, s);
    }
    return s;
  }

  /** Call once per evaluation, after all hold()s: drops keys that were not held. */
  sweep(): void {
    for (const k of [...this.since.keys()]) if (!this.seen.has(k)) this.since.delete(k);
    this.seen.clear();
  }
}

/** The memory of a rule that needs nothing but a PendingSince. */
export function pendingSince(ctx: RuleContext): PendingSince {
  return ctx.memory<{ pending: PendingSince }>(() => ({ pending: new PendingSince() })).pending;
}

/** A condition that must last forMs: returns true when due, or asks to be woken when it will be. */
export function due(ctx: RuleContext, since: number, forMs: number): boolean {
  if (ctx.now - since >= forMs) return true;
  ctx.wakeAt(since + forMs);
  return false;
}

/** Something true now, under a key unique within its rule, with its own start when known. */
export interface Keyed {
  key: string;
  from?: number;
}

/**
 * Of what a rule found true now, what has been true for at least forMs, each with since when.
 * The whole of the rule's memory: call it once per evaluation with everything found (a key left
 * out is forgotten, and starts afresh if it comes back).
 */
export function lasting<T extends Keyed>(ctx: RuleContext, forMs: number, found: Iterable<T>): Array<T & { since: number }> {
  const pending = pendingSince(ctx);
  const out: Array<T & { since: number }> = [];
  for (const f of found) {
    const since = pending.hold(f.key, ctx.now, f.from);
    if (due(ctx, since, forMs)) out.push({ ...f, since });
  }
  pending.sweep();
  return out;
}
