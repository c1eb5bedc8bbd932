// The agent restarted after a failover it missed, in process: the real hook, FIFO and log sources
// and the last-state file, built by their modules from one config, on the fake clock. The
// failover was kept by all three backlogs (and the persisted last state says BACKUP): one
// transition, at the hook's exact time, before the start, counted once.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../../agent/config/load';
import { formatRecord } from '../../../agent/hook/record';
import { silentLogger } from '../../../agent/logger';
import type { Component, WiringCtx } from '../../../agent/module';
import { LastStateFile, readLastState } from '../../../agent/state/lastStateFile';
import { NodeStore, transitionCountKey } from '../../../agent/state/store';
import { fifoLogModule } from '../../../agent/wiring/fifoLog';
import { historyModule, lastStatePath } from '../../../agent/wiring/history';
import { hookModule } from '../../../agent/wiring/hook';
import { FakeClock } from '../../helpers/fakeClock';

jest.setTimeout(30_000);

const KEY = { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' as const };
let dir: string;
let writer: ChildProcess | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-recovery-'));
});
afterEach(() => {
  if (writer && writer.exitCode === null) writer.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

function config() {
  return parseConfig(
    [
      'node: ka2',
      'keepalived:',
      '  dbus_enabled: false',
      `  notify_fifo: ${dir}/notify.fifo`,
      `  log: ${dir}/keepalived.log`,
      `  hook_spool: ${dir}/spool`,
      `  hook_socket: ${dir}/hook.sock`,
      `  state_dir: ${dir}/state`,
      '',
    ].join('\n'),
  );
}

async function startAgent(clock: FakeClock) {
  const store = new NodeStore('ka2', clock);
  const w = { config: config(), store, clock, log: silentLogger() } as unknown as WiringCtx;
  const components: Component[] = [];
  // Built in the daemon's order (all built, then started in order).
  const mods = [hookModule, fifoLogModule, historyModule];
  const built = [];
  for (const m of mods) built.push(await m.build(w));
  for (const b of built) for (const c of b.components ?? []) {
    await c.start();
    components.push(c);
  }
  return {
    store,
    components,
    async stop() {
      for (const c of components.reverse()) await c.stop();
    },
  };
}

/** The console framing of keepalived -l, whole seconds, local time. */
function consoleTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()]} ${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()]} ${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${d.getFullYear()}`;
}

test('a failover while the agent was down, kept by spool, FIFO and log: one BACKUP -> MASTER at its time, counted once', async () => {
  const now = Date.now();
  const t0 = now - 60_000;
  const failoverAt = now - 30_000 + 123;

  // The previous run: VI_1 BACKUP, read to the end of the log, the FIFO created and drained.
  fs.writeFileSync(`${dir}/keepalived.log`, `${consoleTime(t0)}: (VI_1) Entering BACKUP STATE\n`);
  const clock1 = new FakeClock(t0);
  const a1 = await startAgent(clock1);
  a1.store.apply({ kind: 'source', source: 'fifo', up: true, at: t0 });
  a1.store.apply({ kind: 'instance', key: KEY, state: 'BACKUP', at: t0, source: 'fifo' });
  clock1.advance(10_000); // the last-state file's alive time moves on while the agent runs
  await a1.stop();
  expect(readLastState(lastStatePath(`${dir}/state`))).toMatchObject({ aliveAt: t0 + 10_000, instances: { VI_1: { state: 'BACKUP', since: t0 } } });

  // While it is down, keepalived fails over: the hook spools, the FIFO fills, the log grows.
  const ns = BigInt(failoverAt) * 1_000_000n;
  fs.writeFileSync(`${dir}/spool/${ns}-4242.rec`, formatRecord({ ns, seq: 4242, type: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 }));
  fs.appendFileSync(`${dir}/keepalived.log`, `${consoleTime(failoverAt)}: (VI_1) Entering MASTER STATE\n`);
  writer = spawn(process.execPath, ['-e', `
    const fs = require('fs');
    const fd = fs.openSync(${JSON.stringify(`${dir}/notify.fifo`)}, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    fs.writeSync(fd, 'INSTANCE "VI_1" MASTER 100\\n');
    process.stdout.write('ok\\n');
    setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => writer!.stdout!.once('data', r));

  // The new run, then the live read (the FIFO-only setup's first live line would do the same).
  const clock2 = new FakeClock(now + 1000);
  const a2 = await startAgent(clock2);
  try {
    expect(a2.store.historySettled).toBe(true);
    a2.store.apply({ kind: 'instance', key: KEY, state: 'MASTER', at: clock2.now(), source: 'dumps' });
    const s = a2.store.state;
    expect(s.timeline.map((t) => ({ from: t.from, to: t.to, at: t.at, history: t.history, bounds: t.bounds }))).toEqual([
      { from: 'BACKUP', to: 'MASTER', at: failoverAt, history: 'backlog', bounds: undefined },
    ]);
    expect(s.timeline[0].at).toBeLessThan(s.bootAt);
    expect(s.transitionCounts).toEqual({ [transitionCountKey('VI_1', 'BACKUP', 'MASTER')]: 1 });
    expect(s.instances.VI_1).toMatchObject({ state: 'MASTER', since: failoverAt });
    // Each of the three kept it: the spool was applied and emptied, the FIFO line and the log line read as backlog.
    expect(fs.readdirSync(`${dir}/spool`).filter((n) => n.endsWith('.rec'))).toEqual([]);
    const src = (name: string) => a2.components.find((c) => c.name === name) as unknown as { stats: Record<string, unknown> };
    expect(src('hook').stats.applied).toEqual({ socket: 0, spool: 1 });
    expect(src('fifo').stats.backlogLines).toBe(1);
    expect(src('log').stats.events).toBe(1);
  } finally {
    await a2.stop();
  }
  expect(readLastState(lastStatePath(`${dir}/state`))?.instances.VI_1).toMatchObject({ state: 'MASTER', since: failoverAt });
});

