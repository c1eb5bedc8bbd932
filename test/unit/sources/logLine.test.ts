import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { LINE_TIME_TRUST_MS, parseLogLine, type LogParseResult } from '../../../agent/sources/parse/logLine';
import type { NodeEvent } from '../../../agent/state/types';

const FIXTURES = path.join(__dirname, '../../fixtures/keepalived');
// Local time 2026-11-25 19:20:00, the day the fixtures were captured.
const NOW = new Date(2026, 10, 25, 19, 20, 0).getTime();

function parse(line: string, extra: { time?: number; ident?: string; readAt?: number } = {}): LogParseResult {
  return parseLogLine(line, { readAt: extra.readAt ?? NOW, time: extra.time, ident: extra.ident });
}

function events(line: string, extra: { time?: number; ident?: string; readAt?: number } = {}): NodeEvent[] {
  const r = parse(line, extra);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(line)} to parse, got ${r.reason}`);
  return r.events;
}

function one(line: string, extra = {}): NodeEvent {
  const evs = events(line, extra);
  if (evs.length !== 1) throw new Error(`expected one event from ${JSON.stringify(line)}, got ${JSON.stringify(evs)}`);
  return evs[0];
}

function err(line: string, extra = {}) {
  const r = parse(line, extra);
  if (r.ok) throw new Error(`expected ${JSON.stringify(line)} to be rejected, got ${JSON.stringify(r.events)}`);
  return r;
}

function readLines(name: string): string[] {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8').split('\n').filter((l) => l !== '');
}

/** A compact view of what a fixture says: "VI_1:MASTER", "G1:group:BACKUP", "down", ... */
function summary(evs: NodeEvent[]): string[] {
  return evs.map((e) => {
    switch (e.kind) {
      case 'transition': return `${e.iname}:${e.state}`;
      case 'group': return `${e.group}:group:${e.state}`;
      case 'evidence': return `${e.iname}:${e.type}`;
      case 'priority': return `${e.iname}:prio:${e.priority}`;
      case 'script': return `script:${e.name}:${e.good ? 'good' : 'bad'}`;
      case 'keepalived': return e.up ? 'up' : `down:${e.reason}`;
      default: return e.kind;
    }
  });
}

describe('parseLogLine: 2.x messages', () => {
  test('state transitions, with keepalived\'s reason when it gives one', () => {
    expect(one('(VI_1) Entering MASTER STATE')).toEqual({ kind: 'transition', at: NOW, source: 'log', iname: 'VI_1', state: 'MASTER' });
    expect(one('(VI_1) Entering BACKUP STATE')).toMatchObject({ iname: 'VI_1', state: 'BACKUP' });
    expect(one('(VI_1) Entering BACKUP STATE (init)')).toMatchObject({ state: 'BACKUP', cause: 'init' });
    expect(one('(VI_1) Entering FAULT STATE')).toMatchObject({ state: 'FAULT' });
    expect(one('(VI_1) Entering FAULT STATE (init)')).toMatchObject({ state: 'FAULT', cause: 'init' });
    expect(one('(VI_1) entering FAULT state (no IPv4 address for interface)')).toMatchObject({ state: 'FAULT', cause: 'no IPv4 address for interface' });
    expect(one('(VI_1): entering FAULT state (interface eth0 down)')).toMatchObject({ iname: 'VI_1', state: 'FAULT', cause: 'interface eth0 down' });
    expect(one('(VI_1) entering FAULT state')).toMatchObject({ state: 'FAULT' });
  });

  test('election evidence with peer and both priorities', () => {
    expect(one('(VI_1) Received advert from 192.0.2.12 with lower priority 100, ours 150, forcing new election')).toEqual({
      kind: 'evidence', at: NOW, source: 'log', iname: 'VI_1', type: 'RX_LOWER_PRI_ADVERT', peer: '192.0.2.12', peerPriority: 100, ourPriority: 150,
    });
    expect(one('(VI_1) Master received advert from 192.0.2.11 with higher priority 150, ours 100')).toEqual({
      kind: 'evidence', at: NOW, source: 'log', iname: 'VI_1', type: 'RX_HIGHER_PRI_ADVERT', peer: '192.0.2.11', peerPriority: 150, ourPriority: 100,
    });
    expect(one('(VI_1) Master received advert from 2001:db8::11 with same priority 100 but higher IP address than ours')).toMatchObject({
      type: 'RX_HIGHER_PRI_ADVERT', peer: '2001:db8::11', peerPriority: 100, ourPriority: 100,
    });
  });

  test('effective priority changes, groups, scripts', () => {
    expect(one('(VI_3) Changing effective priority from 150 to 70')).toEqual({ kind: 'priority', at: NOW, source: 'log', iname: 'VI_3', priority: 70 });
    expect(one('VRRP_Group(G1) Syncing instances to MASTER state')).toEqual({ kind: 'group', at: NOW, source: 'log', group: 'G1', state: 'MASTER' });
    expect(one('VRRP_Group(G1) Syncing instances to FAULT state')).toMatchObject({ group: 'G1', state: 'FAULT' });
    expect(one('VRRP_Script(chk) succeeded')).toEqual({ kind: 'script', at: NOW, source: 'log', name: 'chk', good: true });
    expect(one('VRRP_Script(chk_w) failed (exited with status 1)')).toMatchObject({ name: 'chk_w', good: false });
    expect(one('VRRP_Script(chk) timed out')).toMatchObject({ name: 'chk', good: false });
  });

  test('the VRRP process starting and stopping', () => {
    expect(one('Starting VRRP child process, pid=7430')).toEqual({ kind: 'keepalived', at: NOW, source: 'log', up: true });
    expect(one('Stopping')).toMatchObject({ kind: 'keepalived', up: false, reason: 'stopping' });
    expect(one('Stopped')).toMatchObject({ kind: 'keepalived', up: false, reason: 'stopped' });
    expect(one('Stopped - used (self/children) 0.009752/0.065887 user time, 0.120824/0.019783 system time')).toMatchObject({ up: false });
    expect(one('Stopped Keepalived v2.2.7 (01/16,2022)')).toMatchObject({ up: false, reason: 'stopped' });
    expect(one('VRRP child process(8164) died: Respawning')).toMatchObject({ up: false, reason: 'VRRP process 8164 died (Respawning)' });
    expect(one('Keepalived_vrrp exited with permanent error CONFIG. Terminating')).toMatchObject({ up: false });
  });

  test('lines not about state are ignored, not errors', () => {
    for (const l of [
      '(VI_1) removing VIPs.',
      '(VI_1) setting VIPs.',
      '(VI_1) Sending/queueing gratuitous ARPs on eth0 for 192.0.2.160',
      '(VI_2) received lower priority (100) advert from 192.0.2.32 - discarding',
      '(VI_1) Backup received priority 0 advertisement',
      '(VI_1) Receive advertisement timeout',
      '(VI_1) sent 0 priority',
      'Sending gratuitous ARP on eth0 for 192.0.2.162',
      "Script `chk_w` now returning 1",
      'Starting Keepalived v2.2.7 (01/16,2022)',
      'Reloading ...',
      'Reload complete',
      'CPU usage (self/children) user: 0.000000/0.075639 system: 0.022357/0.142714',
      'pid 8164 exited due to signal 9 (Killed) - has rlimit_rttime been exceeded?',
      '',
      '   ',
      'hello world',
      // keepalived -d dumps its config to the log, auth_pass included: never echoed anywhere.
      'Wed Nov 25 19:14:23 2026:    Password = kwS3cret',
      'Nov 25 19:14:23 h Keepalived_vrrp[1]:    Authentication type = SIMPLE_PASSWORD',
    ]) {
      expect(events(l)).toEqual([]);
    }
  });
});

describe('parseLogLine: 1.x messages', () => {
  test('transitions', () => {
    expect(one('VRRP_Instance(VI_1) Transition to MASTER STATE')).toMatchObject({ kind: 'transition', iname: 'VI_1', state: 'MASTER' });
    expect(one('VRRP_Instance(VI_1) Entering MASTER STATE')).toMatchObject({ iname: 'VI_1', state: 'MASTER' });
    expect(one('VRRP_Instance(VI_1) Entering BACKUP STATE')).toMatchObject({ state: 'BACKUP' });
    expect(one('VRRP_Instance(VI_1) Entering FAULT STATE')).toMatchObject({ state: 'FAULT' });
    expect(one('VRRP_Instance(VI_1) Now in FAULT state')).toMatchObject({ state: 'FAULT' });
  });

  test('evidence, with and without numbers', () => {
    expect(one('VRRP_Instance(VI_1) Received lower prio advert, forcing new election')).toEqual({
      kind: 'evidence', at: NOW, source: 'log', iname: 'VI_1', type: 'RX_LOWER_PRI_ADVERT',
    });
    expect(one('VRRP_Instance(VI_1) Received higher prio advert')).toMatchObject({ type: 'RX_HIGHER_PRI_ADVERT' });
    expect(one('VRRP_Instance(VI_1) Received advert with lower priority 100, ours 150, forcing new election')).toMatchObject({
      type: 'RX_LOWER_PRI_ADVERT', peerPriority: 100, ourPriority: 150,
    });
    expect(one('VRRP_Instance(VI_1) Received advert with higher priority 150, ours 100')).toMatchObject({
      type: 'RX_HIGHER_PRI_ADVERT', peerPriority: 150, ourPriority: 100,
    });
  });

  test('ignored 1.x chatter', () => {
    expect(events('VRRP_Instance(VI_1) setting protocol VIPs.')).toEqual([]);
    expect(events('VRRP_Instance(VI_1) removing protocol VIPs.')).toEqual([]);
    expect(events('VRRP_Instance(VI_1) Sending gratuitous ARPs on eth0 for 192.0.2.100')).toEqual([]);
  });
});

describe('parseLogLine: framings', () => {
  test('keepalived -l console prefix: the line time is kept only for lines read late', () => {
    // Read 20 s after it was written (catching up): its own time.
    const late = one('Wed Nov 25 19:19:40 2026: (VI_1) Entering MASTER STATE');
    expect(late.at).toBe(new Date(2026, 10, 25, 19, 19, 40).getTime());
    // Read as it is written: the read time, which has milliseconds.
    const live = one('Wed Nov 25 19:19:59 2026: (VI_1) Entering MASTER STATE', { readAt: NOW + 250 });
    expect(live.at).toBe(NOW + 250);
    expect(LINE_TIME_TRUST_MS).toBeGreaterThanOrEqual(1000);
  });

  test('syslog file lines: ident filters, the year is inferred', () => {
    const e = one('Nov 25 19:14:27 kwfl-a Keepalived_vrrp[13183]: (VI_2) Entering MASTER STATE');
    expect(e).toMatchObject({ iname: 'VI_2', state: 'MASTER', at: new Date(2026, 10, 25, 19, 14, 27).getTime() });
    expect(one('Nov  5 09:01:02 lb1 Keepalived_vrrp[1]: (VI_2) Entering BACKUP STATE').at).toBe(new Date(2026, 10, 5, 9, 1, 2).getTime());
    // A December line read in January belongs to last year.
    const jan = new Date(2027, 0, 1, 0, 0, 30).getTime();
    expect(one('Dec 31 23:59:59 lb1 Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE', { readAt: jan }).at).toBe(new Date(2026, 11, 31, 23, 59, 59).getTime());
    // Parent's lines count (child start/stop), other programs' do not, even when they look alike.
    expect(one('Nov 25 19:17:58 kwfl-a Keepalived[13178]: Starting VRRP child process, pid=13183')).toEqual(expect.objectContaining({ kind: 'keepalived', up: true }));
    expect(one('Nov 25 19:18:15 kwfl-a Keepalived[13178]: Stopping')).toMatchObject({ up: false, reason: 'stopping' });
    expect(events('Nov 25 10:04:00 lb1 Keepalived_healthcheckers[2103]: Stopped')).toEqual([]);
    expect(events('Nov 25 10:04:00 lb1 nginx[99]: (VI_1) Entering MASTER STATE')).toEqual([]);
    expect(events('Nov 25 10:04:00 lb1 systemd[1]: Stopping keepalived.service - Keepalive Daemon (LVS and VRRP)...')).toEqual([]);
  });

  test('journalctl -o short-precise and RFC 3339 (rsyslog, short-iso) prefixes', () => {
    expect(one('Nov 25 19:14:27.123456 kwfl-a Keepalived_vrrp[13183]: (VI_2) Entering MASTER STATE').at).toBe(new Date(2026, 10, 25, 19, 14, 27, 123).getTime());
    const iso = one('2026-11-25T19:14:27.250000+00:00 kwfl-a Keepalived_vrrp[13183]: (VI_2) Entering FAULT STATE');
    expect(iso).toMatchObject({ state: 'FAULT', at: Date.UTC(2026, 10, 25, 19, 14, 27, 250) });
    expect(events('2026-11-25T19:14:27+01:00 kwfl-a sshd[1]: (VI_2) Entering FAULT STATE')).toEqual([]);
  });

  test('a bare "ident[pid]:" prefix and a journald MESSAGE with its own time and ident', () => {
    expect(one('Keepalived_vrrp[13183]: (VI_2) Entering MASTER STATE')).toMatchObject({ iname: 'VI_2', at: NOW });
    const t = NOW - 60_000 + 0.5;
    expect(one('(VI_1) Entering MASTER STATE', { time: t, ident: 'Keepalived_vrrp' }).at).toBe(t);
    expect(events('Stopped', { ident: 'Keepalived_healthcheckers' })).toEqual([]);
    expect(events('Stopped', { ident: 'Keepalived_bfd' })).toEqual([]);
    expect(one('Stopped', { ident: 'Keepalived_vrrp' })).toMatchObject({ up: false });
    expect(events('Stopped', { ident: 'Keepalived' })).toEqual([]);
  });

  test('CRLF line ends', () => {
    expect(one('(VI_1) Entering MASTER STATE\r')).toMatchObject({ state: 'MASTER' });
  });
});

describe('parseLogLine: malformed state lines are errors with a reason', () => {
  test.each([
    ['(VI_1) Entering BOGUS STATE', 'unknown_state', /unknown VRRP state "BOGUS"/],
    ['(VI_1) Entering STATE', 'unknown_state', /state line without a known state/],
    ['VRRP_Instance(VI_1) Transition to', 'unknown_state', /without a known state/],
    ['VRRP_Instance(VI_1) Now in LIMBO state', 'unknown_state', /"LIMBO"/],
    ['() Entering MASTER STATE', 'empty_name', /empty instance name/],
    ['(VI_1) Received advert from 192.0.2.12 with lower priority abc, ours 150, forcing new election', 'bad_advert', /without a peer and priorities/],
    ['(VI_1) Master received advert from 192.0.2.11 with higher priority 300, ours 100', 'bad_priority', /out of range/],
    ['(VI_1) Changing effective priority from 150 to', 'bad_priority', /without two priorities/],
    ['(VI_1) Changing effective priority from 150 to 999', 'bad_priority', /"999"/],
    ['VRRP_Group(G1) Syncing instances to LIMBO state', 'unknown_state', /VRRP_Group\(G1\): unknown state "LIMBO"/],
    ['VRRP_Group() Syncing instances to MASTER state', 'empty_name', /empty group name/],
    ['VRRP_Group(G1) Syncing instances now', 'bad_group', /not understood/],
    ['VRRP_Script() succeeded', 'empty_name', /empty script name/],
    ['VRRP_Script(chk) failed because', 'bad_script', /not understood/],
    ['Nov 25 19:14:27 kwfl-a Keepalived_vrrp[1]: (VI_1) Entering NOWHERE STATE', 'unknown_state', /"NOWHERE"/],
  ])('%s -> %s', (line, code, reason) => {
    const r = err(line);
    expect(r.code).toBe(code);
    expect(r.reason).toMatch(reason);
  });

  test('reasons stay short whatever the input', () => {
    expect(err(`(VI_1) Entering ${'X'.repeat(100_000)} STATE`).reason.length).toBeLessThan(300);
  });
});

describe('parseLogLine: real keepalived 2.2.7 captures', () => {
  test('every line of every log fixture parses or is ignored (no errors)', () => {
    const files = fs.readdirSync(FIXTURES).filter((f) => /^log.*\.txt$/.test(f));
    expect(files).toEqual(expect.arrayContaining(['log-2x-console-captured.txt', 'log-2x-syslog-captured.txt', 'log-1x-reconstructed.txt']));
    for (const f of files) {
      for (const l of readLines(f)) {
        const r = parse(l);
        if (!r.ok) throw new Error(`${f}: ${JSON.stringify(l)}: ${r.reason}`);
      }
    }
  });

  test('syslog capture: the exact sequence of what keepalived said', () => {
    const got = summary(readLines('log-2x-syslog-captured.txt').flatMap((l) => events(l)));
    expect(got).toEqual([
      'up',
      'VI_3:BACKUP',
      'script:chk_w:bad',
      'VI_3:prio:70',
      'script:chk:good',
      'VI_1:BACKUP',
      'G1:group:BACKUP',
      'VI_2:BACKUP',
      'VI_2:MASTER',
      'G1:group:MASTER',
      'VI_1:MASTER',
      'VI_3:MASTER',
      'script:chk_w:good',
      'VI_3:prio:150',
      'script:chk:bad',
      'VI_1:FAULT',
      'G1:group:FAULT',
      'VI_2:FAULT',
      'script:chk:good',
      'VI_1:BACKUP',
      'G1:group:BACKUP',
      'VI_2:BACKUP',
      'VI_2:MASTER',
      'G1:group:MASTER',
      'VI_1:MASTER',
      'down:stopping',
      'down:stopped',
      'down:stopped',
    ]);
  });

  test('console capture: split brain evidence on both nodes, the VRRP child killed and respawned', () => {
    const mine = summary(readLines('log-2x-console-captured.txt').flatMap((l) => events(l)));
    expect(mine.filter((s) => s.endsWith('RX_LOWER_PRI_ADVERT'))).toEqual(['VI_1:RX_LOWER_PRI_ADVERT', 'VI_3:RX_LOWER_PRI_ADVERT', 'VI_1:RX_LOWER_PRI_ADVERT', 'VI_2:RX_LOWER_PRI_ADVERT']);
    expect(mine.filter((s) => s === 'up' || s.startsWith('down:'))).toEqual([
      'up', 'down:stopping', 'down:stopped', 'down:stopped',
      'up', 'down:VRRP process 8164 died (Respawning)', 'up', 'down:stopping', 'down:stopped', 'down:stopped',
    ]);
    const peer = summary(readLines('log-2x-console-peer-captured.txt').flatMap((l) => events(l)));
    expect(peer.filter((s) => s.endsWith('RX_HIGHER_PRI_ADVERT')).length).toBeGreaterThanOrEqual(5);
    expect(peer).toContain('VI_3:prio:20');
  });

  test('1.x reconstruction: the same story in the old words', () => {
    const got = summary(readLines('log-1x-reconstructed.txt').flatMap((l) => events(l)));
    expect(got).toEqual([
      'up',
      'script:chk_nginx:good',
      'VI_1:BACKUP',
      'VI_1:MASTER',
      'G1:group:MASTER',
      'VI_1:RX_LOWER_PRI_ADVERT',
      'VI_1:MASTER',
      'VI_1:RX_LOWER_PRI_ADVERT',
      'script:chk_nginx:bad',
      'VI_1:FAULT',
      'VI_1:FAULT',
      'G1:group:FAULT',
      'script:chk_nginx:good',
      'VI_1:BACKUP',
      'G1:group:BACKUP',
      'VI_1:RX_HIGHER_PRI_ADVERT',
      'VI_1:RX_HIGHER_PRI_ADVERT',
      'down:stopping',
      'down:stopped',
      'down:stopped',
      'down:VRRP process exited with permanent error CONFIG. Terminating',
      'down:VRRP process 2304 died (Respawning)',
    ]);
  });
});

describe('parseLogLine: no input throws (fast-check)', () => {
  const prefixes = ['', 'Wed Nov 25 19:14:23 2026: ', 'Nov 25 19:14:23 h Keepalived_vrrp[1]: ', '2026-11-25T19:14:23Z h Keepalived[2]: ', 'Keepalived_vrrp: '];
  const bodies = ['(', 'VRRP_Instance(', 'VRRP_Group(', 'VRRP_Script(', 'Entering ', 'Received advert from ', 'Master received advert from ', 'Changing effective priority from ', 'Stopped', 'Starting VRRP child process, pid='];
  const arbLine = fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }),
    fc.tuple(fc.constantFrom(...prefixes), fc.constantFrom(...bodies), fc.string(), fc.constantFrom('', ') Entering MASTER STATE', ') Syncing instances to MASTER state', ') failed', ' STATE', ', ours 1')).map((p) => p.join('')),
  );
  test('arbitrary strings give a result, never an exception', () => {
    fc.assert(
      fc.property(arbLine, fc.option(fc.string(), { nil: undefined }), fc.integer({ min: 0, max: 4_102_444_800_000 }), (line, ident, readAt) => {
        const r = parseLogLine(line, { readAt, ident });
        if (r.ok) {
          for (const e of r.events) {
            expect(e.source).toBe('log');
            expect(Number.isFinite(e.at)).toBe(true);
          }
        } else {
          expect(r.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('huge inputs', () => {
    expect(() => parseLogLine('('.repeat(2_000_000), { readAt: NOW })).not.toThrow();
    expect(() => parseLogLine(`(VI_1) Entering ${' '.repeat(1_000_000)}STATE`, { readAt: NOW })).not.toThrow();
    expect(() => parseLogLine(`Nov 25 19:14:23 h Keepalived_vrrp[1]: VRRP_Script(${'a'.repeat(1_000_000)}) failed`, { readAt: NOW })).not.toThrow();
  });
});
