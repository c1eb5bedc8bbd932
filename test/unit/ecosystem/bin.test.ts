// bin/keepwatch as systemd, the Docker image and npx run it: executed directly, as plain node;
// `run` becomes a node carrying the agent's V8 flags (agent/cli/daemonFlags.ts) where node has
// process.execve (the LTS the image ships: `npm run test:lts` runs this file there), in place, and
// runs without them where it has not (Node 20). A flag node or V8 does not know would fail here,
// and one V8 takes but warns about would put a line on the agent's stderr.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAEMON_V8_FLAGS } from '../../../agent/cli/daemonFlags';
import { freePort } from '../../helpers/freePort';
import { isolatedConfigYaml } from '../../helpers/inProcessAgent';
import { waitFor } from '../../helpers/wait';

const REPO = join(__dirname, '../../..');
const BIN = join(REPO, 'bin/keepwatch');
const built = existsSync(join(REPO, 'dist/agent/cli/main.js'));
if (!built) console.warn('bin.test: SKIPPED, dist/ is not built (npm test builds it first)');
const maybe = built ? describe : describe.skip;

maybe('bin/keepwatch', () => {
  test('starts as plain node, prints the version and says nothing on stderr', () => {
    expect(readFileSync(BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    // Prometheus's layout (prometheus/common version.Print), the runtime in place of Go's.
    expect(r.stdout).toMatch(new RegExp(`^keepwatch, version ${version.replace(/\./g, '\\.')} \\(branch: \\S+, revision: \\S+\\)\n  build user: +\\S+\n  build date: +\\S+\n  node version: +v\\d+\\.\\d+\\.\\d+\n  platform: +linux/\\w+\n$`));
    expect(r.stderr).toBe('');
  });

  test('run: the agent carries the V8 flags in the same process where node has execve, runs without them where not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-bin-'));
    const port = await freePort();
    writeFileSync(join(dir, 'keepwatch.yml'), isolatedConfigYaml(dir, 'ka1', `web: {listen_address: "127.0.0.1:${port}"}`));
    // This test's node, started plainly as the shebang starts it (the shebang's `node` is PATH's).
    const child = spawn(process.execPath, [BIN, 'run', '--config.file', join(dir, 'keepwatch.yml'), '--log.format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok, { timeoutMs: 20_000, stepMs: 100, what: 'the agent ready' });
      const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      const flags = cmdline.filter((a) => a.startsWith('--') && cmdline.indexOf(a) < cmdline.indexOf(BIN));
      expect(cmdline[0]).toBe(process.execPath);
      expect(flags).toEqual(typeof (process as { execve?: unknown }).execve === 'function' ? [...DAEMON_V8_FLAGS] : []);
      expect(cmdline.slice(cmdline.indexOf(BIN) + 1, cmdline.indexOf(BIN) + 2)).toEqual(['run']);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
    expect(stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'))).toEqual([]);
  }, 40_000);
});
