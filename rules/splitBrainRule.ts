// SplitBrain (critical): two keepalived processes claim MASTER for one VRID. Each path below is a
// claim observed, never inferred from where an address happens to be:
//  - the cluster view: two fresh nodes whose keepalived runs report MASTER (the agents still
//    reach each other, e.g. a firewall drops VRRP only);
//  - one VIP bound on two nodes, each MASTER (of any VRID: two configs that disagree on the VRID);
//  - duplicate-address probing: another host answers for a VIP this MASTER holds, no node in
//    sight holds it, and a node of the pair is out of sight (or no peer agent runs): the other
//    side of a split brain we cannot see into. Only the answer is observed, not a second MASTER:
//    keepalived killed with SIGKILL on the unseen node leaves the same answer. When this is the
//    only evidence the page says just that (two hosts answer, which node is out of sight, its
//    keepalived's state unknown) and gives the fix for both cases;
//  - keepalived's own evidence, repeated: a MASTER receiving another MASTER's lower-priority
//    adverts and forcing new elections (MASTER_RX_LOWER_PRI / "forcing new election").
// A VIP bound on two nodes where one node's keepalived is dead, or its instance BACKUP, FAULT or
// STOP, is not a split brain: that address was left behind (keepalived killed with SIGKILL), one
// keepalived claims MASTER, and VipLeftBound names the fix. A duplicate-address answer from such
// a node is that same address.
// It resolves when one master remains. When no path works (a full partition: each agent sees its
// peer down) nothing can be seen while it lasts; when the peers meet again their timelines show
// both MASTER over the same interval, and it is reported as "lasted from X to Y": an alert that
// fires and resolves at once. An alert that was firing is not resolved because the other MASTER
// went out of sight (its agent restarted, or the partition became total): not seeing is not an all-clear.
import type { Alert } from '../agent/alerting/alert';
import type { ClusterMember, ClusterView, ClusterVrid } from '../agent/state/cluster';
import { masterIntervals, overlaps } from './masterIntervals';
import { fmtDuration, fmtTime } from '../agent/format';
import { andList, describeVrid, describeVridLabels, inameOf, vridKeyOfLabels, vridLabels } from './format';
import type { Condition, Rule, RuleContext } from './rule';
import { claimants, claimsVip, duplicateMeaning, nodesAt, nodeState, vipWithPrefix } from './vipClaims';

interface Episode {
  startsAt: number;
  /** Every condition so far rested on duplicate-address answers alone (no second MASTER seen). */
  answersOnly: boolean;
  /** Every node seen claiming MASTER during the episode. */
  masters: Set<string>;
  /** Claimants that are not nodes of the pair in sight ("another host (MAC ...)"), by first seen. */
  others: string[];
  /** First seen long after it began (the agents met again after it started). */
  late: boolean;
}

interface Memory {
  createdAt: number;
  episodes: Map<string, Episode>;
  /** Split brains already reported (live or after the fact), per VRID key: never twice. */
  reported: Map<string, Array<{ start: number; end: number }>>;
  /** keepalived evidence already looked at, per VRID key + node: its time. */
  evidenceSeen: Map<string, number>;
  /** Live evidence first seen long after it began, per VRID key: when it was first seen. */
  lateSeen: Map<string, number>;
}

/** A one-off MASTER_RX_LOWER_PRI is reported on its own only after this long without peer timelines to say more. */
export const EVIDENCE_SETTLE_MS = 30_000;
const MAX_REPORTED = 50;

function covered(list: Array<{ start: number; end: number }> | undefined, start: number, end: number, slack: number): boolean {
  return (list ?? []).some((r) => start <= r.end + slack && end >= r.start - slack);
}

function remember(m: Memory, key: string, start: number, end: number): void {
  const list = m.reported.get(key) ?? [];
  list.push({ start, end });
  if (list.length > MAX_REPORTED) list.splice(0, list.length - MAX_REPORTED);
  m.reported.set(key, list);
}

const EVIDENCE_TYPES = new Set(['MASTER_RX_LOWER_PRI', 'RX_LOWER_PRI_ADVERT']);