describe('last-state file', () => {
  test('written on each change and every interval; its alive time moves only while a state source is up and the backlogs are in', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const store = new NodeStore('ka1', clock);
    store.setBaseline(undefined);
    store.expectBacklogs(['fifo'], 10_000);
    const file = path.join(dir, 'state', 'last-state.json');
    const f = new LastStateFile({ file, store, clock, log: silentLogger(), aliveIntervalMs: 5000 });
    await f.start();
    expect(fs.existsSync(file)).toBe(false); // nothing known yet
    store.apply({ kind: 'source', source: 'dbus', up: true, at: t0 });
    store.apply({ kind: 'instance', key: KEY, state: 'MASTER', at: t0, source: 'dbus' });
    // Written at the change, with no alive time yet: the FIFO's backlog is not in.
    expect(readLastState(file)).toEqual({ node: 'ka1', aliveAt: 0, instances: { VI_1: { ...KEY, state: 'MASTER', since: t0 } } });
    store.backlogDone('fifo');
    clock.advance(5000);
    expect(readLastState(file)?.aliveAt).toBe(t0 + 5000);
    store.apply({ kind: 'source', source: 'dbus', up: false, at: clock.now(), error: 'bus gone' });
    clock.advance(5000);
    expect(readLastState(file)?.aliveAt).toBe(t0 + 5000); // not known meanwhile
    store.apply({ kind: 'source', source: 'dbus', up: true, at: clock.now() });
    clock.advance(1000);
    store.apply({ kind: 'transition', iname: 'VI_1', state: 'BACKUP', at: clock.now(), source: 'dbus' });
    expect(readLastState(file)).toMatchObject({ aliveAt: t0 + 11_000, instances: { VI_1: { state: 'BACKUP', since: t0 + 11_000 } } });
    await f.stop();
    expect(clock.pending()).toBe(0);
  });

  test('a damaged last-state file is an error naming it, and the history module goes on without it', async () => {
    const stateDir = path.join(dir, 'state');
    fs.mkdirSync(stateDir);
    fs.writeFileSync(lastStatePath(stateDir), JSON.stringify({ node: 'ka1', aliveAt: 'yesterday', instances: {} }));
    expect(() => readLastState(lastStatePath(stateDir))).toThrow(/last-state.json is not valid: aliveAt/);
    const clock = new FakeClock();
    const store = new NodeStore('ka1', clock);
    const w = { config: parseConfig(`node: ka1\nkeepalived:\n  state_dir: ${stateDir}\n  hook_enabled: false\n`), store, clock, log: silentLogger() } as unknown as WiringCtx;
    const mod = await historyModule.build(w);
    expect(mod.components?.map((c) => c.name)).toEqual(['last_state']);
    expect(store.lastState).toBeUndefined();
    expect(store.historySettled).toBe(true);
    expect(historyModule.slice(w.config)).toEqual({ dir: stateDir });
  });
});
