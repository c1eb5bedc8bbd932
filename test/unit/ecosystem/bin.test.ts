// bin/keepwatch as systemd, the Docker image and npx run it: executed directly, its shebang's V8
// flags applied (env -S). A flag node or V8 does not know would fail here, and one V8 takes but
// warns about would put a line on every command's stderr.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(__dirname, '../../..');
const BIN = join(REPO, 'bin/keepwatch');
const built = existsSync(join(REPO, 'dist/agent/cli/main.js'));
if (!built) console.warn('bin.test: SKIPPED, dist/ is not built (npm test builds it first)');
const maybe = built ? describe : describe.skip;

maybe('bin/keepwatch', () => {
  test('runs by its shebang, with its V8 flags, and says nothing on stderr', () => {
    const shebang = readFileSync(BIN, 'utf8').split('\n')[0];
    expect(shebang).toMatch(/^#!\/usr\/bin\/env -S node( --[a-z-]+(=\S+)?)+$/);
    expect(shebang).toContain('--max-semi-space-size=1');
    const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    // Prometheus's layout (prometheus/common version.Print), the runtime in place of Go's.
    expect(r.stdout).toMatch(new RegExp(`^keepwatch, version ${version.replace(/\./g, '\\.')} \\(branch: \\S+, revision: \\S+\\)\n  build user: +\\S+\n  build date: +\\S+\n  node version: +v\\d+\\.\\d+\\.\\d+\n  platform: +linux/\\w+\n$`));
    expect(r.stderr).toBe('');
  });
});