/** How long keepalived's evidence of another MASTER stays current: three adverts (at least 3 s),
 *  the time keepalived itself gives a silent MASTER before taking over. */
function evidenceWindow(m: ClusterMember): number {
  return Math.max(3000, 3 * (m.advertIntervalMs ?? 1000));
}

/** How long a split brain first seen long after it began must go on before it is paged live:
 *  when a total partition heals, the peers may meet before the lower-priority MASTER has heard the
 *  other's adverts and yielded (one advert), so both look MASTER for a moment. Within this window it
 *  is the end of a split brain nobody could see, told once as "lasted from X to Y". */
function lateConfirmMs(v: ClusterVrid, peerTimeoutMs: number): number {
  return Math.max(peerTimeoutMs, ...v.members.map(evidenceWindow));
}

/** "both" for two, "all" for more. */
function bothOrAll(n: number): string {
  return n > 2 ? 'all' : 'both';
}

/** Who holds MASTER of a VRID now, for a resolved notice: "ka1 is MASTER now". */
export function masterNow(view: ClusterView, labels: Record<string, string>): string {
  const key = vridKeyOfLabels(labels);
  const v = view.vrids.find((x) => x.key === key);
  if (!v) return 'the VRID is no longer reported by any node in sight';
  const now = claimants(view, v).map((m) => m.node).sort();
  const stale = [...v.staleMasters].sort();
  const out = stale.length ? `; ${andList(stale)} out of sight (last known MASTER)` : '';
  if (now.length === 1) return `${now[0]} is MASTER now${out}`;
  if (!now.length) return `no node in sight is MASTER now${out}`;
  return `${andList(now)} are MASTER now${out}`;
}

export const splitBrainRule: Rule = {
  name: 'SplitBrain',
  severity: 'critical',
  rank: 30,
  resolvedAnnotations(alert, endsAt, view) {
    if (alert.annotations.evidence === ANSWERS_ONLY) return answersResolved(alert, endsAt, view);
    const who = alert.annotations.claimants ?? (alert.annotations.nodes ? andList(alert.annotations.nodes.split(',')) : 'two nodes');
    const n = Number(alert.annotations.claimant_count ?? 2);
    return {
      ...alert.annotations,
      summary:
        `Split brain on ${describeVridLabels(alert.labels)} is over: ${who} were ${bothOrAll(n)} MASTER ` +
        `from ${fmtTime(alert.startsAt)} to ${fmtTime(endsAt)} (${fmtDuration(endsAt - alert.startsAt)}); ${masterNow(view, alert.labels)}`,
      description: `One MASTER remains. ${alert.annotations.description}`,
      duration_seconds: String(Math.round((endsAt - alert.startsAt) / 100) / 10),
    };
  },
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const mem = ctx.memory<Memory>(() => ({ createdAt: now, episodes: new Map(), reported: new Map(), evidenceSeen: new Map(), lateSeen: new Map() }));
    const out: Condition[] = [];
    const minOverlap = Math.max(settings.splitBrainForMs, 1000);
    for (const v of view.vrids) {
      const live = liveEvidence(ctx, v);
      const ep = mem.episodes.get(v.key);
      const iname = inameOf(v, view.self);
      const confirmAt = lateConfirmation(ctx, v, mem, live, ep);
      if (live && !ep && healingTail(mem, v.key, live)) {
        // The fight's last adverts, reaching this agent just after the split brain they belong to
        // was resolved (a peer's evidence travels slower than our own transition): not a new one.
      } else if (live) {
        const startsAt = ep?.startsAt ?? live.start;
        if (!ep && now - live.start < settings.splitBrainForMs) {
          ctx.wakeAt(live.start + settings.splitBrainForMs);
        } else if (confirmAt !== undefined && now < confirmAt) {
          ctx.wakeAt(confirmAt);
        } else {
          mem.lateSeen.delete(v.key);
          const episode = ep ?? { startsAt, answersOnly: true, masters: new Set<string>(), others: [], late: beganLongAgo(ctx, startsAt) };
          episode.answersOnly &&= live.answers.length > 0 && live.masters.length === 1 && live.answers.length === live.reasons.length;
          for (const n of live.masters) episode.masters.add(n);
          // keepalived's evidence names no node: once a second MASTER of the pair was seen, its
          // adverts are that MASTER's (a node yielding while the evidence window is still open).
          for (const o of live.others) if (!(o.fromEvidence && episode.masters.size >= 2) && !episode.others.includes(o.who)) episode.others.push(o.who);
          mem.episodes.set(v.key, episode);
          const c = episode.answersOnly
            ? answersCondition(v, iname, episode, live.masters[0], live.answers, now)
            : condition(v, iname, episode, live.masters, live.others.map((o) => o.what), live.reasons, now);
          if (episode.late) c.annotations.detected = 'late: the agents could not see each other when it began';
          out.push(c);
          continue;
        }
      } else if (ep) {
        // Still firing while a master of the episode is out of sight and another still claims MASTER.
        const unseen = [...ep.masters].filter((n) => v.staleMasters.includes(n)).sort();
        const stillMaster = claimants(view, v).map((m) => m.node).filter((n) => ep.masters.has(n));
        if (unseen.length && stillMaster.length) {
          const what = unseen.map((n) => `${n} was MASTER when last seen (out of sight since the split brain began)`);
          out.push(condition(v, iname, ep, stillMaster, what, [`${andList(unseen)} out of sight since the split brain began; last known state MASTER`], now));
          continue;
        }
        remember(mem, v.key, ep.startsAt, now);
        mem.episodes.delete(v.key);
      }
      out.push(...pastFromTimelines(ctx, v, mem, iname, minOverlap));
      out.push(...pastFromEvidence(ctx, v, mem, iname));
    }
    for (const k of [...mem.episodes.keys()]) if (!view.vrids.some((v) => v.key === k)) mem.episodes.delete(k);
    for (const k of [...mem.lateSeen.keys()]) if (!view.vrids.some((v) => v.key === k)) mem.lateSeen.delete(k);
    return out;
  },
};

