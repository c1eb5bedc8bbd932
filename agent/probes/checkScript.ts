// The keepalived exporter's per-VIP check script (--ka.check-script, keepalived_check_script_status):
// an operator's script run once per VIP with the VIP as keepalived writes it (10.1.0.1/24) as its
// last argument; exit 0 is good, anything else (a non-zero exit, killed at its timeout, not
// startable) is bad. Where the Go exporter runs `sh -c "<script> <vip>"` at every scrape, here:
// no shell (the VIP is one argument, never shell text), one run of the script at a time, each
// killed at its timeout, its output bounded, a minimal environment (the agent's may hold the
// secrets its config expands), and the results kept for `interval`, so a scrape flood forks no
// flood. A scrape waits for a run only for a VIP never checked yet, or for results older than two
// intervals (nobody scraped for a while); otherwise it gets the last results while a run that
// refreshes them goes on in the background.
import type { Logger } from 'pino';
import type { Clock } from '../context';
import { runCommand, type CommandResult, type CommandRunner } from './runCommand';

export interface CheckScriptOptions {
  /** The script and its own arguments; the VIP is appended. */
  command: string[];
  timeoutMs: number;
  /** How long results are served before a scrape starts a new run. */
  intervalMs: number;
  clock: Clock;
  log: Logger;
  run?: CommandRunner;
  /** The script's whole environment (default: PATH and LANG only). */
  env?: NodeJS.ProcessEnv;
}

export interface CheckScript {
  /** Each VIP's result (true: the script exited 0), running the script first when needed (see above). */
  statuses(vips: readonly string[]): Promise<ReadonlyMap<string, boolean>>;
  /** True when statuses(vips) would start a run: the results are stale or miss a VIP. */
  due(vips: readonly string[]): boolean;
  /** Changes whenever a run has finished (a collector's revision). */
  generation(): number;
  /** Kills a run in flight; no run starts after. */
  close(): void;
}

/** Bytes of the script's stdout and stderr kept (for the log line of a failure). */
const MAX_OUTPUT_BYTES = 4096;
const DEFAULT_ENV: NodeJS.ProcessEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

/** Why a run counts as bad, for the log: never the output in full. */
function failure(r: CommandResult, timedOut: boolean): string {
  if (timedOut) return 'killed at its timeout';
  if (r.error) return r.error;
  if (r.signal) return `killed by ${r.signal}`;
  const said = (r.stderr || r.stdout).trim().split('\n')[0]?.slice(0, 200);
  return `exit code ${r.code}${said ? `: ${said}` : ''}`;
}

export function createCheckScript(o: CheckScriptOptions): CheckScript {
  const run = o.run ?? runCommand;
  let results = new Map<string, boolean>();
  /** When the run that made `results` started. */
  let resultsAt = -Infinity;
  let gen = 0;
  let inflight: Promise<void> | undefined;
  let current: AbortController | undefined;
  let closed = false;

  const missing = (vips: readonly string[]) => vips.some((v) => !results.has(v));
  const age = () => o.clock.now() - resultsAt;

  async function runOne(vip: string): Promise<boolean> {
    const ac = new AbortController();
    current = ac;
    let timedOut = false;
    const timer = o.clock.setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, o.timeoutMs);
    try {
      const r = await run([...o.command, vip], { signal: ac.signal, maxBytes: MAX_OUTPUT_BYTES, env: o.env ?? DEFAULT_ENV, processGroup: true });
      const ok = r.code === 0 && !timedOut;
      if (!ok && results.get(vip) !== false && !closed) o.log.warn({ vip, why: failure(r, timedOut) }, 'check script failed for a VIP');
      if (ok && results.get(vip) === false) o.log.info({ vip }, 'check script succeeds again for a VIP');
      return ok;
    } finally {
      o.clock.clearTimeout(timer);
      current = undefined;
    }
  }

  /** One run: every VIP in turn (never two scripts at once); VIPs gone since drop out. */
  async function runAll(vips: readonly string[]): Promise<void> {
    const startedAt = o.clock.now();
    const next = new Map<string, boolean>();
    for (const vip of new Set(vips)) {
      if (closed) return;
      next.set(vip, await runOne(vip));
    }
    results = next;
    resultsAt = startedAt;
    gen++;
  }

  const api: CheckScript = {
    due: (vips) => !closed && !inflight && (missing(vips) || age() >= o.intervalMs),
    generation: () => gen,
    async statuses(vips) {
      const wait = missing(vips) || age() >= 2 * o.intervalMs;
      if (api.due(vips)) inflight = runAll([...vips]).finally(() => (inflight = undefined));
      if (inflight && wait) await inflight;
      return results;
    },
    close() {
      closed = true;
      current?.abort();
    },
  };
  return api;
}
