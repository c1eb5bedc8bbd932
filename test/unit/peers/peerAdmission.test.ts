// Replays of a peer that holds the token but lies (issue 15 items 5 and 6): it reports another
// node's name, dates its messages in the future, or floods states with thousands of instances.
// Each message is refused with an error naming the peer and the bound it breaks, counted by reason,
// and the peer never takes over cluster paging nor replaces its last good state.
import { systemClock } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import { NodeStore } from '../../../agent/state/store';
import type { NodeState } from '../../../agent/state/types';
import { PeerClient } from '../../../agent/peers/peerClient';
import { PeerDirectory } from '../../../agent/peers/peerDirectory';
import { ClusterDeliveryPolicy } from '../../../agent/peers/deliveryPolicy';
import { encodePeerMessage, parsePeerMessage } from '../../../agent/peers/peerMessage';
import { admitState, DEFAULT_PEER_LIMITS } from '../../../agent/peers/peerAdmission';
import { waitFor } from '../../helpers/wait';
import { rawPeer, type RawPeer } from '../../helpers/rawPeer';

const log = silentLogger();

function nodeState(node: string, instances = 1, vipsEach = 1): NodeState {
  const now = Date.now();
  const s = new NodeStore(node, systemClock);
  s.apply({ kind: 'keepalived', up: true, at: now, source: 'dbus' });
  for (let i = 0; i < instances; i++) {
    const vips = Array.from({ length: vipsEach }, (_, j) => `192.0.2.${(i * vipsEach + j) % 250}`);
    s.apply({ kind: 'instance', at: now, source: 'dbus', key: { iname: `VI_${i}`, intf: 'eth0', vrid: (i % 255) + 1, family: 'IPv4' }, state: 'BACKUP', vips });
  }
  return s.state;
}

/** A peer serving, on every connection, the events `frames()` gives (bounded). */
function lyingPeer(frames: () => string[]): Promise<RawPeer> {
  return rawPeer((res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const f of frames()) res.write(`event: state\ndata: ${f}\n\n`);
  });
}

function follow(url: string, dir: PeerDirectory) {
  return new PeerClient([{ name: 'ka2', node: 'ka2', url, token: 'peer-token-0123456789abcdef' }], { directory: dir, clock: systemClock, log, timeoutMs: 600, backoffInitialMs: 20, backoffMaxMs: 100, penaltyMs: 200, self: 'ka1' });
}

test('a peer with the token reporting node "aaa" is refused and does not take over cluster paging', async () => {
  const peer = await lyingPeer(() => [encodePeerMessage(nodeState('aaa'), Date.now())]);
  const dir = new PeerDirectory();
  const c = follow(peer.url, dir);
  // ka1 started long ago: no peer is pending, so the lowest seen agent pages for the cluster.
  const delivery = new ClusterDeliveryPolicy({ self: 'ka1', directory: dir, clock: systemClock, peerTimeoutMs: 600, startedAt: 0 });
  await c.start();
  try {
    await waitFor(() => (dir.get('ka2')?.rejected?.node_mismatch ?? 0) >= 2, { what: 'two refusals (a reconnect after the penalty)' });
    const p = dir.get('ka2')!;
    expect(p.up).toBe(false);
    expect(p.state).toBeUndefined();
    expect(p.rejection).toMatchObject({ reason: 'node_mismatch', error: 'peer ka2 reports node "aaa" but is configured as node "ka2"' });
    expect(p.errors.rejected).toBeGreaterThanOrEqual(2);
    expect(delivery.clusterDeliverer()).toBe('ka1');
    expect(delivery.seen().names).toEqual(['ka1']);
  } finally {
    await c.stop();
    await peer.close();
  }
}, 10_000);

