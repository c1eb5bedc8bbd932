// The counters source: asks keepalived for its dumps on an interval (and on demand), waits until
// each file is completely written, parses it and emits instance / counters / script events.
// Requests go over D-Bus (PrintData, PrintStats: no signal, no pid needed) or as signals to the pid
// in keepalived's pid file (USR1 data, USR2 stats, --signum=JSON for the JSON dump, which D-Bus
// cannot ask for). Files are read from the configured dir, else keepalived's own /tmp through
// /proc/<pid>/root/tmp (systemd PrivateTmp, containers), else /tmp.
//
// keepalived writes them in place, not atomically: a file counts only once it is newer than before
// the request, its size and mtime held still between two reads, and it parses as complete.
// This source never says anything about keepalived being up or down: a missing or half-written
// dump is this source's problem, not a reason for keepalived_up 0. A dump the agent may not read
// makes the source down with a reason naming the file, its owner and mode and the missing
// permission (dumpPermission.ts), not a silent timeout.
import { constants as fsConstants } from 'fs';
import { access, readFile, stat } from 'fs/promises';
import path from 'path';
import type { NodeEvent } from '../state/types';
import { dumpPermissionError, processIdentity, type Identity, type Ownership } from './dumpPermission';
import { keepalivedSignalRefusal, readPidFile } from './keepalivedPid';
import type { DumpParseOptions, DumpParseResult } from './parse/dumpCommon';
import { parseDumpData } from './parse/dumpData';
import { parseDumpJson } from './parse/dumpJson';
import { parseDumpStats } from './parse/dumpStats';
import { RetryBackoff, type BackoffOptions } from '../backoff';
import { errText } from '../errors';
import type { Source, SourceEnv, SourceFactory } from './source';
import type { SourceReporter } from './sourceReporter';

export type DumpKind = 'data' | 'stats' | 'json';

type FileStat = { mtimeMs: number; size: number; ino: number } & Partial<Ownership>;

export interface DumpsFs {
  /** uid, gid and mode name the owner in a permission error; a fake may leave them out. */
  stat(p: string): Promise<FileStat>;
  readFile(p: string): Promise<string>;
  /** Resolves when the directory can be read. */
  accessDir(p: string): Promise<void>;
}

export interface DumpRequester {
  printData(): Promise<void>;
  printStats(): Promise<void>;
}

export interface DumpsSourceOptions {
  /** keepalived.dumps.method. dbus: PrintData/PrintStats over D-Bus (JSON still by signal), by
   *  signal when a D-Bus call fails or there is no D-Bus (`dbus` unset: keepalived.dbus_enabled is
   *  false); signal: USR1/USR2/JSON signal. */
  method: 'dbus' | 'signal';
  /** Which dumps each cycle reads. Default: over D-Bus -> data, stats; by signal -> json, data. */
  kinds?: DumpKind[];
  /** Between cycles, ms (default 15 s). */
  intervalMs?: number;
  /** keepalived's (parent) pid file: where signals go and whose /tmp is read. */
  pidFile: string;
  /** Directory keepalived writes keepalived.{data,stats,json} to. Default: /proc/<pid>/root/tmp, else /tmp. */
  dir?: string;
  /** The D-Bus source (or anything that can ask keepalived for PrintData/PrintStats); unset when keepalived.dbus_enabled is false. */
  dbus?: DumpRequester;
  /** Signal number of keepalived's JSON dump (`keepalived --signum=JSON`; 36 on Debian's 2.2.7). */
  jsonSignal?: number;
  /** Put VRRP state in instance events (off: pushed sources are fresher; see DumpParseOptions). */
  withState?: boolean;
  /** How often to look at a requested file, and how long to wait for it, ms. */
  pollMs?: number;
  timeoutMs?: number;
  backoff?: BackoffOptions;
  sendSignal?: (pid: number, signal: NodeJS.Signals | number) => void;
  readPid?: (pidFile: string) => Promise<number | undefined>;
  /** Why the pid must not be signalled (not keepalived, or a reused pid), or undefined: keepalivedSignalRefusal by default. */
  checkPid?: (pid: number, pidFile: string) => Promise<string | undefined>;
  fs?: DumpsFs;
  /** Who the agent runs as, for permission errors (default: this process). */
  identity?: () => Identity;
  /** /proc (tests point it elsewhere). */
  procRoot?: string;
}