/** Began longer ago than the agents take to see it (split_brain_for + peer_timeout): they could
 *  not see each other when it began. */
function beganLongAgo(ctx: RuleContext, start: number): boolean {
  return ctx.now - start > ctx.settings.splitBrainForMs + ctx.settings.peerTimeoutMs;
}

/** For live evidence without an episode that began long ago: when it will have gone on for the
 *  confirmation window since first seen; undefined otherwise. Forgets it once the evidence is gone. */
function lateConfirmation(ctx: RuleContext, v: ClusterVrid, mem: Memory, live: Live | undefined, ep: Episode | undefined): number | undefined {
  if (!live || ep || !beganLongAgo(ctx, live.start)) {
    mem.lateSeen.delete(v.key);
    return undefined;
  }
  const first = mem.lateSeen.get(v.key) ?? ctx.now;
  mem.lateSeen.set(v.key, first);
  return first + lateConfirmMs(v, ctx.settings.peerTimeoutMs);
}

interface Live {
  start: number;
  /** Nodes of the pair seen claiming MASTER. */
  masters: string[];
  /** Claimants that are not nodes in sight: who (short, for "X and Y were both MASTER") and what was observed. */
  others: Array<{ who: string; what: string; fromEvidence?: boolean }>;
  reasons: string[];
  /** The duplicate-address answers among the reasons (one per VIP). */
  answers: Answer[];
  /** keepalived's evidence of another MASTER is all there is (no second claim in sight, no answer):
   *  when its latest piece came, and how long it stays current. */
  evidenceOnly?: { at: number; windowMs: number };
}

/** Evidence alone whose fight began before the last split brain reported for this VRID ended, and
 *  whose latest piece came within its window of that end: the healing of that split brain. */
function healingTail(mem: Memory, key: string, live: Live): boolean {
  const e = live.evidenceOnly;
  if (!e) return false;
  return (mem.reported.get(key) ?? []).some((r) => live.start <= r.end && e.at <= r.end + e.windowMs);
}

