// Flapping (warning): the MASTER of a VRID keeps changing. Counted in MASTER changes (another
// node taking MASTER, the VIP moving to another node), not in time bins: it fires at the
// `changes`-th change within `window` (defaults: the 3rd within 5 min, so a failover and its
// failback never flap) and clears after `quiet` without a change (hysteresis: one alert for one
// episode, however long it goes on). While a VRID flaps, Failover and PriorityChanged fold into it.
// A change is a single MASTER (or single VIP holder) that is another node than the last one: the
// moments of a handover with none or two MASTERs are not verdicts, so a split brain that heals
// back to the same master is no change. Changes are taken from two places and the larger count
// wins, so one failover is one change:
//  - the nodes' transition timelines, replayed, which keep changes the cluster view may not show
//    (a peer out of sight meanwhile, two flips between two evaluations);
//  - the cluster view: who is the single MASTER, and who is the single holder of each VIP (a VIP
//    that moves counts even when the transitions are not all visible).
// Only changes after this rule's memory began (the agent's start; a reload keeps it) and after
// the last episode cleared count: history read back at start, or an old episode, never re-pages.
import type { ClusterVrid } from '../agent/state/cluster';
import { seenLive } from '../agent/state/history';
import { describeVrid, fmtDuration, fmtTime, inameOf, vridLabels, type Condition, type Rule, type RuleContext } from './rule';

/** One MASTER change: when, and which node became MASTER (or took the VIP). */
interface Change {
  at: number;
  who: string;
}

/** What the cluster view showed last for a VRID, and the changes seen since. */
interface Observed {
  master?: string;
  masterChanges: Change[];
  holders: Map<string, { holder: string; changes: Change[] }>;
}

interface Episode {
  since: number;
  /** The latest change seen during the episode (kept: a timeline may lose entries, e.g. a peer's restart). */
  last: number;
}

interface Memory {
  createdAt: number;
  observed: Map<string, Observed>;
  flapping: Map<string, Episode>;
  /** When the last episode of a VRID cleared: changes before it do not count again. */
  clearedAt: Map<string, number>;
}

/** Keeps the changes not older than `from`. */
function recent(changes: Change[], from: number): Change[] {
  return changes.filter((c) => c.at >= from);
}

