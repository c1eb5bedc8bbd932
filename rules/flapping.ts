// Which VRIDs flap: their MASTER keeps changing. A derived view of the cluster's history that the
// engine computes before the rules run, and hands to every rule as RuleContext.flapping: the
// Flapping rule pages it, the per-transition rules (Failover, PriorityChanged) fold into it.
// Counted in MASTER changes (another node taking MASTER, the VIP moving to another node), not in
// time bins: a VRID starts flapping at the `changes`-th change within `window` (defaults: the 3rd
// within 5 min, so a failover and its failback never flap) and stops after `quiet` without a
// change (hysteresis: one episode however long it goes on).
// A change is a single MASTER (or single VIP holder) that is another node than the last one: the
// moments of a handover with none or two MASTERs are not verdicts, so a split brain that heals
// back to the same master is no change. Changes are taken from two places and the larger count
// wins, so one failover is one change:
//  - the nodes' transition timelines, replayed, which keep changes the cluster view may not show
//    (a peer out of sight meanwhile, two flips between two evaluations);
//  - the cluster view: who is the single MASTER, and who is the single holder of each VIP (a VIP
//    that moves counts even when the transitions are not all visible).
// Only changes after the tracker began (the agent's start; a reload keeps it) and after the last
// episode ended count: history read back at start, or an old episode, never re-pages.
import type { ClusterView, ClusterVrid } from '../agent/state/cluster';
import { seenLive } from '../agent/state/history';
import type { RuleSettings } from './rule';

/** One MASTER change: when, and which node became MASTER (or took the VIP). */
export interface MasterChange {
  at: number;
  who: string;
}

/** A VRID flapping now. */
export interface FlappingEpisode {
  /** The first of the changes that made it flap. */
  since: number;
  /** The latest change seen during the episode. */
  last: number;
  /** The changes since `since`, oldest first, from the source that saw the most. */
  changes: MasterChange[];
}

/** What the cluster view showed last for a VRID, and the changes seen since. */
interface Observed {
  master?: string;
  masterChanges: MasterChange[];
  holders: Map<string, { holder: string; changes: MasterChange[] }>;
}

interface Episode {
  since: number;
  /** The latest change seen during the episode (kept: a timeline may lose entries, e.g. a peer's restart). */
  last: number;
}

/** Keeps the changes not older than `from`. */
function recent(changes: MasterChange[], from: number): MasterChange[] {
  return changes.filter((c) => c.at >= from);
}

/**
 * MASTER changes replayed from every member's timeline (each stamped by its node's clock): the
 * set of MASTER nodes is followed through all transitions in time order, and a change is a single
 * MASTER that is another node than the last single one. A split brain (ka1, then ka1 and ka2,
 * then ka1 again) is no change; a failover through FAULT or STOP (ka1, none, ka2) and a
 * preemption (ka2, both for milliseconds, ka1) are one each.
 */
function fromTimelines(view: ClusterView, v: ClusterVrid, now: number, from: number): MasterChange[] {
  const state = new Map<string, string>();
  const steps: Array<{ at: number; node: string; to: string }> = [];
  for (const m of v.members) {
    const s = view.nodes.find((n) => n.node === m.node)?.state;
    if (!s) continue;
    // History (what a restarted agent read of its downtime) is no flapping going on now.
    const mine = s.timeline.filter((t) => t.iname === m.iname && t.at <= now && seenLive(t));
    state.set(m.node, mine.length ? mine[0].from : m.state);
    for (const t of mine) steps.push({ at: t.at, node: m.node, to: t.to });
  }
  steps.sort((a, b) => a.at - b.at);
  const single = (): string | undefined => {
    const masters = [...state].filter(([, st]) => st === 'MASTER').map(([n]) => n);
    return masters.length === 1 ? masters[0] : undefined;
  };
  let last = single();
  const out: MasterChange[] = [];
  for (const st of steps) {
    state.set(st.node, st.to);
    const master = single();
    if (master === undefined || master === last) continue;
    if (last !== undefined && st.at >= from) out.push({ at: st.at, who: master });
    last = master;
  }
  return out;
}