/** Another host answering for a VIP the MASTER `node` holds, while `unseen` are out of sight. */
interface Answer {
  vip: string;
  mac?: string;
  /** The addresses the MASTER's neighbour table gives for that MAC, and the peers they belong to. */
  addresses: string[];
  owners: string[];
  /** Where and how the VIP is bound on the MASTER (for the fix on the other host). */
  intf: string | null;
  prefix?: number;
  unseen: string[];
}

function liveEvidence(ctx: RuleContext, v: ClusterVrid): Live | undefined {
  const { now, view, settings } = ctx;
  const reasons: string[] = [];
  const masters = new Set<string>();
  const others: Live['others'] = [];
  const answers: Answer[] = [];
  const starts: number[] = [];
  const evidence: Array<{ at: number; windowMs: number }> = [];
  const claiming = claimants(view, v);
  if (claiming.length >= 2) {
    const sinces = claiming.map((m) => m.since).sort((a, b) => a - b);
    starts.push(sinces[1]);
    claiming.forEach((m) => masters.add(m.node));
    reasons.push(`keepalived on ${andList(claiming.map((m) => m.node).sort())} reports MASTER`);
  }
  for (const [vip, holders] of Object.entries(v.vipHolders)) {
    const claim = holders.filter((h) => claimsVip(view, h, vip));
    if (claim.length < 2) continue;
    const sinces = claim
      .map((h) => Object.values(nodeState(view, h)?.vips ?? {}).find((x) => x.vip === vip && x.intf !== null)?.since ?? now)
      .sort((a, b) => a - b);
    starts.push(sinces[1]);
    claim.forEach((n) => masters.add(n));
    reasons.push(`VIP ${vip} is bound on ${andList(claim)}, each MASTER`);
  }
  for (const m of claiming) {
    const s = nodeState(view, m.node);
    if (!s) continue;
    for (const vs of Object.values(s.vips)) {
      if (vs.iname !== m.iname) continue;
      const d = duplicateMeaning(view, v, m, vs, settings.peers);
      if (d?.kind !== 'unseen') continue;
      starts.push(d.at);
      masters.add(m.node);
      const host = `another host${d.mac ? ` (MAC ${d.mac})` : ''}`;
      const sight = d.unseen.length ? `; ${andList(d.unseen)} out of sight` : '; no peer agent to ask';
      others.push({ who: host, what: `${host} answers for its VIP ${vs.vip}${sight}` });
      const addresses = vs.duplicate?.macAddresses ?? [];
      answers.push({ vip: vs.vip, mac: d.mac, addresses, owners: nodesAt(view, addresses), intf: vs.intf, prefix: vs.prefix, unseen: d.unseen });
      reasons.push(`${host} answers for VIP ${vs.vip}, which ${m.node} holds as MASTER (duplicate-address probe)${sight}`);
    }
    const ev = s.instances[m.iname]?.lastEvidence;
    const window = evidenceWindow(m);
    if (ev && EVIDENCE_TYPES.has(ev.type) && ev.count >= 2 && now - ev.at <= window) {
      // One piece of evidence per advert: the fight began about count - 1 adverts ago.
      starts.push(ev.at - (ev.count - 1) * (m.advertIntervalMs ?? 1000));
      masters.add(m.node);
      const sender = ev.peer ? `the keepalived at ${ev.peer}` : 'another keepalived';
      if (!claiming.some((o) => o.node !== m.node)) others.push({ who: sender, what: `${sender} sends MASTER adverts too (lower priority)`, fromEvidence: true });
      reasons.push(`keepalived on ${m.node} keeps receiving MASTER adverts from ${sender} with a lower priority and forcing new elections (${ev.count} times)`);
      evidence.push({ at: ev.at, windowMs: window });
    }
  }
  if (!reasons.length) return undefined;
  const evidenceOnly = evidence.length === reasons.length ? evidence.reduce((a, b) => (b.at > a.at ? b : a)) : undefined;
  return { start: Math.min(...starts), masters: [...masters].sort(), others, reasons, answers, ...(evidenceOnly ? { evidenceOnly } : {}) };
}

