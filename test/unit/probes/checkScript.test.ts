// The keepalived exporter's per-VIP check script, run for real: a shell script file in a temporary
// directory records each run (its arguments, its environment, overlapping runs) and exits as told.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { systemClock } from '../../../agent/context';
import { createCheckScript, type CheckScriptOptions } from '../../../agent/probes/checkScript';
import { runCommand, type CommandOptions } from '../../../agent/probes/runCommand';
import { FakeClock } from '../../helpers/fakeClock';

const log = pino({ level: 'silent' });
let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kw-checkscript-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A check script: appends "<args>" to runs.log, env to env.log, fails for VIPs listed in bad.txt,
 *  notes a run overlapping another in overlap.log, and sleeps `sleep` seconds. */
function script(opts: { sleep?: number; spew?: boolean } = {}): string {
  const file = join(dir, 'check.sh');
  writeFileSync(
    file,
    `#!/bin/sh
if ! mkdir "${dir}/running" 2>/dev/null; then echo overlap >> "${dir}/overlap.log"; fi
echo "$*" >> "${dir}/runs.log"
env | sort > "${dir}/env.log"
${opts.spew ? 'head -c 1000000 /dev/zero | tr "\\\\0" x' : ''}
sleep ${opts.sleep ?? 0}
rmdir "${dir}/running"
vip="$(eval echo \\\${$#})"
if grep -qxF "$vip" "${dir}/bad.txt" 2>/dev/null; then echo "$vip is down" >&2; exit 1; fi
exit 0
`,
  );
  chmodSync(file, 0o755);
  return file;
}

const runs = () => (existsSync(join(dir, 'runs.log')) ? readFileSync(join(dir, 'runs.log'), 'utf8').trim().split('\n') : []);
const make = (o: Partial<CheckScriptOptions> & Pick<CheckScriptOptions, 'command'>) =>
  createCheckScript({ timeoutMs: 5_000, intervalMs: 15_000, clock: new FakeClock(), log, ...o });

describe('check script', () => {
  test('each VIP in turn, as the last argument and without a shell: exit 0 is good, anything else bad', async () => {
    writeFileSync(join(dir, 'bad.txt'), '10.1.0.2/24\n');
    const marker = join(dir, 'injected');
    const cs = make({ command: [script(), '--port', `80;touch ${marker}`] });
    const st = await cs.statuses(['10.1.0.1/24', '10.1.0.2/24', `$(touch ${marker})`]);
    expect([...st]).toEqual([
      ['10.1.0.1/24', true],
      ['10.1.0.2/24', false],
      [`$(touch ${marker})`, true],
    ]);
    expect(runs()).toEqual([`--port 80;touch ${marker} 10.1.0.1/24`, `--port 80;touch ${marker} 10.1.0.2/24`, `--port 80;touch ${marker} $(touch ${marker})`]);
    expect(existsSync(marker)).toBe(false);
  });

  test("the script gets PATH and LANG only, never the agent's environment (which may hold secrets)", async () => {
    process.env.KW_TEST_SECRET = 'hunter2hunter2';
    try {
      await make({ command: [script()] }).statuses(['10.1.0.1/24']);
    } finally {
      delete process.env.KW_TEST_SECRET;
    }
    const names = readFileSync(join(dir, 'env.log'), 'utf8').split('\n').filter(Boolean).map((l) => l.split('=')[0]);
    expect(names.filter((n) => !['PWD', 'SHLVL', '_'].includes(n))).toEqual(['LANG', 'PATH']);
  });

  test('a run past its timeout is killed and counts as bad; the scrape waits no longer than that', async () => {
    const cs = make({ command: [script({ sleep: 30 })], timeoutMs: 300, clock: systemClock });
    const t0 = Date.now();
    const st = await cs.statuses(['10.1.0.1/24']);
    expect(st.get('10.1.0.1/24')).toBe(false);
    expect(Date.now() - t0).toBeLessThan(5_000);
  }, 10_000);

  test('output is kept to a few KiB: a script writing 1 MB is read without keeping it', async () => {
    const seen: CommandOptions[] = [];
    const cs = make({ command: [script({ spew: true })], run: (argv, opts) => (seen.push(opts ?? {}), runCommand(argv, opts)) });
    expect((await cs.statuses(['10.1.0.1/24'])).get('10.1.0.1/24')).toBe(true);
    expect(seen[0].maxBytes).toBe(4096);
  });

  test('a scrape flood runs the script once per VIP, never two at once; results are kept for the interval', async () => {
    const clock = new FakeClock();
    const cs = make({ command: [script({ sleep: 0.05 })], clock });
    const vips = ['10.1.0.1/24', '10.1.0.2/24'];
    const answers = await Promise.all(Array.from({ length: 20 }, () => cs.statuses(vips)));
    expect(answers.every((a) => a.get('10.1.0.1/24') === true && a.get('10.1.0.2/24') === true)).toBe(true);
    expect(runs()).toHaveLength(2);
    clock.advance(14_999);
    expect(cs.due(vips)).toBe(false);
    await Promise.all(Array.from({ length: 20 }, () => cs.statuses(vips)));
    expect(runs()).toHaveLength(2);
    expect(existsSync(join(dir, 'overlap.log'))).toBe(false);
  });

  test('stale results are served while a background run refreshes them; a new VIP, or results two intervals old, wait for the run', async () => {
    const clock = new FakeClock();
    const cs = make({ command: [script({ sleep: 0.2 })], clock });
    await cs.statuses(['10.1.0.1/24']);
    const gen = cs.generation();
    writeFileSync(join(dir, 'bad.txt'), '10.1.0.1/24\n');
    clock.advance(15_000);
    expect(cs.due(['10.1.0.1/24'])).toBe(true);
    // Stale: the last results at once, a run started behind them.
    expect((await cs.statuses(['10.1.0.1/24'])).get('10.1.0.1/24')).toBe(true);
    expect(cs.due(['10.1.0.1/24'])).toBe(false);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(cs.generation()).toBe(gen + 1);
    expect((await cs.statuses(['10.1.0.1/24'])).get('10.1.0.1/24')).toBe(false);
    // A VIP never checked: this scrape waits for it.
    expect((await cs.statuses(['10.1.0.1/24', '10.1.0.9/24'])).get('10.1.0.9/24')).toBe(true);
    // Two intervals without a scrape: the next one waits for fresh results.
    rmSync(join(dir, 'bad.txt'));
    clock.advance(30_000);
    expect((await cs.statuses(['10.1.0.1/24', '10.1.0.9/24'])).get('10.1.0.1/24')).toBe(true);
    expect(existsSync(join(dir, 'overlap.log'))).toBe(false);
  });

  test('close() kills the run in flight and starts no other', async () => {
    const cs = make({ command: [script({ sleep: 30 })], clock: systemClock });
    const t0 = Date.now();
    const pending = cs.statuses(['10.1.0.1/24', '10.1.0.2/24']);
    await new Promise((r) => setTimeout(r, 200));
    cs.close();
    await pending;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(runs()).toHaveLength(1);
    expect(cs.due(['10.1.0.1/24'])).toBe(false);
  }, 10_000);
});
