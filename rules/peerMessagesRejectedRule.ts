// PeerMessagesRejected (warning): this agent refused messages from a peer that holds the token:
// another node's name, times in the future beyond peer_limits.max_clock_skew, a state over the caps,
// or invalid silences (agent/peers/peerAdmission.ts). Either a clock or config is wrong, or someone
// with the token is forging; in both cases what that peer says is not believed. It stays firing for
// rules.event_hold after the last refusal (one page per episode, not one per message).
import { fmtTime } from '../agent/format';
import type { Condition, Rule, RuleContext } from './rule';

export const peerMessagesRejectedRule: Rule = {
  name: 'PeerMessagesRejected',
  severity: 'warning',
  rank: 85,
  scope: 'node',
  evaluate(ctx: RuleContext): Condition[] {
    const { now, view, settings } = ctx;
    const out: Condition[] = [];
    for (const n of view.nodes) {
      const r = n.rejection;
      if (n.self || !r) continue;
      if (now - r.at >= settings.eventHoldMs) continue;
      ctx.wakeAt(r.at + settings.eventHoldMs);
      const peer = n.peer ?? n.node;
      out.push({
        severity: 'warning',
        // Node-scoped on this agent: the refusals are this agent's to tell.
        labels: { node: view.self, peer, reason: r.reason },
        annotations: {
          summary: `${view.self} refuses messages from peer ${peer} (${r.reason.replace(/_/g, ' ')})`,
          description:
            `${r.count} message(s) refused so far, the last at ${fmtTime(r.at)}: ${r.error}. What that peer says is not believed (its last good state is kept). ` +
            'A wrong clock (check chrony/timesyncd on both nodes), a peers[].name that is not the peer\'s node name, or someone holding the peer token forging messages.',
        },
      });
    }
    return out;
  },
};
