// Fuzzing every parser of outside input with one run count (test/helpers/fuzzRuns.ts: 200 cases
// each in `npm test`, 10,000 in the bench profile). Two kinds of input per parser: arbitrary
// strings, and real captured inputs (test/fixtures) mutated byte by byte, which reach deeper
// than random text. Properties: never throws (except the documented error class), results are
// well-formed, bad input is reported as such, and a secret in the input never reaches the output.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { fuzzRuns, fuzzTimeoutMs } from '../../helpers/fuzzRuns';
import { parseFifoLine } from '../../../agent/sources/parse/fifoLine';
import { parseLogLine } from '../../../agent/sources/parse/logLine';
import { parseDumpData } from '../../../agent/sources/parse/dumpData';
import { parseDumpStats } from '../../../agent/sources/parse/dumpStats';
import { parseDumpJson } from '../../../agent/sources/parse/dumpJson';
import { parseStubStatus } from '../../../agent/probes/parse/stubStatus';
import { parseIpMonitorLine } from '../../../agent/probes/parse/ipMonitorLine';
import { parseArpingOutput } from '../../../agent/probes/parse/arpingOutput';
import { parseIpAddrJson } from '../../../agent/probes/parse/ipAddrJson';
import { parseRecord } from '../../../agent/hook/record';
import { SseParser, SseTooLargeError } from '../../../agent/peers/sseParser';
import { parsePeerMessage } from '../../../agent/peers/peerMessage';
import { parseKeepalivedConfText } from '../../../agent/keepalived/confParser';
import { MatcherParseError, parseMatcher } from '../../../agent/alerting/matchers';
import { ConfigError, parseConfig } from '../../../agent/config/load';
import { LineSplitter } from '../../../agent/sources/lineSplitter';
import type { NodeEvent } from '../../../agent/state/types';

const FIX = join(__dirname, '../../fixtures');
const AT = 1_764_097_200_000;
const RUNS = fuzzRuns();
jest.setTimeout(fuzzTimeoutMs(20));

const read = (...p: string[]) => readFileSync(join(FIX, ...p), 'utf8');
const linesOf = (...files: string[]) => files.flatMap((f) => read('keepalived', f).split('\n')).filter((l) => l.trim() && !l.startsWith('#'));

/** A real input with a few random edits: insert, delete or replace characters (any code point). */
function mutated(seeds: string[], maxEdits = 4): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat(), fc.constantFrom('ins', 'del', 'rep'), fc.string({ minLength: 1, maxLength: 3, unit: 'binary' }));
  return fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { maxLength: maxEdits })).map(([s, edits]) => {
    let out = s;
    for (const [pos, op, text] of edits) {
      const i = out.length ? pos % (out.length + 1) : 0;
      if (op === 'ins') out = out.slice(0, i) + text + out.slice(i);
      else if (op === 'del') out = out.slice(0, i) + out.slice(i + text.length);
      else out = out.slice(0, i) + text + out.slice(i + text.length);
    }
    return out;
  });
}

/** Arbitrary text: random strings, binary-ish strings, and mutated real inputs. */
function inputs(seeds: string[], maxLength = 400): fc.Arbitrary<string> {
  return fc.oneof(fc.string({ maxLength }), fc.string({ maxLength, unit: 'binary' }), mutated(seeds));
}

/** Every event has a kind, a finite time and a source. */
function wellFormed(events: NodeEvent[]): void {
  for (const ev of events) {
    expect(typeof ev.kind).toBe('string');
    expect(Number.isFinite(ev.at)).toBe(true);
    expect(typeof ev.source).toBe('string');
  }
}

