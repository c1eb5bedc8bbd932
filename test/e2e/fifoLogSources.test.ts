// The FIFO and log sources against real keepalived 2.2.7 in the lab: the agent owns the FIFO
// before keepalived starts, follows keepalived's own output file, and both feed a real NodeStore.
import * as fs from 'node:fs';
import { systemClock, type Ctx } from '../../agent/context';
import { silentLogger } from '../../agent/logger';
import { fifoSource, type FifoSource } from '../../agent/sources/fifoSource';
import { logSource, type LogSource } from '../../agent/sources/logSource';
import { sourceEnv } from '../../agent/sources/source';
import { NodeStore } from '../../agent/state/store';
import type { NodeEvent } from '../../agent/state/types';
import { startLab, type Lab, type LabNode } from '../lab/lab';
import { describeLab } from '../helpers/needs';
import { sleep, waitFor } from '../helpers/wait';

jest.setTimeout(90_000);

interface Agent {
  node: LabNode;
  store: NodeStore;
  fifo: FifoSource;
  log: LogSource;
  fifoEvents: NodeEvent[];
  logEvents: NodeEvent[];
}

// A condition that throws (a file caught between rename and re-creation) is not met yet: waitFor retries it.
const until = (what: string, cond: () => boolean, timeoutMs = 15_000) => waitFor(cond, { what, timeoutMs, stepMs: 20 });

const lastState = (evs: NodeEvent[], iname = 'VI_1') => {
  const t = evs.filter((e) => e.kind === 'transition' && e.iname === iname);
  return t.length ? (t[t.length - 1] as Extract<NodeEvent, { kind: 'transition' }>).state : undefined;
};

describeLab('FIFO and log sources on real keepalived', () => {
  let lab: Lab;
  const agents: Agent[] = [];
  const ctx: Ctx = { clock: systemClock, log: silentLogger() };

  beforeAll(async () => {
    lab = await startLab({ id: 'fifolog', fifo: true, keepalived: false, nginx: false, trackScript: false });
    for (const node of lab.nodes) {
      const store = new NodeStore(node.name, systemClock);
      const fifoEvents: NodeEvent[] = [];
      const logEvents: NodeEvent[] = [];
      const fifo = fifoSource({ path: node.fifoPath }, sourceEnv({ apply: (e) => { fifoEvents.push(e); store.apply(e); } }, ctx, 'fifo'));
      const log = logSource({ path: node.logPath }, sourceEnv({ apply: (e) => { logEvents.push(e); store.apply(e); } }, ctx, 'log'));
      await fifo.start();
      await log.start();
      agents.push({ node, store, fifo, log, fifoEvents, logEvents });
    }
    // The agent's FIFO exists before keepalived starts.
    for (const a of agents) expect(fs.statSync(a.node.fifoPath).isFIFO()).toBe(true);
    await Promise.all(lab.nodes.map((n) => lab.startKeepalived(n)));
  }, 90_000);

  afterAll(async () => {
    for (const a of agents) {
      await a.fifo.stop();
      await a.log.stop();
    }
    await lab?.stop();
  }, 30_000);

  test('both sources see the election; the store agrees with keepalived', async () => {
    const [a1, a2] = agents;
    await lab.waitForState(a1.node, 'MASTER');
    await until('ka1 MASTER on FIFO and log', () => lastState(a1.fifoEvents) === 'MASTER' && lastState(a1.logEvents) === 'MASTER');
    await until('ka2 BACKUP on FIFO and log', () => lastState(a2.fifoEvents) === 'BACKUP' && lastState(a2.logEvents) === 'BACKUP');
    expect(a1.store.state.instances.VI_1.state).toBe('MASTER');
    expect(a2.store.state.instances.VI_1.state).toBe('BACKUP');
    // The log told the store keepalived's VRRP process is up.
    expect(a1.store.state.keepalived.up).toBe(true);
    // keepalived used the agent's FIFO (it creates its own only when the path is missing).
    expect(a1.fifo.stats.created).toBe(1);
    for (const a of agents) {
      expect(a.fifo.stats.parseErrors).toBe(0);
      expect(a.log.stats.parseErrors).toBe(0);
    }
  });

  test('SIGTERM of the master: STOP on its FIFO, keepalived down from its log, the peer takes over', async () => {
    const [a1, a2] = agents;
    await lab.killKeepalived(a1.node, 'SIGTERM');
    await until('STOP on ka1 FIFO', () => lastState(a1.fifoEvents) === 'STOP');
    await until('ka1 keepalived down from the log', () => a1.logEvents.some((e) => e.kind === 'keepalived' && !e.up));
    expect(a1.store.state.keepalived.up).toBe(false);
    expect(a1.store.state.instances.VI_1.state).toBe('STOP');
    await until('ka2 MASTER on FIFO and log', () => lastState(a2.fifoEvents) === 'MASTER' && lastState(a2.logEvents) === 'MASTER');
    expect(a2.store.state.instances.VI_1.state).toBe('MASTER');
  });

  test('FIFO deleted while keepalived is down: re-created, and the restarted keepalived writes to it', async () => {
    const [a1, a2] = agents;
    const oldIno = fs.statSync(a1.node.fifoPath).ino;
    fs.unlinkSync(a1.node.fifoPath);
    await until('FIFO re-created', () => fs.existsSync(a1.node.fifoPath) && fs.statSync(a1.node.fifoPath).ino !== oldIno);
    const before = a1.fifoEvents.length;
    await lab.startKeepalived(a1.node);
    await lab.waitForState(a1.node, 'MASTER'); // priority 150 preempts
    await until('ka1 MASTER again on the new FIFO', () => a1.fifoEvents.length > before && lastState(a1.fifoEvents) === 'MASTER');
    await until('ka1 keepalived up from the log', () => a1.store.state.keepalived.up);
    await until('ka2 BACKUP', () => lastState(a2.fifoEvents) === 'BACKUP');
  });

  test('FIFO deleted while keepalived runs: the old FIFO is still drained, nothing is lost', async () => {
    const [a1, a2] = agents;
    fs.unlinkSync(a2.node.fifoPath);
    await until('ka2 FIFO re-created', () => fs.existsSync(a2.node.fifoPath) && fs.statSync(a2.node.fifoPath).isFIFO());
    await sleep(200);
    // keepalived on ka2 still holds the deleted FIFO: its takeover line must still arrive.
    await lab.killKeepalived(a1.node, 'SIGTERM');
    await until('ka2 MASTER through the deleted FIFO', () => lastState(a2.fifoEvents) === 'MASTER');
    expect(a2.fifo.stats.parseErrors).toBe(0);
  });

  test('SIGHUP reload: keepalived keeps writing to the agent\'s FIFO', async () => {
    const [a1, a2] = agents;
    await lab.startKeepalived(a1.node);
    await lab.waitForState(a1.node, 'MASTER');
    await until('ka2 BACKUP', () => lastState(a2.fifoEvents) === 'BACKUP');
    await lab.reloadKeepalived(a2.node);
    const before = a2.fifoEvents.length;
    await lab.killKeepalived(a1.node, 'SIGTERM');
    await until('ka2 MASTER on the FIFO after its reload', () => a2.fifoEvents.length > before && lastState(a2.fifoEvents) === 'MASTER');
    await until('ka2 MASTER in the log after its reload', () => lastState(a2.logEvents) === 'MASTER');
  });
});
