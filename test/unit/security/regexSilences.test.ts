// Issue 15, High 4: a silence with `alertname=~"(.*.*)*Q"` froze the agent (and, saved to disk,
// froze it again after a restart); `alertname=~".+"` muted every page.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Daemon } from '../../../agent/daemon';
import { silentLogger } from '../../../agent/logger';
import { coreModule } from '../../../agent/wiring/core';
import { alertingModule } from '../../../agent/wiring/alerting';
import { Silences } from '../../../agent/alerting/silences';
import { matchesEveryAlert, parseMatcher, unsafeRegexReason } from '../../../agent/alerting/matchers';
import { systemClock } from '../../../agent/context';

const TOKEN = 'api-token-0123456789';
const ROOT = join(__dirname, '../../..');

describe('regex matchers are bounded', () => {
  test('the exponential matcher cannot freeze a process (replayed in a child, killed after 20 s)', () => {
    // On an unbounded engine the match below never finishes: the child is killed and the test fails.
    const script = `
      const { parseMatcher } = require('./agent/alerting/matchers.ts');
      let m;
      try { m = parseMatcher('alertname=~"(.*.*)*Q"'); } catch (e) { console.log('refused: ' + e.message); process.exit(0); }
      console.log('matched=' + m.matches({ alertname: 'a'.repeat(40) }));
    `;
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: ROOT, timeout: 20_000, encoding: 'utf8' });
    expect(r.signal).toBeNull();
    expect(r.stdout).toMatch(/^refused: .*nested quantifiers/);
  });

  test.each(['(.*.*)*Q', '(a|a)*b', '(a+)+$', '(x+x+)+y', '\\1', '(a)\\1', '(?=a).', '(?<!a)b', 'a*b*c*d*', 'x'.repeat(300)])('unsafe regex %s is refused', (re) => {
    expect(unsafeRegexReason(re)).toBeDefined();
    expect(() => parseMatcher(`alertname=~"${re.replace(/\\/g, '\\\\')}"`)).toThrow(/regular expression refused/);
  });

  test.each(['Split.*', '5[12]', '(foo|bar)', 'ka[0-9]+', '.*db.*', '(?:ab)+', '[(*+]+x'])('ordinary regex %s is kept', (re) => {
    expect(unsafeRegexReason(re)).toBeUndefined();
  });

  test('matchesEveryAlert: universal matchers yes, narrow ones no', () => {
    const every = (...ms: string[]) => matchesEveryAlert(ms.map(parseMatcher), 'r4nd0m');
    expect(every('alertname=~".+"')).toBe(true);
    expect(every('alertname=~".*"', 'severity=~".*"')).toBe(true);
    expect(every('alertname!="nothing"')).toBe(true);
    expect(every('alertname=~"Split.*"')).toBe(false);
    expect(every('alertname=~".+"', 'node="ka1"')).toBe(false);
    expect(every('instance=~".+"')).toBe(false);
  });
});

describe('silences that match every alert, or hold an unsafe regex', () => {
  let dir: string;
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  test('the API refuses a silence matching every alert unless force: true, and an unsafe regex always', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kwsec-sil-'));
    const file = join(dir, 'keepwatch.yml');
    writeFileSync(file, `node: ka1\nweb: {listen_address: "127.0.0.1:0"}\nalerting:\n  api_token: ${TOKEN}\n  silences_file: ${dir}/silences.json\n  outbox: {path: ${dir}/outbox}\n`);
    daemon = new Daemon({ configFile: file, log: silentLogger(), modules: [coreModule, alertingModule] });
    await daemon.start();
    const base = `http://127.0.0.1:${daemon.http.address()!.port}`;
    const post = (body: unknown) => fetch(`${base}/api/v1/silences`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const silence = { duration: '1h', createdBy: 'mallory', comment: 'x' };
    const all = await post({ ...silence, matchers: ['alertname=~".+"'] });
    expect(all.status).toBe(400);
    expect(((await all.json()) as { error: string }).error).toMatch(/would match every alert.*force/);
    expect((await post({ ...silence, matchers: [{ name: 'alertname', value: '.+', isRegex: true, isEqual: true }] })).status).toBe(400);
    expect((await post({ ...silence, matchers: ['alertname=~".+"'], force: true })).status).toBe(200);
    expect((await post({ ...silence, matchers: ['alertname=~"Split.*"'] })).status).toBe(200);
    const evil = await post({ ...silence, matchers: ['alertname=~"(.*.*)*Q"'], force: true });
    expect(evil.status).toBe(400);
    expect(((await evil.json()) as { error: string }).error).toMatch(/regular expression refused/);
  });

  test('an unsafe silence already on disk is refused at load, naming its id; the others are kept', () => {
    dir = mkdtempSync(join(tmpdir(), 'kwsec-sil-'));
    const file = join(dir, 'silences.json');
    const base = { startsAt: 0, endsAt: Date.now() + 3_600_000, createdBy: 'a', comment: 'c', updatedAt: 0 };
    writeFileSync(
      file,
      JSON.stringify({
        silences: [
          { ...base, id: 'evil-silence-1', matchers: [{ name: 'alertname', value: '(.*.*)*Q', isRegex: true, isEqual: true }] },
          { ...base, id: 'good-silence-2', matchers: [{ name: 'alertname', value: 'Failover', isRegex: false, isEqual: true }] },
        ],
      }),
    );
    const lines: string[] = [];
    const log = pino({ level: 'error' }, { write: (s: string) => void lines.push(s) });
    const s = new Silences({ file, clock: systemClock, log });
    s.load();
    expect(s.list().map((x) => x.id)).toEqual(['good-silence-2']);
    expect(lines.join('')).toMatch(/evil-silence-1.*regular expression refused|regular expression refused.*evil-silence-1/);
  });
});
