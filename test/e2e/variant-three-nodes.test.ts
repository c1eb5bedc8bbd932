// Issue 9, three nodes and zero-config peers, and "one pager per alert": three keepalived nodes
// for one VRID talking unicast (unicast_peer), one agent per node with NO peers: list (each finds
// the two others in keepalived.conf), all paging one webhook receiver in the client namespace.
// Split brain, no master and keepalived down are injected; each agent must raise the right
// alerts, and the receiver must get exactly one page per alert; killing the delivering agent
// hands delivery to the next one.
import { startLab, type Lab, type LabNode } from '../lab/lab';
import { sample, startPeered, waitUntil, type LabAgent } from '../lab/agents';
import { AlertLog, Pager, sleep } from './variantSupport';
import { describeLab } from '../helpers/needs';

jest.setTimeout(120_000);

interface ClusterApi {
  nodes: Array<{ node: string; peer?: string; up: boolean; self: boolean }>;
  vrids: Array<{ key: string; masters: string[] }>;
  problems: string[];
  delivery: { clusterAlertsBy: string | null; agentsSeen: string[]; pending: string[] };
}

describeLab('three nodes, zero-config peers, one pager', () => {
  let lab: Lab;
  let agents: LabAgent[];
  let logs: AlertLog[];
  let pager: Pager;
  let ka1: LabNode;
  let ka2: LabNode;
  let ka3: LabNode;

  beforeAll(async () => {
    lab = await startLab({
      id: 'v9three',
      nodes: 3,
      fifo: true,
      // unicast VRRP: the addresses the agents take as their peers.
      keepalivedExtra: (n) => `  unicast_src_ip ${n.ip}\n  unicast_peer {\n${[1, 2, 3].filter((i) => i !== n.index).map((i) => `    192.0.2.1${i}`).join('\n')}\n  }`,
    });
    [ka1, ka2, ka3] = lab.nodes;
    pager = await Pager.start(lab);
    agents = await startPeered(lab, {
      config: () => ({
        peers: undefined, // zero-config: from keepalived.conf's unicast_peer
        rules: { condition_for: '2s' },
        alerting: pager.alertingConfig(),
      }),
    });
    logs = agents.map((a) => new AlertLog(a).start());
  });

  afterAll(async () => {
    for (const l of logs ?? []) l.stop();
    await lab?.stop();
  });

  async function settled(): Promise<void> {
    await lab.waitForState(ka1, 'MASTER', 20_000);
    await Promise.all([ka2, ka3].map((n) => lab.waitForState(n, 'BACKUP', 20_000)));
  }

  test('every agent found the two others in keepalived.conf; one agent (the lowest name) pages for the cluster', async () => {
    for (const a of agents) {
      const v = await a.getJson<ClusterApi>('/api/v1/cluster');
      const others = lab.nodes.filter((n) => n !== a.node);
      // Named by their unicast_peer address, known by the node name they report.
      expect(v.nodes.filter((n) => !n.self).map((n) => [n.peer, n.node, n.up]).sort()).toEqual(others.map((n) => [n.ip, n.name, true]));
      expect(v.problems).toEqual([]);
      expect(v.delivery).toEqual({ clusterAlertsBy: 'ka1', agentsSeen: ['ka1', 'ka2', 'ka3'], pending: [] });
      const m = await a.metrics();
      for (const o of others) expect(sample(m, 'keepwatch_peer_up', { peer: o.ip })).toBe(1);
    }
    // The generated config really has no peers: list.
    expect(agents.every((a) => !/^peers:/m.test(require('node:fs').readFileSync(a.configFile, 'utf8')))).toBe(true);
  });

  test('a healthy cluster of three: no alert, no page', async () => {
    await sleep(3000);
    for (const l of logs) expect(l.fired()).toEqual([]);
    expect(pager.lines).toEqual([]);
  });

  test('VRRP dropped on the lowest backup (ka3): SplitBrain naming exactly ka1 and ka3 on every agent, one page, one resolve page', async () => {
    const t0 = Date.now();
    await lab.blockVrrp(ka3);
    try {
      await lab.waitForState(ka3, 'MASTER', 15_000);
      const fired = await Promise.all(logs.map((l) => l.waitFor('SplitBrain', 'firing', t0, 15_000)));
      for (const f of fired) {
        expect(f.alert.labels).toMatchObject({ vrid: '51', severity: 'critical' });
        expect(f.alert.annotations.nodes.split(',').sort()).toEqual(['ka1', 'ka3']);
        expect(f.alert.annotations.summary).toBe('Split brain on VRID 51: ka1 and ka3 are both MASTER');
      }
      expect(await lab.states()).toEqual({ ka1: 'MASTER', ka2: 'BACKUP', ka3: 'MASTER' });
      await waitUntil(() => pager.pages('SplitBrain', 'firing', t0).length > 0, 10_000, 50, 'SplitBrain page');
      await sleep(3000); // a second page would come within group_interval (2 s)
      const pages = pager.pages('SplitBrain', 'firing', t0);
      expect(pages.map((p) => p.observer)).toEqual(['ka1']);
      for (const a of agents) {
        const alerts = await a.getJson<Array<{ labels: Record<string, string>; deliveredBy: string | null }>>('/api/v1/alerts');
        expect(alerts.map((x) => [x.labels.alertname, x.deliveredBy])).toEqual([['SplitBrain', 'ka1']]);
      }
    } finally {
      await lab.unblockVrrp(ka3);
    }
    await settled();
    await Promise.all(logs.map((l) => l.waitFor('SplitBrain', 'resolved', t0, 15_000)));
    await sleep(3000);
    for (const l of logs) expect(l.fired(t0)).toEqual(['SplitBrain']);
    expect(pager.summary(t0)).toEqual(['SplitBrain:firing', 'SplitBrain:resolved']);
    expect(pager.pages(undefined, undefined, t0).every((p) => p.observer === 'ka1')).toBe(true);
  });

  test('keepalived stopped on all three: NoMaster and KeepalivedDown for each node, each paged once (the node pages its own)', async () => {
    await sleep(1000);
    const t0 = Date.now();
    await Promise.all(lab.nodes.map((n) => lab.killKeepalived(n, 'SIGTERM')));
    try {
      await Promise.all(logs.map((l) => l.waitFor('NoMaster', 'firing', t0, 15_000)));
      await Promise.all(logs.map((l) => waitUntil(() => l.events('KeepalivedDown', 'firing', t0).length === 3, 10_000, 50, `3 KeepalivedDown on ${l.agent.node.name}`)));
      await sleep(3000);
      for (const l of logs) {
        expect(l.fired(t0)).toEqual(['KeepalivedDown', 'NoMaster']);
        expect(l.events('KeepalivedDown', 'firing', t0).map((s) => s.alert.labels.node).sort()).toEqual(['ka1', 'ka2', 'ka3']);
        expect(l.events('NoMaster', 'firing', t0).map((s) => s.alert.labels.vrid)).toEqual(['51']);
      }
      expect(pager.pages('NoMaster', 'firing', t0).map((p) => p.observer)).toEqual(['ka1']);
      const down = pager.pages('KeepalivedDown', 'firing', t0);
      expect(down.map((p) => `${p.labels.node}<-${p.observer}`).sort()).toEqual(['ka1<-ka1', 'ka2<-ka2', 'ka3<-ka3']);
    } finally {
      await Promise.all(lab.nodes.map((n) => lab.startKeepalived(n)));
    }
    await settled();
    await Promise.all(logs.map((l) => l.waitFor('NoMaster', 'resolved', t0, 15_000)));
    await sleep(3000);
    expect(pager.summary(t0)).toEqual([
      'KeepalivedDown:firing', 'KeepalivedDown:firing', 'KeepalivedDown:firing',
      'KeepalivedDown:resolved', 'KeepalivedDown:resolved', 'KeepalivedDown:resolved',
      'NoMaster:firing', 'NoMaster:resolved',
    ]);
  });

  test('the delivering agent dies during a split brain: the next one (ka2) pages it and its end; ka3 pages no cluster alert', async () => {
    await sleep(1000);
    const t0 = Date.now();
    await lab.blockVrrp(ka3);
    let killedAt = 0;
    try {
      await lab.waitForState(ka3, 'MASTER', 15_000);
      await waitUntil(() => pager.pages('SplitBrain', 'firing', t0).length === 1, 15_000, 50, 'SplitBrain paged by ka1');
      killedAt = Date.now();
      await agents[0].stop('SIGKILL');
      await waitUntil(() => pager.pages('SplitBrain', 'firing', killedAt).length === 1, 15_000, 50, 'SplitBrain paged by the next agent');
      const handedAt = pager.pages('SplitBrain', 'firing', killedAt)[0];
      console.log(`delivery handed over ${handedAt.at - killedAt} ms after the delivering agent was killed (its stream closed at once; at most peer_timeout 3 s for a silent one, + group_interval 2 s)`);
      expect(handedAt.observer).toBe('ka2');
      const v = await agents[1].getJson<ClusterApi>('/api/v1/cluster');
      expect(v.delivery.clusterAlertsBy).toBe('ka2');
    } finally {
      await lab.unblockVrrp(ka3);
    }
    await lab.waitForState(ka3, 'BACKUP', 20_000);
    await waitUntil(() => pager.pages('SplitBrain', 'resolved', t0).length === 1, 15_000, 50, 'SplitBrain resolve paged');
    await sleep(3000);
    expect(pager.pages('SplitBrain', 'firing', t0).map((p) => p.observer)).toEqual(['ka1', 'ka2']);
    expect(pager.pages('SplitBrain', 'resolved', t0).map((p) => p.observer)).toEqual(['ka2']);
    // ka3 pages nothing of the cluster's. With ka1's agent out of sight, ka2 and ka3 no longer see
    // ka1 MASTER: they report the single visible master (ka3) as a Failover whose cause names ka1
    // unreachable, and that one is ka3's own to page (a failover is paged by the new master).
    const fromKa3 = pager.pages(undefined, undefined, t0).filter((p) => p.observer === 'ka3');
    expect(fromKa3.every((p) => p.labels.alertname === 'Failover' && p.labels.node === 'ka3')).toBe(true);
    console.log(`pages after the kill: ${pager.pages(undefined, undefined, killedAt).map((p) => `${p.labels.alertname}:${p.status} by ${p.observer}`).join(', ')}`);
  });
});