/** Follows every VRID's MASTER changes across evaluations; one per agent, kept across reloads. */
export class FlappingTracker {
  private readonly observed = new Map<string, Observed>();
  private readonly episodes = new Map<string, Episode>();
  /** When the last episode of a VRID ended: changes before it do not count again. */
  private readonly endedAt = new Map<string, number>();

  /** @param createdAt the agent's start: changes before it never count. */
  constructor(private readonly createdAt: number) {}

  /** The VRIDs flapping in this view, by key; asks to be woken when an episode would end. */
  update(view: ClusterView, f: RuleSettings['flapping'], now: number, wakeAt: (at: number) => void): Map<string, FlappingEpisode> {
    const out = new Map<string, FlappingEpisode>();
    for (const v of view.vrids) {
      let ep = this.episodes.get(v.key);
      // While an episode lasts every change since it began counts (for the summary); otherwise
      // only those within the window. Never those before the agent's start or the last episode.
      const floor = Math.max(this.createdAt, this.endedAt.get(v.key) ?? -Infinity);
      const from = Math.max(floor, ep ? Math.min(ep.since, now - f.windowMs) : now - f.windowMs);
      // The timelines first: on a tie their times (the transitions' own) win over the evaluation's.
      const series = [fromTimelines(view, v, now, from), ...this.observe(v, now, from)];
      const best = series.reduce((a, b) => (b.length > a.length ? b : a));
      const latest = Math.max(-Infinity, ...series.map((c) => (c.length ? c[c.length - 1].at : -Infinity)));
      if (!ep) {
        if (best.length < f.changes) continue;
        ep = { since: best[best.length - f.changes].at, last: latest };
        this.episodes.set(v.key, ep);
      } else {
        ep.last = Math.max(ep.last, latest);
        if (now - ep.last >= f.quietMs) {
          this.episodes.delete(v.key);
          this.endedAt.set(v.key, now);
          continue;
        }
      }
      wakeAt(ep.last + f.quietMs);
      const since = ep.since;
      out.set(v.key, { since, last: ep.last, changes: best.filter((c) => c.at >= since) });
    }
    for (const k of [...this.episodes.keys()]) if (!view.vrids.some((v) => v.key === k)) this.episodes.delete(k);
    return out;
  }

  /** The changes the cluster view shows from one evaluation to the next: of the single MASTER, and of each VIP's single holder. */
  private observe(v: ClusterVrid, now: number, from: number): MasterChange[][] {
    // Last known states of all members, fresh or not: a peer going out of sight is not a change.
    const masters = v.members.filter((m) => m.state === 'MASTER').map((m) => m.node);
    let o = this.observed.get(v.key);
    if (!o) {
      o = { master: masters.length === 1 ? masters[0] : undefined, masterChanges: [], holders: new Map() };
      this.observed.set(v.key, o);
    } else if (masters.length === 1 && masters[0] !== o.master) {
      // Zero or two masters are the moments of a handover, not a verdict: the change is counted
      // when one master is left, and only if it is another node.
      if (o.master !== undefined) o.masterChanges.push({ at: now, who: masters[0] });
      o.master = masters[0];
    }
    o.masterChanges = recent(o.masterChanges, from);
    const out: MasterChange[][] = [o.masterChanges];
    const vips = new Set(v.members.flatMap((m) => [...m.vips, ...(m.vipsBound ?? [])]));
    for (const vip of vips) {
      const holding = v.members.filter((m) => m.vipsBound?.includes(vip)).map((m) => m.node);
      let h = o.holders.get(vip);
      if (!h) {
        if (holding.length !== 1) continue;
        h = { holder: holding[0], changes: [] };
        o.holders.set(vip, h);
      } else if (holding.length === 1 && holding[0] !== h.holder) {
        h.holder = holding[0];
        h.changes.push({ at: now, who: holding[0] });
      }
      h.changes = recent(h.changes, from);
      out.push(h.changes);
    }
    for (const vip of [...o.holders.keys()]) if (!vips.has(vip)) o.holders.delete(vip);
    return out;
  }
}
