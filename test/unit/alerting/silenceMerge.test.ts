// Silences merged from peers, on the fake clock: by id and update time as Alertmanager's cluster
// gossips them, an expired silence never revived, invalid or future silences refused one by one,
// and two stores that exchange in any order end with one set.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Silences, silenceWins, type Silence } from '../../../agent/alerting/silences';
import { silentLogger } from '../../../agent/logger';
import { FakeClock } from '../../helpers/fakeClock';

function store(clock = new FakeClock(), file = join(mkdtempSync(join(tmpdir(), 'kw-merge-')), 'silences.json')) {
  const s = new Silences({ file, clock, log: silentLogger(), maxClockSkewMs: 5000 });
  const changes: Silence[][] = [];
  s.subscribe((c) => changes.push(c));
  return { s, clock, file, changes };
}

function silence(clock: FakeClock, over: Partial<Silence> = {}): Silence {
  const now = clock.now();
  return { id: 'sil-1', matchers: [{ name: 'alertname', value: 'Failover', isRegex: false, isEqual: true }], startsAt: now, endsAt: now + 3_600_000, updatedAt: now, createdBy: 'ops', comment: 'switchover', ...over };
}

describe('silence merge', () => {
  test('a peer\'s new silence is adopted, mutes, is persisted and told to subscribers; the same again changes nothing', () => {
    const { s, clock, file, changes } = store();
    const r = s.merge([silence(clock)], 'peer ka1');
    expect(r.adopted.map((x) => x.id)).toEqual(['sil-1']);
    expect(s.silencedBy({ alertname: 'Failover' })).toEqual(['sil-1']);
    expect(changes).toHaveLength(1);
    const again = new Silences({ file, clock, log: silentLogger() });
    again.load();
    expect(again.silencedBy({ alertname: 'Failover' })).toEqual(['sil-1']);
    // The echo of what we hold (the peer sending it back) is no change: no write loop between peers.
    expect(s.merge([silence(clock)], 'peer ka1')).toEqual({ adopted: [], refused: [] });
    expect(changes).toHaveLength(1);
    expect(JSON.parse(readFileSync(file, 'utf8')).silences).toHaveLength(1);
  });

  test('the newer updatedAt wins; an older version is ignored', () => {
    const { s, clock } = store();
    const t0 = clock.now();
    s.merge([silence(clock, { comment: 'first' })], 'p');
    clock.advance(1000);
    s.merge([silence(clock, { comment: 'older', updatedAt: t0 - 1 })], 'p');
    expect(s.list()[0].comment).toBe('first');
    s.merge([silence(clock, { comment: 'newer', endsAt: t0 + 7_200_000, updatedAt: clock.now() })], 'p');
    expect(s.list()[0]).toMatchObject({ comment: 'newer', endsAt: t0 + 7_200_000 });
  });

  test('expired stays expired: a live version, even newer, does not revive it; an expiry from a peer ends ours', () => {
    const { s, clock } = store();
    const id = s.add({ matchers: ['alertname=Failover'], endsAt: clock.now() + 3_600_000, createdBy: 'ops', comment: 'x' });
    clock.advance(1000);
    s.expire(id);
    clock.advance(1000);
    const live = { ...s.all()[0], endsAt: clock.now() + 3_600_000, updatedAt: clock.now(), comment: 'extended elsewhere' };
    expect(s.merge([live], 'p').adopted).toEqual([]);
    expect(s.list()[0].state).toBe('expired');

    const other = store(clock);
    other.s.merge([live], 'p');
    expect(other.s.silencedBy({ alertname: 'Failover' })).toEqual([id]);
    other.s.merge(s.all(), 'p');
    expect(other.s.list()[0].state).toBe('expired');
    expect(other.s.silencedBy({ alertname: 'Failover' })).toEqual([]);
  });

  test('two stores exchanging changes in any order converge on one set', () => {
    const clock = new FakeClock();
    const a = store(clock);
    const b = store(clock);
    const ids = [0, 1, 2].map((i) => a.s.add({ matchers: [`n=x${i}`], endsAt: clock.now() + 3_600_000, createdBy: 'ops', comment: `c${i}` }));
    b.s.merge(a.s.all(), 'a');
    // Concurrent edits: both update sil 0 at the same ms, b extends sil 1 later, a expires sil 1 after that,
    // b expires sil 2 while a extends it later (expired stays expired).
    clock.advance(1000);
    a.s.add({ id: ids[0], matchers: ['n=x0'], endsAt: clock.now() + 60_000, createdBy: 'ops', comment: 'a says' });
    b.s.add({ id: ids[0], matchers: ['n=x0'], endsAt: clock.now() + 90_000, createdBy: 'ops', comment: 'b says' });
    clock.advance(1000);
    b.s.add({ id: ids[1], matchers: ['n=x1'], endsAt: clock.now() + 90_000, createdBy: 'ops', comment: 'b extends' });
    b.s.expire(ids[2]);
    clock.advance(1000);
    a.s.expire(ids[1]);
    a.s.add({ id: ids[2], matchers: ['n=x2'], endsAt: clock.now() + 90_000, createdBy: 'ops', comment: 'a extends' });
    const aAll = a.s.all();
    const bAll = b.s.all();
    // Each side receives the other's whole set, in reverse order on one side.
    a.s.merge([...bAll].reverse(), 'b');
    b.s.merge(aAll, 'a');
    a.s.merge(b.s.all(), 'b');
    b.s.merge(a.s.all(), 'a');
    const byId = (x: Silences) => Object.fromEntries(x.all().map((s) => [s.id, s]));
    expect(byId(a.s)).toEqual(byId(b.s));
    expect(byId(a.s)[ids[0]].comment).toBe('a says'); // equal updatedAt: the earlier end
    expect(a.s.list().find((s) => s.id === ids[1])!.state).toBe('expired');
    expect(a.s.list().find((s) => s.id === ids[2])!.state).toBe('expired');
  });

  test('invalid, match-all and future silences are refused one by one; the rest merge; past the retention: dropped', () => {
    const { s, clock } = store();
    const r = s.merge(
      [
        silence(clock, { id: 'future', updatedAt: clock.now() + 60_000 }),
        silence(clock, { id: 'all', matchers: [{ name: 'alertname', value: '.*', isRegex: true, isEqual: true }] }),
        silence(clock, { id: 'bad', matchers: [] }),
        silence(clock, { id: 'old', startsAt: 0, endsAt: 1, updatedAt: 1 }),
        silence(clock, { id: 'good' }),
      ],
      'peer ka1',
    );
    expect(r.adopted.map((x) => x.id)).toEqual(['good']);
    expect(r.refused.map((x) => x.id)).toEqual(['future', 'all', 'bad']);
    expect(r.refused[0].error).toMatch(/in the future \(clock skew\)/);
    expect(s.all().map((x) => x.id)).toEqual(['good']);
  });

  test('a reload naming another silences_file keeps every silence, merged with that file\'s', () => {
    const clock = new FakeClock();
    const other = store(clock);
    other.s.merge([silence(clock, { id: 'there' })], 'p');
    const { s } = store(clock);
    s.merge([silence(clock, { id: 'here' })], 'p');
    s.useFile(other.file);
    expect(s.all().map((x) => x.id).sort()).toEqual(['here', 'there']);
    const reread = new Silences({ file: other.file, clock, log: silentLogger() });
    reread.load();
    expect(reread.all().map((x) => x.id).sort()).toEqual(['here', 'there']);
  });

  test('silenceWins is a total order: of two versions exactly one wins', () => {
    const clock = new FakeClock();
    const now = clock.now();
    const v = [silence(clock), silence(clock, { comment: 'b' }), silence(clock, { endsAt: now + 1 }), silence(clock, { updatedAt: now - 5 }), silence(clock, { endsAt: now, updatedAt: now - 9 })];
    for (const x of v) for (const y of v) if (x !== y && JSON.stringify(x) !== JSON.stringify(y)) expect(silenceWins(x, y, now)).toBe(!silenceWins(y, x, now));
  });
});
