// DbusSource and DumpsSource against the real thing: keepalived 2.2.7 and a dbus-daemon per node in
// the lab's network namespaces. Covers enumeration, transitions by signal (with their latency
// against dbus-monitor), keepalived stopped / killed / restarted / reloaded, a dbus-daemon restart,
// and counters read from real dumps. Needs root; skipped loudly otherwise.
import { spawn, type ChildProcess } from 'child_process';
import { systemClock } from '../../agent/context';
import { silentLogger } from '../../agent/logger';
import { dbusSource, mangleInterfaceName, type DbusSource } from '../../agent/sources/dbusSource';
import { dumpsSource } from '../../agent/sources/dumpsSource';
import { sourceEnv } from '../../agent/sources/source';
import { pidFileLiveness } from '../../agent/sources/keepalivedPid';
import { NodeStore } from '../../agent/state/store';
import { VRRP_STATE_CODE, type NodeEvent, type TransitionEvent } from '../../agent/state/types';
import { startLab, type Lab, type LabNode } from '../lab/lab';
import { readFileSync, writeFileSync } from 'fs';
import { describeLab } from '../helpers/needs';
import { sleep, waitFor as waitUntilValue } from '../helpers/wait';

jest.setTimeout(60_000);

const AUTH_PASS = 'kwPw4dbs';

interface Agent {
  node: LabNode;
  store: NodeStore;
  events: Array<NodeEvent & { emittedAt: number }>;
  dbus: DbusSource;
}

const waitFor = <T>(what: string, fn: () => T | undefined | false, timeoutMs = 15_000) => waitUntilValue(fn, { what, timeoutMs, stepMs: 20 });

/** dbus-monitor on a node's bus: the reference time of each VrrpStatusChange. */
function monitor(node: LabNode): { records: Array<{ time: number; path: string; code: number }>; stop(): void } {
  const records: Array<{ time: number; path: string; code: number }> = [];
  const child: ChildProcess = spawn('dbus-monitor', ['--address', node.busAddress, "type='signal',interface='org.keepalived.Vrrp1.Instance',member='VrrpStatusChange'"], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  let pending: { time: number; path: string } | undefined;
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const sig = /^signal time=(\d+\.\d+) .* path=([^;]+);.*member=VrrpStatusChange/.exec(line);
      if (sig) pending = { time: Number(sig[1]) * 1000, path: sig[2] };
      const val = /^\s+uint32 (\d+)/.exec(line);
      if (val && pending) {
        records.push({ ...pending, code: Number(val[1]) });
        pending = undefined;
      }
    }
  });
  return { records, stop: () => child.kill('SIGKILL') };
}

