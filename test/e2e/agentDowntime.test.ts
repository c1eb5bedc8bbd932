// What happened while an agent was down, on the real lab: keepalived keeps it in three places (the
// notify hook's spool, the agent-owned FIFO, its log since the agent's saved read position) and the
// agent persisted its last state. Issue 14, item 6: the agent that comes back counts each
// transition once and places it at its own time, before its start, never over the live state.
import { join } from 'node:path';
import { startLab, type Lab, type LabNode } from '../lab/lab';
import { sample, startAgents, waitUntil, type LabAgent } from '../lab/agents';
import { installLabHook } from '../helpers/hook';
import type { NodeState } from '../../agent/state/types';
import { describeLab } from '../helpers/needs';
import { sleep } from '../helpers/wait';

jest.setTimeout(120_000);

const toMaster = (m: string) =>
  ['BACKUP', 'INIT', 'FAULT', 'STOP', 'UNKNOWN'].reduce((n, from) => n + (sample(m, 'keepwatch_vrrp_transitions_total', { iname: 'VI_1', from, to: 'MASTER' }) ?? 0), 0);
const timeline = (s: NodeState) => s.timeline.filter((t) => t.iname === 'VI_1');
const steps = (s: NodeState) => timeline(s).map((t) => `${t.from}->${t.to}`);

describeLab('agent downtime: history from the spool, the FIFO and the log', () => {
  let lab: Lab;
  let agents: LabAgent[];

  beforeAll(async () => {
    const hookPath = installLabHook();
    const dataDir = (n: LabNode) => join(n.dir, 'keepwatch');
    lab = await startLab({
      id: 'downtime',
      fifo: true,
      keepalivedExtra: (n) => `  notify "${hookPath} --spool ${join(dataDir(n), 'spool')} --socket ${join(dataDir(n), 'hook.sock')}"`,
    });
    // The agents start after keepalived's election: the FIFO and the spool hold it.
    agents = await startAgents(lab);
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test('agent start on a steady MASTER: the election before the start is history, no MASTER -> BACKUP -> MASTER', async () => {
    const [a1] = agents;
    await waitUntil(async () => (await a1.getJson<NodeState>('/api/v1/state')).instances.VI_1?.state === 'MASTER', 10_000, 50, 'ka1 MASTER');
    const s = await a1.getJson<NodeState>('/api/v1/state');
    console.log(`ka1 timeline at its first start: ${JSON.stringify(timeline(s).map((t) => ({ step: `${t.from}->${t.to}`, before_start_ms: s.bootAt - t.at, history: t.history, source: t.source, bounds: t.bounds })))}`);
    expect(steps(s)).not.toContain('MASTER->BACKUP');
    expect(steps(s)[steps(s).length - 1]).toMatch(/->MASTER$/);
    // keepalived's own election, read from the spool and the FIFO: placed before the start.
    for (const t of timeline(s)) {
      expect(t.history).toBe('backlog');
      expect(t.at).toBeLessThanOrEqual(s.bootAt);
    }

    // Restarted on the same steady MASTER: nothing happened meanwhile, nothing in its timeline.
    await a1.restart();
    await waitUntil(async () => (await a1.getJson<NodeState>('/api/v1/state')).instances.VI_1?.state === 'MASTER', 10_000, 50, 'ka1 MASTER after restart');
    const s2 = await a1.getJson<NodeState>('/api/v1/state');
    if (steps(s2).length) console.log(`ka1 timeline after its restart: ${JSON.stringify(timeline(s2).map((t) => ({ step: `${t.from}->${t.to}`, before_start_ms: s2.bootAt - t.at, history: t.history, source: t.source, cause: t.cause })))}; first start ${s.bootAt}, restart ${s2.bootAt}`);
    expect(steps(s2)).toEqual([]);
    expect(toMaster(await a1.metrics())).toBe(0);
  });

  test('backup\'s agent killed, failover while it is down, agent restarted: counted once, at its time, before the start', async () => {
    const [a1, a2] = agents;
    const [ka1, ka2] = lab.nodes;
    await lab.waitForState(ka2, 'BACKUP');
    await waitUntil(async () => (await a2.getJson<NodeState>('/api/v1/state')).instances.VI_1?.state === 'BACKUP', 10_000, 50, 'ka2 agent BACKUP');
    // The agent persists its last state every few seconds while it runs: let it see BACKUP settle.
    await sleep(1500);
    await a2.stop('SIGKILL');
    const killedAt = Date.now();
    await lab.killKeepalived(ka1, 'SIGKILL');
    const masterAt = await lab.waitForState(ka2, 'MASTER', 15_000);
    // Let keepalived's hook spool the record and its log line be written.
    await sleep(1000);
    await a2.restart();
    await waitUntil(async () => toMaster(await a2.metrics()) >= 1, 20_000, 100, 'keepwatch_vrrp_transitions_total{to="MASTER"} on ka2');
    // Every backlog is in by now (the counter waits for them): still one.
    const m = await a2.metrics();
    expect(toMaster(m)).toBe(1);
    expect(sample(m, 'keepwatch_vrrp_transitions_total', { iname: 'VI_1', from: 'BACKUP', to: 'MASTER' })).toBe(1);
    const s = await a2.getJson<NodeState>('/api/v1/state');
    console.log(`ka2 after its restart: takeover ${masterAt - killedAt} ms after the kill; timeline ${JSON.stringify(timeline(s).map((t) => ({ step: `${t.from}->${t.to}`, at_minus_takeover_ms: t.at - masterAt, before_start_ms: s.bootAt - t.at, history: t.history, source: t.source })))}`);
    const takeover = timeline(s).filter((t) => t.to === 'MASTER');
    expect(takeover).toHaveLength(1);
    expect(takeover[0]).toMatchObject({ from: 'BACKUP', history: 'backlog' });
    expect(takeover[0].bounds).toBeUndefined(); // the spool's exact time (the FIFO line, bounded, matched it)
    // At its own time: after the kill, by the time D-Bus said MASTER (the lab polls D-Bus every 20 ms), before the agent's start.
    expect(takeover[0].at).toBeGreaterThanOrEqual(killedAt);
    expect(takeover[0].at).toBeLessThanOrEqual(masterAt + 50);
    expect(takeover[0].at).toBeLessThan(s.bootAt);
    expect(s.instances.VI_1).toMatchObject({ state: 'MASTER', since: takeover[0].at });

    // The peer's agent (up all along) saw its own keepalived die; put the pair back.
    expect((await a1.getJson<NodeState>('/api/v1/state')).instances.VI_1.state).toBe('STOP');
    await lab.startKeepalived(ka1);
    await lab.waitForState(ka1, 'MASTER', 20_000);
    await waitUntil(async () => (await a2.getJson<NodeState>('/api/v1/state')).instances.VI_1?.state === 'BACKUP', 10_000, 50, 'ka2 BACKUP again');
  });
});
