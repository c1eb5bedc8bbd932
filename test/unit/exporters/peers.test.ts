// keepwatch_peer_*: the peers as this agent's directory knows them, ages on the agent's clock.
import { FakeClock } from '../../helpers/fakeClock';
import { NodeStore } from '../../../agent/state/store';
import { PeerDirectory } from '../../../agent/peers/peerDirectory';
import { peersCollector } from '../../../exporters/peers';
import { exposition, samples } from './exposition';

test('up, last seen (-1: never), errors and refusals by every reason (0 until one happens), state delay', async () => {
  const clock = new FakeClock();
  const dir = new PeerDirectory();
  const c = peersCollector(dir, clock);
  const render = exposition(c);
  const t = clock.now();
  dir.ensure('ka2', 'http://192.0.2.12:9723', t);
  dir.setUp('ka2', true, t);
  dir.setState('ka2', structuredClone(new NodeStore('ka2', clock).state), t - 40, t);
  dir.ensure('ka3', 'http://192.0.2.13:9723', t);
  dir.countError('ka3', 'connect', 'ECONNREFUSED');
  dir.countError('ka3', 'connect', 'ECONNREFUSED');
  clock.advance(2_500);
  const text = await render();
  const reasons = ['bad_data', 'closed', 'connect', 'flood', 'http_status', 'rejected', 'timeout', 'too_large'];
  const refusals = ['bad_silence', 'clock_skew', 'node_mismatch', 'state_too_large', 'too_many_instances', 'too_many_vips'];
  expect(samples(text, 'keepwatch_peer_')).toEqual([
    ...['ka2', 'ka3'].flatMap((peer) => reasons.map((reason) => `keepwatch_peer_errors_total{peer="${peer}",reason="${reason}"} ${peer === 'ka3' && reason === 'connect' ? 2 : 0}`)),
    'keepwatch_peer_last_seen_seconds{peer="ka2"} 2.5',
    'keepwatch_peer_last_seen_seconds{peer="ka3"} -1',
    ...['ka2', 'ka3'].flatMap((peer) => refusals.map((reason) => `keepwatch_peer_rejected_total{peer="${peer}",reason="${reason}"} 0`)),
    'keepwatch_peer_state_delay_seconds{peer="ka2"} 0.04',
    'keepwatch_peer_up{peer="ka2"} 1',
    'keepwatch_peer_up{peer="ka3"} 0',
  ]);
  // The revision holds within a second and moves with a change of a peer or of the second.
  const r = c.revision?.();
  expect(c.revision?.()).toBe(r);
  dir.setUp('ka2', false, clock.now(), 'closed');
  expect(c.revision?.()).not.toBe(r);
  expect(samples(await render(), 'keepwatch_peer_up{peer="ka2"}')).toEqual(['keepwatch_peer_up{peer="ka2"} 0']);
});
