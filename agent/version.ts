// What this build is: the version from package.json (so `keepwatch --version`, the User-Agent and
// keepwatch_build_info agree), and revision, branch, build user and date from agent/buildInfo.json,
// which `npm run build` writes from git (scripts/build-info.js). Each is 'unknown' when that file is
// absent (running from source without a build, or built outside a git checkout).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BuildInfo {
  version: string;
  revision: string;
  branch: string;
  buildUser: string;
  buildDate: string;
}

/** The generated file's name, next to this module in the source tree (agent/). */
export const BUILD_INFO_FILE = 'buildInfo.json';

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const text = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : 'unknown');

/**
 * Reads package.json and agent/buildInfo.json. `root`: the repository root (tests); by default
 * found from this file, which is agent/version.ts under ts-jest and dist/agent/version.js built.
 */
export function readBuildInfo(root?: string): BuildInfo {
  const roots = root !== undefined ? [root] : [join(__dirname, '..'), join(__dirname, '../..')];
  const first = (rel: string) => roots.map((r) => readJson(join(r, rel))).find((j) => j !== undefined);
  const pkg = first('package.json');
  const build = first(join('agent', BUILD_INFO_FILE));
  return { version: text(pkg?.version), revision: text(build?.revision), branch: text(build?.branch), buildUser: text(build?.buildUser), buildDate: text(build?.buildDate) };
}

/** `keepwatch --version`, laid out as Prometheus's tools print theirs (prometheus/common version.Print). */
export function versionText(b: BuildInfo, runtime: { nodeVersion: string; platform: string; arch: string }): string {
  const arch = runtime.arch === 'x64' ? 'amd64' : runtime.arch;
  return [
    `keepwatch, version ${b.version} (branch: ${b.branch}, revision: ${b.revision})`,
    `  build user:       ${b.buildUser}`,
    `  build date:       ${b.buildDate}`,
    `  node version:     ${runtime.nodeVersion}`,
    `  platform:         ${runtime.platform}/${arch}`,
  ].join('\n');
}

export const BUILD = readBuildInfo();

/** `keepwatch --version` for this build on the node running it. */
export function thisVersionText(): string {
  return versionText(BUILD, { nodeVersion: process.version, platform: process.platform, arch: process.arch });
}
export const VERSION = BUILD.version;
