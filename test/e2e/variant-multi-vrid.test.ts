// Issue 9 on the real lab: one pair running four VRRP instances at once, the shapes real sites
// use besides the textbook single VRID:
//  - a vrrp_sync_group G1 = VI_1 (VRID 51) + VI_3 (VRID 53), ka1 MASTER of both;
//  - active-active: VI_2 (VRID 52) has ka2 MASTER (priorities reversed), VRRPv3 over IPv4 with
//    advert_int 0.3 s, tracked by a weight file;
//  - IPv6 / VRRPv3: VI_6 (VRID 61, 2001:db8::100), nopreempt.
// Steady state raises nothing; each failure is injected on one VRID (nft drops VRRP of one
// family or of chosen VRIDs only) and must alert for that VRID only, once per pager.
import { startLab, type Lab, type LabNode } from '../lab/lab';
import { sample, startPeered, waitUntil, type LabAgent } from '../lab/agents';
import { AlertLog, nft, Pager, sleep } from './variantSupport';
import type { NodeState } from '../../agent/state/types';
import { describeLab } from '../helpers/needs';

jest.setTimeout(120_000);

const VIP6 = '2001:db8::100';

function conf(n: LabNode): string {
  const p1 = n.index === 1 ? 150 : 100; // ka1 MASTER of VI_1, VI_3, VI_6
  const p2 = n.index === 1 ? 100 : 150; // ka2 MASTER of VI_2
  const inst = (name: string, vrid: number, prio: number, vip: string, extra = '', advert = '1') => `vrrp_instance ${name} {
  state BACKUP
  interface eth0
  virtual_router_id ${vrid}
  priority ${prio}
  advert_int ${advert}
  virtual_ipaddress {
    ${vip} dev eth0
  }
${extra}}
`;
  return `# keepwatch lab ${n.name}: sync group, active-active, IPv6 (test/e2e/variant-multi-vrid.test.ts)
global_defs {
  router_id ${n.name}
  enable_dbus
  script_user root
  vrrp_notify_fifo ${n.fifoPath}
  vrrp_notify_priority_changes
}
track_file kw_weight {
  file "${n.weightFile}"
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_3
  }
}
${inst('VI_1', 51, p1, '192.0.2.100/24')}${inst('VI_3', 53, p1, '192.0.2.103/24', '  preempt_delay 1\n')}${inst('VI_2', 52, p2, '192.0.2.102/24', '  version 3\n  notify_priority_changes\n  track_file {\n    kw_weight weight 1\n  }\n', '0.3')}${inst('VI_6', 61, p1, `${VIP6}/64`, '  nopreempt\n')}`;
}

