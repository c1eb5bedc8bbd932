// The dumps source on real files in a temp dir, with keepalived's side played by the injected
// signal sender / D-Bus requester: it writes the real captured dumps, whole or in two halves.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { systemClock } from '../../../agent/context';
import { createLogger, silentLogger } from '../../../agent/logger';
import { PassThrough } from 'node:stream';
import { dumpsSource, type DumpsSourceOptions } from '../../../agent/sources/dumpsSource';
import { sourceEnv } from '../../../agent/sources/source';
import type { NodeEvent } from '../../../agent/state/types';
import { sleep } from '../../helpers/wait';

const FIX = path.join(__dirname, '../../fixtures/keepalived/dumps');
const fixture = (f: string) => readFileSync(path.join(FIX, f), 'utf8');
const PID = 4242;

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'kw-dumps-'));
  dir = path.join(root, 'tmp');
  mkdirSync(dir);
  writeFileSync(path.join(root, 'keepalived.pid'), `${PID}\n`);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const FILES: Record<string, string> = { SIGUSR1: 'keepalived.data', SIGUSR2: 'keepalived.stats', 36: 'keepalived.json' };
const CONTENT: Record<string, string> = { 'keepalived.data': 'data-master.txt', 'keepalived.stats': 'stats-master.txt', 'keepalived.json': 'dump-2.2.7-master.json' };

function make(over: Partial<DumpsSourceOptions> = {}, log = silentLogger()) {
  const events: NodeEvent[] = [];
  const signals: Array<[number, string | number]> = [];
  const src = dumpsSource({
    method: 'signal',
    pidFile: path.join(root, 'keepalived.pid'),
    dir,
    pollMs: 10,
    timeoutMs: 400,
    // PID is a made-up keepalived: the pid check has its own tests (test/unit/security/keepalivedSignal.test.ts).
    checkPid: async () => undefined,
    sendSignal: (pid, sig) => {
      signals.push([pid, sig]);
      const f = FILES[String(sig)];
      setTimeout(() => writeFileSync(path.join(dir, f), fixture(CONTENT[f])), 5);
    },
    ...over,
  }, sourceEnv({ apply: (e) => events.push(e) }, { clock: systemClock, log }, 'dumps'));
  return { src, events, signals };
}

const kinds = (evs: NodeEvent[]) => evs.map((e) => e.kind);

test('signal method: JSON (signal 36) and data (USR1) to the pid from the pid file, parsed into events', async () => {
  const { src, events, signals } = make();
  const out = await src.refresh();
  expect(signals).toEqual([[PID, 36], [PID, 'SIGUSR1']]);
  expect(out.map((o) => [o.kind, o.ok, o.instances])).toEqual([['json', true, 3], ['data', true, 3]]);
  expect(events.filter((e) => e.kind === 'counters' && e.iname === 'VI_1')[0]).toMatchObject({ counters: { become_master: expect.any(Number), advertisements_sent: expect.any(Number) } });
  expect(events.filter((e) => e.kind === 'script').map((e) => e.kind === 'script' && [e.name, e.good])).toEqual([['chk_ok', true], ['chk_bad', false]]);
  expect(events.at(-1)).toMatchObject({ kind: 'source', up: true, source: 'dumps' });
  expect(kinds(events)).not.toContain('parse_error');
  expect(kinds(events)).not.toContain('keepalived');
});

test('a file written in two halves is read once, complete, without a parse error', async () => {
  const json = fixture('dump-2.2.7-master.json');
  const { src, events } = make({
    kinds: ['json'],
    sendSignal: () => {
      const f = path.join(dir, 'keepalived.json');
      writeFileSync(f, json.slice(0, 1200));
      // Longer than two polls: the reader sees the half file hold still and must not give up.
      setTimeout(() => writeFileSync(f, json), 80);
    },
  });
  const [o] = await src.refresh();
  expect(o.ok).toBe(true);
  expect(kinds(events).filter((k) => k === 'instance')).toHaveLength(3);
  expect(kinds(events)).not.toContain('parse_error');
});

test('an old file is not taken for the new dump; keepalived that never writes -> source down, nothing else', async () => {
  writeFileSync(path.join(dir, 'keepalived.json'), fixture('dump-2.2.7-master.json'));
  writeFileSync(path.join(dir, 'keepalived.data'), fixture('data-master.txt'));
  const { src, events } = make({ sendSignal: () => undefined });
  const out = await src.refresh();
  expect(out.every((o) => !o.ok && /did not write/.test(o.error ?? ''))).toBe(true);
  expect(kinds(events)).toEqual(['source']);
  expect(events[0]).toMatchObject({ up: false, error: expect.stringContaining('did not write') });
});

