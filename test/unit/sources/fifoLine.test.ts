import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { parseFifoLine } from '../../../agent/sources/parse/fifoLine';

const FIXTURES = path.join(__dirname, '../../fixtures/keepalived');
const AT = 1_764_097_200_000;

function ok(line: string) {
  const r = parseFifoLine(line, AT);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(line)} to parse, got ${r.reason}`);
  return r.events;
}

function err(line: string) {
  const r = parseFifoLine(line, AT);
  if (r.ok) throw new Error(`expected ${JSON.stringify(line)} to be rejected, got ${JSON.stringify(r.events)}`);
  return r;
}

describe('parseFifoLine: instance and group lines', () => {
  test.each([
    ['MASTER', 'MASTER'],
    ['BACKUP', 'BACKUP'],
    ['FAULT', 'FAULT'],
    ['STOP', 'STOP'],
    ['DELETED', 'DELETED'],
  ])('INSTANCE ... %s', (word, state) => {
    expect(ok(`INSTANCE "VI_1" ${word} 150`)).toEqual([
      { kind: 'transition', at: AT, source: 'fifo', iname: 'VI_1', state, priority: 150 },
    ]);
  });

  test('GROUP lines carry the state, not keepalived\'s constant 0 priority', () => {
    expect(ok('GROUP "G1" BACKUP 0')).toEqual([{ kind: 'group', at: AT, source: 'fifo', group: 'G1', state: 'BACKUP' }]);
    expect(ok('GROUP "G1" STOP 0')).toEqual([{ kind: 'group', at: AT, source: 'fifo', group: 'G1', state: 'STOP' }]);
  });

  test('*_PRIORITY lines are priority events', () => {
    expect(ok('INSTANCE "VI_1" MASTER_PRIORITY 200')).toEqual([{ kind: 'priority', at: AT, source: 'fifo', iname: 'VI_1', priority: 200 }]);
    expect(ok('INSTANCE "VI_3" BACKUP_PRIORITY 70')).toEqual([{ kind: 'priority', at: AT, source: 'fifo', iname: 'VI_3', priority: 70 }]);
  });

  test('MASTER_RX_LOWER_PRI is split-brain evidence with our priority', () => {
    expect(ok('INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150')).toEqual([
      { kind: 'evidence', at: AT, source: 'fifo', iname: 'VI_1', type: 'MASTER_RX_LOWER_PRI', ourPriority: 150 },
    ]);
  });

  test('quoted names with spaces and quotes, unquoted names (notify-script style)', () => {
    expect(ok('INSTANCE "web VIP 1" MASTER 150')[0]).toMatchObject({ iname: 'web VIP 1', state: 'MASTER' });
    expect(ok('INSTANCE "say "hi"" BACKUP 100')[0]).toMatchObject({ iname: 'say "hi"', state: 'BACKUP' });
    expect(ok('INSTANCE VI_1 MASTER 150')[0]).toMatchObject({ iname: 'VI_1', state: 'MASTER', priority: 150 });
    expect(ok('GROUP G1 FAULT 0')[0]).toMatchObject({ group: 'G1', state: 'FAULT' });
    expect(ok('INSTANCE "Ωμέγα-1" MASTER 1')[0]).toMatchObject({ iname: 'Ωμέγα-1' });
  });

  test('CRLF, surrounding blanks and blank lines', () => {
    expect(ok('INSTANCE "VI_1" MASTER 150\r')[0]).toMatchObject({ iname: 'VI_1', priority: 150 });
    expect(ok('  INSTANCE "VI_1"  MASTER  150  ')[0]).toMatchObject({ iname: 'VI_1', state: 'MASTER', priority: 150 });
    expect(ok('')).toEqual([]);
    expect(ok('   ')).toEqual([]);
  });

  test('priority bounds 0 and 255', () => {
    expect(ok('INSTANCE "VI_1" BACKUP 0')[0]).toMatchObject({ priority: 0 });
    expect(ok('INSTANCE "VI_1" MASTER 255')[0]).toMatchObject({ priority: 255 });
  });
});

describe('parseFifoLine: checker lines', () => {
  test('VS lines, every format_vs() shape', () => {
    expect(ok('VS [192.0.2.100]:tcp:80 UP')).toEqual([{ kind: 'checker', at: AT, source: 'fifo', target: '[192.0.2.100]:tcp:80', up: true }]);
    expect(ok('VS [2001:db8::1]:udp:53 DOWN')[0]).toMatchObject({ target: '[2001:db8::1]:udp:53', up: false });
    expect(ok('VS FWM 5 UP')[0]).toMatchObject({ target: 'FWM 5', up: true });
    expect(ok('VS [web_group]:80 DOWN')[0]).toMatchObject({ target: '[web_group]:80', up: false });
  });

  test('RS lines name the real server then the virtual server', () => {
    expect(ok('RS [192.0.2.21]:tcp:80 [192.0.2.100]:tcp:80 DOWN')).toEqual([
      { kind: 'checker', at: AT, source: 'fifo', target: '[192.0.2.21]:tcp:80 [192.0.2.100]:tcp:80', up: false },
    ]);
    expect(ok('RS [192.0.2.21]:tcp:80 FWM 5 UP')[0]).toMatchObject({ target: '[192.0.2.21]:tcp:80 FWM 5', up: true });
  });
});

describe('parseFifoLine: errors name what is wrong', () => {
  test.each([
    ['HELLO "VI_1" MASTER 150', 'unknown_type', /unknown line type "HELLO"/],
    ['instance "VI_1" MASTER 150', 'unknown_type', /unknown line type "instance"/],
    ['INSTANCE', 'missing_fields', /needs a name, a state and a priority/],
    ['INSTANCE "VI_1"', 'missing_fields', /needs a name, a state and a priority/],
    ['INSTANCE MASTER 150', 'missing_fields', /needs a name/],
    ['INSTANCE "VI_1" MASTER', 'missing_fields', /needs a name, a state and a priority/],
    ['INSTANCE "VI_1" MASTER high', 'bad_priority', /priority "high" is not an integer 0-255/],
    ['INSTANCE "VI_1" MASTER 256', 'bad_priority', /priority "256"/],
    ['INSTANCE "VI_1" MASTER -1', 'bad_priority', /priority "-1"/],
    ['INSTANCE "VI_1" MASTER 1.5', 'bad_priority', /priority "1.5"/],
    ['INSTANCE "VI_1" master 150', 'unknown_state', /unknown state "master"/],
    ['INSTANCE "VI_1" {UNKNOWN} 150', 'unknown_state', /unknown state "\{UNKNOWN\}"/],
    ['GROUP "G1" MASTER_PRIORITY 0', 'unknown_state', /GROUP "G1": unknown state "MASTER_PRIORITY"/],
    ['INSTANCE "" MASTER 150', 'empty_name', /empty name/],
    ['VS [192.0.2.100]:tcp:80 MAYBE', 'unknown_state', /neither UP nor DOWN/],
    ['VS UP', 'missing_fields', /needs a target/],
    ['RS [192.0.2.21]:tcp:80 UP', 'bad_checker', /real server and a virtual server/],
  ])('%s -> %s', (line, code, reason) => {
    const r = err(line);
    expect(r.code).toBe(code);
    expect(r.reason).toMatch(reason);
  });

  test('a huge line is echoed truncated in the reason', () => {
    const r = err(`NOPE${'x'.repeat(100_000)} MASTER 1`);
    expect(r.reason.length).toBeLessThan(200);
  });
});

describe('parseFifoLine: real lines captured from keepalived 2.2.7', () => {
  const files = fs.readdirSync(FIXTURES).filter((f) => /^fifo.*\.txt$/.test(f));
  test('there is at least the captured fixture', () => {
    expect(files).toContain('fifo-captured.txt');
  });
  for (const f of files) {
    test(`every line of ${f} parses`, () => {
      const lines = fs.readFileSync(path.join(FIXTURES, f), 'utf8').split('\n').filter((l) => l.trim() !== '');
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) {
        const r = parseFifoLine(l, AT);
        if (!r.ok) throw new Error(`${f}: ${JSON.stringify(l)}: ${r.reason}`);
        expect(r.events).toHaveLength(1);
      }
    });
  }

  test('the captured failover, fault and split-brain sequence gives the expected kinds', () => {
    const lines = fs.readFileSync(path.join(FIXTURES, 'fifo-captured.txt'), 'utf8').split('\n').filter(Boolean);
    const kinds = new Set(lines.flatMap((l) => ok(l).map((e) => (e.kind === 'transition' ? `transition:${e.state}` : e.kind === 'evidence' ? e.type : e.kind))));
    for (const k of ['transition:MASTER', 'transition:BACKUP', 'transition:FAULT', 'transition:STOP', 'group', 'priority', 'MASTER_RX_LOWER_PRI']) {
      expect(kinds).toContain(k);
    }
  });
});

describe('parseFifoLine: no input throws (fast-check)', () => {
  const arbLine = fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }),
    fc.tuple(fc.constantFrom('INSTANCE', 'GROUP', 'VS', 'RS', ''), fc.string(), fc.constantFrom('MASTER', 'BACKUP', 'MASTER_RX_LOWER_PRI', 'UP', 'DOWN', 'x'), fc.string())
      .map(([a, b, c, d]) => `${a} ${b} ${c} ${d}`),
  );
  test('arbitrary strings give a result, never an exception', () => {
    fc.assert(
      fc.property(arbLine, (line) => {
        const r = parseFifoLine(line, AT);
        if (r.ok) {
          for (const e of r.events) expect(e.source).toBe('fifo');
        } else {
          expect(r.reason.length).toBeGreaterThan(0);
          expect(r.reason.length).toBeLessThan(400);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('well-formed instance lines round-trip any name and priority', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() === s && s !== '' && !s.includes('\n') && !s.includes('\r')),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('MASTER', 'BACKUP', 'FAULT', 'STOP'),
        (name, p, state) => {
          const r = parseFifoLine(`INSTANCE "${name}" ${state} ${p}`, AT);
          expect(r).toEqual({ ok: true, events: [{ kind: 'transition', at: AT, source: 'fifo', iname: name, state, priority: p }] });
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('huge inputs', () => {
    expect(() => parseFifoLine('I'.repeat(5_000_000), AT)).not.toThrow();
    expect(() => parseFifoLine(`INSTANCE "${' '.repeat(1_000_000)}" MASTER 1`, AT)).not.toThrow();
  });
});
