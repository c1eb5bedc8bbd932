// Zero-config peers (no peers: list, unicast_peer in keepalived.conf) count for the rules as
// configured peers do: a MASTER whose only backup's agent was never reached has no redundancy
// anyone can vouch for (RedundancyUnverified names the unicast peer). With an explicit empty list, no
// peers: a node alone, nothing to say.
import { freePort } from '../../helpers/freePort';
import { healthyMasterEvents, startInProcessAgent } from '../../helpers/inProcessAgent';
import { waitFor } from '../../helpers/wait';

const TOKEN = 'peer-token-0123456789abcdef';

test('a unicast peer never reached: RedundancyUnverified names it; with peers: [] nothing fires', async () => {
  const rules = 'rules: {condition_for: 300ms}\n';
  const a = await startInProcessAgent({ extraYaml: `peer_token: ${TOKEN}\n${rules}`, webYaml: `web: {listen_address: "127.0.0.1:${await freePort()}"}` });
  const b = await startInProcessAgent({ extraYaml: `peer_token: ${TOKEN}\npeers: []\n${rules}` });
  try {
    for (const x of [a, b]) {
      const at = Date.now();
      for (const ev of healthyMasterEvents(at)) x.apply(ev);
      // 127.0.0.2: loopback where nothing listens on our port: the peer stays unreached.
      x.apply({ kind: 'instance', at, source: 'keepalived_conf', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, unicastPeers: ['127.0.0.2'] });
    }
    const lost = () => a.daemon.hubs.alerts.active().filter((x) => x.labels.alertname === 'RedundancyUnverified');
    await waitFor(() => lost().length > 0, { what: 'RedundancyUnverified' });
    expect(lost().map((x) => x.annotations.summary)).toEqual(["127.0.0.2's agent was never reached: 127.0.0.2's readiness to take over VRID 51 from ka1 is unverified"]);
    expect(a.daemon.hubs.alerts.active().filter((x) => x.labels.alertname === 'RedundancyLost')).toEqual([]);
    expect(b.daemon.hubs.alerts.active()).toEqual([]);
  } finally {
    await a.stop();
    await b.stop();
  }
});