/** The `evidence` annotation of a condition that rests on duplicate-address answers alone. */
const ANSWERS_ONLY = 'duplicate-address answers only';

/** "VIP 192.0.2.100", "VIPs 192.0.2.100 and 192.0.2.101". */
function vipsWord(vips: string[]): string {
  return `VIP${vips.length > 1 ? 's' : ''} ${andList(vips)}`;
}

/**
 * Another host answers for a VIP this MASTER holds and nothing else says who: what the probe
 * heard, who is out of sight, and the two things the other host may be (a second MASTER, or a
 * dead keepalived's address left behind) with the fix for each. It never says the other host is
 * MASTER: that is not observed.
 */
function answersCondition(v: ClusterVrid, iname: string, ep: Pick<Episode, 'startsAt'>, node: string, answers: Answer[], now: number): Condition {
  const vips = [...new Set(answers.map((a) => a.vip))].sort();
  const macs = [...new Set(answers.map((a) => a.mac).filter((m): m is string => !!m))].sort();
  const addresses = [...new Set(answers.flatMap((a) => a.addresses))].sort();
  const owners = [...new Set(answers.flatMap((a) => a.owners))].sort();
  const unseen = [...new Set(answers.flatMap((a) => a.unseen))].sort();
  // Named only when the neighbour table ties the MAC to exactly one peer's address.
  const owner = owners.length === 1 ? owners[0] : undefined;
  const mac = macs.length ? `MAC ${macs.join(', ')}` : '';
  const at = addresses.length ? `${owner ? `${owner}'s address ` : 'address '}${andList(addresses)}` : '';
  const host = owner ? `${owner} (${[mac, `as ${at}`].filter(Boolean).join(', ')})` : `another host${mac || at ? ` (${[mac, at].filter(Boolean).join(', ')})` : ''}`;
  const there = owner ?? 'that host';
  const sight = unseen.length ? `${andList(unseen)} out of sight, keepalived's state there unknown` : `no peer agent to say what runs on ${there}`;
  const held = answers.find((a) => a.intf !== null) ?? answers[0];
  const fix = `\`ip addr del ${vipWithPrefix(held)} dev ${held.intf ?? '<interface>'}\``;
  const whose = owner
    ? ` ${node}'s neighbour table gives ${mac || 'that MAC'} for ${at}.`
    : macs.length
      ? ` Find that host by its MAC: \`ip neigh | grep -i ${macs[0]}\` on ${node} gives its address.`
      : '';
  return {
    severity: 'critical',
    labels: vridLabels(v, iname),
    startsAt: ep.startsAt,
    annotations: {
      summary: `Two hosts answer for ${vipsWord(vips)} (${describeVrid(v)}): ${node}, MASTER, and ${host}; ${sight}`,
      description:
        `The duplicate-address probe on ${node} hears ${owner ?? host} answer ARP for ${vipsWord(vips)}, which ${node} holds as MASTER` +
        `${held.intf ? ` on ${held.intf}` : ''}.${whose} ` +
        (unseen.length ? `${andList(unseen)} ${unseen.length > 1 ? 'are' : 'is'} out of sight (no agent answers there): nothing says what runs there. ` : `No peer agent runs to say what runs on ${there}. `) +
        `Since ${fmtTime(ep.startsAt)} (${fmtDuration(now - ep.startsAt)}). Clients are split between the two hosts: neighbours send the VIP's traffic ` +
        `to whichever answered last. Not observed: whether keepalived on ${there} is MASTER too (VRRP between the nodes cut: a split brain) ` +
        `or dead (killed with SIGKILL or crashed: it left the VIP bound). On ${there}: if keepalived is not running there, ${fix} ` +
        `(${held.intf ?? 'the interface'} is its interface on ${node}: check the name there); if it runs and is MASTER, check that VRRP ` +
        '(IP protocol 112, multicast 224.0.0.18 or the unicast_peer addresses) passes between the nodes: firewall rules (nft list ruleset, ' +
        'security groups), then virtual_router_id and authentication on both nodes.',
      nodes: node,
      claimants: `${node} and ${host}`,
      claimant_count: '2',
      vips: vips.join(','),
      evidence: ANSWERS_ONLY,
      fix,
    },
  };
}