test('a peer claiming this agent\'s own name, or dating its state in the future, is refused', () => {
  const now = Date.now();
  const id = { peer: 'ka2', node: 'ka2', self: 'ka1' };
  const own = parsePeerMessage(encodePeerMessage(nodeState('ka1'), now));
  expect(own.ok && admitState({ ...id, node: undefined }, own.message, 100, now, DEFAULT_PEER_LIMITS)).toMatchObject({ ok: false, reason: 'node_mismatch' });
  const future = parsePeerMessage(encodePeerMessage(nodeState('ka2'), now + 60_000));
  expect(future.ok && admitState(id, future.message, 100, now, DEFAULT_PEER_LIMITS)).toEqual({ ok: false, reason: 'clock_skew', error: 'peer ka2 sent a message dated 60000 ms in the future (max_clock_skew 5000 ms)' });
  // sentAt honest, a transition forged into the future.
  const st = nodeState('ka2');
  st.timeline.push({ at: now + 3_600_000, iname: 'VI_0', from: 'BACKUP', to: 'MASTER', source: 'dbus' });
  const forged = parsePeerMessage(encodePeerMessage(st, now));
  expect(forged.ok && admitState(id, forged.message, 100, now, DEFAULT_PEER_LIMITS)).toMatchObject({ ok: false, reason: 'clock_skew' });
  const fine = parsePeerMessage(encodePeerMessage(nodeState('ka2'), now + 4000));
  expect(fine.ok && admitState(id, fine.message, 100, now, DEFAULT_PEER_LIMITS)).toEqual({ ok: true });
});

test('the caps: instances, VIPs and size each refused with the peer and the cap named', () => {
  const now = Date.now();
  const id = { peer: 'ka2', node: 'ka2', self: 'ka1' };
  const msg = (s: NodeState) => {
    const p = parsePeerMessage(encodePeerMessage(s, now));
    if (!p.ok) throw new Error(p.error);
    return p.message;
  };
  expect(admitState(id, msg(nodeState('ka2', 65)), 1000, now, DEFAULT_PEER_LIMITS)).toMatchObject({ ok: false, reason: 'too_many_instances', error: expect.stringMatching(/^peer ka2 .* 65 instances, over max_instances 64/) });
  expect(admitState(id, msg(nodeState('ka2', 2, 200)), 1000, now, DEFAULT_PEER_LIMITS)).toMatchObject({ ok: false, reason: 'too_many_vips', error: expect.stringMatching(/400 VIPs, over max_vips 256/) });
  expect(admitState(id, msg(nodeState('ka2')), 300_000, now, DEFAULT_PEER_LIMITS)).toMatchObject({ ok: false, reason: 'state_too_large', error: expect.stringMatching(/300000 bytes, over max_state_bytes 262144/) });
  expect(admitState(id, msg(nodeState('ka2', 64, 4)), 1000, now, DEFAULT_PEER_LIMITS)).toEqual({ ok: true });
});

test('a flood of states with 2,600 instances: each refused, the last good state kept, memory of the peer bounded', async () => {
  const good = encodePeerMessage(nodeState('ka2'), Date.now());
  // Encoded once: the replay is about the agent's cost, not the test's.
  const huge = encodePeerMessage(nodeState('ka2', 2600), Date.now());
  let served = 0;
  // Every connection: the good state, then oversized ones (bounded: 12 per connection, 5 connections).
  const peer = await lyingPeer(() => (served++ < 5 ? [good, ...Array.from({ length: 12 }, () => huge)] : []));
  const dir = new PeerDirectory();
  const c = follow(peer.url, dir);
  await c.start();
  try {
    await waitFor(() => (dir.get('ka2')?.rejected?.state_too_large ?? 0) >= 2, { what: 'two floods refused (a reconnect after the penalty)', timeoutMs: 10_000 });
    const p = dir.get('ka2')!;
    expect(Object.keys(p.state!.instances)).toEqual(['VI_0']);
    expect(JSON.stringify(p.state).length).toBeLessThan(DEFAULT_PEER_LIMITS.maxStateBytes);
    expect(p.rejection!.error).toMatch(/^peer ka2 sent a state of \d+ bytes, over max_state_bytes 262144; its last good state is kept$/);
    expect(Object.keys(p.rejected!).sort()).toEqual(['state_too_large']);
  } finally {
    await c.stop();
    await peer.close();
  }
}, 15_000);