function observe(mem: Memory, v: ClusterVrid, now: number, from: number): Change[][] {
  // Last known states of all members, fresh or not: a peer going out of sight is not a change.
  const masters = v.members.filter((m) => m.state === 'MASTER').map((m) => m.node);
  let o = mem.observed.get(v.key);
  if (!o) {
    o = { master: masters.length === 1 ? masters[0] : undefined, masterChanges: [], holders: new Map() };
    mem.observed.set(v.key, o);
  } else if (masters.length === 1 && masters[0] !== o.master) {
    // Zero or two masters are the moments of a handover, not a verdict: the change is counted
    // when one master is left, and only if it is another node.
    if (o.master !== undefined) o.masterChanges.push({ at: now, who: masters[0] });
    o.master = masters[0];
  }
  o.masterChanges = recent(o.masterChanges, from);
  const out: Change[][] = [o.masterChanges];
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

/**
 * MASTER changes replayed from every member's timeline (each stamped by its node's clock): the
 * set of MASTER nodes is followed through all transitions in time order, and a change is a single
 * MASTER that is another node than the last single one. A split brain (ka1, then ka1 and ka2,
 * then ka1 again) is no change; a failover through FAULT or STOP (ka1, none, ka2) and a
 * preemption (ka2, both for milliseconds, ka1) are one each.
 */
function fromTimelines(ctx: RuleContext, v: ClusterVrid, from: number): Change[] {
  const state = new Map<string, string>();
  const steps: Array<{ at: number; node: string; to: string }> = [];
  for (const m of v.members) {
    const s = ctx.view.nodes.find((n) => n.node === m.node)?.state;
    if (!s) continue;
    // History (what a restarted agent read of its downtime) is no flapping going on now.
    const mine = s.timeline.filter((t) => t.iname === m.iname && t.at <= ctx.now && seenLive(t));
    state.set(m.node, mine.length ? mine[0].from : m.state);
    for (const t of mine) steps.push({ at: t.at, node: m.node, to: t.to });
  }
  steps.sort((a, b) => a.at - b.at);
  const single = (): string | undefined => {
    const masters = [...state].filter(([, st]) => st === 'MASTER').map(([n]) => n);
    return masters.length === 1 ? masters[0] : undefined;
  };
  let last = single();
  const out: Change[] = [];
  for (const st of steps) {
    state.set(st.node, st.to);
    const now = single();
    if (now === undefined || now === last) continue;
    if (last !== undefined && st.at >= from) out.push({ at: st.at, who: now });
    last = now;
  }
  return out;
}

export const flappingRule: Rule = {
  name: 'Flapping',
  rank: 60,
  resolvedAnnotations(alert, endsAt) {
    const last = alert.annotations.last_change ?? fmtTime(alert.startsAt);
    return {
      ...alert.annotations,
      summary:
        `VRID ${alert.labels.vrid}${alert.labels.family === 'IPv6' ? ' (IPv6)' : ''} stopped flapping: the MASTER changed ` +
        `${alert.annotations.master_changes ?? 'several'} times from ${fmtTime(alert.startsAt)} to ${last}, and not since`,
      description: `No MASTER change for ${fmtDuration(endsAt - Date.parse(last))}. ${alert.annotations.description}`,
    };
  },
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const f = settings.flapping;
    const mem = ctx.memory<Memory>(() => ({ createdAt: now, observed: new Map(), flapping: new Map(), clearedAt: new Map() }));
    const out: Condition[] = [];
    for (const v of view.vrids) {
      let ep = mem.flapping.get(v.key);
      // While an episode lasts every change since it began counts (for the summary); otherwise
      // only those within the window. Never those before the agent's start or the last episode.
      const floor = Math.max(mem.createdAt, mem.clearedAt.get(v.key) ?? -Infinity);
      const from = Math.max(floor, ep ? Math.min(ep.since, now - f.windowMs) : now - f.windowMs);
      // The timelines first: on a tie their times (the transitions' own) win over the evaluation's.
      const series = [fromTimelines(ctx, v, from), ...observe(mem, v, now, from)];
      const best = series.reduce((a, b) => (b.length > a.length ? b : a));
      const latest = Math.max(-Infinity, ...series.map((c) => (c.length ? c[c.length - 1].at : -Infinity)));
      if (!ep) {
        if (best.length < f.changes) continue;
        ep = { since: best[best.length - f.changes].at, last: latest };
        mem.flapping.set(v.key, ep);
      } else {
        ep.last = Math.max(ep.last, latest);
        if (now - ep.last >= f.quietMs) {
          mem.flapping.delete(v.key);
          mem.clearedAt.set(v.key, now);
          continue;
        }
      }
      ctx.wakeAt(ep.last + f.quietMs);
      ctx.flapping.add(v.key);
      const iname = inameOf(v, view.self);
      const during = best.filter((c) => c.at >= ep!.since);
      const count = Math.max(f.changes, during.length);
      const who = during.map((c) => c.who);
      const turns = (who.length > 6 ? ['...', ...who.slice(-6)] : who).join(', ');
      out.push({
        severity: 'warning',
        labels: vridLabels(v, iname),
        startsAt: ep.since,
        annotations: {
          summary: `${describeVrid(v)} is flapping: the MASTER changed ${count} times in ${fmtDuration(ep.last - ep.since)} (MASTER in turn: ${turns})`,
          description:
            `Keepalived keeps moving this VRID between nodes (${f.changes} MASTER changes within ${fmtDuration(f.windowMs)} make it flapping; ` +
            `it clears after ${fmtDuration(f.quietMs)} without one). Failovers and priority changes meanwhile are folded into this alert. ` +
            'Check first what keeps changing the election: a track script near its threshold (fall/rise, nginx health), VRRP adverts ' +
            'lost between the nodes (link, firewall, advert_int too short for the network), priorities too close together with ' +
            'preemption (consider nopreempt or preempt_delay).',
          master_changes: String(count),
          last_change: fmtTime(ep.last),
        },
      });
    }
    for (const k of [...mem.flapping.keys()]) if (!view.vrids.some((v) => v.key === k)) mem.flapping.delete(k);
    return out;
  },
};
