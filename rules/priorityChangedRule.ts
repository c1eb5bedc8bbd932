// PriorityChanged (info): an instance's effective priority changed on some node (a track script,
// interface or track file weight; keepalived's *_PRIORITY notify lines). An event: fires when
// seen, resolves event_hold later; folded into Flapping while its VRID flaps.
import { fmtTime } from '../agent/format';
import { describeVrid, vridLabels } from './format';
import type { Condition, Rule, RuleContext } from './rule';

interface Change {
  vridKey: string;
  node: string;
  iname: string;
  from: number;
  to: number;
  at: number;
  folded: boolean;
}

interface Memory {
  last: Map<string, number>;
  changes: Map<string, Change>;
}

export const priorityChangedRule: Rule = {
  name: 'PriorityChanged',
  severity: 'info',
  rank: 95,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const mem = ctx.memory<Memory>(() => ({ last: new Map(), changes: new Map() }));
    const out: Condition[] = [];
    for (const v of view.vrids) {
      for (const m of v.members) {
        if (!m.fresh || m.effectivePriority === undefined) continue;
        const key = `${m.node}\u0000${m.iname}`;
        const prev = mem.last.get(key);
        mem.last.set(key, m.effectivePriority);
        if (prev === undefined || prev === m.effectivePriority) continue;
        const folded = ctx.flapping.has(v.key);
        if (folded) ctx.fold(v.key);
        const earlier = mem.changes.get(key);
        // A change and its change back within the hold are one alert that names the first value.
        const from = earlier && now - earlier.at < settings.eventHoldMs ? earlier.from : prev;
        mem.changes.set(key, { vridKey: v.key, node: m.node, iname: m.iname, from, to: m.effectivePriority, at: now, folded: folded || (earlier?.folded ?? false) });
      }
      for (const [key, c] of [...mem.changes]) {
        if (c.vridKey !== v.key) continue;
        if (now - c.at >= settings.eventHoldMs) {
          mem.changes.delete(key);
          continue;
        }
        if (c.folded) continue;
        ctx.wakeAt(c.at + settings.eventHoldMs);
        const m = v.members.find((x) => x.node === c.node && x.iname === c.iname);
        out.push({
          severity: 'info',
          labels: { ...vridLabels(v, c.iname), node: c.node },
          startsAt: c.at,
          annotations: {
            summary:
              c.from === c.to
                ? `Priority of ${c.iname} (${describeVrid(v)}) on ${c.node} changed and came back to ${c.to}`
                : `Priority of ${c.iname} (${describeVrid(v)}) on ${c.node} changed from ${c.from} to ${c.to}`,
            description:
              `Seen at ${fmtTime(c.at)}${m?.priority !== undefined ? `; configured priority ${m.priority}` : ''}. ` +
              'A tracked script, interface or file weight moved the effective priority: check the track_script / track_interface / ' +
              'track_file states on that node. If it is now below another node\'s, expect a failover.',
            from: String(c.from),
            to: String(c.to),
          },
        });
      }
    }
    return out;
  },
};
