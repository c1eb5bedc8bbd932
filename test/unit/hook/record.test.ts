import fc from 'fast-check';
import { compareRecords, formatBadRecord, formatRecord, parseRecord, recordFromArgs, recordToEvent, type HookRecord } from '../../../agent/hook/record';

function rec(line: string): HookRecord {
  const r = parseRecord(line);
  if (!r.ok) throw new Error(r.reason);
  return r.record;
}

describe('hook record parser', () => {
  test('parses what the hook writes (instance, group, no priority, evidence)', () => {
    const r = rec('v1 1795634432459957007 20189 INSTANCE VI_1 MASTER 150\n');
    expect(r).toEqual({ ns: 1795634432459957007n, at: 1795634432459, seq: 20189, type: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 150, id: '1795634432459957007-20189' });
    expect(recordToEvent(r)).toEqual({ kind: 'transition', iname: 'VI_1', state: 'MASTER', priority: 150, at: 1795634432459, source: 'hook', seq: 20189 });
    expect(recordToEvent(rec('v1 1000000 7 GROUP G1 BACKUP 0'))).toEqual({ kind: 'group', group: 'G1', state: 'BACKUP', priority: undefined, at: 1, source: 'hook', seq: 7 });
    expect(rec('v1 1000000 7 INSTANCE VI_1 FAULT -').priority).toBeUndefined();
    expect(recordToEvent(rec('v1 1000000 7 INSTANCE VI_1 MASTER_RX_LOWER_PRI 150'))).toMatchObject({ kind: 'evidence', type: 'MASTER_RX_LOWER_PRI', iname: 'VI_1', ourPriority: 150 });
  });

  test('formatRecord round-trips', () => {
    const r = rec('v1 1795634432459957007 20189 GROUP G_1 STOP -');
    expect(rec(formatRecord(r))).toEqual(r);
  });

  test.each([
    ['', /version/],
    ['v2 1 2 INSTANCE VI_1 MASTER 1', /version/],
    ['v1 1 2 INSTANCE VI_1 MASTER', /7 .*fields/],
    ['v1 x 2 INSTANCE VI_1 MASTER 1', /nanoseconds/],
    ['v1 1 -2 INSTANCE VI_1 MASTER 1', /pid/],
    ['v1 1 2 VRRP VI_1 MASTER 1', /GROUP or INSTANCE/],
    ['v1 1 2 INSTANCE VI_1 PRIMARY 1', /unknown state/],
    ['v1 1 2 INSTANCE VI_1 MASTER 256', /0-255/],
    ['v1 1 2 GROUP G MASTER_RX_LOWER_PRI 1', /INSTANCE/],
    ['v1 1 2 INSTANCE VI_1 MASTER 1\nv1 1 2 INSTANCE VI_1 MASTER 1\n', /more than one line/],
    ['v1 1 2 INSTANCE VI\u00e91 MASTER 1', /printable ASCII/],
  ])('rejects %j with a reason', (line, re) => {
    const r = parseRecord(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(re);
  });

  test('bad-argument records are reported with their raw arguments', () => {
    const r = parseRecord(formatBadRecord(5n, 9, ['INSTANCE', 'a b', 'MASTER']));
    expect(r).toEqual({ ok: false, badArgs: true, reason: 'hook called with bad arguments (3): "INSTANCE" "a b" "MASTER"' });
  });

  test('property: no input crashes the parser; accepted records round-trip', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const r = parseRecord(s);
        if (r.ok) expect(parseRecord(formatRecord(r.record))).toEqual(r);
        else expect(typeof r.reason).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });

  test('property: well-formed records always parse', () => {
    const name = fc.stringMatching(/^[\x21-\x7e]{1,40}$/);
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n - 1n }),
        fc.integer({ min: 0, max: 4_194_304 }),
        fc.constantFrom('INSTANCE', 'GROUP'),
        name,
        fc.constantFrom('MASTER', 'BACKUP', 'FAULT', 'STOP'),
        fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
        (ns, seq, type, n, state, priority) => {
          const r = parseRecord(formatRecord({ ns, seq, type: type as 'INSTANCE', name: n, state: state as 'MASTER', priority }));
          expect(r.ok).toBe(true);
        },
      ),
    );
  });
});

describe('recordFromArgs (keepwatch notify)', () => {
  test('notify and --state forms, case-insensitive type/state', () => {
    const a = recordFromArgs(['instance', 'VI_1', 'master', '150'], { ns: 5n, seq: 1 });
    expect(a.ok && formatRecord(a.record)).toBe('v1 5 1 INSTANCE VI_1 MASTER 150\n');
    const b = recordFromArgs(['GROUP', 'G1'], { state: 'backup', ns: 5n, seq: 1 });
    expect(b.ok && formatRecord(b.record)).toBe('v1 5 1 GROUP G1 BACKUP -\n');
    expect(recordFromArgs(['INSTANCE', 'VI_1', 'MASTER', '1', 'x'], { ns: 5n, seq: 1 })).toMatchObject({ ok: false, reason: expect.stringMatching(/got 5 argument/) });
  });

  test('property: any arguments give a record or a reason, never a crash; records always parse back', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 20 }), { maxLength: 6 }), fc.option(fc.string({ maxLength: 12 }), { nil: undefined }), (args, state) => {
        const r = recordFromArgs(args, { state, ns: 1_000_000n, seq: 42 });
        if (r.ok) expect(parseRecord(formatRecord(r.record))).toEqual({ ok: true, record: r.record });
        else expect(r.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('record order (keepalived forks notify scripts concurrently)', () => {
  const mk = (ns: bigint, seq: number) => rec(`v1 ${ns} ${seq} INSTANCE VI_1 MASTER 1`);
  const opts = { pidMax: 32768, forkSkewNs: 100_000_000n };

  test('close in time: fork order (pid) wins over the timestamps the scripts took', () => {
    const first = mk(1_000_000_500n, 100); // forked first, took its timestamp later
    const second = mk(1_000_000_000n, 101);
    expect([second, first].sort((a, b) => compareRecords(a, b, opts))).toEqual([first, second]);
  });

  test('pid wrap-around near pid_max', () => {
    const before = mk(1_000_000_000n, 32760);
    const after = mk(1_000_000_000n, 3);
    expect(compareRecords(before, after, opts)).toBeLessThan(0);
    expect(compareRecords(after, before, opts)).toBeGreaterThan(0);
  });

  test('far apart: time order', () => {
    const early = mk(1_000_000_000n, 500);
    const late = mk(5_000_000_000n, 100);
    expect(compareRecords(early, late, opts)).toBeLessThan(0);
  });
});