test('a file that stays cut short: one parse error per cycle, not one per look; never keepalived down', async () => {
  const { src, events } = make({
    kinds: ['json'],
    sendSignal: () => writeFileSync(path.join(dir, 'keepalived.json'), fixture('dump-2.2.7-master.json').slice(0, 900)),
  });
  await src.refresh();
  await src.refresh();
  expect(kinds(events).filter((k) => k === 'parse_error')).toHaveLength(2);
  expect(kinds(events)).not.toContain('keepalived');
  expect(kinds(events)).not.toContain('instance');
});

test("no dir configured: keepalived's own /tmp through /proc/<pid>/root/tmp (PrivateTmp)", async () => {
  const procRoot = path.join(root, 'proc');
  const privateTmp = path.join(procRoot, String(PID), 'root', 'tmp');
  mkdirSync(privateTmp, { recursive: true });
  const { src } = make({
    dir: undefined,
    procRoot,
    kinds: ['stats'],
    sendSignal: () => writeFileSync(path.join(privateTmp, 'keepalived.stats'), fixture('stats-master.txt')),
  });
  const [o] = await src.refresh();
  expect(o).toMatchObject({ ok: true, file: path.join(privateTmp, 'keepalived.stats'), instances: 3 });
});

test('dbus method: PrintData/PrintStats, no signal; falls back to signals when D-Bus fails', async () => {
  const calls: string[] = [];
  let dbusWorks = true;
  const dbus = {
    printData: async () => {
      calls.push('PrintData');
      if (!dbusWorks) throw new Error('not connected to D-Bus');
      setTimeout(() => writeFileSync(path.join(dir, 'keepalived.data'), fixture('data-backup.txt')), 5);
    },
    printStats: async () => {
      calls.push('PrintStats');
      if (!dbusWorks) throw new Error('not connected to D-Bus');
      setTimeout(() => writeFileSync(path.join(dir, 'keepalived.stats'), fixture('stats-backup.txt')), 5);
    },
  };
  const { src, signals, events } = make({ method: 'dbus', dbus });
  expect((await src.refresh()).every((o) => o.ok)).toBe(true);
  expect(calls).toEqual(['PrintData', 'PrintStats']);
  expect(signals).toEqual([]);
  expect(events.filter((e) => e.kind === 'counters').length).toBeGreaterThanOrEqual(3);
  dbusWorks = false;
  expect((await src.refresh()).every((o) => o.ok)).toBe(true);
  expect(signals).toEqual([[PID, 'SIGUSR1'], [PID, 'SIGUSR2']]);
});

describe('dumps.method dbus, asked by signal instead, as an unprivileged agent: the operator is told what, why, instead, and how to get D-Bus', () => {
  const eperm = () => {
    throw Object.assign(new Error('kill EPERM'), { code: 'EPERM', syscall: 'kill' });
  };
  const logged = () => {
    const lines: string[] = [];
    const out = new PassThrough();
    out.on('data', (c: Buffer) => lines.push(...c.toString().trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg)));
    return { log: createLogger({ level: 'warn', format: 'json', destination: out }), lines };
  };
  const denied = async () => {
    throw new Error('org.freedesktop.DBus.Error.AccessDenied');
  };

  test('a D-Bus call fails (the policy refuses): the source down with the configured method, the D-Bus error, the signal tried and why it failed, and the fix', async () => {
    const { log, lines } = logged();
    const { src, events } = make({ method: 'dbus', dbus: { printData: denied, printStats: denied }, sendSignal: eperm }, log);
    const [data] = await src.refresh();
    expect(data.error).toBe(
      'requesting the dump failed: keepalived.dumps.method is dbus, but PrintData over D-Bus failed (org.freedesktop.DBus.Error.AccessDenied), ' +
        'so the dump was asked for by signal (SIGUSR1) instead, and that needs root or CAP_KILL (EPERM: kill EPERM); ' +
        "for D-Bus, keepalived needs enable_dbus and the agent's user the D-Bus policy (deploy/dbus/keepwatch-keepalived.conf); keepwatch_source_up{source=\"dbus\"} says whether the agent is connected",
    );
    expect(events.at(-1)).toMatchObject({ kind: 'source', up: false, source: 'dumps' });
    await sleep(10);
    expect(lines).toContain(
      "keepalived.dumps.method is dbus, but PrintData over D-Bus failed: asking keepalived by signal (SIGUSR1) instead, which needs root or CAP_KILL; for D-Bus, keepalived needs enable_dbus and the agent's user the D-Bus policy (deploy/dbus/keepwatch-keepalived.conf); keepwatch_source_up{source=\"dbus\"} says whether the agent is connected",
    );
  });

  test('no D-Bus at all (keepalived.dbus_enabled false): said at start, and in the error', async () => {
    const { log, lines } = logged();
    const { src } = make({ method: 'dbus', sendSignal: eperm, intervalMs: 60_000 }, log);
    await src.start();
    await src.stop();
    expect(lines).toContain('keepalived.dumps.method is dbus, but keepalived.dbus_enabled is false: asking keepalived for its dumps by signal instead, which needs root or CAP_KILL; for D-Bus, set keepalived.dbus_enabled: true (keepalived needs enable_dbus)');
    const [json] = await src.refresh();
    expect(json.error).toMatch(/^requesting the dump failed: keepalived\.dumps\.method is dbus, but keepalived\.dbus_enabled is false, so the dump was asked for by signal \(the JSON signal\) instead, and that needs root or CAP_KILL \(EPERM: kill EPERM\); for D-Bus, set keepalived\.dbus_enabled: true/);
  });

  test('dumps.method signal: the refusal points at dbus, which needs no root', async () => {
    const { src } = make({ sendSignal: eperm });
    const [json] = await src.refresh();
    expect(json.error).toBe('requesting the dump failed: EPERM: kill EPERM (signalling keepalived, a root process, needs root or CAP_KILL; keepalived.dumps.method: dbus needs neither)');
  });
});

