// `keepwatch --version` as Prometheus's tools print theirs, from package.json and the file
// `npm run build` generates (agent/buildInfo.json); 'unknown' for what no build recorded.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BUILD_INFO_FILE, readBuildInfo, versionText } from '../../../agent/version';

const REPO = join(__dirname, '../../..');

function root(buildInfo?: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kw-version-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '9.8.7' }));
  if (buildInfo) {
    mkdirSync(join(dir, 'agent'));
    writeFileSync(join(dir, 'agent', BUILD_INFO_FILE), JSON.stringify(buildInfo));
  }
  return dir;
}

describe('version', () => {
  test('Prometheus layout: version, branch, revision, build user and date, the runtime', () => {
    const b = readBuildInfo(root({ revision: 'abc123', branch: 'main', buildUser: 'ci@builder', buildDate: '20261202-10:00:00' }));
    expect(b).toEqual({ version: '9.8.7', revision: 'abc123', branch: 'main', buildUser: 'ci@builder', buildDate: '20261202-10:00:00' });
    expect(versionText(b, { nodeVersion: 'v26.1.0', platform: 'linux', arch: 'x64' })).toBe(
      [
        'keepwatch, version 9.8.7 (branch: main, revision: abc123)',
        '  build user:       ci@builder',
        '  build date:       20261202-10:00:00',
        '  node version:     v26.1.0',
        '  platform:         linux/amd64',
      ].join('\n'),
    );
  });

  test('without a build: the version, and unknown for the rest', () => {
    expect(readBuildInfo(root())).toEqual({ version: '9.8.7', revision: 'unknown', branch: 'unknown', buildUser: 'unknown', buildDate: 'unknown' });
  });

  test('scripts/build-info.js writes what readBuildInfo reads (revision and branch from git)', () => {
    const dir = root({});
    const r = spawnSync(process.execPath, [join(REPO, 'scripts/build-info.js'), dir], { encoding: 'utf8', env: { ...process.env, KEEPWATCH_REVISION: 'f00d', KEEPWATCH_BRANCH: 'release-1', SOURCE_DATE_EPOCH: '1796212800' } });
    expect(r.status).toBe(0);
    const b = readBuildInfo(dir);
    expect(b.revision).toBe('f00d');
    expect(b.branch).toBe('release-1');
    expect(b.buildDate).toBe('20261202-12:00:00');
    expect(b.buildUser).toMatch(/^\S+@\S+$/);
  });
});
