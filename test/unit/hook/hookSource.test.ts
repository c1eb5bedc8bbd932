// The agent side of the notify hook, with the real sh hook, a real Unix socket and a real spool dir.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { hookSource, type HookSource, type HookSourceOptions } from '../../../agent/sources/hookSource';
import { sourceEnv } from '../../../agent/sources/source';
import { NodeStore } from '../../../agent/state/store';
import { systemClock } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import type { NodeEvent } from '../../../agent/state/types';
import { formatRecord, parseRecord } from '../../../agent/hook/record';
import { HOOK_PATH, mapLimit, runHook } from '../../helpers/hook';
import { waitFor } from '../../helpers/wait';

const hasSocat = ['/usr/bin/socat', '/bin/socat'].some((p) => fs.existsSync(p));
if (!hasSocat) console.warn('socat not installed: the hook socket path is not exercised (spool path only)');

const until = (cond: () => boolean, timeoutMs = 5000) => waitFor(cond, { timeoutMs, stepMs: 5 });

describe('hookSource', () => {
  let dir: string;
  let spool: string;
  let sock: string;
  let events: NodeEvent[];
  let store: NodeStore;
  let src: HookSource | undefined;

  const make = (extra: Partial<HookSourceOptions> = {}) =>
    hookSource(
      { spoolDir: spool, socketPath: sock, state: () => store.state, ...extra },
      sourceEnv(
        {
          apply: (ev) => {
            events.push(ev);
            store.apply(ev);
          },
        },
        { clock: systemClock, log: silentLogger() },
        'hook',
      ),
    );
  const hookEnv = () => ({ KEEPWATCH_SPOOL: spool, KEEPWATCH_SOCKET: sock });
  const transitions = () => events.filter((e) => e.kind === 'transition');
  const spooled = () => fs.readdirSync(spool).filter((n) => /\.(rec|bad)$/.test(n));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kwhook-'));
    spool = path.join(dir, 'spool');
    sock = path.join(dir, 'hook.sock');
    events = [];
    store = new NodeStore('ka1', systemClock);
  });
  afterEach(async () => {
    await src?.stop();
    src = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('agent up: the hook returns only after the event is in the store (socket ack), socket is 0600, heartbeat written', async () => {
    src = make();
    await src.start();
    expect(fs.statSync(sock).mode & 0o777).toBe(0o600);
    expect(Number(fs.readFileSync(path.join(spool, 'agent.alive'), 'utf8'))).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
    const run = await runHook(['INSTANCE', 'VI_1', 'MASTER', '150'], hookEnv());
    expect(run).toMatchObject({ code: 0, stderr: '' });
    // Already applied when the hook exited: no waiting here.
    expect(transitions()).toEqual([expect.objectContaining({ kind: 'transition', iname: 'VI_1', state: 'MASTER', priority: 150, source: 'hook', seq: expect.any(Number) })]);
    expect(store.state.instances.VI_1.state).toBe('MASTER');
    expect(src.stats.applied).toEqual(hasSocat ? { socket: 1, spool: 0 } : { socket: 0, spool: 1 });
    expect(spooled()).toEqual([]);
    console.log(`hook with agent up: ${run.ms.toFixed(1)} ms wall (including spawn from jest)`);
  });

  test('agent up without socat (--no-socket): spooled and picked up by the spool watch at once', async () => {
    src = make();
    await src.start();
    const t0 = Date.now();
    expect((await runHook(['--no-socket', '--state', 'BACKUP', 'GROUP', 'G1'], hookEnv())).code).toBe(0);
    await until(() => events.some((e) => e.kind === 'group'));
    console.log(`spool watch pick-up: ${Date.now() - t0} ms after the hook started`);
    expect(events.find((e) => e.kind === 'group')).toMatchObject({ group: 'G1', state: 'BACKUP', source: 'hook' });
    await until(() => spooled().length === 0);
    expect(src.stats.applied.spool).toBe(1);
  });

  test('agent down: records are spooled atomically, then ingested on start in keepalived order and deleted', async () => {
    for (const s of ['BACKUP', 'MASTER', 'FAULT', 'BACKUP']) {
      expect((await runHook(['INSTANCE', 'VI_1', s, '100'], hookEnv())).code).toBe(0);
    }
    expect((await runHook(['--state', 'MASTER', 'GROUP', 'G1'], hookEnv())).code).toBe(0);
    expect(spooled()).toHaveLength(5);
    expect(fs.readdirSync(path.join(`${spool}-hook`, 'tmp'))).toEqual([]);
    src = make();
    await src.start();
    expect(transitions().map((e) => e.kind === 'transition' && e.state)).toEqual(['BACKUP', 'MASTER', 'FAULT', 'BACKUP']);
    expect(store.state.instances.VI_1.state).toBe('BACKUP');
    expect(store.state.groups.G1.state).toBe('MASTER');
    expect(spooled()).toEqual([]);
  });

  test('records spooled before the start are history (placed at their time, never over the live state); later ones are live', async () => {
    expect((await runHook(['INSTANCE', 'VI_1', 'MASTER', '100'], hookEnv())).code).toBe(0);
    const spooledAt = Date.now();
    let done = 0;
    // The live state was already read (as D-Bus does at start) before the spool is applied.
    store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, state: 'BACKUP', at: spooledAt + 1, source: 'dbus' });
    src = make({ socketPath: undefined, onBacklogDone: () => done++ });
    await src.start();
    expect(done).toBe(1);
    expect(transitions()).toEqual([expect.objectContaining({ state: 'MASTER', history: {} })]);
    const past = transitions()[0];
    expect(past.at).toBeLessThanOrEqual(spooledAt);
    // Not applied over the live BACKUP: in the timeline before it, with the unseen way back inferred.
    expect(store.state.instances.VI_1.state).toBe('BACKUP');
    expect(store.state.timeline.map((t) => [t.from, t.to, t.history])).toEqual([
      ['UNKNOWN', 'MASTER', 'backlog'],
      ['MASTER', 'BACKUP', 'inferred'],
    ]);
    expect(store.state.timeline[0].at).toBe(past.at);
    // Spooled after the start (no socket): live.
    expect((await runHook(['INSTANCE', 'VI_1', 'MASTER', '100'], hookEnv())).code).toBe(0);
    await until(() => transitions().length === 2);
    expect(transitions()[1].history).toBeUndefined();
    expect(store.state.instances.VI_1.state).toBe('MASTER');
  });

  test('out-of-order records: fork order wins; an older record after a newer one is superseded, not applied', async () => {
    const base = BigInt(Date.now()) * 1_000_000n;
    const p = path.join(spool);
    fs.mkdirSync(p, { recursive: true });
    // Forked first (pid 100) but took its timestamp later than the second (pid 101).
    fs.writeFileSync(path.join(p, `${base + 500n}-100.rec`), formatRecord({ ns: base + 500n, seq: 100, type: 'INSTANCE', name: 'VI_1', state: 'BACKUP', priority: 100 }));
    fs.writeFileSync(path.join(p, `${base}-101.rec`), formatRecord({ ns: base, seq: 101, type: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 }));
    src = make({ order: { pidMax: 32768 } });
    await src.start();
    expect(transitions().map((e) => e.kind === 'transition' && e.state)).toEqual(['BACKUP', 'MASTER']);
    // A late arrival on the socket that keepalived produced before the MASTER: history, not applied.
    const reply = await sendLines(sock, [formatRecord({ ns: base - 10n, seq: 99, type: 'INSTANCE', name: 'VI_1', state: 'FAULT', priority: 100 })]);
    expect(reply).toBe(`ok ${base - 10n}-99\n`);
    expect(store.state.instances.VI_1.state).toBe('MASTER');
    expect(src.stats.superseded).toBe(1);
  });

  test('garbage spool files and socket lines: moved to bad/, parse_error events, nothing crashes', async () => {
    fs.mkdirSync(spool, { recursive: true });
    fs.writeFileSync(path.join(spool, '1-1.rec'), 'v1 not a record\n');
    fs.writeFileSync(path.join(spool, '2-2.rec'), Buffer.from([0xff, 0x00, 0x0a, 0x41]));
    src = make();
    await src.start();
    expect(fs.readdirSync(path.join(spool, 'bad')).sort()).toEqual(['1-1.rec', '2-2.rec']);
    const reply = await sendLines(sock, ['hello world\n', formatRecord({ ns: 5_000_000n, seq: 5, type: 'INSTANCE', name: 'VI_9', state: 'BACKUP' })]);
    expect(reply).toMatch(/^err unknown record version "hello".*\nok 5000000-5\n$/);
    const errs = events.filter((e) => e.kind === 'parse_error');
    expect(errs).toHaveLength(3);
    expect(errs[0]).toMatchObject({ source: 'hook', reason: expect.stringMatching(/7 space-separated fields/) });
    expect(store.state.sources.hook?.parseErrors).toBe(3);
    expect(fs.readdirSync(path.join(spool, 'bad'))).toHaveLength(3);
    expect(spooled()).toEqual([]);
    // A flood without newline is cut off, not buffered forever.
    const big = await sendLines(sock, ['x'.repeat(10_000)]);
    expect(big).toMatch(/^err too long/);
  });

  test('bad hook arguments: exit 2, usage on stderr, raw arguments spooled and reported', async () => {
    const r = await runHook(['INSTANCE', 'two words', 'MASTER', '999'], hookEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^keepwatch-notify: priority must be 0-255, got '999'/);
    expect(r.stderr).toMatch(/usage: keepwatch-notify/);
    for (const args of [[], ['INSTANCE'], ['VRRP', 'VI_1', 'MASTER'], ['INSTANCE', 'VI_1', 'PRIMARY'], ['INSTANCE', 'VI_1', 'MASTER', '256'], ['--bogus', 'INSTANCE', 'VI_1', 'MASTER'], ['--state'], ['--state', 'MASTER', 'INSTANCE'], ['INSTANCE', 'VI_1', 'MASTER', '1', 'extra']]) {
      const b = await runHook(args, hookEnv());
      expect({ args, code: b.code }).toEqual({ args, code: 2 });
      expect(b.stderr).toMatch(/usage:/);
    }
    const bad = spooled();
    expect(bad).toHaveLength(10);
    expect(bad.every((n) => n.endsWith('.bad'))).toBe(true);
    src = make();
    await src.start();
    const errs = events.filter((e) => e.kind === 'parse_error');
    expect(errs).toHaveLength(10);
    expect(errs.map((e) => e.kind === 'parse_error' && e.reason)).toContain('hook called with bad arguments (4): "INSTANCE" "two words" "MASTER" "999"');
    expect(fs.readdirSync(path.join(spool, 'bad'))).toHaveLength(10);
  }, 30_000);

  test('a stale socket file is replaced; a live one or a non-socket file is left alone', async () => {
    // Stale: a socket nobody listens on.
    const stale = net.createServer().listen(sock);
    await new Promise((r) => stale.once('listening', r));
    // Closing unlinks the path (libuv): keep a hard link to get a socket file nobody listens on.
    fs.linkSync(sock, `${sock}.keep`);
    await new Promise((r) => stale.close(r));
    fs.renameSync(`${sock}.keep`, sock);
    expect(fs.lstatSync(sock).isSocket()).toBe(true);
    src = make();
    await src.start();
    expect(store.state.sources.hook?.up).toBe(true);
    // A second agent on the same socket: degraded, first one untouched.
    const second = make();
    await second.start();
    expect(events.some((e) => e.kind === 'source' && !e.up && /in use by another process/.test(e.error ?? ''))).toBe(true);
    await second.stop();
    // The first still answers (the second did not remove its socket).
    expect(await sendLines(sock, [formatRecord({ ns: 1_000_000n, seq: 1, type: 'INSTANCE', name: 'VI_1', state: 'BACKUP' })])).toBe('ok 1000000-1\n');
    await src.stop();
    src = undefined;
    expect(fs.existsSync(sock)).toBe(false);
    expect(fs.existsSync(path.join(spool, 'agent.alive'))).toBe(false);
    fs.writeFileSync(sock, 'not a socket');
    const third = make();
    await third.start();
    expect(fs.readFileSync(sock, 'utf8')).toBe('not a socket');
    await third.stop();
  });

  test('1000 hook calls in parallel (50 at a time), agent up: none lost, none duplicated', async () => {
    src = make();
    await src.start();
    const names = Array.from({ length: 1000 }, (_, i) => `VI_${i}`);
    const t0 = Date.now();
    const runs = await mapLimit(names, 50, (n, i) => runHook(['INSTANCE', n, i % 2 ? 'MASTER' : 'BACKUP', String(i % 256)], hookEnv(), 20_000));
    const wall = Date.now() - t0;
    expect(runs.filter((r) => r.code !== 0)).toEqual([]);
    await until(() => transitions().length >= 1000 && spooled().length === 0, 20_000);
    const got = transitions().map((e) => (e.kind === 'transition' ? e.iname : ''));
    expect(new Set(got).size).toBe(1000);
    expect(got).toHaveLength(1000);
    const s = src.stats;
    expect(s.applied.socket + s.applied.spool).toBe(1000);
    expect(s.superseded).toBe(0);
    const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
    console.log(`1000 hook calls, 50 in flight: ${wall} ms wall; per call p50 ${ms[499].toFixed(1)} ms p99 ${ms[989].toFixed(1)} ms; socket ${s.applied.socket}, spool ${s.applied.spool}, duplicates dropped ${s.duplicate}`);
  }, 120_000);

  test('1000 hook calls in parallel, agent down, then started: all ingested once', async () => {
    const names = Array.from({ length: 1000 }, (_, i) => `VI_${i}`);
    const runs = await mapLimit(names, 50, (n) => runHook(['INSTANCE', n, 'MASTER', '150'], hookEnv(), 20_000));
    expect(runs.filter((r) => r.code !== 0)).toEqual([]);
    expect(spooled()).toHaveLength(1000);
    src = make();
    await src.start();
    expect(transitions()).toHaveLength(1000);
    expect(new Set(transitions().map((e) => (e.kind === 'transition' ? e.iname : ''))).size).toBe(1000);
    expect(spooled()).toEqual([]);
  }, 120_000);

  test('spool not writable: exit 1, says so on stderr (and sends the record to syslog)', async () => {
    fs.writeFileSync(path.join(dir, 'file'), 'not a directory');
    const r = await runHook(['--no-socket', '--spool', path.join(dir, 'file', 'spool'), 'INSTANCE', 'VI_1', 'MASTER', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write to spool .*record sent to syslog/);
  });

  test('the hook script is POSIX sh, executable, not group/world-writable', () => {
    const st = fs.statSync(HOOK_PATH);
    expect(st.mode & 0o111).toBe(0o111);
    expect(st.mode & 0o022).toBe(0);
    expect(fs.readFileSync(HOOK_PATH, 'utf8').split('\n')[0]).toBe('#!/bin/sh');
  });

  test('records parse the same in the hook and the agent (the hook writes what parseRecord accepts)', async () => {
    await runHook(['--no-socket', 'INSTANCE', 'VI_1', 'MASTER_RX_LOWER_PRI', '150'], hookEnv());
    const [name] = spooled();
    const r = parseRecord(fs.readFileSync(path.join(spool, name), 'utf8'));
    expect(r.ok && r.record.state).toBe('MASTER_RX_LOWER_PRI');
    expect(r.ok && `${r.record.id}.rec`).toBe(name);
  });
});

function sendLines(sockPath: string, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sockPath);
    let out = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => (out += d));
    c.on('error', reject);
    c.on('close', () => resolve(out));
    c.on('connect', () => {
      for (const l of lines) c.write(l);
      c.end();
    });
  });
}
