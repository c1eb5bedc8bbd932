#!/usr/bin/env node
// Writes build-info.json (revision, branch, build date) for keepwatch_build_info and --version:
// run by `npm run build` before tsc (an argument: the directory to write it in, for tests). Outside a git checkout (a source tarball) the fields are
// 'unknown'; the agent also says 'unknown' when the file is absent (running from source).
'use strict';
const { execFileSync } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
function git(...args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

const info = {
  revision: git('rev-parse', 'HEAD'),
  branch: git('rev-parse', '--abbrev-ref', 'HEAD'),
  buildDate: new Date().toISOString(),
};
writeFileSync(join(process.argv[2] ?? root, 'build-info.json'), JSON.stringify(info, null, 2) + '\n');