describeLab('sync group, active-active and IPv6 on one pair', () => {
  let lab: Lab;
  let agents: LabAgent[];
  let logs: AlertLog[];
  let pager: Pager;
  let ka1: LabNode;
  let ka2: LabNode;

  beforeAll(async () => {
    lab = await startLab({ id: 'v9multi', confOverride: conf, fifo: true });
    [ka1, ka2] = lab.nodes;
    pager = await Pager.start(lab);
    const config = () => ({
      keepalived: { dumps: { method: 'off' } },
      rules: { sync_group_for: '1s' },
      alerting: pager.alertingConfig(),
    });
    agents = await startPeered(lab, { config }, { '51': 'ka1', '53': 'ka1', '52': 'ka2', '61/IPv6': 'ka1' }, 25_000);
    logs = agents.map((a) => new AlertLog(a).start());
  });

  afterAll(async () => {
    for (const l of logs ?? []) l.stop();
    await lab?.stop();
  });

  const state = (a: LabAgent) => a.getJson<NodeState>('/api/v1/state');

  async function waitInstance(n: LabNode, iname: string, want: string, timeoutMs = 15_000): Promise<number> {
    return waitUntil(async () => (await lab.dbusState(n, iname))?.name.toUpperCase() === want, timeoutMs, 25, `${n.name} ${iname} ${want}`);
  }

  /** Every alert event since t0 on every agent is for these VRIDs only. */
  function onlyVrids(t0: number, vrids: string[]): void {
    for (const l of logs) for (const s of l.events(undefined, undefined, t0)) expect(vrids).toContain(s.alert.labels.vrid);
  }

  test('steady state: nothing fires; group, IPv6 and preemption settings are in the state and metrics', async () => {
    await sleep(4000);
    for (const l of logs) expect(l.fired()).toEqual([]);
    expect(pager.lines).toEqual([]);
    const [s1, s2] = await Promise.all(agents.map(state));
    expect(s1.groups.G1?.state).toBe('MASTER');
    expect(s2.groups.G1?.state).toBe('BACKUP');
    expect(s1.instances.VI_6).toMatchObject({ family: 'IPv6', vrid: 61, vips: [VIP6], nopreempt: true, state: 'MASTER' });
    expect(s1.instances.VI_2).toMatchObject({ preemptDelayS: 0, nopreempt: false, state: 'BACKUP', advertIntervalMs: 300 });
    expect(s1.instances.VI_3).toMatchObject({ preemptDelayS: 1, nopreempt: false });
    expect(s1.instances.VI_1).toMatchObject({ syncGroup: 'G1' });
    expect(s1.instances.VI_3).toMatchObject({ syncGroup: 'G1' });
    const [m1, m2] = await Promise.all(agents.map((a) => a.metrics()));
    expect(sample(m1, 'keepwatch_vrrp_group_state', { group: 'G1' })).toBe(2);
    expect(sample(m2, 'keepwatch_vrrp_group_state', { group: 'G1' })).toBe(1);
    expect(sample(m1, 'keepwatch_vrrp_group_instances', { group: 'G1', state: 'MASTER' })).toBe(2);
    const v6 = { iname: 'VI_6', intf: 'eth0', vrid: '61', ip_address: `${VIP6}/64` };
    expect(sample(m1, 'keepalived_vrrp_state', v6)).toBe(2);
    expect(sample(m2, 'keepalived_vrrp_state', v6)).toBe(1);
    expect(sample(m1, 'keepwatch_vip_bound', { iname: 'VI_6', vip: VIP6, intf: 'eth0' })).toBe(1);
    expect(sample(m2, 'keepwatch_vip_bound', { iname: 'VI_6', vip: VIP6, intf: 'eth0' })).toBe(0);
    // Active-active: each node MASTER of one VRID.
    expect(sample(m2, 'keepalived_vrrp_state', { iname: 'VI_2', intf: 'eth0', vrid: '52', ip_address: '192.0.2.102/24' })).toBe(2);
  });

  test('IPv6 VRRP dropped on ka2: SplitBrain for VRID 61 (family IPv6) only, with IPv6 labels and metrics; one page', async () => {
    const t0 = Date.now();
    await nft(ka2, 'meta nfproto ipv6 meta l4proto vrrp drop');
    try {
      await waitInstance(ka2, 'VI_6', 'MASTER');
      const fired = await Promise.all(logs.map((l) => l.waitFor('SplitBrain', 'firing', t0, 15_000)));
      for (const f of fired) expect(f.alert.labels).toEqual({ alertname: 'SplitBrain', severity: 'critical', vrid: '61', family: 'IPv6', iname: 'VI_6' });
      const m2 = await agents[1].metrics();
      expect(sample(m2, 'keepalived_vrrp_state', { iname: 'VI_6', intf: 'eth0', vrid: '61', ip_address: `${VIP6}/64` })).toBe(2);
      expect(sample(m2, 'keepwatch_vip_bound', { iname: 'VI_6', vip: VIP6, intf: 'eth0' })).toBe(1);
      await sleep(2500);
      for (const l of logs) expect(l.fired(t0)).toEqual(['SplitBrain']);
      expect(pager.pages('SplitBrain', 'firing', t0)).toHaveLength(1);
    } finally {
      await nft(ka2, '');
    }
    await waitInstance(ka2, 'VI_6', 'BACKUP');
    await Promise.all(logs.map((l) => l.waitFor('SplitBrain', 'resolved', t0, 15_000)));
    onlyVrids(t0, ['61']);
  });

  test('the sync group\'s VRIDs dropped on ka2: its group goes MASTER as a whole (GROUP events), SplitBrain on 51 and 53, no SyncGroupInconsistent', async () => {
    await sleep(1000);
    const t0 = Date.now();
    await nft(ka2, 'ip protocol vrrp @th,8,8 { 51, 53 } drop');
    try {
      await Promise.all([waitInstance(ka2, 'VI_1', 'MASTER'), waitInstance(ka2, 'VI_3', 'MASTER')]);
      await waitUntil(async () => (await state(agents[1])).groups.G1?.state === 'MASTER', 5_000, 50, 'ka2 group G1 MASTER in the agent');
      expect(sample(await agents[1].metrics(), 'keepwatch_vrrp_group_state', { group: 'G1' })).toBe(2);
      await Promise.all(logs.map((l) => waitUntil(() => l.events('SplitBrain', 'firing', t0).length === 2, 15_000, 50, `SplitBrain 51 and 53 on ${l.agent.node.name}`)));
      await sleep(2500);
      for (const l of logs) {
        expect(l.fired(t0)).toEqual(['SplitBrain']);
        expect(l.events('SplitBrain', 'firing', t0).map((s) => s.alert.labels.vrid).sort()).toEqual(['51', '53']);
      }
      expect(pager.pages('SplitBrain', 'firing', t0).map((p) => p.labels.vrid).sort()).toEqual(['51', '53']);
    } finally {
      await nft(ka2, '');
    }
    await Promise.all([waitInstance(ka2, 'VI_1', 'BACKUP'), waitInstance(ka2, 'VI_3', 'BACKUP')]);
    await waitUntil(async () => (await state(agents[1])).groups.G1?.state === 'BACKUP', 5_000, 50, 'ka2 group G1 BACKUP again');
    // A duplicate-address answer seen during the split brain counts until the next arp probe
    // (every 10 s by default, arping itself takes 2 s): resolution may lag healing by ~12 s.
    await Promise.all(logs.map((l) => waitUntil(() => l.events('SplitBrain', 'resolved', t0).length >= 2, 30_000, 50, 'both resolved'))).catch(async (e) => {
      for (const a of agents) console.log(a.node.name, JSON.stringify((await a.getJson<Array<{ labels: unknown; annotations: { summary: string } }>>('/api/v1/alerts')).map((x) => [x.labels, x.annotations.summary])));
      for (const l of logs) console.log(l.agent.node.name, 'changes since the split:', JSON.stringify(l.events(undefined, undefined, t0).map((s) => [s.at - t0, s.alert.status, s.alert.labels.alertname, s.alert.labels.vrid, s.alert.startsAt, s.alert.annotations.summary])));
      throw e;
    });
    // Healing is told once: no second SplitBrain from the fight's last adverts arriving late.
    await sleep(3000);
    for (const l of logs) expect(l.events('SplitBrain', undefined, t0).map((s) => `${s.alert.status} ${s.alert.labels.vrid}`).sort()).toEqual(['firing 51', 'firing 53', 'resolved 51', 'resolved 53']);
    onlyVrids(t0, ['51', '53']);
  });

  test('instances of the group disagree on ka1 (as keepalived reports it on its FIFO): SyncGroupInconsistent for ka1/G1 only, paged once by ka1', async () => {
    // Keepalived itself keeps a group together; a split group is what a keepalived bug, a
    // half-applied reload or an instance outside keepalived's sync sees. Reported here through
    // keepalived's own notify FIFO, the way keepalived would say it.
    await sleep(1000);
    const t0 = Date.now();
    const say = (line: string) => ka1.exec(['sh', '-c', `printf '%s\\n' '${line}' > ${ka1.fifoPath}`]);
    await say('INSTANCE "VI_3" BACKUP 150');
    try {
      const fired = await Promise.all(logs.map((l) => l.waitFor('SyncGroupInconsistent', 'firing', t0, 10_000)));
      for (const f of fired) {
        expect(f.alert.labels).toEqual({ alertname: 'SyncGroupInconsistent', severity: 'critical', node: 'ka1', group: 'G1' });
        expect(f.alert.annotations.summary).toMatch(/VI_1 MASTER/);
        expect(f.alert.annotations.summary).toMatch(/VI_3 BACKUP/);
      }
      console.log(`SyncGroupInconsistent seen ${fired[0].at - t0} ms after the split (sync_group_for 1 s)`);
      await sleep(1000);
    } finally {
      await say('INSTANCE "VI_3" MASTER 150');
    }
    await Promise.all(logs.map((l) => l.waitFor('SyncGroupInconsistent', 'resolved', t0, 10_000)));
    await sleep(2500);
    for (const l of logs) expect(l.fired(t0)).toEqual(['SyncGroupInconsistent']);
    expect(pager.summary(t0)).toEqual(['SyncGroupInconsistent:firing', 'SyncGroupInconsistent:resolved']);
    expect(pager.pages(undefined, undefined, t0).every((p) => p.observer === 'ka1')).toBe(true);
  });

  test('active-active: the VRID whose master preempts back and forth (VRID 52) flaps (flapping settings as shipped): one Flapping page at the 3rd change, the other failovers folded, no other VRID alerts', async () => {
    await sleep(1000);
    const t0 = Date.now();
    for (let i = 0; i < 8; i++) {
      const s = Date.now();
      lab.setWeight(ka2, i % 2 === 0 ? -100 : 0); // ka2's VI_2 150 <-> 50 against ka1's 100
      await waitInstance(i % 2 === 0 ? ka1 : ka2, 'VI_2', 'MASTER', 10_000);
      console.log(`VRID 52 ${i % 2 === 0 ? 'to ka1' : 'back to ka2'} in ${Date.now() - s} ms`);
      await sleep(1000);
    }
    lab.setWeight(ka2, 0);
    await waitInstance(ka2, 'VI_2', 'MASTER', 10_000);
    await Promise.all(logs.map((l) => l.waitFor('Flapping', 'firing', t0, 10_000)));
    await sleep(3000);
    for (const l of logs) for (const s of l.events('SplitBrain', undefined, t0)) console.log(`UNEXPECTED on ${l.agent.node.name}: ${s.alert.status} ${JSON.stringify(s.alert.labels)} ${s.alert.annotations.description}`);
    for (const l of logs) {
      const flaps = l.events('Flapping', 'firing', t0);
      expect(flaps).toHaveLength(1);
      expect(flaps[0].alert.labels).toMatchObject({ vrid: '52', severity: 'warning' });
      expect(l.fired(t0).filter((n) => n !== 'Failover' && n !== 'PriorityChanged')).toEqual(['Flapping']);
      const failovers = l.events('Failover', 'firing', t0).length;
      console.log(`preemption loop (8 failovers of VRID 52) on ${l.agent.node.name}'s agent: 1 Flapping, ${failovers} Failover alerts before the rest were folded`);
      // Flapping as shipped: the 3rd MASTER change of VRID 52 within 5 min flaps; the first two page.
      expect(failovers).toBe(2);
    }
    onlyVrids(t0, ['52']);
    expect(pager.pages('Flapping', 'firing', t0)).toHaveLength(1);
    expect(pager.pages('Failover', 'firing', t0)).toHaveLength(2);
    // The other VRIDs did not move.
    expect(await lab.dbusState(ka1, 'VI_1')).toMatchObject({ name: expect.stringMatching(/^master$/i) });
    expect(await lab.dbusState(ka2, 'VI_3')).toMatchObject({ name: expect.stringMatching(/^backup$/i) });
  });
});