describe('fuzz: keepalived inputs', () => {
  const fifoSeeds = linesOf('fifo.txt', 'fifo-captured.txt', 'fifo-group.txt', 'fifo-ka2.txt');
  const logSeeds = linesOf('log-2x.txt', 'log-1x.txt', 'log-2x-syslog-captured.txt', 'log-2x-console-captured.txt', 'log-2x-group.txt');

  test('FIFO lines: never throw; accepted lines give well-formed events, rejected ones a reason', () => {
    expect(fifoSeeds.length).toBeGreaterThan(5);
    fc.assert(
      fc.property(inputs(fifoSeeds, 200), (line) => {
        const r = parseFifoLine(line, AT);
        if (r.ok) wellFormed(r.events);
        else expect(typeof (r as { reason: unknown }).reason).toBe('string');
      }),
      { numRuns: RUNS },
    );
  });

  test('log lines: never throw; events are well-formed', () => {
    expect(logSeeds.length).toBeGreaterThan(5);
    fc.assert(
      fc.property(inputs(logSeeds, 300), fc.option(fc.integer({ min: 0, max: 2 ** 42 }), { nil: undefined }), (line, time) => {
        const r = parseLogLine(line, { readAt: AT, time });
        if (r.ok) wellFormed((r as { events: NodeEvent[] }).events ?? []);
      }),
      { numRuns: RUNS },
    );
  });

  const dumpDir = join(FIX, 'keepalived/dumps');
  const dumps = (prefix: string) => readdirSync(dumpDir).filter((f) => f.startsWith(prefix)).map((f) => readFileSync(join(dumpDir, f), 'utf8'));

  test.each([
    ['data', parseDumpData, dumps('data')],
    ['stats', parseDumpStats, dumps('stats')],
    ['json', parseDumpJson, dumps('dump-')],
  ] as const)('%s dumps: never throw, never leak auth_data, events well-formed', (_name, parse, seeds) => {
    expect(seeds.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(inputs([...seeds], 2000), fc.boolean(), (text, withState) => {
        const r = parse(text, { at: AT, withState });
        expect(typeof r.complete).toBe('boolean');
        wellFormed(r.events);
        // The fixtures' auth_data / auth_pass: never in what the agent keeps.
        const out = JSON.stringify(r.events);
        expect(out).not.toContain('kwS3cret');
      }),
      { numRuns: RUNS },
    );
  });

  // `include` lines in fuzzed text must never reach the host's files (an include of /dev/zero...).
  const enoent = (p: string) => Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
  const noFiles = {
    readFileSync: (p: string): string => {
      if (p === '/fuzz/keepalived.conf') return current;
      throw enoent(p);
    },
    realpathSync: (p: string) => p,
    readdirSync: (p: string): string[] => {
      throw enoent(p);
    },
    statSync: (p: string): { isDirectory(): boolean; isFile(): boolean } => {
      throw enoent(p);
    },
  };
  let current = '';

  test('keepalived.conf: never throws; auth_pass never kept', () => {
    const seeds = [read('keepalived/keepalived-ka1.conf'), read('keepalived-conf/unicast.conf'), read('keepalived-conf/comments-quotes.conf'), read('keepalived-conf/errors.conf')];
    const secret = 'Zq9SecrX';
    fc.assert(
      fc.property(inputs(seeds, 1500), (text) => {
        const withSecret = (current = `vrrp_instance VI_S {\n authentication {\n  auth_type PASS\n  auth_pass ${secret}\n }\n}\n${text}`);
        const conf = parseKeepalivedConfText(withSecret, '/fuzz/keepalived.conf', { fs: noFiles });
        expect(JSON.stringify(conf)).not.toContain(secret);
      }),
      { numRuns: RUNS },
    );
  });

  test('hook records: never throw; accepted records have a type, a name and a state', () => {
    const seeds = read('keepalived/hook.txt').split('\n').filter((l) => l.startsWith('v1 '));
    const fallback = ['v1 1764097200000000000 4242 INSTANCE VI_1 MASTER 150', 'v1 1764097200000000001 4243 GROUP G1 BACKUP -'];
    fc.assert(
      fc.property(inputs(seeds.length ? seeds : fallback, 200), (text) => {
        const r = parseRecord(text);
        if (r.ok) {
          const rec = (r as { record: { type: string; name: string; state: string } }).record;
          expect(rec.type).toMatch(/^(INSTANCE|GROUP)$/);
          expect(typeof rec.name).toBe('string');
          expect(typeof rec.state).toBe('string');
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: probe outputs', () => {
  test('stub_status bodies', () => {
    const seeds = [read('probes/stub-status-crlf.txt'), 'Active connections: 291 \nserver accepts handled requests\n 16630948 16630948 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n'];
    fc.assert(fc.property(inputs(seeds), (s) => void parseStubStatus(s)), { numRuns: RUNS });
  });

  test('ip -o monitor address lines', () => {
    const seeds = read('probes/ip-o-monitor-address.txt').split('\n').filter(Boolean);
    fc.assert(fc.property(inputs(seeds, 200), (s) => void parseIpMonitorLine(s)), { numRuns: RUNS });
  });

  test('arping output', () => {
    const seeds = readdirSync(join(FIX, 'probes')).filter((f) => f.startsWith('arping')).map((f) => read('probes', f));
    fc.assert(
      fc.property(inputs(seeds, 600), fc.string({ maxLength: 200 }), fc.option(fc.integer({ min: -1, max: 255 }), { nil: null }), (o, e, c) => void parseArpingOutput(o, e, c)),
      { numRuns: RUNS },
    );
  });

  test('ip -json addr', () => {
    const seeds = [read('probes/ip-json-addr.json')];
    fc.assert(
      fc.property(fc.oneof(inputs(seeds, 2000), fc.jsonValue().map((v) => JSON.stringify(v))), (s) => {
        const r = parseIpAddrJson(s);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: peer and operator inputs', () => {
  test('peer messages: never throw, bad ones are reported', () => {
    const good = JSON.stringify({ v: 1, node: 'ka2', at: AT, state: { node: 'ka2', revision: 3 } });
    fc.assert(
      fc.property(fc.oneof(inputs([good], 2000), fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v))), (s) => {
        const r = parsePeerMessage(s);
        if (!r.ok) expect(typeof r.error).toBe('string');
      }),
      { numRuns: RUNS },
    );
  });

  test('SSE stream: chunks split anywhere give the same events; oversize is the documented error', () => {
    const stream = 'event: state\ndata: {"a":1}\n\n: comment\n\nevent: ping\ndata: {}\n\n';
    fc.assert(
      fc.property(fc.oneof(inputs([stream], 600), fc.constant(stream)), fc.array(fc.nat(), { maxLength: 6 }), (text, cuts) => {
        const points = [...new Set(cuts.map((c) => (text.length ? c % text.length : 0)))].sort((a, b) => a - b);
        const whole = new SseParser(4096);
        const split = new SseParser(4096);
        let a: unknown[] = [];
        let b: unknown[] = [];
        try {
          a = whole.push(text);
        } catch (e) {
          expect(e).toBeInstanceOf(SseTooLargeError);
          return;
        }
        let prev = 0;
        for (const p of [...points, text.length]) {
          b = b.concat(split.push(text.slice(prev, p)));
          prev = p;
        }
        expect(b).toEqual(a);
      }),
      { numRuns: RUNS },
    );
  });

  test('line splitter: however the bytes are chunked, every line is delivered whole or reported overlong once', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), fc.integer({ min: 1, max: 64 }), (chunks, max) => {
        const lines: string[] = [];
        let overlong = 0;
        const s = new LineSplitter({ maxLineBytes: max, onLine: (l) => lines.push(l), onOverlong: () => overlong++ });
        for (const c of chunks) s.push(Buffer.from(c));
        // The model: split the whole stream at '\n'; a complete line of <= max bytes is delivered
        // (decoded, one trailing CR dropped); any line over max, finished or not, is reported once.
        const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
        const segs: Buffer[] = [];
        let from = 0;
        for (let i = all.indexOf(0x0a); i !== -1; i = all.indexOf(0x0a, i + 1)) {
          segs.push(all.subarray(from, i));
          from = i + 1;
        }
        const tail = all.subarray(from);
        const want = segs.filter((b) => b.length <= max).map((b) => b.toString('utf8').replace(/\r$/, ''));
        const wantOverlong = segs.filter((b) => b.length > max).length + (tail.length > max ? 1 : 0);
        expect(lines).toEqual(want);
        expect(overlong).toBe(wantOverlong);
        expect(s.pendingBytes).toBe(tail.length > max ? 0 : tail.length);
      }),
      { numRuns: RUNS },
    );
  });

  test('Alertmanager matchers: parse or MatcherParseError, nothing else', () => {
    const seeds = ['alertname="SplitBrain"', 'severity=~"critical|warning"', 'node!=ka1', 'instance!~"VI_[0-9]+"'];
    fc.assert(
      fc.property(inputs(seeds, 120), (s) => {
        try {
          parseMatcher(s);
        } catch (e) {
          expect(e).toBeInstanceOf(MatcherParseError);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('config files: parse or ConfigError naming the problem, never a secret in the message', () => {
    const secret = 'hunter2-SECRET-token-000';
    const base = `node: ka1\npeer_token: ${secret}\nweb: {listen_address: "127.0.0.1:9723"}\nrules: {split_brain_for: 1s}\n`;
    fc.assert(
      fc.property(inputs([base, `${base}alerting:\n  receivers:\n    - {name: hook, type: webhook, url: "http://127.0.0.1:9/x", hmac_secret: ${secret}}\n`], 400), (text) => {
        try {
          parseConfig(text, 'fuzz.yml', {});
        } catch (e) {
          if (!(e instanceof ConfigError)) throw new Error(`not a ConfigError: ${(e as Error).stack}`);
          expect((e as Error).message.length).toBeGreaterThan(0);
          // A mangled line can make the secret part of a key, and an unknown key is named (the
          // operator must see which): only such lines may hold it.
          const leaking = (e as Error).message.split('\n').filter((l) => l.includes(secret) && !/Unrecognized keys?: /.test(l));
          if (leaking.length) throw new Error(`secret in a config error (${(e as Error).name}): ${leaking.join(' | ')}`);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
