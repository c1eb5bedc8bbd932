// Failover (warning): the MASTER of a VRID moved from one node to another, with the cause when the
// cluster view shows it: the old master out of sight, its keepalived stopped, FAULT (and why: nginx
// down, a failing track script), a priority change, or preemption when a former master came back.
// A failover is an event: its alert fires when seen and resolves event_hold later (see
// rules/index.ts for why that hold). While the VRID flaps, failovers fold into the Flapping alert.
// Its `outage` annotation is what clients lived through, from the new master's measurement
// (NodeState.failovers, agent/state/failoverOutage.ts): filled in, and kept current, as the VIP
// binds and the first request through it answers.
import type { ClusterMember, ClusterView, ClusterVrid } from '../agent/state/cluster';
import { nginxServing } from '../agent/state/cluster';
import type { FailoverOutage } from '../agent/state/failoverOutage';
import { fmtDuration, fmtTime } from '../agent/format';
import { describeVrid, inameOf, vridLabels } from './format';
import type { Condition, Rule, RuleContext } from './rule';

interface FailoverEvent {
  from: string;
  to: string;
  at: number;
  cause: string;
  folded: boolean;
}

interface Memory {
  master: Map<string, string>;
  /** Previous masters, newest last (to tell a comeback, i.e. preemption). */
  history: Map<string, string[]>;
  events: Map<string, FailoverEvent[]>;
}

const MAX_EVENTS = 20;

function prio(m: ClusterMember | undefined): number | undefined {
  return m?.effectivePriority ?? m?.priority;
}

/** Why the master moved from `from` to `to`, as far as the view shows. */
export function failoverCause(view: ClusterView, v: ClusterVrid, from: string, to: string, history: string[]): string {
  const o = v.members.find((m) => m.node === from);
  const n = v.members.find((m) => m.node === to);
  const oNode = view.nodes.find((x) => x.node === from);
  const parts: string[] = [];
  const nginxDown = (): string | undefined => {
    const s = oNode?.state ? nginxServing(oNode.state) : undefined;
    return s?.up === false ? `nginx down on ${from} (${s.reason})` : undefined;
  };
  if (!o) return `${from} no longer reports this VRID (instance removed from its keepalived.conf?)`;
  if (!o.fresh || !oNode?.fresh) {
    parts.push(`${from} out of sight: its agent does not answer (agent stopped, host down or cut off from ${view.self}), so why ${from} stopped being MASTER is not observed`);
  } else if (oNode.keepalivedUp === false || o.state === 'STOP') {
    const reason = oNode.state?.keepalived.reason;
    parts.push(`keepalived stopped on ${from}${reason ? ` (${reason})` : ''}`);
  } else if (o.state === 'FAULT') {
    const failing = Object.entries(oNode.state?.scripts ?? {})
      .filter(([, s]) => !s.good)
      .map(([name]) => name);
    parts.push(`${from} went FAULT${failing.length ? ` (failing track script${failing.length > 1 ? 's' : ''}: ${failing.join(', ')})` : ''}`);
    const ng = nginxDown();
    if (ng) parts.push(ng);
  } else {
    const po = prio(o);
    const pn = prio(n);
    const cameBack = history.slice(0, -1).includes(to);
    if (cameBack && pn !== undefined && po !== undefined && pn > po) {
      const delay = n?.preemptDelayS ? ` after preempt_delay ${n.preemptDelayS} s` : '';
      const np = n?.nopreempt ? ' although nopreempt is set on it' : '';
      parts.push(`preemption: ${to} came back with priority ${pn} > ${po} and took over${delay}${np}`);
    } else if (pn !== undefined && po !== undefined && pn > po) {
      if (o.priority !== undefined && po < o.priority) parts.push(`priority change: ${from}'s priority fell to ${po} (configured ${o.priority}): a tracked script, interface or file lowered it`);
      else if (n?.priority !== undefined && pn > n.priority) parts.push(`priority change: ${to}'s priority rose to ${pn} (configured ${n.priority})`);
      else parts.push(`${to} has the higher priority (${pn} > ${po})`);
    } else if (o.state === 'BACKUP') {
      parts.push(`${from} received a higher-priority advert and went BACKUP`);
    }
    const ng = nginxDown();
    if (ng) parts.push(ng);
  }
  return parts.length ? parts.join('; ') : 'cause unknown';
}

/** The old master's loss, in words: which fact the outage is counted from. */
function lossText(o: FailoverOutage): string {
  const from = o.from ?? 'the old master';
  switch (o.loss.kind) {
    case 'keepalived_left':
      return `${from}'s keepalived left`;
    case 'fault':
      return `${from} went FAULT`;
    case 'released':
      return `${from} gave up MASTER`;
    case 'last_advert':
      return `${from}'s last advert (estimated: ${o.node}'s takeover minus master_down_interval ${fmtDuration(o.loss.masterDownMs ?? 0)})`;
  }
}

