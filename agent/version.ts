// The version comes from package.json, so `keepwatch --version` and keepwatch_build_info agree.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      return (JSON.parse(readFileSync(join(__dirname, rel), 'utf8')) as { version: string }).version;
    } catch {
      /* try the next layout (ts-jest runs from source, the build from dist/) */
    }
  }
  return 'unknown';
}

export const VERSION = readVersion();
