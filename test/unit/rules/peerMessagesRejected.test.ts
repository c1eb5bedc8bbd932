// PeerMessagesRejected: this agent refused a peer's messages (forged node name, clock skew, caps);
// a warning on this agent's node, held for event_hold after the last refusal.
import { peerMessagesRejectedRule } from '../../../rules/peerMessagesRejectedRule';
import { buildClusterView } from '../../../agent/state/cluster';
import { rulePair } from './harness';

describe('PeerMessagesRejected', () => {
  test('a refused message warns, naming the peer, the reason and the error; over after event_hold without another', () => {
    const c = rulePair(peerMessagesRejectedRule, 'ka1');
    const at = c.now;
    const rejection = { reason: 'node_mismatch', error: 'peer ka2 reports node "aaa" but is configured as node "ka2"', at, count: 3 };
    // The directory's rejection, as the peer client records it.
    c.view = () => buildClusterView(c.store('ka1').state, c.peerViews().map((p) => ({ ...p, rejection })), c.now);
    c.evaluate();
    const [w, ...more] = c.conditions('PeerMessagesRejected');
    expect(more).toEqual([]);
    expect(w.severity).toBe('warning');
    expect(w.labels).toEqual({ node: 'ka1', peer: 'ka2', reason: 'node_mismatch' });
    expect(w.annotations.summary).toBe('ka1 refuses messages from peer ka2 (node mismatch)');
    expect(w.annotations.description).toContain('3 message(s) refused so far');
    expect(w.annotations.description).toContain('reports node "aaa"');
    c.advance(c.settings.eventHoldMs - 1000);
    expect(c.conditions('PeerMessagesRejected')).toHaveLength(1);
    c.advance(1100);
    expect(c.conditions('PeerMessagesRejected')).toEqual([]);
  });
});
