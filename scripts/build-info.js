#!/usr/bin/env node
// Writes agent/buildInfo.json (read by agent/version.ts) from git: the revision, the branch, who
// built and when, in prometheus/common's formats. Run by `npm run build`; outside a git checkout
// (a tarball) the fields it cannot know are left out and read as 'unknown'.
'use strict';
const { execFileSync } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// Where to write (default this checkout): a directory holding agent/ (tests write elsewhere).
const outRoot = process.argv[2] ? path.resolve(process.argv[2]) : root;
const git = (...args) => {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
};
const pad = (n) => String(n).padStart(2, '0');
const d = new Date(process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) * 1000 : Date.now());
const info = {
  revision: process.env.KEEPWATCH_REVISION || git('rev-parse', 'HEAD'),
  branch: process.env.KEEPWATCH_BRANCH || git('rev-parse', '--abbrev-ref', 'HEAD'),
  buildUser: `${os.userInfo().username}@${os.hostname()}`,
  // prometheus/common's layout: 20060102-15:04:05, UTC.
  buildDate: `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
};
const out = path.join(outRoot, 'agent', 'buildInfo.json');
writeFileSync(out, `${JSON.stringify(info, null, 2)}\n`);
process.stdout.write(`${out}: ${info.branch ?? '?'} ${info.revision ?? '?'} ${info.buildDate}\n`);
