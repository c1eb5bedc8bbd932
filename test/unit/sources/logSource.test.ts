// The log source against real files in a temp dir (rotation, truncation, deletion) and a stand-in
// journalctl (a small script printing journal JSON), since journald does not run here.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { systemClock, type Ctx } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import { logSource, type LogSource, type LogSourceOptions } from '../../../agent/sources/logSource';
import { sourceEnv } from '../../../agent/sources/source';
import { DEFAULT_JOURNALCTL_COMMAND } from '../../../agent/sources/journalFollower';
import type { NodeEvent } from '../../../agent/state/types';
import { sleep, waitFor } from '../../helpers/wait';

/** Real files and pipes: poll often, give the slow machine time. */
const POLL = { timeoutMs: 10_000, stepMs: 10 };

jest.setTimeout(30_000);

const ctx: Ctx = { clock: systemClock, log: silentLogger() };
const FIXTURES = path.join(__dirname, '../../fixtures/keepalived');
let dir: string;
let file: string;
const sources: LogSource[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-log-'));
  file = path.join(dir, 'keepalived.log');
});

afterEach(async () => {
  for (const s of sources.splice(0)) await s.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function make(opts: Partial<LogSourceOptions> = {}) {
  const events: NodeEvent[] = [];
  const src = logSource({ path: file, checkIntervalMs: 200, ...opts }, sourceEnv({ apply: (e) => events.push(e) }, ctx, 'log'));
  sources.push(src);
  return { src, events };
}


const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** A syslog line stamped now, as rsyslog would write it. */
function line(iname: string, state: string): string {
  const d = new Date();
  const p2 = (n: number) => String(n).padStart(2, '0');
  const ts = `${MON[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  return `${ts} kwfl-a Keepalived_vrrp[13183]: (${iname}) Entering ${state} STATE\n`;
}
const transitions = (evs: NodeEvent[]) => evs.filter((e): e is Extract<NodeEvent, { kind: 'transition' }> => e.kind === 'transition');
const ofKind = <K extends NodeEvent['kind']>(evs: NodeEvent[], k: K) => evs.filter((e): e is Extract<NodeEvent, { kind: K }> => e.kind === k);
const states = (evs: NodeEvent[]) => transitions(evs).map((e) => `${e.iname}:${e.state}`);

describe('LogSource (file)', () => {
  test('starts at the end like tail -F: old lines are not replayed, new ones are read as written', async () => {
    fs.writeFileSync(file, line('OLD', 'MASTER'));
    const { src, events } = make();
    await src.start();
    expect(events).toEqual([expect.objectContaining({ kind: 'source', source: 'log', up: true })]);
    const before = Date.now();
    fs.appendFileSync(file, line('VI_1', 'BACKUP') + 'Nov 25 19:14:27 kwfl-a Keepalived_vrrp[1]: (VI_1) setting VIPs.\n' + line('VI_1', 'MASTER'));
    await waitFor(() => transitions(events).length === 2, { what: '2 transitions', ...POLL });
    expect(states(events)).toEqual(['VI_1:BACKUP', 'VI_1:MASTER']);
    // Read as written: the read time (with ms), not the line's whole-second time.
    for (const e of transitions(events)) expect(e.at).toBeGreaterThanOrEqual(before);
  });

  test('fromStart reads the whole file; old lines keep their own time', async () => {
    fs.copyFileSync(path.join(FIXTURES, 'log-2x-syslog-captured.txt'), file);
    const { src, events } = make({ fromStart: true });
    await src.start();
    await waitFor(() => transitions(events).length === 12, { what: 'the capture', ...POLL });
    expect(states(events).slice(0, 4)).toEqual(['VI_3:BACKUP', 'VI_1:BACKUP', 'VI_2:BACKUP', 'VI_2:MASTER']);
    const first = transitions(events)[0];
    expect(new Date(first.at).getSeconds()).toBe(58); // Nov 25 19:17:58
    expect(ofKind(events, 'keepalived').map((e) => e.up)).toEqual([true, false, false, false]);
    expect(src.stats.parseErrors).toBe(0);
  });

  test('rotation by rename: the old file is read to its end, then the new one from its start', async () => {
    fs.writeFileSync(file, '');
    const { src, events } = make();
    await src.start();
    fs.appendFileSync(file, line('A', 'MASTER'));
    await waitFor(() => transitions(events).length === 1, { what: 'A', ...POLL });
    fs.renameSync(file, `${file}.1`);
    fs.appendFileSync(`${file}.1`, line('B', 'BACKUP')); // the writer still has the old file
    fs.writeFileSync(file, line('C', 'FAULT'));
    await waitFor(() => transitions(events).length === 3, { what: 'B and C', ...POLL });
    expect(states(events)).toEqual(['A:MASTER', 'B:BACKUP', 'C:FAULT']);
    fs.appendFileSync(file, line('D', 'MASTER'));
    await waitFor(() => transitions(events).length === 4, { what: 'D', ...POLL });
    expect(ofKind(events, 'source').map((e) => e.up)).toEqual([true]);
  });

  test('truncation (copytruncate): read again from 0', async () => {
    fs.writeFileSync(file, line('A', 'MASTER').repeat(3));
    const { src, events } = make({ fromStart: true });
    await src.start();
    await waitFor(() => transitions(events).length === 3, { what: '3', ...POLL });
    fs.truncateSync(file, 0);
    await sleep(100);
    fs.appendFileSync(file, line('B', 'BACKUP'));
    await waitFor(() => transitions(events).length === 4, { what: 'B', ...POLL });
    expect(states(events)[3]).toBe('B:BACKUP');
    // Truncated to a smaller non-empty size before the follower looked: still from 0.
    fs.writeFileSync(file, line('C', 'FAULT'));
    await waitFor(() => transitions(events).length === 5, { what: 'C', ...POLL });
    expect(states(events)[4]).toBe('C:FAULT');
  });

  test('deleted: source down with the reason after a grace period; re-created: up, read from its start', async () => {
    fs.writeFileSync(file, '');
    const { src, events } = make();
    await src.start();
    fs.unlinkSync(file);
    await waitFor(() => ofKind(events, 'source').some((e) => !e.up), { what: 'down', ...POLL });
    expect(ofKind(events, 'source')[1]).toMatchObject({ up: false, error: expect.stringMatching(/keepalived\.log does not exist/) });
    fs.writeFileSync(file, line('A', 'MASTER'));
    await waitFor(() => transitions(events).length === 1, { what: 'A', ...POLL });
    expect(ofKind(events, 'source').map((e) => e.up)).toEqual([true, false, true]);
  });

  test('missing at start: down (start resolves), and when it appears, read from its start', async () => {
    const { src, events } = make();
    await expect(src.start()).resolves.toBeUndefined();
    expect(events).toEqual([expect.objectContaining({ kind: 'source', up: false, error: expect.stringMatching(/does not exist/) })]);
    fs.writeFileSync(file, line('A', 'MASTER') + line('A', 'BACKUP'));
    await waitFor(() => transitions(events).length === 2, { what: '2', ...POLL });
  });

  test('missing directory: down, recovers when it appears', async () => {
    file = path.join(dir, 'sub', 'keepalived.log');
    const { src, events } = make();
    await src.start();
    expect(events[0]).toMatchObject({ up: false });
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, line('A', 'MASTER'));
    await waitFor(() => transitions(events).length === 1, { what: 'A', ...POLL });
  });

  test('a partial last line waits for its end', async () => {
    fs.writeFileSync(file, '');
    const { src, events } = make();
    await src.start();
    fs.appendFileSync(file, 'Nov 25 19:14:27 h Keepalived_vrrp[1]: (VI_1) Entering MAS');
    await sleep(400);
    expect(src.stats.lines).toBe(0);
    fs.appendFileSync(file, 'TER STATE\n');
    await waitFor(() => transitions(events).length === 1, { what: 'line', ...POLL });
    expect(src.stats.parseErrors).toBe(0);
  });

  test('overlong lines are a bounded parse error; malformed state lines are parse errors; others ignored', async () => {
    fs.writeFileSync(file, '');
    const { src, events } = make({ maxLineBytes: 1000 });
    await src.start();
    fs.appendFileSync(file, `${'y'.repeat(100_000)}\nNov 25 19:14:27 h Keepalived_vrrp[1]: (VI_1) Entering LIMBO STATE\nNov 25 19:14:27 h sshd[9]: Accepted publickey\n${line('VI_1', 'MASTER')}`);
    await waitFor(() => transitions(events).length === 1, { what: 'transition', ...POLL });
    expect(ofKind(events, 'parse_error')).toEqual([
      expect.objectContaining({ source: 'log', reason: 'line longer than 1000 bytes, skipped' }),
      expect.objectContaining({ source: 'log', reason: expect.stringMatching(/unknown VRRP state "LIMBO"/), input: expect.stringContaining('LIMBO') }),
    ]);
    expect(src.stats.lines).toBe(3);
  });

  test('10,000 lines appended fast arrive complete and in order (bounded in time)', async () => {
    fs.writeFileSync(file, '');
    const { src, events } = make();
    await src.start();
    const N = 10_000;
    const t0 = Date.now();
    const code = `
      const fs = require('fs');
      const fd = fs.openSync(${JSON.stringify(file)}, 'a');
      for (let i = 0; i < ${N}; i++) fs.writeSync(fd, 'Nov 25 19:14:27 h Keepalived_vrrp[1]: (VI_' + i + ') Entering ' + (i % 2 ? 'MASTER' : 'BACKUP') + ' STATE\\n');
      fs.closeSync(fd);`;
    await new Promise<void>((resolve, reject) => spawn(process.execPath, ['-e', code], { stdio: 'inherit' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(String(c))))));
    await waitFor(() => transitions(events).length >= N, { what: `${N} lines`, ...POLL, timeoutMs: 20_000 });
    const got = transitions(events);
    expect(got).toHaveLength(N);
    got.forEach((e, i) => {
      if (e.iname !== `VI_${i}`) throw new Error(`line ${i} out of order: ${e.iname}`);
    });
    console.log(`logSource: ${N} appended lines read in ${Date.now() - t0} ms`);
  });

  test('rotation while lines are being written: none lost, none twice (bounded)', async () => {
    fs.writeFileSync(file, '');
    const { src, events } = make();
    await src.start();
    let n = 0;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 50; i++) fs.appendFileSync(file, line(`VI_${n++}`, 'MASTER'));
      if (round % 2) {
        // rename: lines the writer put in the old file just before are still read from it
        fs.renameSync(file, `${file}.${round}`);
        fs.appendFileSync(`${file}.${round}`, line(`VI_${n++}`, 'FAULT'));
      } else {
        // copytruncate: what was not read before the truncation is gone (as with tail -F), so
        // wait for it; and the truncation must be seen before new writes outgrow the old size
        await waitFor(() => transitions(events).length === n, { what: `round ${round} before truncation`, ...POLL });
        fs.truncateSync(file, 0);
        await sleep(300);
      }
      fs.appendFileSync(file, line(`VI_${n++}`, 'BACKUP'));
      await waitFor(() => transitions(events).length === n, { what: `round ${round}`, ...POLL });
    }
    expect(transitions(events).map((e) => e.iname)).toEqual(Array.from({ length: n }, (_, i) => `VI_${i}`));
  });
});

describe('LogSource (journal)', () => {
  /** A stand-in journalctl: prints the given JSON lines, records its argv and pid, then waits or exits. */
  function fakeJournalctl(lines: Array<object | string>, opts: { exitAfter?: boolean } = {}): string[] {
    const data = path.join(dir, `journal-${Math.random().toString(36).slice(2)}.jsonl`);
    fs.writeFileSync(data, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
    const script = path.join(dir, 'fake-journalctl.js');
    fs.writeFileSync(script, `
      const fs = require('fs');
      fs.appendFileSync(${JSON.stringify(path.join(dir, 'argv.log'))}, JSON.stringify(process.argv.slice(2)) + '\\n');
      fs.appendFileSync(${JSON.stringify(path.join(dir, 'pids.log'))}, process.pid + '\\n');
      process.stdout.write(fs.readFileSync(process.argv[2]));
      if (${opts.exitAfter ? 'true' : 'false'}) { process.stderr.write('Failed to get journal access: oops\\n'); process.exitCode = 1; }
      else setInterval(() => {}, 1000);
    `);
    return [process.execPath, script, data];
  }

  const entry = (msg: string | number[], extra: Record<string, string> = {}) => ({
    __CURSOR: `s=abc;i=${Math.floor(Math.random() * 1e6)}`,
    __REALTIME_TIMESTAMP: '1764098067123456',
    SYSLOG_IDENTIFIER: 'Keepalived_vrrp',
    _PID: '13183',
    MESSAGE: msg,
    ...extra,
  });

  test('the default command follows both keepalived idents as JSON from now on', () => {
    expect(DEFAULT_JOURNALCTL_COMMAND).toEqual(['journalctl', '-f', '-o', 'json', '-n', '0', 'SYSLOG_IDENTIFIER=Keepalived_vrrp', 'SYSLOG_IDENTIFIER=Keepalived']);
  });

  test('MESSAGE is parsed with the entry time and ident; byte-array messages; bad entries are parse errors', async () => {
    const cmd = fakeJournalctl([
      entry('(VI_1) Entering MASTER STATE'),
      entry(Array.from(Buffer.from('(VI_2) Entering BACKUP STATE'))),
      entry('Stopped', { SYSLOG_IDENTIFIER: 'Keepalived_healthcheckers' }),
      entry('Starting VRRP child process, pid=13183', { SYSLOG_IDENTIFIER: 'Keepalived' }),
      'this is not json',
      '[1,2]',
      JSON.stringify({ __CURSOR: 'x' }),
      entry('(VI_1) Entering SIDEWAYS STATE'),
    ]);
    const { src, events } = make({ path: 'journal', journalctlCommand: cmd });
    await src.start();
    await waitFor(() => src.stats.lines >= 5 && src.stats.parseErrors >= 4, { what: 'entries', ...POLL });
    expect(ofKind(events, 'source')[0]).toMatchObject({ up: true });
    expect(transitions(events)).toEqual([
      { kind: 'transition', at: 1764098067123, source: 'log', iname: 'VI_1', state: 'MASTER' },
      { kind: 'transition', at: 1764098067123, source: 'log', iname: 'VI_2', state: 'BACKUP' },
    ]);
    expect(ofKind(events, 'keepalived')).toEqual([expect.objectContaining({ up: true })]);
    expect(ofKind(events, 'parse_error').map((e) => e.reason)).toEqual([
      'journalctl output is not JSON (is -o json set?)',
      'journal entry is not a JSON object',
      'journal entry has no MESSAGE',
      expect.stringMatching(/unknown VRRP state "SIDEWAYS"/),
    ]);
  });

  test('journalctl exiting: source down with its error, restarted after the last cursor', async () => {
    const cmd = fakeJournalctl([{ ...entry('(VI_1) Entering MASTER STATE'), __CURSOR: 's=1;i=42' }], { exitAfter: true });
    const { src, events } = make({ path: 'journal', journalctlCommand: cmd, backoff: { initialMs: 100, maxMs: 200 } });
    await src.start();
    await waitFor(() => ofKind(events, 'source').some((e) => !e.up), { what: 'down', ...POLL });
    expect(ofKind(events, 'source').find((e) => !e.up)).toMatchObject({ error: expect.stringMatching(/exited \(code 1\): Failed to get journal access: oops/) });
    await waitFor(() => fs.readFileSync(path.join(dir, 'argv.log'), 'utf8').trim().split('\n').length >= 2, { what: 'restarted', ...POLL });
    const runs = fs.readFileSync(path.join(dir, 'argv.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    expect(runs[0]).not.toContain('--after-cursor=s=1;i=42');
    expect(runs[1]).toContain('--after-cursor=s=1;i=42');
  });

  test('journalctl missing: source down with a clear error, start resolves', async () => {
    const { src, events } = make({ path: 'journal', journalctlCommand: [path.join(dir, 'no-journalctl')], backoff: { initialMs: 5000 } });
    await expect(src.start()).resolves.toBeUndefined();
    expect(events).toEqual([
      expect.objectContaining({ kind: 'source', up: false, error: expect.stringMatching(/no-journalctl not found: journald needs journalctl/) }),
    ]);
  });

  /** Whether pid is a process (a zombie counts: a child not reaped is still there). */
  const exists = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      return false;
    }
  };
  const journalctlPids = () => fs.readFileSync(path.join(dir, 'pids.log'), 'utf8').trim().split('\n').map(Number);

  test('stop() ends journalctl', async () => {
    const cmd = fakeJournalctl([entry('(VI_1) Entering MASTER STATE')]);
    const { src, events } = make({ path: 'journal', journalctlCommand: cmd });
    await src.start();
    await waitFor(() => transitions(events).length === 1, { what: 'entry', ...POLL });
    const [pid] = journalctlPids();
    try {
      expect(exists(pid)).toBe(true);
      await src.stop();
      // stop() resolves once journalctl has exited and been reaped: no process, not even a zombie.
      expect(exists(pid)).toBe(false);
      expect(journalctlPids()).toEqual([pid]);
    } finally {
      sources.splice(0);
      if (exists(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