export interface DumpOutcome {
  kind: DumpKind;
  ok: boolean;
  file?: string;
  instances?: number;
  error?: string;
}

const FILE_OF: Record<DumpKind, string> = { data: 'keepalived.data', stats: 'keepalived.stats', json: 'keepalived.json' };
const PARSER_OF: Record<DumpKind, (text: string, o: DumpParseOptions) => DumpParseResult> = {
  data: parseDumpData,
  stats: parseDumpStats,
  json: parseDumpJson,
};

const defaultFs: DumpsFs = {
  stat: async (p) => {
    const s = await stat(p);
    return { mtimeMs: s.mtimeMs, size: s.size, ino: s.ino, uid: s.uid, gid: s.gid, mode: s.mode };
  },
  readFile: (p) => readFile(p, 'utf8'),
  accessDir: (p) => access(p, fsConstants.R_OK | fsConstants.X_OK),
};

const errCode = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;

/** How to get dumps over D-Bus again after a D-Bus call failed. */
const DBUS_FIX = "for D-Bus, keepalived needs enable_dbus and the agent's user the D-Bus policy (deploy/dbus/keepwatch-keepalived.conf); keepwatch_source_up{source=\"dbus\"} says whether the agent is connected";
const DBUS_OFF_FIX = 'for D-Bus, set keepalived.dbus_enabled: true (keepalived needs enable_dbus)';

/**
 * The error of a signal keepalived (root) refused: with dumps.method dbus, what was configured,
 * why it was not used, what was done instead and how to get D-Bus back; with signal, the way
 * without root.
 */
function signalRefusedText(e: unknown, sig: string, fallback: { why: string; fix: string } | undefined): string {
  const text = errText(e);
  if (errCode(e) !== 'EPERM') return text;
  if (!fallback) return `${text} (signalling keepalived, a root process, needs root or CAP_KILL; keepalived.dumps.method: dbus needs neither)`;
  return `keepalived.dumps.method is dbus, but ${fallback.why}, so the dump was asked for by signal (${sig}) instead, and that needs root or CAP_KILL (${text}); ${fallback.fix}`;
}

const SIGNAL_NAME: Record<DumpKind, string> = { data: 'SIGUSR1', stats: 'SIGUSR2', json: 'the JSON signal' };

const ownership = (s: Partial<Ownership> | undefined): Ownership | undefined =>
  s && s.uid !== undefined && s.gid !== undefined && s.mode !== undefined ? { uid: s.uid, gid: s.gid, mode: s.mode } : undefined;

