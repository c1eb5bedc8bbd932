// The command line loads a command's code only when that command runs: --version, --help and the
// flags of every command come from commander and the flag definitions alone (the start-up time
// itself is measured in bench/startup.ts, not asserted here).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const REPO = join(__dirname, '../../..');
// What a command's code pulls in; none of it may load to print the version or a command's help.
const HEAVY = /node_modules\/(zod|pino|yaml|prom-client|systeminformation|nodemailer|dbus-next|node-cron|bcryptjs)\/|agent\/(daemon|config\/load|config\/schema|logger|hook\/|wiring\/)/;

/** Runs keepwatch's main() from the sources in a fresh Node and returns the files it loaded. */
function loadedBy(args: string[]): { loaded: string[]; out: string; status: number | null } {
  const script = `
    const { main } = require('./agent/cli/main.ts');
    main(['node', 'keepwatch', ...${JSON.stringify(args)}]).then((code) => {
      process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n');
      process.exitCode = code;
    });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  const m = /\nLOADED (.*)\n/.exec(r.stderr);
  if (!m) throw new Error(`no module list; stderr: ${r.stderr.slice(0, 2000)}`);
  return { loaded: JSON.parse(m[1]) as string[], out: r.stdout, status: r.status };
}

describe('keepwatch start-up: commands load their code when they run', () => {
  test.each([[['--version']], [['--help']], [['notify', '--help']], [['run', '--help']], [['hook', 'check', '--help']], [['silence', 'add', '--help']], [['status', '--help']]])('%j loads none of the commands\' code', (args) => {
    const r = loadedBy(args);
    expect(r.status).toBe(0);
    expect(r.out.length).toBeGreaterThan(0);
    expect(r.loaded.filter((f) => HEAVY.test(f))).toEqual([]);
  }, 60_000);

  test('a command that runs loads its code (the check above can see a heavy module)', () => {
    const r = loadedBy(['check-config', '--config.file', join(REPO, 'deploy/keepwatch.example.yml')]);
    expect(r.loaded.filter((f) => HEAVY.test(f)).length).toBeGreaterThan(0);
  }, 60_000);
});
