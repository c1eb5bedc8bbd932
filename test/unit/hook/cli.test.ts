// keepwatch notify / hook check / hook install, run in-process through the real CLI.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hookSource } from '../../../agent/sources/hookSource';
import { sourceEnv } from '../../../agent/sources/source';
import { systemClock } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import { checkHook } from '../../../agent/hook/check';
import type { NodeEvent } from '../../../agent/state/types';
import { runCli } from '../../helpers/runCli';

const cli = runCli;

describe('keepwatch notify', () => {
  let dir: string;
  let spool: string;
  let sock: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kwcli-'));
    spool = path.join(dir, 'spool');
    sock = path.join(dir, 'hook.sock');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('agent up: handed over the socket and in the store when the command returns', async () => {
    const events: NodeEvent[] = [];
    const src = hookSource({ spoolDir: spool, socketPath: sock }, sourceEnv({ apply: (e) => events.push(e) }, { clock: systemClock, log: silentLogger() }, 'hook'));
    await src.start();
    try {
      const r = await cli('notify', '--spool', spool, '--socket', sock, 'INSTANCE', 'VI_1', 'master', '150');
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out).toMatch(/handed to the agent/);
      expect(events.filter((e) => e.kind === 'transition')).toEqual([expect.objectContaining({ iname: 'VI_1', state: 'MASTER', priority: 150, source: 'hook', seq: process.pid })]);
      const g = await cli('notify', '--spool', spool, '--socket', sock, '--state', 'FAULT', 'GROUP', 'G1');
      expect(g.code).toBe(0);
      expect(events.find((e) => e.kind === 'group')).toMatchObject({ group: 'G1', state: 'FAULT' });
    } finally {
      await src.stop();
    }
  });

  test('agent down: spooled as a record the agent ingests', async () => {
    const r = await cli('notify', '--spool', spool, '--socket', sock, 'INSTANCE', 'VI_1', 'BACKUP');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/spooled as/);
    const files = fs.readdirSync(spool).filter((n) => n.endsWith('.rec'));
    expect(files).toHaveLength(1);
    expect(fs.readFileSync(path.join(spool, files[0]), 'utf8')).toMatch(/^v1 \d+ \d+ INSTANCE VI_1 BACKUP -\n$/);
  });

  test.each([[['INSTANCE', 'VI_1']], [['--state', 'MASTER', 'INSTANCE']], [['INSTANCE', 'VI_1', 'UP']], [['--frobnicate', 'INSTANCE', 'VI_1', 'MASTER']], [['INSTANCE', 'VI_1', 'MASTER', '300']]])('bad arguments %j: exit 2, usage, raw arguments spooled', async (args) => {
    const r = await cli('notify', '--spool', spool, '--no-socket', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^keepwatch notify: .+\nusage: keepwatch notify/);
    const bad = fs.readdirSync(spool).filter((n) => n.endsWith('.bad'));
    expect(bad).toHaveLength(1);
    const text = fs.readFileSync(path.join(spool, bad[0]), 'utf8');
    for (const a of args) expect(text).toContain(`\n${a}\n`);
  });
});

describe('keepwatch hook check / install', () => {
  test('rules: non-root owner, group/world-writable file or directory, not executable, all reported', () => {
    const stats: Record<string, Partial<fs.Stats>> = {
      '/opt/kw/bin/hook': { uid: 1000, gid: 1000, mode: 0o100666, isFile: () => true },
      '/opt/kw/bin': { uid: 0, gid: 50, mode: 0o40775 },
      '/opt/kw': { uid: 0, gid: 0, mode: 0o40777 },
      '/opt': { uid: 0, gid: 0, mode: 0o40755 },
      '/': { uid: 0, gid: 0, mode: 0o40755 },
    };
    const fakeFs = {
      realpathSync: ((p: string) => p) as unknown as typeof fs.realpathSync,
      statSync: ((p: string) => {
        const s = stats[p];
        if (!s) throw new Error(`ENOENT ${p}`);
        return s;
      }) as unknown as typeof fs.statSync,
      lstatSync: fs.lstatSync,
      readFileSync: (() => '#!/bin/sh\n') as unknown as typeof fs.readFileSync,
    };
    const msgs = checkHook({ hookPath: '/opt/kw/bin/hook', fs: fakeFs }).map((f) => `${f.level} ${f.message}`);
    expect(msgs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^error \/opt\/kw\/bin\/hook: not executable/),
        expect.stringMatching(/^error \/opt\/kw\/bin\/hook is owned by uid 1000/),
        expect.stringMatching(/^error \/opt\/kw\/bin\/hook is world-writable/),
        expect.stringMatching(/^error \/opt\/kw\/bin is group-writable by gid 50/),
        expect.stringMatching(/^error \/opt\/kw is world-writable/),
      ]),
    );
    expect(msgs.some((m) => m.startsWith('ok'))).toBe(false);
  });

  test('a missing hook is an error that says how to install it', async () => {
    const r = await cli('hook', 'check', '--path', '/nonexistent/keepwatch-notify', '--no-conf');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not found.*keepwatch hook install/);
  });
});
