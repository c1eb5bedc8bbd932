// The notify hook end to end: real keepalived in the lab runs the real sh hook (agent/hook/
// keepwatch-notify) on its transitions; the real agent in the node's namespace gets the records
// over its socket (agent up) or from its spool when it starts (agent down).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, type Lab, type LabNode } from '../lab/lab';
import { sample, startAgents, waitUntil, type LabAgent } from '../lab/agents';
import { installLabHook } from '../helpers/hook';
import { checkHook } from '../../agent/hook/check';
import { describeLab } from '../helpers/needs';

jest.setTimeout(120_000);

const hookRecords = (m: string, via: string, result = 'applied') => sample(m, 'keepwatch_hook_records_total', { via, result }) ?? 0;
const spoolDir = (n: LabNode) => join(n.dir, 'keepwatch', 'spool');
const spooled = (n: LabNode) => {
  try {
    return readdirSync(spoolDir(n)).filter((f) => f.endsWith('.rec'));
  } catch {
    return [];
  }
};

describeLab('keepalived runs the notify hook; the agent gets it', () => {
  let lab: Lab;
  let agents: LabAgent[];

  let hookPath: string;

  beforeAll(async () => {
    hookPath = installLabHook();
    // keepalived appends TYPE NAME STATE PRIORITY to this command line; the spool and socket are
    // where this node's agent (test/lab/agents.ts) has them.
    lab = await startLab({
      id: 'hook',
      keepalivedExtra: (n) => `  notify "${hookPath} --spool ${spoolDir(n)} --socket ${join(n.dir, 'keepwatch', 'hook.sock')}"`,
    });
    agents = await startAgents(lab);
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test('agent up: keepalived hands each transition to the agent over the socket', async () => {
    const [a1, a2] = agents;
    // The election at start happened before the agents listened: spooled, then ingested on start,
    // or (for a late one) handed over the socket. Either way each agent saw its node's state via the hook.
    await waitUntil(async () => hookRecords(await a1.metrics(), 'socket') + hookRecords(await a1.metrics(), 'spool') >= 1, 10_000, 50, 'ka1 hook records');
    const before = hookRecords(await a2.metrics(), 'socket');
    const [ka1, ka2] = lab.nodes;
    const t0 = Date.now();
    await lab.killKeepalived(ka1, 'SIGTERM'); // priority-0 advert: ka2 takes over in ~0.6 s
    const masterAt = await lab.waitForState(ka2, 'MASTER', 15_000);
    const gotAt = await waitUntil(async () => hookRecords(await a2.metrics(), 'socket') > before, 10_000, 10, 'ka2 agent got MASTER over the socket');
    console.log(`failover: ka2 MASTER on D-Bus ${masterAt - t0} ms after the kill; hook record counted by the agent ${gotAt - masterAt} ms later (10 ms poll of /metrics)`);
    const st = await a2.getJson<{ instances: Record<string, { state: string; source: string; confirmedBy: string[] }> }>('/api/v1/state');
    expect(st.instances.VI_1.state).toBe('MASTER');
    expect([st.instances.VI_1.source, ...st.instances.VI_1.confirmedBy]).toContain('hook');
    // ka1's keepalived ran the hook with STOP on its way down; its agent took it.
    await waitUntil(async () => (await a1.getJson<{ instances: Record<string, { state: string }> }>('/api/v1/state')).instances.VI_1?.state === 'STOP', 5_000, 50, 'ka1 STOP');
    expect(spooled(ka1)).toEqual([]);
    expect(spooled(ka2)).toEqual([]);
    await lab.startKeepalived(ka1);
    await lab.waitForState(ka1, 'MASTER', 20_000);
    await lab.waitForState(ka2, 'BACKUP', 10_000);
  });

  test('keepwatch hook check finds the hook in the lab keepalived.conf', () => {
    const found = checkHook({ hookPath, keepalivedConf: lab.nodes[0].confPath });
    expect(found).toContainEqual({ level: 'ok', message: expect.stringMatching(/vrrp_instance VI_1 .* runs the hook from notify/) });
  });

  test('agent down: the hook spools; the agent applies the records when it starts, then deletes them', async () => {
    const [, a2] = agents;
    const [ka1, ka2] = lab.nodes;
    await a2.stop();
    await lab.killKeepalived(ka1, 'SIGTERM');
    await lab.waitForState(ka2, 'MASTER', 15_000);
    await waitUntil(() => spooled(ka2).length >= 1, 5_000, 20, 'ka2 record spooled');
    console.log(`spooled on ka2 while its agent was down: ${spooled(ka2).join(', ')}`);
    await a2.restart();
    await waitUntil(async () => hookRecords(await a2.metrics(), 'spool') >= 1, 10_000, 50, 'ka2 agent ingested the spool');
    expect(spooled(ka2)).toEqual([]);
    const st = await a2.getJson<{ instances: Record<string, { state: string }> }>('/api/v1/state');
    expect(st.instances.VI_1.state).toBe('MASTER');
    await lab.startKeepalived(ka1);
    await lab.waitForState(ka1, 'MASTER', 20_000);
  });
});