export class DumpsSource implements Source {
  readonly name = 'dumps' as const;
  private readonly log: SourceEnv['log'];
  private readonly clock: SourceEnv['clock'];
  private readonly kinds: DumpKind[];
  private readonly intervalMs: number;
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private readonly jsonSignal: number;
  private readonly backoff: RetryBackoff;
  private readonly fs: DumpsFs;
  private readonly procRoot: string;
  private readonly identity: () => Identity;
  private readonly sendSignal: (pid: number, signal: NodeJS.Signals | number) => void;
  private readonly readPid: (pidFile: string) => Promise<number | undefined>;
  private readonly checkPid: (pid: number, pidFile: string) => Promise<string | undefined>;
  private running = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<DumpOutcome[]> | undefined;
  private readonly report: SourceReporter;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly opts: DumpsSourceOptions, env: SourceEnv) {
    this.log = env.log;
    this.clock = env.clock;
    this.report = env.report;
    this.kinds = opts.kinds ?? (opts.method === 'dbus' && opts.dbus ? ['data', 'stats'] : ['json', 'data']);
    this.intervalMs = opts.intervalMs ?? 15_000;
    this.pollMs = opts.pollMs ?? 100;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.jsonSignal = opts.jsonSignal ?? 36;
    this.backoff = new RetryBackoff({ initialMs: 1000, maxMs: this.intervalMs, ...opts.backoff });
    this.fs = opts.fs ?? defaultFs;
    this.procRoot = opts.procRoot ?? '/proc';
    this.identity = opts.identity ?? processIdentity;
    this.sendSignal = opts.sendSignal ?? ((pid, sig) => process.kill(pid, sig));
    this.readPid = opts.readPid ?? readPidFile;
    this.checkPid = opts.checkPid ?? ((pid, pidFile) => keepalivedSignalRefusal(pid, pidFile, this.procRoot));
  }

  /** Starts the cycle (the first runs at once, in the background); never throws. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    if (this.opts.method === 'dbus' && !this.opts.dbus) {
      this.report.once('dbus-off', () => this.log.warn(`keepalived.dumps.method is dbus, but keepalived.dbus_enabled is false: asking keepalived for its dumps by signal instead, which needs root or CAP_KILL; ${DBUS_OFF_FIX}`));
    }
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const wake of this.waiters) wake();
    if (this.inflight) await this.inflight.catch(() => undefined);
  }

  /** One cycle now (joins the one in flight): request, wait, parse and emit every configured dump. */
  refresh(): Promise<DumpOutcome[]> {
    if (!this.inflight) {
      this.inflight = this.cycle().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.refresh().then(
        (outcomes) => this.schedule(outcomes.some((o) => o.ok) ? this.intervalMs : Math.min(this.intervalMs, this.backoff.next())),
        () => this.schedule(Math.min(this.intervalMs, this.backoff.next())),
      );
    }, delayMs);
  }

  private async cycle(): Promise<DumpOutcome[]> {
    const pid = await this.readPid(this.opts.pidFile).catch(() => undefined);
    const dir = await this.resolveDir(pid);
    const outcomes: DumpOutcome[] = [];
    for (const kind of this.kinds) {
      outcomes.push(await this.fetch(kind, pid, dir));
    }
    if (outcomes.some((o) => o.ok)) {
      this.backoff.reset();
      this.report.up();
    } else if (outcomes.length) {
      this.report.down(outcomes.map((o) => `${o.kind}: ${o.error}`).join('; '));
    }
    return outcomes;
  }

  private async resolveDir(pid: number | undefined): Promise<string> {
    if (this.opts.dir) return this.opts.dir;
    if (pid !== undefined) {
      const own = path.join(this.procRoot, String(pid), 'root', 'tmp');
      try {
        await this.fs.accessDir(own);
        return own;
      } catch {
        this.report.once(`proc-tmp:${pid}`, () => this.log.info({ dir: own }, 'cannot read keepalived\'s own /tmp; reading /tmp'));
      }
    }
    return '/tmp';
  }

  private async fetch(kind: DumpKind, pid: number | undefined, dir: string): Promise<DumpOutcome> {
    const file = path.join(dir, FILE_OF[kind]);
    let before: FileStat | undefined;
    try {
      before = await this.fs.stat(file);
    } catch (e) {
      // The directory itself shuts the agent out: no dump written there could be read.
      if (errCode(e) === 'EACCES') return { kind, ok: false, file, error: dumpPermissionError(dir, 'search', this.identity(), ownership(await this.fs.stat(dir).catch(() => undefined))) };
    }
    try {
      await this.request(kind, pid);
    } catch (e) {
      return { kind, ok: false, file, error: `requesting the dump failed: ${errText(e)}` };
    }
    const deadline = this.clock.now() + this.timeoutMs;
    let prev: FileStat | undefined;
    let lastBad: DumpParseResult | undefined;
    let lastErr: string | undefined;
    for (;;) {
      await this.sleep(this.pollMs);
      if (this.stopped) return { kind, ok: false, file, error: 'stopped' };
      let st: FileStat | undefined;
      try {
        st = await this.fs.stat(file);
      } catch (e) {
        lastErr = errText(e);
      }
      const fresh = st !== undefined && (!before || st.ino !== before.ino || st.mtimeMs > before.mtimeMs);
      const stable = fresh && prev !== undefined && st!.size === prev.size && st!.mtimeMs === prev.mtimeMs && st!.ino === prev.ino;
      prev = st;
      if (stable) {
        let text: string;
        try {
          text = await this.fs.readFile(file);
        } catch (e) {
          if (errCode(e) === 'EACCES') return { kind, ok: false, file, error: dumpPermissionError(file, 'read', this.identity(), ownership(st)) };
          return { kind, ok: false, file, error: `reading ${file}: ${errText(e)}` };
        }
        const result = PARSER_OF[kind](text, { at: Math.round(st!.mtimeMs), withState: this.opts.withState });
        if (result.complete) {
          for (const ev of result.events) this.report.emit(ev);
          return { kind, ok: true, file, instances: result.instances };
        }
        // Still being written, or cut for good: look again until the deadline.
        lastBad = result;
      }
      if (this.clock.now() >= deadline) break;
    }
    if (lastBad) {
      // It held still and stayed incomplete: report it (once per cycle, not per look).
      for (const ev of lastBad.events) if (ev.kind === 'parse_error') this.report.emit(ev);
      return { kind, ok: false, file, error: `${FILE_OF[kind]} stayed incomplete` };
    }
    const why = lastErr && !prev ? ` (${lastErr})` : '';
    return { kind, ok: false, file, error: `keepalived did not write ${file} within ${this.timeoutMs} ms${why}` };
  }

  private async request(kind: DumpKind, pid: number | undefined): Promise<void> {
    // Why a dump is asked for by signal although dumps.method is dbus.
    let fallback: { why: string; fix: string } | undefined;
    if (this.opts.method === 'dbus') {
      if (!this.opts.dbus) fallback = { why: 'keepalived.dbus_enabled is false', fix: DBUS_OFF_FIX };
      else if (kind === 'json') fallback = { why: 'D-Bus cannot ask for the JSON dump', fix: 'over D-Bus the agent reads the data and stats dumps, which need no signal' };
      else {
        const call = kind === 'data' ? 'PrintData' : 'PrintStats';
        try {
          await (kind === 'data' ? this.opts.dbus.printData() : this.opts.dbus.printStats());
          return;
        } catch (e) {
          if (pid === undefined) throw e;
          fallback = { why: `${call} over D-Bus failed (${errText(e)})`, fix: DBUS_FIX };
          this.report.once(`dbus-fallback:${kind}`, () =>
            this.log.warn({ err: errText(e) }, `keepalived.dumps.method is dbus, but ${call} over D-Bus failed: asking keepalived by signal (${SIGNAL_NAME[kind]}) instead, which needs root or CAP_KILL; ${DBUS_FIX}`),
          );
        }
      }
    }
    if (pid === undefined) throw new Error(`no keepalived pid (pid file ${this.opts.pidFile})`);
    const refusal = await this.checkPid(pid, this.opts.pidFile);
    if (refusal) throw new Error(refusal);
    const sig: NodeJS.Signals | number = kind === 'data' ? 'SIGUSR1' : kind === 'stats' ? 'SIGUSR2' : this.jsonSignal;
    try {
      this.sendSignal(pid, sig);
    } catch (e) {
      throw new Error(signalRefusedText(e, SIGNAL_NAME[kind], fallback));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.clock.clearTimeout(t);
        this.waiters.delete(wake);
        resolve();
      };
      const t = this.clock.setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }
}

export const dumpsSource: SourceFactory<DumpsSourceOptions, DumpsSource> = (opts, env) => new DumpsSource(opts, env);
