// Runs the real POSIX sh notify hook (agent/hook/keepwatch-notify) the way keepalived does.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';

export const HOOK_PATH = path.resolve(__dirname, '../../agent/hook/keepwatch-notify');

/**
 * The hook installed where a lab's keepalived can run it, as an operator installs it (root-owned,
 * 0755, outside the checkout): the lab runs keepalived with a private /tmp, so a checkout under
 * /tmp (where CI may clone) is invisible to it.
 */
export function installLabHook(dir = '/run/kwlab/bin'): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const dest = path.join(dir, 'keepwatch-notify');
  copyFileSync(HOOK_PATH, dest);
  chmodSync(dest, 0o755);
  return dest;
}

export interface HookRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runHook(args: string[], env: Record<string, string> = {}, timeoutMs = 10_000): Promise<HookRun> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    execFile(HOOK_PATH, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    });
  });
}

/** Runs fn over items with at most `limit` in flight. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}
