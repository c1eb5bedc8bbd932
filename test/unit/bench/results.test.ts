// bench/RESULTS.md's generated tables come from the committed JSON of the runs they quote, and the
// idle CPU of the agent counts the children it starts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { regenerate } from '../../../bench/results';
import { procTreeCpu } from '../../../bench/procTree';
import { REPO } from '../../../bench/lib';

const hookRun = {
  bench: 'hookLatency',
  machine: { date: '2026-12-02T17:16:28.101Z', startedAt: '2026-12-02T17:16:23.685Z', loadavgAtStart: [2.49, 3.31, 2.41], loadavg: [2.37, 3.28, 2.4], gitHead: 'abc1234', node: 'v20.20.2', nproc: 2 },
  options: { runs: 200 },
  agentUp: { p50: 7.66, p95: 10.1, p99: 13.87, max: 19.12 },
  agentDown: { p50: 10.7, p95: 20.2, p99: 61.09, max: 80.56 },
  countedWhileUp: 205,
  calls: 205,
};

describe('bench/results.ts', () => {
  it('rewrites a generated block from its JSON and leaves the prose around it alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-results-'));
    writeFileSync(join(dir, 'hookLatency.json'), JSON.stringify(hookRun));
    const text = 'prose before\n\n<!-- generated: hookLatency -->\n| stale | 26.79 |\n<!-- /generated -->\n\nprose after\n';
    const r = regenerate(text, dir);
    expect(r.missing).toEqual([]);
    expect(r.text).toContain('| up (record over the Unix socket) | 7.66 | 10.10 | **13.87** | 19.12 | 205 of 205 (incl. warm-up) |');
    expect(r.text).not.toContain('26.79');
    expect(r.text).toContain('load average (1/5/15 min) 2.49/3.31/2.41 at the start, 2.37/3.28/2.4 at the end');
    expect(r.text.startsWith('prose before\n\n<!-- generated: hookLatency -->\n')).toBe(true);
    expect(r.text.endsWith('<!-- /generated -->\n\nprose after\n')).toBe(true);
    expect(regenerate(r.text, dir).text).toBe(r.text);
  });

  it('names a block whose JSON is missing, and one it does not know, and keeps both as they are', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-results-'));
    const text = '<!-- generated: idleCpu -->\nold\n<!-- /generated -->\n<!-- generated: nosuch -->\nx\n<!-- /generated -->\n';
    const r = regenerate(text, dir);
    expect(r.missing).toEqual(['idleCpu (idleCpu.json)']);
    expect(r.unknown).toEqual(['nosuch']);
    expect(r.text).toBe(text);
  });

  it('bench/RESULTS.md holds what bench/out-committed/ says', () => {
    const text = readFileSync(join(REPO, 'bench/RESULTS.md'), 'utf8');
    const r = regenerate(text);
    expect({ missing: r.missing, unknown: r.unknown }).toEqual({ missing: [], unknown: [] });
    expect(r.text).toBe(text);
  });
});

describe('bench/procTree.ts', () => {
  it("counts the CPU of a child that ran and was reaped within the window, which the parent's own utime+stime does not hold", async () => {
    const p = spawn('sh', ['-c', 'read _; timeout 0.3 sh -c "while :; do :; done"; read _'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const before = procTreeCpu(p.pid!)!;
      p.stdin!.write('\n'); // the busy child runs, exits and is reaped by sh
      await new Promise((r) => setTimeout(r, 1000));
      const after = procTreeCpu(p.pid!)!;
      expect(after.rootCpuSec - before.rootCpuSec).toBeLessThan(after.cpuSec - before.cpuSec);
      expect(after.children).toEqual([]);
    } finally {
      p.kill();
    }
  });
});
