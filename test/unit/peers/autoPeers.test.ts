import { createServer, type AddressInfo } from 'node:net';
import { unicastPeerTargets } from '../../../agent/peers/autoPeers';
import { NodeStore } from '../../../agent/state/store';
import { FakeClock } from '../../helpers/fakeClock';
import { startInProcessAgent } from '../../helpers/inProcessAgent';
import { waitFor } from '../../helpers/wait';

const TOKEN = 'peer-token-0123456789abcdef';

describe('zero-config peers from unicast_peer', () => {
  test('addresses of every instance, without our own, IPv6 bracketed', () => {
    const clock = new FakeClock();
    const s = new NodeStore('ka1', clock);
    const inst = (iname: string, vrid: number, unicastPeers: string[]) =>
      s.apply({ kind: 'instance', at: clock.now(), source: 'keepalived_conf', key: { iname, intf: 'eth0', vrid, family: 'IPv4' }, unicastPeers });
    inst('VI_1', 51, ['192.0.2.11', '192.0.2.12']);
    inst('VI_6', 52, ['2001:db8::12', '192.0.2.12']);
    const t = unicastPeerTargets(s.state, { port: 9723, scheme: 'http', token: TOKEN, localAddresses: () => new Set(['192.0.2.11']) });
    expect(t).toEqual([
      { name: '192.0.2.12', url: 'http://192.0.2.12:9723', token: TOKEN },
      { name: '2001:db8::12', url: 'http://[2001:db8::12]:9723', token: TOKEN },
    ]);
  });

  test('an agent without peers: follows keepalived.conf; an explicit list wins', async () => {
    // The peers' port is our own listen port: a fixed one here (a free one picked just before).
    const free = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const a = await startInProcessAgent({ node: 'ka1', extraYaml: `peer_token: ${TOKEN}\n`, webYaml: `web: {listen_address: "127.0.0.1:${free}"}` });
    const b = await startInProcessAgent({ node: 'ka1', extraYaml: `peer_token: ${TOKEN}\npeers: []\n` });
    try {
      for (const x of [a, b]) {
        // 127.0.0.2: loopback, nothing listens on our port there; the attempt fails and is counted.
        x.apply({ kind: 'instance', at: Date.now(), source: 'keepalived_conf', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, unicastPeers: ['127.0.0.1', '127.0.0.2'] });
      }
      const port = a.daemon.http.address()!.port;
      const dirA = a.daemon.hubs.shared.peers;
      await waitFor(() => dirA.get('127.0.0.2'), { what: 'the unicast peer in the directory', timeoutMs: 3000 });
      expect(dirA.list().map((p) => [p.name, p.url])).toEqual([['127.0.0.2', `http://127.0.0.2:${port}`]]);
      expect(b.daemon.hubs.shared.peers.list()).toEqual([]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
