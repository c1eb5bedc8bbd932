// The delivery policy lives for the agent's life (agent/wiring/shared.ts): a reload that changes
// rules.peer_timeout reaches the one policy the alerting pipeline holds.
import { fingerprint, type Alert } from '../../../agent/alerting/alert';
import { ClusterDeliveryPolicy } from '../../../agent/peers/deliveryPolicy';
import { PeerDirectory } from '../../../agent/peers/peerDirectory';
import { FakeClock } from '../../helpers/fakeClock';

const SPLIT: Alert = { labels: { alertname: 'SplitBrain' }, annotations: { summary: 's', description: 'd' }, fingerprint: fingerprint({ alertname: 'SplitBrain' }), status: 'firing', startsAt: 0, scope: 'cluster' };

test('a configured peer not heard from is pending for the peer timeout set last', () => {
  const clock = new FakeClock(100_000);
  const directory = new PeerDirectory();
  directory.ensure('ka1', 'http://192.0.2.11:9723', clock.now());
  const p = new ClusterDeliveryPolicy({ self: 'ka2', directory, clock, peerTimeoutMs: 3000, startedAt: clock.now() });
  clock.advance(2000);
  expect(p.seen().pending).toEqual(['ka1']);
  expect(p.shouldDeliver(SPLIT)).toBe(false);
  p.setPeerTimeout(1500);
  expect(p.seen()).toEqual({ names: ['ka2'], pending: [] });
  expect(p.shouldDeliver(SPLIT)).toBe(true);
  p.setPeerTimeout(10_000);
  expect(p.seen().pending).toEqual(['ka1']);
});
