import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unicastPeerTargets } from '../../../agent/peers/autoPeers';
import { NodeStore } from '../../../agent/state/store';
import { FakeClock } from '../../helpers/fakeClock';
import { startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';
import { waitFor } from '../../helpers/wait';
import { freePort } from '../../helpers/freePort';
import { caSignedCert, selfSignedCert } from '../../helpers/testCerts';
import { peerTargets } from '../../../agent/wiring/peers';

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
    const free = await freePort();
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

describe('zero-config peers follow the TLS of the web config file (--web.config.file)', () => {
  let dir: string;
  const agents: InProcessAgent[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-autopeers-tls-'));
    // Each node's certificate signed by the pair's CA, which is also the client CA.
    selfSignedCert(dir, 'ca', 'pair-ca', 'DNS:pair-ca');
    caSignedCert(dir, 'ca', 'ka1', 'ka1', 'IP:127.0.0.1');
    caSignedCert(dir, 'ca', 'ka2', 'ka2', 'IP:127.0.0.2');
    // One certificate both nodes share, named for neither address.
    selfSignedCert(dir, 'shared', 'lb.example', 'DNS:lb.example');
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** ka1 on 127.0.0.1 and ka2 on 127.0.0.2, one port (discovered peers are asked on our own port); ka1 learns ka2 from unicast_peer. */
  async function pair(webConfig: (node: string) => string): Promise<InProcessAgent> {
    const port = await freePort();
    for (const [node, addr] of [['ka2', '127.0.0.2'], ['ka1', '127.0.0.1']]) {
      const file = join(dir, `web-${node}.yml`);
      writeFileSync(file, webConfig(node));
      agents.push(await startInProcessAgent({ node, extraYaml: `peer_token: ${TOKEN}\n`, webYaml: `web: {listen_address: "${addr}:${port}"}`, webConfigFile: file }));
    }
    const a = agents[1];
    a.apply({ kind: 'instance', at: Date.now(), source: 'keepalived_conf', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, unicastPeers: ['127.0.0.2'] });
    await waitFor(() => a.daemon.hubs.shared.peers.get('127.0.0.2'), { what: 'the unicast peer in the directory', timeoutMs: 3000 });
    expect(a.daemon.hubs.shared.peers.get('127.0.0.2')!.url).toBe(`https://127.0.0.2:${port}`);
    return a;
  }
  const upOn = async (a: InProcessAgent) => {
    const dirA = a.daemon.hubs.shared.peers;
    await waitFor(() => dirA.get('127.0.0.2')?.up === true, { what: `ka2 up on ka1 (last error: ${dirA.get('127.0.0.2')?.error})`, timeoutMs: 5000 });
    expect(dirA.get('127.0.0.2')!.state?.node).toBe('ka2');
  };

  test('https, the client CA trusted, this agent\'s certificate shown to a peer that requires one', async () => {
    await upOn(await pair((node) => `tls_server_config:\n  cert_file: ${node}.pem\n  key_file: ${node}.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n`));
  });

  test('configured https peers are shown this agent\'s certificate when it requires one of its clients', () => {
    const c = { peer_token: TOKEN, peers: [{ name: 'ka2', url: 'https://192.0.2.12:9723', tls_insecure_skip_verify: false }, { name: 'ka3', url: 'http://192.0.2.13:9723', tls_insecure_skip_verify: false }] };
    const own = { certFile: '/etc/keepwatch/ka1.pem', keyFile: '/etc/keepwatch/ka1.key' };
    expect(peerTargets(c, { ...own, clientAuth: 'RequireAndVerifyClientCert' }).map((t) => t.clientCert)).toEqual([own, undefined]);
    expect(peerTargets(c, { ...own, clientAuth: 'VerifyClientCertIfGiven' }).map((t) => t.clientCert)).toEqual([undefined, undefined]);
  });

  test('a certificate the pair shares is trusted whatever address reached the peer', async () => {
    await upOn(await pair(() => 'tls_server_config:\n  cert_file: shared.pem\n  key_file: shared.key\n  client_auth_type: RequireAnyClientCert\n'));
  });
});
