// Could a backup take over a VRID if its MASTER failed? Each backup is ready, observed unable
// (its own agent reports keepalived down, the instance FAULT/STOP, nginx down...), or unverified
// (its agent is unreachable or was never reached: nothing about that node is observed now).
// RedundancyLost pages only observed facts; RedundancyUnverified says what is not known.
import type { ClusterMember, ClusterView, ClusterVrid } from '../agent/state/cluster';
import { vridLabels } from './format';
import { lasting } from './pending';
import type { RuleContext, RuleSettings } from './rule';

export type Readiness = { kind: 'ready' } | { kind: 'unable'; reason: string } | { kind: 'unverified'; node: string; reason: string };

/** What is known of one member's ability to take over. */
export function readiness(view: ClusterView, m: ClusterMember, settings: RuleSettings): Readiness {
  const n = view.nodes.find((x) => x.node === m.node);
  if (!m.fresh || !n?.fresh) return { kind: 'unverified', node: m.node, reason: `${m.node}'s agent is unreachable` };
  if (n.keepalivedUp === false) return { kind: 'unable', reason: `${m.node}: keepalived not running` };
  if (m.state !== 'BACKUP' && m.state !== 'MASTER') return { kind: 'unable', reason: `${m.node}: instance ${m.iname} is ${m.state}` };
  if (settings.nginxStandby === 'hot' && n.nginx.up === false) return { kind: 'unable', reason: `${m.node}: nginx down (${n.nginx.reason})` };
  if (settings.nginxStandby === 'cold' && n.state?.nginx.config && !n.state.nginx.config.valid) {
    return { kind: 'unable', reason: `${m.node}: nginx configuration invalid, nginx would not start on takeover${n.state.nginx.config.reason ? ` (${n.state.nginx.config.reason})` : ''}` };
  }
  return { kind: 'ready' };
}

export interface Redundancy {
  master: string;
  iname: string;
  /** Backups observed unable, with why. */
  unable: string[];
  /** Backups (or configured peers never heard from) whose readiness is not observed. */
  unverified: Array<{ node: string; reason: string }>;
}

/**
 * The backups of a VRID that has one serving MASTER, when none of them is observed ready;
 * undefined when a backup is ready, or when the question does not apply (no single MASTER, or
 * the MASTER itself does not serve: NginxDownOnVipHolder's page).
 */
export function noReadyBackup(view: ClusterView, v: ClusterVrid, settings: RuleSettings): Redundancy | undefined {
  if (v.masters.length !== 1) return undefined;
  const master = v.masters[0];
  if (view.nodes.find((n) => n.node === master)?.nginx.up === false) return undefined;
  const r = v.members.filter((m) => m.node !== master).map((m) => readiness(view, m, settings));
  // Configured peers we never heard from: they may be this VRID's backups; nobody vouches for them.
  const known = new Set(view.nodes.filter((n) => n.state).map((n) => n.peer ?? n.node));
  for (const p of settings.peers) if (!known.has(p)) r.push({ kind: 'unverified', node: p, reason: `${p}'s agent was never reached` });
  if (!r.length || r.some((x) => x.kind === 'ready')) return undefined;
  const m = v.members.find((x) => x.node === master)!;
  return {
    master,
    iname: m.iname,
    unable: r.flatMap((x) => (x.kind === 'unable' ? [x.reason] : [])),
    unverified: r.flatMap((x) => (x.kind === 'unverified' ? [{ node: x.node, reason: x.reason }] : [])),
  };
}

/** A VRID without a ready backup for at least rules.condition_for, labelled by the VRID and its master. */
export interface LastingRedundancy extends Redundancy {
  v: ClusterVrid;
  labels: Record<string, string>;
  since: number;
}

/**
 * The VRIDs whose lack of a ready backup, of the kind `which` picks, has lasted rules.condition_for.
 * The calling rule's whole memory: once per evaluation.
 */
export function lastingNoReadyBackup(ctx: RuleContext, which: (r: Redundancy) => boolean): LastingRedundancy[] {
  const { view, settings } = ctx;
  const found = view.vrids.flatMap((v) => {
    const r = noReadyBackup(view, v, settings);
    return r && which(r) ? [{ ...r, key: v.key, v, labels: { ...vridLabels(v, r.iname), node: r.master } }] : [];
  });
  return lasting(ctx, settings.conditionForMs, found);
}
