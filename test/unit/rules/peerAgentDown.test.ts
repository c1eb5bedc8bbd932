// PeerAgentDown: the peer's agent silent for peer_agent_dead_after while its node still answers
// VRRP, as keepalived on this node observes it; a dead node, or no evidence, is not this alert.
import { peerAgentDownRule } from '../../../rules/peerAgentDownRule';
import { rulePair, RuleSim } from './harness';

describe('PeerAgentDown', () => {
  test('the master\'s agent dies, its node keeps sending adverts (we stay BACKUP): pages after peer_agent_dead_after, says what was observed; resolves when the agent is back', () => {
    const c = rulePair(peerAgentDownRule, 'ka2');
    c.nginx('ka1', true); // ka1's agent streams a last refresh, then falls silent
    c.setPeerUp('ka1', false);
    c.advance(29_900);
    expect(c.conditions('PeerAgentDown')).toEqual([]);
    c.advance(200);
    const [a, ...more] = c.conditions('PeerAgentDown');
    expect(more).toEqual([]);
    expect(a.severity).toBe('critical');
    expect(a.labels).toEqual({ node: 'ka1' });
    expect(a.annotations.summary).toBe('ka1\'s keepwatch agent has been silent for 30.0 s while ka1 still answers VRRP');
    expect(a.annotations.observed).toMatch(/^keepalived on ka2 is BACKUP for VRID 51 since .*, so it hears a master's adverts, and no node whose agent answers is MASTER; ka1 was MASTER when last heard from$/);
    c.setPeerUp('ka1', true);
    c.advance(100);
    expect(c.conditions('PeerAgentDown')).toEqual([]);
  });

  test('the whole node dies (adverts stop: we take over): not PeerAgentDown', () => {
    const c = rulePair(peerAgentDownRule, 'ka2');
    c.setPeerUp('ka1', false);
    c.advance(3000);
    c.transition('ka2', 'MASTER');
    c.advance(60_000);
    expect(c.occurrences('PeerAgentDown')).toEqual([]);
  });

  test('the backup\'s agent dies while we are MASTER: nothing here proves its node alive, no page', () => {
    const c = rulePair(peerAgentDownRule, 'ka1');
    c.setPeerUp('ka2', false);
    c.advance(60_000);
    expect(c.occurrences('PeerAgentDown')).toEqual([]);
  });

  test('keepalived here logged an advert from the silent peer\'s address: that is the evidence', () => {
    const c = new RuleSim(peerAgentDownRule, ['192.0.2.11', '192.0.2.12']);
    c.boot('192.0.2.11', [{ state: 'MASTER', priority: 150 }]);
    c.boot('192.0.2.12', [{ state: 'BACKUP', priority: 100 }]);
    c.advance(10_000);
    c.setPeerUp('192.0.2.12', false);
    c.advance(25_000);
    c.apply('192.0.2.11', { kind: 'evidence', iname: 'VI_1', type: 'MASTER_RX_LOWER_PRI', peer: '192.0.2.12', peerPriority: 100, ourPriority: 150 });
    c.advance(5100);
    expect(c.conditions('PeerAgentDown').map((x) => x.annotations.observed)).toEqual([expect.stringMatching(/^keepalived on 192\.0\.2\.11 logged MASTER_RX_LOWER_PRI from 192\.0\.2\.12 \(VI_1\) at /)]);
    // The evidence grows older than peer_agent_dead_after: nothing left to tell the node is alive.
    c.advance(30_000);
    expect(c.conditions('PeerAgentDown')).toEqual([]);
  });
});