test('no pid file and signals needed: a clear error, source down', async () => {
  rmSync(path.join(root, 'keepalived.pid'));
  const { src, events } = make();
  const out = await src.refresh();
  expect(out[0].error).toMatch(/no keepalived pid \(pid file .*keepalived\.pid\)/);
  expect(events).toEqual([expect.objectContaining({ kind: 'source', up: false })]);
});

// The agent as the unprivileged unit runs it: uid 990, gid 990, and keepalived's dumps root 0600.
const AGENT = { uid: 990, gid: 990, groups: [990, 999] };
const denied = (p: string) => Object.assign(new Error(`EACCES: permission denied, open '${p}'`), { code: 'EACCES' });

test('a dump the agent may not read: source down naming the file, its owner and mode and the missing read permission', async () => {
  const { src, events } = make({
    kinds: ['stats'],
    identity: () => AGENT,
    fs: {
      stat: async (p) => {
        const st = statSync(p);
        return { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino, uid: 0, gid: 0, mode: 0o100600 };
      },
      readFile: async (p) => { throw denied(p); },
      accessDir: async () => undefined,
    },
  });
  const [o] = await src.refresh();
  const file = path.join(dir, 'keepalived.stats');
  expect(o.ok).toBe(false);
  expect(o.error).toBe(`permission denied: ${file} is uid 0 gid 0 mode 0600, and the agent (uid 990, gid 990, groups 990,999) falls in its "other" class, which has no read (r) permission; `
    + 'give the agent read access to the dumps and nothing else: keepalived.conf `umask 0027` in global_defs, TMPDIR=/run/keepalived-dumps for keepalived '
    + '(deploy/systemd/keepalived.service.d/keepwatch.conf), that directory root:keepwatch 2750 (keepwatch.tmpfiles) and keepalived.dumps.dir set to it (README, "Counters"); '
    + 'or keepalived.dumps.method: off');
  expect(events).toEqual([expect.objectContaining({ kind: 'source', up: false, error: `stats: ${o.error}` })]);
});

test('a dump directory the agent may not enter: no request sent, the directory and the missing search permission named', async () => {
  const { src, signals } = make({
    kinds: ['data'],
    identity: () => AGENT,
    fs: {
      stat: async (p) => {
        if (p !== dir) throw denied(p);
        return { mtimeMs: 0, size: 0, ino: 1, uid: 0, gid: 990, mode: 0o40700 };
      },
      readFile: async (p) => { throw denied(p); },
      accessDir: async () => undefined,
    },
  });
  const [o] = await src.refresh();
  expect(signals).toEqual([]);
  expect(o.error).toMatch(new RegExp(`^permission denied: ${dir} is uid 0 gid 990 mode 0700, and the agent \\(uid 990, gid 990, groups 990,999\\) falls in its "group" class, which has no search \\(x\\) permission; `));
});

test('no event of a cycle carries the auth_pass of the dumps', async () => {
  const { src, events } = make({ kinds: ['json', 'data', 'stats'] });
  await src.refresh();
  const all = JSON.stringify(events);
  expect(all).not.toMatch(/s3cr3tpw|ahs3cret|auth_data|Password/);
  expect(events.length).toBeGreaterThan(6);
});

test('start() runs a cycle at once and then on the interval; stop() ends it', async () => {
  const { src, signals } = make({ kinds: ['stats'], intervalMs: 150 });
  await src.start();
  await sleep(400);
  await src.stop();
  const n = signals.length;
  expect(n).toBeGreaterThanOrEqual(2);
  await sleep(300);
  expect(signals.length).toBe(n);
});
