// The version comes from package.json, so `keepwatch --version` and keepwatch_build_info agree;
// revision, branch and build date from build-info.json, which `npm run build` writes from git
// (scripts/build-info.js): 'unknown' when it is absent (running from source, or no git).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The first of `names` that parses, relative to this file in either layout (ts-jest runs from
 *  source, the build from dist/). */
function readJson(name: string): Record<string, unknown> | undefined {
  for (const rel of ['..', '../..']) {
    try {
      return JSON.parse(readFileSync(join(__dirname, rel, name), 'utf8')) as Record<string, unknown>;
    } catch {
      /* try the next layout */
    }
  }
  return undefined;
}

const text = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : 'unknown');

export interface BuildInfo {
  version: string;
  revision: string;
  branch: string;
  buildDate: string;
}

/** Reads package.json and build-info.json (`dir`: the repository root, for tests). */
export function readBuildInfo(dir?: string): BuildInfo {
  const read = (name: string) => {
    if (dir === undefined) return readJson(name);
    try {
      return JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const pkg = read('package.json');
  const build = read('build-info.json');
  return { version: text(pkg?.version), revision: text(build?.revision), branch: text(build?.branch), buildDate: text(build?.buildDate) };
}

export const BUILD = readBuildInfo();
export const VERSION = BUILD.version;