/** The resolved notice of an answers-only condition: it ends what was observed, and claims no MASTER for the other host. */
function answersResolved(alert: Alert, endsAt: number, view: ClusterView): Alert['annotations'] {
  const vips = (alert.annotations.vips ?? '').split(',').filter(Boolean);
  const node = alert.annotations.nodes ?? 'the MASTER';
  return {
    ...alert.annotations,
    summary:
      `Two hosts no longer answer for ${vips.length ? vipsWord(vips) : 'the VIP'} (${describeVridLabels(alert.labels)}): ${alert.annotations.claimants ?? node} ` +
      `both answered from ${fmtTime(alert.startsAt)} to ${fmtTime(endsAt)} (${fmtDuration(endsAt - alert.startsAt)}); ${masterNow(view, alert.labels)}`,
    description: `No longer observed: ${node} holding the VIP as MASTER while another host answers for it. ${alert.annotations.description}`,
    duration_seconds: String(Math.round((endsAt - alert.startsAt) / 100) / 10),
  };
}

function condition(v: ClusterVrid, iname: string, ep: Pick<Episode, 'startsAt' | 'masters' | 'others'>, masters: string[], others: string[], reasons: string[], now: number): Condition {
  // Sorted: every agent words the same split brain the same way (one fingerprint, one text).
  const sorted = [...masters].sort();
  const startsAt = ep.startsAt;
  let summary: string;
  if (sorted.length >= 2 && !others.length) summary = `${andList(sorted)} are ${bothOrAll(sorted.length)} MASTER`;
  else if (sorted.length >= 2) summary = `${andList(sorted)} are MASTER; ${others.join('; ')}`;
  else summary = `${sorted[0] ?? 'a node'} is MASTER and ${others.join('; ') || 'so is another node'}`;
  // Everyone who claimed MASTER during the episode, for the resolved notice.
  const all = [...[...ep.masters].sort(), ...ep.others];
  return {
    severity: 'critical',
    labels: vridLabels(v, iname),
    startsAt,
    annotations: {
      summary: `Split brain on ${describeVrid(v)}: ${summary}`,
      description:
        `${reasons.join('; ')}. Since ${fmtTime(startsAt)} (${fmtDuration(now - startsAt)}). ` +
        'Both sides answer for the VIP: clients are split between them. Check first that VRRP (IP protocol 112, ' +
        'multicast 224.0.0.18 or the unicast_peer addresses) passes between the nodes: firewall rules (nft list ruleset, ' +
        'security groups), then virtual_router_id and authentication on both nodes.',
      nodes: [...ep.masters].sort().join(','),
      claimants: andList(all),
      claimant_count: String(Math.max(2, all.length)),
    },
  };
}

