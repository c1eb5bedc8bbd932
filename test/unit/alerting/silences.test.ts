import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Silences, SilenceError } from '../../../agent/alerting/silences';
import { silentLogger } from '../../../agent/logger';
import { FakeClock } from '../../helpers/fakeClock';

function setup(file?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kw-sil-'));
  const clock = new FakeClock();
  const s = new Silences({ file: file ?? join(dir, 'silences.json'), clock, log: silentLogger() });
  return { dir, clock, s, file: file ?? join(dir, 'silences.json') };
}

describe('Silences', () => {
  test('an active silence mutes matching alerts until it ends, then expires', () => {
    const { clock, s } = setup();
    const id = s.add({ matchers: ['alertname="VipMismatch"', 'node=~"ka[12]"'], endsAt: clock.now() + 3_600_000, createdBy: 'ops', comment: 'maintenance' });
    expect(s.silencedBy({ alertname: 'VipMismatch', node: 'ka1' })).toEqual([id]);
    expect(s.silencedBy({ alertname: 'VipMismatch', node: 'ka3' })).toEqual([]);
    expect(s.counts()).toEqual({ active: 1, pending: 0, expired: 0 });
    clock.advance(3_600_000);
    expect(s.silencedBy({ alertname: 'VipMismatch', node: 'ka1' })).toEqual([]);
    expect(s.list()[0].state).toBe('expired');
  });

  test('pending until startsAt', () => {
    const { clock, s } = setup();
    s.add({ matchers: ['a=b'], startsAt: clock.now() + 60_000, endsAt: clock.now() + 120_000, createdBy: 'ops', comment: 'later' });
    expect(s.silencedBy({ a: 'b' })).toEqual([]);
    expect(s.counts().pending).toBe(1);
    clock.advance(60_000);
    expect(s.silencedBy({ a: 'b' })).toHaveLength(1);
  });

  test('expire ends it now and is persisted; a restart keeps the silences', () => {
    const { clock, s, file } = setup();
    const keep = s.add({ matchers: [{ name: 'node', value: 'ka1', isRegex: false, isEqual: true }], endsAt: clock.now() + 60_000, createdBy: 'ops', comment: 'x' });
    const gone = s.add({ matchers: ['node=ka2'], endsAt: clock.now() + 60_000, createdBy: 'ops', comment: 'y' });
    s.expire(gone);
    expect(s.silencedBy({ node: 'ka2' })).toEqual([]);
    const again = new Silences({ file, clock, log: silentLogger() });
    again.load();
    expect(again.silencedBy({ node: 'ka1' })).toEqual([keep]);
    expect(again.list().find((x) => x.id === gone)).toMatchObject({ endsAt: clock.now(), state: 'expired' });
    expect(() => again.expire('nope')).toThrow(SilenceError);
    expect(JSON.parse(readFileSync(file, 'utf8')).silences).toHaveLength(2);
  });

  test('updating by id keeps the id', () => {
    const { clock, s } = setup();
    const id = s.add({ matchers: ['a=b'], endsAt: clock.now() + 60_000, createdBy: 'ops', comment: 'x' });
    expect(s.add({ id, matchers: ['a=b'], endsAt: clock.now() + 120_000, createdBy: 'ops', comment: 'longer' })).toBe(id);
    expect(s.list()).toEqual([expect.objectContaining({ id, comment: 'longer' })]);
    expect(() => s.add({ id: 'unknown', matchers: ['a=b'], endsAt: clock.now() + 1, createdBy: 'o', comment: 'c' })).toThrow(/not found/);
  });

  test.each([
    [{ matchers: [] }, /at least one matcher/],
    [{ matchers: ['vrid=~".*"'] }, /must not match the empty string/],
    [{ matchers: ['bad'] }, /matchers.0: bad matcher/],
    [{ endsAt: 0 }, /endsAt/],
    [{ createdBy: ' ' }, /createdBy/],
    [{ comment: '' }, /comment/],
  ])('rejects %p', (patch, msg) => {
    const { clock, s } = setup();
    const input = { matchers: ['a=b'], endsAt: clock.now() + 60_000, createdBy: 'ops', comment: 'c', ...patch };
    expect(() => s.add(input as never)).toThrow(msg);
    expect(s.list()).toHaveLength(0);
  });

  test('expired silences are forgotten after the retention', () => {
    const { clock, s } = setup();
    s.add({ matchers: ['a=b'], endsAt: clock.now() + 1000, createdBy: 'o', comment: 'c' });
    clock.advance(121 * 3_600_000);
    s.gc();
    expect(s.list()).toHaveLength(0);
  });

  test('a corrupt file is moved aside, not fatal', () => {
    const { dir, clock, file } = setup();
    writeFileSync(file, '{not json');
    const s = new Silences({ file, clock, log: silentLogger() });
    s.load();
    expect(s.list()).toEqual([]);
    expect(readdirSync(dir).some((f) => f.startsWith('silences.json.corrupt-'))).toBe(true);
  });

  test('a change that cannot be persisted is refused and not applied', () => {
    if (process.getuid?.() === 0) {
      // root ignores directory permissions: use a path under a regular file instead
      const { dir, clock } = setup();
      writeFileSync(join(dir, 'afile'), '');
      const s = new Silences({ file: join(dir, 'afile', 'silences.json'), clock, log: silentLogger() });
      expect(() => s.add({ matchers: ['a=b'], endsAt: clock.now() + 1000, createdBy: 'o', comment: 'c' })).toThrow(/cannot persist silences/);
      expect(s.list()).toHaveLength(0);
      return;
    }
    const { dir, clock } = setup();
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    const s = new Silences({ file: join(ro, 'silences.json'), clock, log: silentLogger() });
    expect(() => s.add({ matchers: ['a=b'], endsAt: clock.now() + 1000, createdBy: 'o', comment: 'c' })).toThrow(/cannot persist silences/);
    expect(s.list()).toHaveLength(0);
    expect(existsSync(join(ro, 'silences.json'))).toBe(false);
  });
});
