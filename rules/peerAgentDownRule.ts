// PeerAgentDown (critical): a peer's keepwatch agent has been silent for rules.peer_agent_dead_after
// while its node still answers VRRP: the agent, not the node, is dead, so nobody watches that node
// (and nobody pages from it). Told apart from a dead node by what keepalived on this node observes:
//  - this node's instance is BACKUP with keepalived up: it hears a master's adverts (without them it
//    would take over within the master-down interval), and no node whose agent answers is MASTER of
//    that VRID, so the master it hears is the silent peer's node (the peer last reported MASTER, or
//    it is the only silent peer);
//  - keepalived here logged an advert from the peer's address (election evidence) within that time.
// A silent peer that is BACKUP while this node is MASTER sends no adverts: nothing here proves its
// node alive, and RedundancyUnverified says what is known (its readiness is unverified).
import { fmtDuration, fmtTime } from '../agent/format';
import { andList, describeVrid } from './format';
import type { Condition, Rule, RuleContext } from './rule';
import { peerAddress } from './vipClaims';

export const peerAgentDownRule: Rule = {
  name: 'PeerAgentDown',
  severity: 'critical',
  rank: 15,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const self = view.nodes.find((n) => n.self);
    if (!self?.state?.keepalived.up) return [];
    const silent = view.nodes.filter((n) => !n.self && !n.up);
    const out: Condition[] = [];
    for (const peer of silent) {
      const lastHeard = peer.lastSeenAt ?? peer.since;
      if (lastHeard === undefined) continue;
      if (now - lastHeard < settings.peerAgentDeadMs) {
        ctx.wakeAt(lastHeard + settings.peerAgentDeadMs);
        continue;
      }
      const seen: string[] = [];
      for (const v of view.vrids) {
        const mine = v.members.find((m) => m.node === self.node);
        if (mine?.state !== 'BACKUP' || v.masters.length) continue;
        const wasMaster = v.staleMasters.includes(peer.node);
        if (!wasMaster && silent.length > 1) continue;
        seen.push(
          `keepalived on ${self.node} is BACKUP for ${describeVrid(v)} since ${fmtTime(mine.since)}, so it hears a master's adverts, and no node whose agent answers is MASTER` +
            (wasMaster ? `; ${peer.node} was MASTER when last heard from` : `; ${peer.node} is the only silent peer`),
        );
      }
      const addr = peerAddress(peer);
      for (const inst of Object.values(self.state.instances)) {
        const e = inst.lastEvidence;
        if (addr && e?.peer === addr && now - e.at <= settings.peerAgentDeadMs) seen.push(`keepalived on ${self.node} logged ${e.type} from ${addr} (${inst.iname}) at ${fmtTime(e.at)}`);
      }
      if (!seen.length) continue;
      out.push({
        severity: 'critical',
        labels: { node: peer.node },
        startsAt: lastHeard + settings.peerAgentDeadMs,
        annotations: {
          summary: `${peer.node}'s keepwatch agent has been silent for ${fmtDuration(now - lastHeard)} while ${peer.node} still answers VRRP`,
          description:
            `Nothing from the agent on ${peer.node} since ${fmtTime(lastHeard)}${peer.error ? ` (last error: ${peer.error})` : ''}, yet its node is alive: ${andList(seen)}. ` +
            `Nobody watches ${peer.node} and nothing pages from it. Check first: systemctl status keepwatch and journalctl -u keepwatch on ${peer.node}, then that its port is reachable from ${self.node}.`,
          observed: seen.join('; '),
        },
      });
    }
    return out;
  },
};
