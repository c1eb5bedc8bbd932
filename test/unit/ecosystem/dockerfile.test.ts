// The Dockerfile. No Docker engine runs here and hadolint is not packaged in Debian 12, so it is
// checked by dockerfile-utils (the Dockerfile linter of the Docker language server) for syntax and
// instruction errors, parsed with dockerfile-ast for what the image must have, and its
// HEALTHCHECK command is run for real against an agent.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { startInProcessAgent } from '../../helpers/inProcessAgent';
import { coreModule } from '../../../agent/wiring/core';
import { readBuildInfo, versionText } from '../../../agent/version';

const ROOT = join(__dirname, '../../..');
const TEXT = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const df = DockerfileParser.parse(TEXT);
const froms = df.getFROMs();

/** Instructions of each stage, in order. */
function stages(): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of df.getInstructions()) {
    if (i.getKeyword() === 'FROM') out.push([]);
    out.at(-1)?.push(i);
  }
  return out;
}
/** The instruction's text after its keyword, flags included (getArgumentsContent drops COPY's --from). */
const args = (i: Instruction) => i.getTextContent().replace(/^\s*\w+\s+/, '').replace(/\\\n/g, ' ').trim();

async function run(js: string): Promise<number> {
  try {
    await promisify(execFile)('node', ['-e', js], { timeout: 10_000 });
    return 0;
  } catch (e) {
    return (e as { code?: number }).code ?? -1;
  }
}

