// When was an instance MASTER, from a node's transition timeline. Two nodes' intervals that
// overlap are a split brain, even one that nobody could see while it lasted (a full partition:
// each agent saw its peer down): found when the peers meet again.
// A transition whose time is bounded, not exact (a FIFO line or an inferred change from while the
// agent was down: TransitionRecord.bounds) is taken at the end of its bounds that makes the
// MASTER interval shortest: a MASTER that began then starts at the latest (its `at`), one that
// ended then ends at the earliest. Only what is certain can make a past split brain.
import type { NodeState, TransitionRecord } from '../agent/state/types';

export interface Interval {
  start: number;
  /** undefined: still MASTER. */
  end?: number;
}

/** The earliest a MASTER that t ended can have ended. */
function endOf(t: TransitionRecord): number {
  return t.bounds ? t.bounds.earliest ?? -Infinity : t.at;
}

export function masterIntervals(s: NodeState, iname: string): Interval[] {
  const out: Interval[] = [];
  const entries = s.timeline.filter((t) => t.iname === iname);
  let open: number | undefined;
  if (entries.length && entries[0].from === 'MASTER') open = Math.min(s.bootAt, entries[0].at);
  for (const t of entries) {
    if (t.to === 'MASTER') {
      if (open === undefined) open = t.at;
    } else if (open !== undefined) {
      const end = endOf(t);
      if (end > open) out.push({ start: open, end });
      open = undefined;
    }
  }
  const inst = s.instances[iname];
  if (inst?.state === 'MASTER') out.push({ start: open ?? inst.since });
  else if (open !== undefined) out.push({ start: open, end: inst?.since ?? open });
  return out;
}

/** Overlaps of two interval lists, open ends taken as `now`. `closed` when either side has ended. */
export function overlaps(a: Interval[], b: Interval[], now: number): Array<{ start: number; end: number; closed: boolean }> {
  const out: Array<{ start: number; end: number; closed: boolean }> = [];
  for (const x of a) {
    for (const y of b) {
      const start = Math.max(x.start, y.start);
      const xe = x.end ?? now;
      const ye = y.end ?? now;
      const end = Math.min(xe, ye);
      if (end > start) out.push({ start, end, closed: x.end !== undefined || y.end !== undefined });
    }
  }
  return out;
}