/** One line for the Failover alert and the incident: "clients saw no service for 2.1 s: ...". */
export function outageLine(o: FailoverOutage): string {
  const t0 = o.loss.at;
  const plus = (at: number) => `+${fmtDuration(at - t0)}`;
  // A VIP left bound on the old master with nginx serving there (clients that still reached it were
  // served), or heard still answering for it after the takeover (they may have been): "no service"
  // would not be a fact; the line then says how long the move took.
  const kept = o.loss.vipLeftBound === true || o.loss.stillAnswered === true;
  const why = o.loss.vipLeftBound
    ? ` (its VIP stayed bound on ${o.from ?? 'it'} with nginx serving: clients that reached it were still served)`
    : o.loss.stillAnswered
      ? ` (${o.from ?? 'the old master'} still answered for the VIP after the takeover (duplicate-address probe): clients that reached it may have been served)`
      : '';
  const parts = [`${lossText(o)} at ${fmtTime(t0)}${why}`];
  if (o.vipBoundAt !== undefined) parts.push(`VIP bound on ${o.node} ${plus(o.vipBoundAt)}`);
  else parts.push(o.done ? `VIP not seen bound on ${o.node}` : `VIP not bound on ${o.node} yet`);
  if (o.firstGoodAt !== undefined) {
    parts.push(`first good request through the VIP ${plus(o.firstGoodAt)}`);
    return `${kept ? 'the move took' : 'clients saw no service for'} ${fmtDuration(o.firstGoodAt - t0)}: ${parts.join('; ')}`;
  }
  if (o.done) {
    if (o.vipBoundAt !== undefined) parts.push('no request through the VIP measured');
    return `${kept ? 'the move took' : 'clients saw no service for'} at least ${fmtDuration((o.vipBoundAt ?? o.masterAt) - t0)}: ${parts.join('; ')}`;
  }
  if (o.vipBoundAt !== undefined) parts.push('no good request through the VIP yet');
  return `${kept ? 'moving since' : 'clients without service since'} ${parts.join('; ')}`;
}

/** The new master's measurement of this takeover, when its state has one. */
function outageOf(view: ClusterView, vrid: string, to: string, at: number): FailoverOutage | undefined {
  const list = view.nodes.find((n) => n.node === to)?.state?.failovers ?? [];
  let best: FailoverOutage | undefined;
  for (const o of list) {
    if (o.vrid !== vrid || Math.abs(o.masterAt - at) > 2000) continue;
    if (!best || Math.abs(o.masterAt - at) < Math.abs(best.masterAt - at)) best = o;
  }
  return best;
}

export const failoverRule: Rule = {
  name: 'Failover',
  severity: 'warning',
  rank: 70,
  // Paged by the agent of the new master (labels.node): the node that took over is up and in the
  // cluster by definition, while the old master's agent may be gone with its host.
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const mem = ctx.memory<Memory>(() => ({ master: new Map(), history: new Map(), events: new Map() }));
    const out: Condition[] = [];
    for (const v of view.vrids) {
      // Only a single master is a verdict: zero is a gap (NoMaster), two a split brain.
      if (v.masters.length === 1) {
        const to = v.masters[0];
        const prev = mem.master.get(v.key);
        if (prev !== to) {
          const hist = mem.history.get(v.key) ?? [];
          hist.push(to);
          if (hist.length > 10) hist.shift();
          mem.history.set(v.key, hist);
          mem.master.set(v.key, to);
          if (prev !== undefined) {
            const m = v.members.find((x) => x.node === to);
            const folded = ctx.flapping.has(v.key);
            const ev: FailoverEvent = { from: prev, to, at: Math.min(m?.since ?? now, now), cause: failoverCause(view, v, prev, to, hist), folded };
            if (folded) ctx.fold(v.key);
            const list = mem.events.get(v.key) ?? [];
            list.push(ev);
            if (list.length > MAX_EVENTS) list.shift();
            mem.events.set(v.key, list);
          }
        }
      }
      const list = (mem.events.get(v.key) ?? []).filter((e) => now - e.at < settings.eventHoldMs);
      mem.events.set(v.key, list);
      const iname = inameOf(v, view.self);
      // Per new master, only its latest failover: an earlier one with the same labels is superseded.
      const latest = new Map<string, FailoverEvent>();
      for (const e of list) if (!e.folded) latest.set(e.to, e);
      for (const e of latest.values()) {
        ctx.wakeAt(e.at + settings.eventHoldMs);
        const outage = outageOf(view, v.key, e.to, e.at);
        out.push({
          severity: 'warning',
          labels: { ...vridLabels(v, iname), node: e.to },
          startsAt: e.at,
          event: true,
          annotations: {
            summary: `Failover of ${describeVrid(v)} from ${e.from} to ${e.to}: ${e.cause}`,
            description:
              `${e.to} became MASTER at ${fmtTime(e.at)}, taking over from ${e.from}. Cause: ${e.cause}. ` +
              `Check that ${e.to} serves (nginx health through the VIP), then why ${e.from} lost the election before it comes back ` +
              '(with preemption it takes the VIP back at once).',
            from: e.from,
            cause: e.cause,
            ...(outage ? { outage: outageLine(outage) } : {}),
          },
        });
      }
    }
    return out;
  },
};
