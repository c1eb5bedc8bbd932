// Flapping (warning): a VRID whose instances or VIP holder keep changing, scored as Nagios scores
// flapping: the last `window` states (window - 1 possible changes), recent changes weighted more
// (0.75 oldest -> 1.25 newest), percent of state change; flapping starts above high_threshold and
// stops below low_threshold (hysteresis: one alert, not one per crossing).
// Nagios takes a state per check; VRRP changes are events, so time is cut into window - 1 checks
// of horizon / (window - 1) each, and a check "changed" when any transition fell in it (a
// MASTER->BACKUP->MASTER within one check still counts, where sampling would miss it).
// Scored per VRID, separately for each node's instance and for who holds the VIP, the highest
// score counting. While a VRID flaps, Failover and PriorityChanged fold into this one alert.
import type { ClusterVrid } from '../agent/state/cluster';
import { seenLive } from '../agent/state/history';
import { describeVrid, fmtDuration, inameOf, vridLabels, type Condition, type Rule, type RuleContext } from './rule';

interface Memory {
  holders: Map<string, { key: string; changes: number[] }>;
  flapping: Map<string, { since: number }>;
}

export interface FlapScore {
  percent: number;
  changedChecks: number;
  checks: number;
  checkMs: number;
}

/** Nagios-style weighted percent state change of a series of change times. */
export function flapScore(changes: number[], now: number, window: number, horizonMs: number): FlapScore {
  const n = Math.max(2, window - 1);
  const checkMs = horizonMs / n;
  const current = Math.floor(now / checkMs);
  const changed = new Array<boolean>(n).fill(false);
  for (const t of changes) {
    if (t > now) continue;
    const age = current - Math.floor(t / checkMs);
    if (age >= 0 && age < n) changed[n - 1 - age] = true;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) if (changed[i]) sum += 0.75 + (0.5 * i) / (n - 1);
  return { percent: (sum / n) * 100, changedChecks: changed.filter(Boolean).length, checks: n, checkMs };
}

function seriesOf(ctx: RuleContext, v: ClusterVrid, mem: Memory): Array<{ what: string; changes: number[] }> {
  const { now, view, settings } = ctx;
  const horizonStart = now - settings.flapping.horizonMs;
  const out: Array<{ what: string; changes: number[] }> = [];
  for (const m of v.members) {
    const s = view.nodes.find((n) => n.node === m.node)?.state;
    if (!s) continue;
    // History (what a restarted agent read of its downtime) is no flapping going on now.
    const changes = s.timeline.filter((t) => t.iname === m.iname && t.from !== 'UNKNOWN' && seenLive(t) && t.at >= horizonStart).map((t) => t.at);
    out.push({ what: `${m.node}/${m.iname}`, changes });
  }
  // Who is MASTER and who holds the VIPs, as seen from here: a VIP that moves counts even when the
  // instances' own transitions are not all visible (a peer's timeline lost on its restart).
  // Last known states of all members, fresh or not: a peer going out of sight is not a change.
  const masters = v.members.filter((m) => m.state === 'MASTER').map((m) => m.node).sort();
  const holding = v.members.flatMap((m) => (m.vipsBound ?? []).map((vip) => `${vip}@${m.node}`)).sort();
  const holderKey = JSON.stringify([masters, holding]);
  const h = mem.holders.get(v.key);
  if (!h) mem.holders.set(v.key, { key: holderKey, changes: [] });
  else if (h.key !== holderKey) {
    h.key = holderKey;
    h.changes.push(now);
  }
  const hh = mem.holders.get(v.key)!;
  hh.changes = hh.changes.filter((t) => t >= horizonStart);
  out.push({ what: 'master/VIP holder', changes: hh.changes });
  return out;
}

export const flappingRule: Rule = {
  name: 'Flapping',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const f = settings.flapping;
    const mem = ctx.memory<Memory>(() => ({ holders: new Map(), flapping: new Map() }));
    const out: Condition[] = [];
    for (const v of view.vrids) {
      let best: (FlapScore & { what: string }) | undefined;
      for (const s of seriesOf(ctx, v, mem)) {
        const sc = flapScore(s.changes, now, f.window, f.horizonMs);
        if (!best || sc.percent > best.percent) best = { ...sc, what: s.what };
      }
      if (!best) continue;
      let st = mem.flapping.get(v.key);
      if (!st && best.percent >= f.highThreshold && best.changedChecks > 0) {
        st = { since: now };
        mem.flapping.set(v.key, st);
      } else if (st && best.percent < f.lowThreshold) {
        mem.flapping.delete(v.key);
        st = undefined;
      }
      if (!st) continue;
      ctx.flapping.add(v.key);
      const iname = inameOf(v, view.self);
      out.push({
        severity: 'warning',
        labels: vridLabels(v, iname),
        startsAt: st.since,
        annotations: {
          summary: `${describeVrid(v)} is flapping: ${best.what} changed in ${best.changedChecks} of the last ${best.checks} periods of ${fmtDuration(best.checkMs)} (${best.percent.toFixed(0)}% state change)`,
          description:
            `Keepalived keeps moving this VRID between nodes (flapping above ${f.highThreshold}%, clears below ${f.lowThreshold}%); ` +
            'failovers and priority changes meanwhile are folded into this alert. Check first what keeps changing the ' +
            'election: a track script near its threshold (fall/rise, nginx health), VRRP adverts lost between the nodes ' +
            '(link, firewall, advert_int too short for the network), priorities too close together with preemption ' +
            '(consider nopreempt or preempt_delay).',
          percent_state_change: best.percent.toFixed(1),
        },
      });
    }
    for (const k of [...mem.flapping.keys()]) if (!view.vrids.some((v) => v.key === k)) mem.flapping.delete(k);
    return out;
  },
};
