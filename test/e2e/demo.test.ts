// The demo (npm run demo) set up, walked through and torn down: the pager prints the failover and
// the split brain, and no namespace is left behind.
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describeLab } from '../helpers/needs';

jest.setTimeout(180_000);

describeLab('npm run demo', () => {
  test('walks through a failover and a split brain, pages arrive, then tears everything down', async () => {
    const repo = resolve(__dirname, '../..');
    const child = spawn(process.execPath, [resolve(repo, 'node_modules/tsx/dist/cli.mjs'), 'demo/demo.ts', '--once', '--id', 'demot'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const code = await new Promise<number | null>((res) => {
      const t = setTimeout(() => child.kill('SIGINT'), 170_000);
      child.on('exit', (c) => {
        clearTimeout(t);
        res(c);
      });
    });
    expect(out).toMatch(/status page http:\/\/127\.0\.0\.1:\d+\//);
    expect(out).toMatch(/PAGE FIRING {3}Failover \[warning\]/);
    expect(out).toMatch(/PAGE FIRING {3}SplitBrain \[critical\] vrid=51/);
    expect(out).toMatch(/PAGE RESOLVED SplitBrain/);
    expect(out).toMatch(/tearing down the lab/);
    expect(code).toBe(0);
    const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    expect(ns).not.toMatch(/kw-demot-/);
  });
});