describe('Dockerfile', () => {
  test('the build args REVISION, BRANCH and SOURCE_DATE_EPOCH reach `keepwatch --version` (its build step run as docker would, without .git)', () => {
    const build = stages()[0];
    const declared = build.filter((i) => i.getKeyword() === 'ARG').map((i) => args(i).replace(/=.*$/, ''));
    expect(declared).toEqual(expect.arrayContaining(['REVISION', 'BRANCH', 'SOURCE_DATE_EPOCH']));
    const step = build.filter((i) => i.getKeyword() === 'RUN').map(args).find((a) => a.includes('scripts/build-info.js'))!;
    const dir = mkdtempSync(join(tmpdir(), 'kw-docker-build-'));
    try {
      mkdirSync(join(dir, 'scripts'));
      mkdirSync(join(dir, 'agent'));
      copyFileSync(join(ROOT, 'scripts/build-info.js'), join(dir, 'scripts/build-info.js'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ version: '1.2.3' }));
      // Docker gives a RUN its ARGs as environment variables; only the part before tsc is run here.
      execFileSync('sh', ['-c', step.split('&&')[0]], { cwd: dir, env: { PATH: process.env.PATH, GIT_CEILING_DIRECTORIES: dir, REVISION: 'c0ffee', BRANCH: 'release-2', SOURCE_DATE_EPOCH: '1796212800' }, stdio: 'ignore' });
      const text = versionText(readBuildInfo(dir), { nodeVersion: 'v26.0.0', platform: 'linux', arch: 'x64' });
      expect(text).toMatch(/^keepwatch, version 1\.2\.3 \(branch: release-2, revision: c0ffee\)$/m);
      expect(text).toMatch(/^ {2}build date: +20261202-12:00:00$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('dockerfile-utils finds no problem (and does find them in a broken copy)', () => {
    expect(validate(TEXT).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    expect(validate(TEXT.replace('EXPOSE 9723', 'EXPOSE http')).length).toBeGreaterThan(0);
  });

  test('multi-stage on node:26-slim (the current LTS): build with npm ci + tsc, runtime with production deps only', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(`${f.getImageName()}:${f.getImageTag()}`).toBe('node:26-slim');
    const [build, ...rest] = stages();
    const runtime = rest.at(-1)!;
    const runs = (s: Instruction[]) => s.filter((i) => i.getKeyword() === 'RUN').map(args).join('\n');
    expect(runs(build)).toMatch(/\bnpm ci\b/);
    expect(runs(build)).toMatch(/\btsc -p tsconfig\.json\b/);
    expect(runs(runtime)).toMatch(/\bnpm ci --omit=dev\b/);
    expect(runs(runtime)).not.toMatch(/\bnpm (install|i)\b/);
    const copies = runtime.filter((i) => i.getKeyword() === 'COPY').map(args);
    expect(copies).toContain(`--from=${froms[0].getBuildStage()} /src/dist ./dist`);
  });

  test('runs as a non-root user, exposes 9723, has a HEALTHCHECK without curl, and runs `keepwatch run`', () => {
    const runtime = stages().at(-1)!;
    const users = runtime.filter((i) => i.getKeyword() === 'USER').map(args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.filter((i) => i.getKeyword() === 'EXPOSE').map(args)).toEqual(['9723']);
    const hc = runtime.filter((i) => i.getKeyword() === 'HEALTHCHECK').map(args);
    expect(hc).toHaveLength(1);
    expect(hc[0]).toMatch(/CMD \["node", "-e", ".*fetch\('http:\/\/127\.0\.0\.1:9723\/healthz'\)/);
    expect(hc[0]).not.toMatch(/curl|wget/);
    expect(runtime.filter((i) => i.getKeyword() === 'ENTRYPOINT').map(args)).toEqual(['["keepwatch", "run"]']);
  });

  test("the README's Docker section and the Dockerfile's own docker run agree with the image: its uid and gid, keepalived's dumps mounted and readable through the host's keepwatch group", () => {
    const runtime = stages().at(-1)!;
    const user = runtime.filter((i) => i.getKeyword() === 'USER').map(args).at(-1)!;
    const [uid, gid] = user.split(':');
    expect(TEXT).toMatch(new RegExp(`groupadd --system --gid ${gid} keepwatch`));
    expect(TEXT).toMatch(new RegExp(`useradd --system --uid ${uid} --gid keepwatch`));
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const docker = readme.slice(readme.indexOf('### Docker'), readme.indexOf('## Configuration'));
    expect(docker.replace(/\s+/g, ' ')).toContain(`runs as uid ${uid}, gid ${gid}`);
    const config = readFileSync(join(ROOT, 'deploy/keepwatch.example.yml'), 'utf8');
    const dumpsDir = /^ {4}dir: (\S+)$/m.exec(config.slice(config.indexOf('  dumps:')))![1];
    for (const run of [docker, TEXT]) {
      expect(run).toContain(`-v ${dumpsDir}:${dumpsDir}:ro`);
      expect(run).toContain('--group-add "$(getent group keepwatch | cut -d: -f3)"');
    }
  });

  test('never ADDs a URL (nor anything: COPY only), and every COPY source exists and is not dockerignored', () => {
    const all = df.getInstructions();
    expect(all.filter((i) => i.getKeyword() === 'ADD').map(args)).toEqual([]);
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
    for (const c of all.filter((i) => i.getKeyword() === 'COPY')) {
      const parts = args(c).split(/\s+/);
      if (parts[0].startsWith('--from=')) continue;
      for (const src of parts.slice(0, -1)) {
        expect({ src, exists: existsSync(join(ROOT, src)) }).toEqual({ src, exists: true });
        const top = src.split('/')[0];
        expect({ src, ignored: ignore.includes(top) || ignore.includes(src) }).toEqual({ src, ignored: false });
      }
    }
  });

  test('.dockerignore keeps node_modules, dist, .git and tests out of the build context', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', '.git', 'test']) expect(ignore).toContain(p);
  });

  test('the HEALTHCHECK command succeeds against a running agent and fails when none answers', async () => {
    const hc = stages().at(-1)!.find((i) => i.getKeyword() === 'HEALTHCHECK')!;
    const js = JSON.parse(/CMD (\[.*\])$/s.exec(args(hc))![1]) as string[];
    expect(js.slice(0, 2)).toEqual(['node', '-e']);
    const agent = await startInProcessAgent({ modules: [coreModule] });
    try {
      const port = new URL(agent.url).port;
      // Async: the agent answers from this process's event loop.
      await expect(run(js[2].replace(':9723/', `:${port}/`))).resolves.toBe(0);
    } finally {
      await agent.stop();
    }
    await expect(run(js[2].replace(':9723/', ':1/'))).resolves.toBe(1);
  });
});