/** Overlapping MASTER intervals in two fresh nodes' timelines that nobody reported while they lasted. */
function pastFromTimelines(ctx: RuleContext, v: ClusterVrid, mem: Memory, iname: string, minOverlap: number): Condition[] {
  const { now, view } = ctx;
  const fresh = v.members.filter((m) => m.fresh);
  if (fresh.length < 2) return [];
  const out: Condition[] = [];
  const found: Array<{ start: number; end: number; nodes: string[] }> = [];
  for (let i = 0; i < fresh.length; i++) {
    for (let j = i + 1; j < fresh.length; j++) {
      const a = fresh[i];
      const b = fresh[j];
      const sa = nodeState(view, a.node);
      const sb = nodeState(view, b.node);
      if (!sa || !sb) continue;
      for (const o of overlaps(masterIntervals(sa, a.iname), masterIntervals(sb, b.iname), now)) {
        if (!o.closed || o.end - o.start < minOverlap || o.end < mem.createdAt) continue;
        const same = found.find((f) => o.start <= f.end && o.end >= f.start);
        if (same) {
          same.start = Math.min(same.start, o.start);
          same.end = Math.max(same.end, o.end);
          for (const n of [a.node, b.node]) if (!same.nodes.includes(n)) same.nodes.push(n);
        } else found.push({ start: o.start, end: o.end, nodes: [a.node, b.node] });
      }
    }
  }
  for (const f of found) {
    if (covered(mem.reported.get(v.key), f.start, f.end, 1000)) continue;
    remember(mem, v.key, f.start, f.end);
    out.push({
      severity: 'critical',
      labels: vridLabels(v, iname),
      startsAt: f.start,
      endsAt: f.end,
      annotations: {
        summary: `Split brain on ${describeVrid(v)} lasted from ${fmtTime(f.start)} to ${fmtTime(f.end)} (${fmtDuration(f.end - f.start)}): ${andList([...f.nodes].sort())} were ${bothOrAll(f.nodes.length)} MASTER`,
        description:
          'Found after the fact in the nodes\' transition timelines: while it lasted the agents could not reach each other ' +
          '(a full partition, or the agents were down). Both nodes served the VIP meanwhile: check the application for ' +
          'writes on both sides, and what cut the nodes off from each other (links, switch, firewall) at that time. ' +
          'Times are each node\'s own clock.',
        nodes: [...f.nodes].sort().join(','),
        duration_seconds: String(Math.round((f.end - f.start) / 100) / 10),
        detected: 'after healing',
      },
    });
  }
  return out;
}

/** A one-off MASTER_RX_LOWER_PRI (the moment a split brain heals) with no peer timeline to place it. */
function pastFromEvidence(ctx: RuleContext, v: ClusterVrid, mem: Memory, iname: string): Condition[] {
  const { now, view } = ctx;
  const out: Condition[] = [];
  for (const m of v.members) {
    if (!m.fresh) continue;
    const ev = nodeState(view, m.node)?.instances[m.iname]?.lastEvidence;
    if (!ev || !EVIDENCE_TYPES.has(ev.type)) continue;
    const seenKey = `${v.key}\u0000${m.node}`;
    if (mem.evidenceSeen.get(seenKey) === ev.at) continue;
    // More may follow (a fight that goes on is the live path's): one-off only after a quiet window.
    const window = evidenceWindow(m);
    if (now - ev.at < window) {
      ctx.wakeAt(ev.at + window);
      continue;
    }
    if (ev.at < mem.createdAt || covered(mem.reported.get(v.key), ev.at, ev.at, 5000) || mem.episodes.has(v.key)) {
      mem.evidenceSeen.set(seenKey, ev.at);
      continue;
    }
    // Another member in sight: its timeline says whether there was a real overlap (pastFromTimelines).
    const others = v.members.filter((o) => o.node !== m.node);
    if (others.some((o) => o.fresh)) {
      mem.evidenceSeen.set(seenKey, ev.at);
      continue;
    }
    const peersConfigured = ctx.settings.peers.length > 0;
    if (peersConfigured && now - ev.at < EVIDENCE_SETTLE_MS) {
      ctx.wakeAt(ev.at + EVIDENCE_SETTLE_MS);
      continue;
    }
    mem.evidenceSeen.set(seenKey, ev.at);
    remember(mem, v.key, ev.at, ev.at);
    out.push({
      severity: 'critical',
      labels: vridLabels(v, iname),
      startsAt: ev.at,
      endsAt: ev.at,
      annotations: {
        summary: `Split brain on ${describeVrid(v)} ended at ${fmtTime(ev.at)}: keepalived on ${m.node} received a lower-priority MASTER's advert${ev.peer ? ` from ${ev.peer}` : ''}`,
        description:
          `keepalived's own evidence (${ev.type}) that another node was MASTER at the same time as ${m.node}; ` +
          'no peer agent was in sight to say since when. Check why VRRP between the nodes was interrupted (links, firewall) ' +
          'and run peer agents so the next one is seen while it lasts.',
        nodes: m.node,
        detected: 'after healing (keepalived evidence)',
      },
    });
  }
  return out;
}
