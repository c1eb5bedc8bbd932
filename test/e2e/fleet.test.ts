// Two pairs, one Alertmanager cluster, on the real lab (issue 16): two labs (four nodes), both pairs
// keepalived's sample VRID 51 and VI_1, told apart only by their `cluster` external label, their
// agents peered within each pair and pushing to a two-member prometheus-alertmanager cluster
// gossiping on loopback (relayed into the namespaces). A split brain on pair A and a failover on
// pair B are distinct alerts in Alertmanager and resolve each on its own; a silence set through
// pair A's ka1 holds a page of ka2 (ka1's agent gone, ka2 paging for the pair); every agent's
// Watchdog is in both members; a member stopped while alerts change gets them once it is back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labSupported, startLab, type Lab, type LabNode } from '../lab/lab';
import { startPeered, waitUntil, type LabAgent } from '../lab/agents';
import { startInbox, hasAlert, type Inbox } from '../lab/inbox';
import { settled } from '../lab/scenarios';
import { AM_BIN, startAlertmanagers, type AlertmanagerCluster, type AmAlert } from '../lab/alertmanagers';
import { describeNeeding, needs, requiredAsRoot } from '../helpers/needs';

const support = labSupported();

jest.setTimeout(240_000);

const API_TOKEN = 'lab-api-token-0123456789abcdef';

interface Pair {
  cluster: string;
  lab: Lab;
  inbox: Inbox;
  agents: LabAgent[];
}

const ofCluster = (list: AmAlert[], cluster: string, alertname: string) => list.filter((a) => a.labels.cluster === cluster && a.labels.alertname === alertname);
const show = (list: AmAlert[]) => list.map((a) => `${a.labels.alertname}{cluster=${a.labels.cluster},node=${a.labels.node ?? ''},vrid=${a.labels.vrid ?? ''}}`).sort().join(' ');