describeLab('DbusSource + DumpsSource on a real keepalived and dbus-daemon', () => {
  let lab: Lab;
  const agents: Agent[] = [];
  const latencies: number[] = [];
  const keepalivedLatencies: number[] = [];

  beforeAll(async () => {
    lab = await startLab({ id: `dbs${process.pid % 100000}`, nodes: 2, nginx: false, trackScript: false, authPass: AUTH_PASS });
    for (const node of lab.nodes) {
      const store = new NodeStore(node.name, systemClock);
      const events: Agent['events'] = [];
      const sink = {
        apply: (e: NodeEvent) => {
          events.push({ ...e, emittedAt: performance.timeOrigin + performance.now() });
          store.apply(e);
        },
      };
      const dbus = dbusSource({
        address: node.busAddress,
        backoff: { initialMs: 100, maxMs: 1000 },
        keepalivedAlive: pidFileLiveness(node.keepalivedPidFile),
        aliveRecheckMs: 500,
        listInterfaces: () => [node.intf],
      }, sourceEnv(sink, { clock: systemClock, log: silentLogger() }, 'dbus'));
      agents.push({ node, store, events, dbus });
    }
    await Promise.all(agents.map((a) => a.dbus.start()));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.dbus.stop()));
    await lab?.stop();
    const report = (what: string, xs: number[]) => {
      if (!xs.length) return;
      const s = [...xs].sort((a, b) => a - b);
      const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
      console.log(`${what} over ${s.length} transitions (ms): min ${s[0].toFixed(2)} p50 ${q(0.5).toFixed(2)} p95 ${q(0.95).toFixed(2)} max ${s[s.length - 1].toFixed(2)}`);
    };
    report("D-Bus signal -> emit, vs dbus-monitor's receipt of the same signal", latencies);
    report("keepalived's transition (JSON last_transition) -> emit of the MASTER transition", keepalivedLatencies);
  });

  const inst = (a: Agent) => a.store.state.instances.VI_1;

  test('initial enumeration: the state keepalived reports, with the instance key', async () => {
    const [a1, a2] = agents;
    await waitFor('both enumerated', () => inst(a1)?.state === 'MASTER' && inst(a2)?.state === 'BACKUP');
    expect(inst(a1)).toMatchObject({ iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4', source: 'dbus' });
    for (const a of agents) {
      expect(a.store.state.keepalived.up).toBe(true);
      expect(a.store.state.sources.dbus?.up).toBe(true);
      const real = await lab.dbusState(a.node);
      expect(VRRP_STATE_CODE[inst(a).state]).toBe(real?.code);
    }
  });

  test('failover and failback arrive as signals (transition events), measured against dbus-monitor', async () => {
    const [a1, a2] = agents;
    const mons = agents.map((a) => monitor(a.node));
    await sleep(300); // monitors attached
    const startIdx = agents.map((a) => a.events.length);
    // keepalived's own clock of the transition (vrrp->last_transition, in the JSON dump) against
    // the moment the MASTER transition event was emitted: the whole keepalived -> agent path.
    const sinceKeepalived = async (a: Agent) => {
      const t = [...a.events].reverse().find((e) => e.kind === 'transition' && e.state === 'MASTER');
      const dump = JSON.parse(await lab.dump(a.node, 'json')) as Array<{ data: { iname: string; last_transition: number } }>;
      const lt = dump.find((x) => x.data.iname === 'VI_1')!.data.last_transition * 1000;
      keepalivedLatencies.push(t!.emittedAt - lt);
    };
    for (let round = 0; round < 3; round++) {
      await lab.killKeepalived(a1.node, 'SIGTERM');
      await waitFor('VI_1 MASTER on node 2', () => inst(a2).state === 'MASTER');
      await sinceKeepalived(a2);
      await waitFor('node 1 down in its store', () => !a1.store.state.keepalived.up);
      await lab.startKeepalived(a1.node);
      await waitFor('node 1 MASTER again', () => inst(a1).state === 'MASTER' && inst(a2).state === 'BACKUP', 20_000);
      await sinceKeepalived(a1);
    }
    await sleep(200);
    mons.forEach((m) => m.stop());
    agents.forEach((a, i) => {
      const transitions = a.events.slice(startIdx[i]).filter((e): e is TransitionEvent & { emittedAt: number } => e.kind === 'transition');
      expect(transitions.length).toBeGreaterThanOrEqual(3);
      for (const t of transitions) {
        const path = `/org/keepalived/Vrrp1/Instance/${mangleInterfaceName(t.key!.intf!)}/${t.key!.vrid}/${t.key!.family}`;
        // The monitor and the agent get the same message from the daemon: the nearest record is it.
        const seen = mons[i].records.filter((r) => r.path === path && r.code === VRRP_STATE_CODE[t.state] && Math.abs(r.time - t.emittedAt) < 1000);
        seen.sort((x, y) => Math.abs(x.time - t.emittedAt) - Math.abs(y.time - t.emittedAt));
        if (!seen[0]) console.log('unmatched', t, mons[i].records);
        expect(seen[0]).toBeDefined();
        latencies.push(t.emittedAt - seen[0].time);
      }
    });
    // Node 2 saw BACKUP -> MASTER -> BACKUP three times, by signal.
    const n2 = a2.events.slice(startIdx[1]).filter((e) => e.kind === 'transition').map((e) => (e as TransitionEvent).state);
    expect(n2.filter((s) => s === 'MASTER')).toHaveLength(3);
  });

  test('keepalived stopped (SIGTERM): STOP, keepalived down, no stale MASTER', async () => {
    const [a1] = agents;
    const from = a1.events.length;
    await lab.killKeepalived(a1.node, 'SIGTERM');
    await waitFor('keepalived down', () => !a1.store.state.keepalived.up);
    expect(inst(a1).state).toBe('STOP');
    const kinds = a1.events.slice(from).map((e) => (e.kind === 'transition' ? `transition:${e.state}` : e.kind === 'keepalived' ? `keepalived:${e.up}:${e.reason}` : e.kind));
    expect(kinds).toContain('transition:STOP');
    expect(kinds).toContain('keepalived:false:stopped');
    expect(a1.store.state.sources.dbus?.up).toBe(true);
  });

  test('keepalived restarted: state re-read', async () => {
    const [a1] = agents;
    await lab.startKeepalived(a1.node);
    await waitFor('keepalived up and MASTER', () => a1.store.state.keepalived.up && inst(a1).state === 'MASTER', 20_000);
  });

  test('keepalived killed (SIGKILL, no signal sent): down via NameOwnerChanged + dead pid, no stale MASTER', async () => {
    const [a1, a2] = agents;
    await lab.killKeepalived(a1.node, 'SIGKILL');
    await waitFor('keepalived down', () => !a1.store.state.keepalived.up);
    expect(inst(a1).state).toBe('STOP');
    expect(a1.store.state.keepalived.reason).toMatch(/left the bus/);
    await waitFor('node 2 takes over', () => inst(a2).state === 'MASTER');
    await lab.startKeepalived(a1.node);
    await waitFor('node 1 back', () => a1.store.state.keepalived.up && inst(a1).state === 'MASTER', 20_000);
  });

  test('reload adding and removing an instance: it appears, then is DELETED', async () => {
    const [a1] = agents;
    const from = a1.events.length;
    const conf = readFileSync(a1.node.confPath, 'utf8');
    const extra = `\nvrrp_instance VI_2 {\n  state BACKUP\n  interface ${a1.node.intf}\n  virtual_router_id 52\n  priority 50\n  advert_int 1\n  virtual_ipaddress {\n    192.0.2.101/24 dev ${a1.node.intf}\n  }\n}\n`;
    try {
      writeFileSync(a1.node.confPath, conf + extra);
      await lab.reloadKeepalived(a1.node);
      await waitFor('VI_2 seen', () => a1.store.state.instances.VI_2 && ['BACKUP', 'MASTER'].includes(a1.store.state.instances.VI_2.state));
      expect(a1.store.state.instances.VI_2).toMatchObject({ intf: 'eth0', vrid: 52, family: 'IPv4' });
    } finally {
      writeFileSync(a1.node.confPath, conf);
    }
    await lab.reloadKeepalived(a1.node);
    await waitFor('VI_2 DELETED', () => a1.store.state.instances.VI_2?.state === 'DELETED');
    expect(inst(a1).state).toBe('MASTER');
    // The instance that stayed was never taken for a removed one during the reloads.
    expect(a1.events.slice(from).some((e) => e.kind === 'transition' && e.iname === 'VI_1' && e.state === 'DELETED')).toBe(false);
  });

  test('dumps source: counters, instance details and scripts from the real keepalived, no auth_pass', async () => {
    const [a1] = agents;
    for (const method of ['dbus', 'signal'] as const) {
      const events: NodeEvent[] = [];
      const dumps = dumpsSource({
        method,
        dbus: a1.dbus,
        pidFile: a1.node.keepalivedPidFile,
        // no dir: found through /proc/<pid>/root/tmp (the lab gives keepalived a private /tmp)
        pollMs: 20,
      }, sourceEnv({ apply: (e) => events.push(e) }, { clock: systemClock, log: silentLogger() }, 'dumps'));
      const out = await dumps.refresh();
      expect(out.map((o) => [o.kind, o.ok])).toEqual(method === 'dbus' ? [['data', true], ['stats', true]] : [['json', true], ['data', true]]);
      expect(out[0].file).toMatch(/^\/proc\/\d+\/root\/tmp\/keepalived\./);
      const counters = events.find((e) => e.kind === 'counters' && e.iname === 'VI_1' && e.counters.advertisements_sent !== undefined);
      expect(counters).toMatchObject({ counters: { advertisements_sent: expect.any(Number), become_master: expect.any(Number) } });
      expect((counters as { counters: { advertisements_sent: number } }).counters.advertisements_sent).toBeGreaterThan(0);
      expect(events.find((e) => e.kind === 'instance')).toMatchObject({ key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100'], authType: 'PASS', priority: 150 });
      const all = JSON.stringify(events);
      expect(all).not.toContain(AUTH_PASS);
      expect(events.some((e) => e.kind === 'parse_error')).toBe(false);
      for (const e of events) a1.store.apply(e);
    }
    expect(a1.store.state.instances.VI_1.counters.advertisements_sent).toBeGreaterThan(0);
  });

  test('dbus-daemon restarted: source down, keepalived NOT reported down (it runs, off the bus); back after keepalived restarts', async () => {
    const [a1] = agents;
    const from = a1.events.length;
    await lab.restartDbus(a1.node);
    await waitFor('source down', () => a1.store.state.sources.dbus?.up === false);
    // Reconnected to the new daemon, where keepalived 2.2.7 never re-registers.
    await waitFor('reported as off the bus', () => /running but not on the D-Bus bus/.test(a1.store.state.sources.dbus?.error ?? ''), 10_000);
    expect(a1.store.state.keepalived.up).toBe(true);
    expect(a1.events.slice(from).some((e) => e.kind === 'keepalived' && !e.up)).toBe(false);
    // The operator's fix: restart keepalived. The source sees it join and re-reads the state.
    await lab.killKeepalived(a1.node, 'SIGTERM');
    await lab.startKeepalived(a1.node);
    await waitFor('source up and re-enumerated', () => a1.store.state.sources.dbus?.up === true && a1.store.state.keepalived.up && ['BACKUP', 'MASTER'].includes(inst(a1).state), 20_000);
    await waitFor('node 1 MASTER', () => inst(a1).state === 'MASTER', 20_000);
  });

  test('no event of the whole run carries the auth_pass', () => {
    for (const a of agents) expect(JSON.stringify(a.events)).not.toContain(AUTH_PASS);
  });
});
