// The agent end to end on the real lab: one agent per node in the node's namespace, reading its
// keepalived over D-Bus, the FIFO it owns and the log. Issue 3's acceptance test.
import { readFileSync, writeFileSync } from 'node:fs';
import { startLab, type Lab } from '../lab/lab';
import { sample, startAgents, waitUntil, type LabAgent } from '../lab/agents';
import { describeLab } from '../helpers/needs';

jest.setTimeout(120_000);

const vrrpState = (m: string, intf = 'eth0') => sample(m, 'keepalived_vrrp_state', { iname: 'VI_1', intf, vrid: '51', ip_address: '192.0.2.100/24' });

describeLab('keepwatch agent on the lab', () => {
  let lab: Lab;
  let agents: LabAgent[];

  beforeAll(async () => {
    lab = await startLab({ id: 'agent', fifo: true });
    agents = await startAgents(lab);
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test('both agents show the right MASTER/BACKUP, with keepalived exporter names', async () => {
    const [a1, a2] = agents;
    await waitUntil(async () => vrrpState(await a1.metrics()) === 2 && vrrpState(await a2.metrics()) === 1, 10_000, 50, 'ka1 MASTER, ka2 BACKUP');
    const m1 = await a1.metrics();
    expect(sample(m1, 'keepalived_up')).toBe(1);
    expect(sample(m1, 'keepwatch_source_up', { source: 'dbus' })).toBe(1);
    expect(sample(m1, 'keepwatch_source_up', { source: 'fifo' })).toBe(1);
    const state = await a1.getJson<{ instances: Record<string, { state: string; vrid: number; intf: string; vips: string[]; source: string }> }>('/api/v1/state');
    expect(state.instances.VI_1).toMatchObject({ state: 'MASTER', vrid: 51, intf: 'eth0', vips: ['192.0.2.100'] });
    // counters arrive from the dumps (requested over D-Bus)
    await waitUntil(async () => (sample(await a1.metrics(), 'keepalived_advertisements_sent_total', { iname: 'VI_1', intf: 'eth0', vrid: '51' }) ?? 0) > 0, 15_000, 200, 'advert counters');
  });

  test('master keepalived killed: the backup agent shows MASTER within 1 s of keepalived, the dead node keepalived_up 0; restart brings the state back', async () => {
    const [a1, a2] = agents;
    const [ka1, ka2] = lab.nodes;
    const killedAt = Date.now();
    await lab.killKeepalived(ka1, 'SIGKILL');
    const [kaMasterAt, agentMasterAt] = await Promise.all([
      lab.waitForState(ka2, 'MASTER', 15_000),
      waitUntil(async () => vrrpState(await a2.metrics()) === 2, 15_000, 20, 'ka2 agent MASTER'),
    ]);
    const lag = agentMasterAt - kaMasterAt;
    console.log(`failover: keepalived MASTER after ${kaMasterAt - killedAt} ms, agent lag ${lag} ms (D-Bus poll granularity 20 ms)`);
    expect(lag).toBeLessThan(1000);
    await waitUntil(async () => sample(await a1.metrics(), 'keepalived_up') === 0, 5_000, 50, 'ka1 keepalived_up 0');
    const m1 = await a1.metrics();
    expect(vrrpState(m1)).not.toBe(2); // no stale MASTER
    expect(sample(await a2.metrics(), 'keepwatch_vrrp_transitions_total', { iname: 'VI_1', from: 'BACKUP', to: 'MASTER' })).toBe(1);

    await lab.startKeepalived(ka1);
    await waitUntil(async () => sample(await a1.metrics(), 'keepalived_up') === 1 && vrrpState(await a1.metrics()) === 2, 20_000, 50, 'ka1 MASTER again');
    await waitUntil(async () => vrrpState(await a2.metrics()) === 1, 10_000, 50, 'ka2 BACKUP again');
  });

  test('bad FIFO lines are counted, not fatal', async () => {
    const [a1] = agents;
    const before = sample(await a1.metrics(), 'keepwatch_parse_errors_total', { source: 'fifo' }) ?? 0;
    await lab.nodes[0].exec(['sh', '-c', `printf 'garbage line\\nINSTANCE "VI_1" NOT_A_STATE 1\\n' > ${lab.nodes[0].fifoPath}`]);
    await waitUntil(async () => (sample(await a1.metrics(), 'keepwatch_parse_errors_total', { source: 'fifo' }) ?? 0) >= before + 2, 5_000, 50, 'parse errors counted');
    expect((await fetch(`${a1.url}/healthz`)).status).toBe(200);
  });

  test('SIGHUP reloads; a bad config is rejected and the old one kept', async () => {
    const [a1] = agents;
    const good = readFileSync(a1.configFile, 'utf8');
    writeFileSync(a1.configFile, good + '\nbogus_key: 1\n');
    a1.proc.kill('SIGHUP');
    await waitUntil(async () => sample(await a1.metrics(), 'keepwatch_config_last_reload_successful') === 0, 5_000, 50, 'reload rejected');
    expect(sample(await a1.metrics(), 'keepalived_up')).toBe(1);
    writeFileSync(a1.configFile, good);
    a1.proc.kill('SIGHUP');
    await waitUntil(async () => sample(await a1.metrics(), 'keepwatch_config_last_reload_successful') === 1, 5_000, 50, 'reload accepted');
  });
});