describeNeeding([requiredAsRoot(needs.that(support.ok, 'the lab (network namespaces)', support.why ?? '')), needs.file(AM_BIN, 'apt-get install prometheus-alertmanager')], 'two pairs with VRID 51 / VI_1 paging one two-member Alertmanager cluster', () => {
  let dir: string;
  let am: AlertmanagerCluster;
  let A: Pair;
  let B: Pair;

  async function startPair(id: string, cluster: string): Promise<Pair> {
    const lab = await startLab({ id });
    await am.relayInto(lab);
    const inbox = await startInbox(lab);
    const agents = await startPeered(lab, {
      config: (node: LabNode) => ({
        alerting: {
          api_token: API_TOKEN,
          external_labels: { cluster },
          retry: { initial: '100ms', max: '1s' },
          route: { receiver: 'inbox', routes: [{ receiver: 'am', continue: true }, { receiver: 'inbox' }] },
          receivers: [
            { name: 'inbox', type: 'webhook', url: inbox.urlFor(node.name) },
            { name: 'am', type: 'alertmanager', urls: am.urls, resend_interval: '2s' },
          ],
        },
        rules: { event_hold: '20s', peer_agent_dead_after: '5s' },
      }),
    });
    return { cluster, lab, inbox, agents };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-fleet-'));
    am = await startAlertmanagers(join(dir, 'am'), 2);
    A = await startPair('fleeta', 'pair-a');
    B = await startPair('fleetb', 'pair-b');
  });
  afterAll(async () => {
    await A?.lab.stop();
    await B?.lab.stop();
    await am?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const [am1, am2] = [() => am.members[0], () => am.members[1]];

  test('every agent\'s Watchdog is in both members, each with its pair\'s cluster label', async () => {
    for (const m of am.members) {
      const list = await waitUntil(async () => {
        const l = await m.alerts();
        return ofCluster(l, 'pair-a', 'Watchdog').length === 2 && ofCluster(l, 'pair-b', 'Watchdog').length === 2;
      }, 20_000, 200, `four Watchdogs at ${m.name}`).then(() => m.alerts());
      const dogs = list.filter((a) => a.labels.alertname === 'Watchdog').map((a) => `${a.labels.cluster}/${a.labels.node}`).sort();
      expect(dogs).toEqual(['pair-a/ka1', 'pair-a/ka2', 'pair-b/ka1', 'pair-b/ka2']);
    }
  });

  test('a split brain on A and a failover on B: distinct alerts in both members, each resolving on its own', async () => {
    const [bka1] = B.lab.nodes;
    const [, aka2] = A.lab.nodes;
    // B: ka1's keepalived crashes and stays down; ka2 takes over (Failover, KeepalivedDown).
    await B.lab.killKeepalived(bka1, 'SIGKILL');
    await B.lab.waitForState(B.lab.nodes[1], 'MASTER', 15_000);
    // A: VRRP dropped on ka2, both MASTER (SplitBrain).
    await A.lab.blockVrrp(aka2);
    try {
      await A.lab.waitForState(aka2, 'MASTER', 15_000);
      for (const m of am.members) {
        let last: AmAlert[] = [];
        await waitUntil(async () => {
          last = await m.alerts();
          return ofCluster(last, 'pair-a', 'SplitBrain').length === 1 && ofCluster(last, 'pair-b', 'KeepalivedDown').length === 1 && ofCluster(last, 'pair-b', 'Failover').length === 1;
        }, 30_000, 200, `A's SplitBrain and B's Failover + KeepalivedDown at ${m.name}`).catch((e: Error) => {
          throw new Error(`${e.message}; ${m.name} has ${show(last)}`);
        });
        console.log(`${m.name} during both faults: ${show(last)}`);
        const sb = ofCluster(last, 'pair-a', 'SplitBrain')[0];
        expect(sb.labels).toMatchObject({ vrid: '51', iname: 'VI_1', cluster: 'pair-a' });
        expect(ofCluster(last, 'pair-b', 'SplitBrain')).toHaveLength(0);
        expect(ofCluster(last, 'pair-b', 'Failover')[0].labels).toMatchObject({ vrid: '51', cluster: 'pair-b' });
      }
    } finally {
      await A.lab.unblockVrrp(aka2);
    }
    await settled(A.lab);
    // A's resolve ends A's alert only: B's KeepalivedDown is still there (ka1's keepalived still down).
    for (const m of am.members) {
      await waitUntil(async () => ofCluster(await m.alerts(), 'pair-a', 'SplitBrain').length === 0, 30_000, 200, `A's SplitBrain resolved at ${m.name}`);
      const list = await m.alerts();
      expect(ofCluster(list, 'pair-b', 'KeepalivedDown')).toHaveLength(1);
      expect(ofCluster(list, 'pair-b', 'KeepalivedDown')[0].status.state).toBe('active');
    }
    await B.lab.startKeepalived(bka1);
    await settled(B.lab);
    for (const m of am.members) {
      await waitUntil(async () => ofCluster(await m.alerts(), 'pair-b', 'KeepalivedDown').length === 0, 30_000, 200, `B's KeepalivedDown resolved at ${m.name}`);
    }
  });

  test('a silence set through A\'s ka1 holds the page ka2 sends once it pages for the pair', async () => {
    const [a1, a2] = A.agents;
    const [aka1, aka2] = A.lab.nodes;
    // Whatever the previous test left firing in A (its Failovers, event_hold) ends first.
    await waitUntil(async () => (await a2.getJson<Array<{ labels: Record<string, string> }>>('/api/v1/alerts')).every((a) => a.labels.alertname === 'Watchdog'), 60_000, 500, 'A quiet');
    const r = await fetch(`${a1.url}/api/v1/silences`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: ['alertname="Failover"', 'cluster="pair-a"'], duration: '1h', createdBy: 'e2e', comment: 'planned switchover of pair A' }),
    });
    expect(r.ok).toBe(true);
    const { silenceID } = (await r.json()) as { silenceID: string };
    const onKa2 = async () => (await (await fetch(`${a2.url}/api/v1/silences`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).json()) as Array<{ id: string }>;
    await waitUntil(async () => (await onKa2()).some((s) => s.id === silenceID), 5000, 50, 'the silence on ka2');
    // ka1's agent goes (ka2 now pages for the pair), then ka1's keepalived: ka2 takes over.
    await a1.stop();
    const t0 = Date.now();
    try {
      await A.lab.killKeepalived(aka1);
      await A.lab.waitForState(aka2, 'MASTER', 15_000);
      type ApiAlert = { labels: Record<string, string>; status: { state: string; silencedBy: string[] } };
      const failoverOnKa2 = async () => (await a2.getJson<ApiAlert[]>('/api/v1/alerts')).find((a) => a.labels.alertname === 'Failover');
      // ka2 raised the Failover (it would page it: ka1's agent is gone) and holds it by ka1's silence.
      const seenAt = await waitUntil(async () => await failoverOnKa2(), 30_000, 100, 'the Failover on ka2');
      expect((await failoverOnKa2())?.status).toMatchObject({ state: 'suppressed', silencedBy: [silenceID] });
      // ka2 pages for the pair (a group flush after the Failover was there), without the Failover.
      await A.inbox.explain(t0, () => A.inbox.waitFor('a page from ka2 after the Failover', (e) => e.path === '/ka2', seenAt, 60_000));
      expect(A.inbox.since(t0).filter((e) => hasAlert(e, 'Failover', 'firing')).map((e) => e.path)).toEqual([]);
    } finally {
      await A.lab.startKeepalived(aka1);
      await a1.restart();
    }
    await settled(A.lab);
  });

  test('a member stopped while B\'s nginx dies loses nothing: it gets the InstanceFault once back', async () => {
    const [bka1, bka2] = B.lab.nodes;
    await am2().stop();
    const t0 = Date.now();
    try {
      await B.lab.stopNginx(bka1, 'SIGKILL');
      await B.lab.waitForState(bka2, 'MASTER', 20_000);
      let last: AmAlert[] = [];
      await waitUntil(async () => ofCluster((last = await am1().alerts()), 'pair-b', 'InstanceFault').length === 1, 30_000, 200, 'B\'s InstanceFault at am1 while am2 is down').catch((e: Error) => {
        throw new Error(`${e.message}; am1 has ${show(last)}`);
      });
    } finally {
      await am2().start();
    }
    let back: AmAlert[] = [];
    await waitUntil(async () => ofCluster((back = await am2().alerts()), 'pair-b', 'InstanceFault').length === 1, 60_000, 200, 'B\'s InstanceFault at am2 after it came back').catch((e: Error) => {
      throw new Error(`${e.message}; am2 has ${show(back)}`);
    });
    console.log(`am2 back ${Date.now() - t0} ms after the fault: ${show(back)}`);
    expect(Date.parse(ofCluster(back, 'pair-b', 'InstanceFault')[0].startsAt)).toBeGreaterThanOrEqual(t0 - 1000);
    await B.lab.startNginx(bka1);
    await settled(B.lab);
  });
});
