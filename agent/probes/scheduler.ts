// Runs every probe on its interval or cron schedule (node-cron), never overlapping itself: a run
// that is due while the previous one still goes is skipped and counted. Each run has a timeout
// (its AbortSignal is aborted); a throw or a timeout becomes a failed probe_run event, never an
// exception; otherwise the probe's own judge() says whether its events mean a failure. Each run's
// wall time and CPU time (process.cpuUsage delta: approximate, since other work of the agent
// interleaves with an async run) go into the probe_run event, under the probe's source.
import cron from 'node-cron';
import type { Logger } from 'pino';
import type { Clock } from '../context';
import type { NodeEvent } from '../state/types';
import { errText } from '../errors';
import type { Probe } from './probe';

export interface ScheduledProbe {
  probe: Probe;
  /** Fixed interval, ms. Ignored when schedule is set. */
  intervalMs?: number;
  /** Cron expression (node-cron syntax, optional seconds field). */
  schedule?: string;
  timeoutMs: number;
  /** Run once as soon as the scheduler starts (default true), so the state is filled without waiting a period. */
  runAtStart?: boolean;
}

/** What schedules cron jobs; node-cron by default, injectable so tests need not wait for wall-clock minutes. */
export interface CronScheduler {
  schedule(expression: string, fn: () => void, name: string): { stop(): void };
}

export const nodeCronScheduler: CronScheduler = {
  schedule(expression, fn, name) {
    // noOverlap is ours to handle (skips are counted); node-cron only triggers.
    const task = cron.schedule(expression, () => fn(), { name: `keepwatch-probe-${name}` });
    return { stop: () => void task.destroy() };
  },
};

export interface SchedulerOptions {
  clock: Clock;
  log: Logger;
  emit: (ev: NodeEvent) => void;
  cron?: CronScheduler;
  /** process.cpuUsage by default. */
  cpuUsage?: (previous?: NodeJS.CpuUsage) => NodeJS.CpuUsage;
  /** Monotonic ms for durations; performance.now by default (tests pass the fake clock's now). */
  monotonicNow?: () => number;
}

interface Entry {
  cfg: ScheduledProbe;
  running?: Promise<void>;
  /** A trigger arrived while running: run again right after (a reload while nginx -T ran). */
  rerun: boolean;
  skips: number;
  timer?: NodeJS.Timeout;
  /** An early run the probe asked for (Probe.followUpMs). */
  followUp?: NodeJS.Timeout;
  cronTask?: { stop(): void };
  abort?: AbortController;
}

export class ProbeScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly cron: CronScheduler;
  private readonly cpuUsage: (previous?: NodeJS.CpuUsage) => NodeJS.CpuUsage;
  private readonly mono: () => number;
  private started = false;
  private stopped = false;

  constructor(probes: ScheduledProbe[], private readonly opts: SchedulerOptions) {
    this.cron = opts.cron ?? nodeCronScheduler;
    this.cpuUsage = opts.cpuUsage ?? ((p) => process.cpuUsage(p));
    this.mono = opts.monotonicNow ?? (() => performance.now());
    for (const p of probes) {
      if (this.entries.has(p.probe.name)) throw new Error(`probe ${p.probe.name} scheduled twice`);
      if (!p.schedule && !(p.intervalMs && p.intervalMs > 0)) throw new Error(`probe ${p.probe.name}: needs an interval or a schedule`);
      if (p.schedule && !cron.validate(p.schedule)) throw new Error(`probe ${p.probe.name}: invalid cron schedule "${p.schedule}"`);
      this.entries.set(p.probe.name, { cfg: p, rerun: false, skips: 0 });
    }
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  /** How many runs of a probe were skipped because the previous one was still going. */
  skipped(name: string): number {
    return this.entries.get(name)?.skips ?? 0;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const e of this.entries.values()) {
      const p = e.cfg.probe;
      if (p.start) {
        try {
          await p.start((ev) => this.emit(ev));
        } catch (err) {
          // Its scheduled runs still report; a broken long-lived part must not stop the others.
          this.opts.log.error({ probe: p.name, err: errText(err) }, 'probe failed to start its long-lived part');
        }
      }
      if (e.cfg.schedule) e.cronTask = this.cron.schedule(e.cfg.schedule, () => this.tick(e), p.name);
      else e.timer = this.opts.clock.setInterval(() => this.tick(e), e.cfg.intervalMs as number);
      if (e.cfg.runAtStart ?? true) this.tick(e);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const pending: Array<Promise<void>> = [];
    for (const e of this.entries.values()) {
      if (e.timer) this.opts.clock.clearInterval(e.timer);
      if (e.followUp) this.opts.clock.clearTimeout(e.followUp);
      e.cronTask?.stop();
      e.abort?.abort(new Error('scheduler stopped'));
      if (e.running) pending.push(e.running);
      try {
        await e.cfg.probe.stop?.();
      } catch (err) {
        this.opts.log.warn({ probe: e.cfg.probe.name, err: errText(err) }, 'probe failed to stop cleanly');
      }
    }
    // Runs honour their abort signal; one that does not must not hold a reload or shutdown forever.
    let cap: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending), new Promise<void>((r) => (cap = this.opts.clock.setTimeout(r, 2000)))]);
    this.opts.clock.clearTimeout(cap);
  }

  /**
   * Runs a probe now (e.g. nginx_config right after nginx reloaded). When it is already running,
   * it runs once more right after, so the result reflects the state after the trigger.
   */
  trigger(name: string): boolean {
    const e = this.entries.get(name);
    if (!e || this.stopped) return false;
    if (e.running) {
      e.rerun = true;
      return true;
    }
    void this.runEntry(e);
    return true;
  }

  /** Runs a probe and resolves when its result is in (tests, `keepwatch` commands). Waits for a running one instead. */
  async runNow(name: string): Promise<void> {
    const e = this.entries.get(name);
    if (!e) throw new Error(`no probe ${name}`);
    if (e.running) return e.running;
    return this.runEntry(e);
  }

  private tick(e: Entry): void {
    if (this.stopped) return;
    if (e.running) {
      e.skips++;
      this.opts.log.debug({ probe: e.cfg.probe.name, skipped: e.skips }, 'probe still running at its next due time: run skipped');
      return;
    }
    void this.runEntry(e);
  }

  private emit(ev: NodeEvent): void {
    if (this.stopped) return;
    try {
      this.opts.emit(ev);
    } catch (err) {
      this.opts.log.error({ kind: ev.kind, err: errText(err) }, 'applying a probe event failed');
    }
  }

  private runEntry(e: Entry): Promise<void> {
    const run = this.execute(e).finally(() => {
      e.running = undefined;
      e.abort = undefined;
      if (e.rerun && !this.stopped) {
        e.rerun = false;
        void this.runEntry(e);
      }
    });
    e.running = run;
    return run;
  }

  private async execute(e: Entry): Promise<void> {
    const { probe, timeoutMs } = e.cfg;
    const clock = this.opts.clock;
    const ac = new AbortController();
    e.abort = ac;
    const at = clock.now();
    const t0 = this.mono();
    const cpu0 = this.cpuUsage();
    let reported = false;
    const report = (ok: boolean, reason: string | undefined) => {
      if (reported) return;
      reported = true;
      const cpu = this.cpuUsage(cpu0);
      this.emit({
        kind: 'probe_run',
        source: probe.source,
        at,
        probe: probe.name,
        ok,
        reason,
        durationMs: Math.max(0, this.mono() - t0),
        cpuMs: (cpu.user + cpu.system) / 1000,
        overlapSkips: e.skips,
      });
    };
    const timer = clock.setTimeout(() => {
      const reason = `timed out after ${timeoutMs} ms`;
      ac.abort(new ProbeTimeoutError(reason));
      report(false, reason);
    }, timeoutMs);

    let events: NodeEvent[] = [];
    let failure: string | undefined;
    try {
      const out = await probe.run(ac.signal);
      events = Array.isArray(out) ? out : [];
    } catch (err) {
      failure = ac.signal.aborted && ac.signal.reason instanceof ProbeTimeoutError ? ac.signal.reason.message : errText(err);
    } finally {
      clock.clearTimeout(timer);
    }
    // Events of a run that outlived its timeout still describe what it saw (usually the
    // failure the abort caused), so they are applied; the run itself was already reported failed.
    for (const ev of events) this.emit(ev);
    if (failure === undefined) {
      try {
        failure = probe.judge(events);
      } catch (err) {
        failure = `judging the result failed: ${errText(err)}`;
      }
    }
    report(failure === undefined, failure);
    this.followUp(e, events);
  }

  /** Schedules the early run a probe asked for; its regular runs go on as before. */
  private followUp(e: Entry, events: NodeEvent[]): void {
    let ms: number | undefined;
    try {
      ms = e.cfg.probe.followUpMs?.(events);
    } catch (err) {
      this.opts.log.warn({ probe: e.cfg.probe.name, err: errText(err) }, 'probe follow-up failed');
    }
    if (ms === undefined || this.stopped || e.followUp) return;
    e.followUp = this.opts.clock.setTimeout(() => {
      e.followUp = undefined;
      this.trigger(e.cfg.probe.name);
    }, ms);
  }
}

export class ProbeTimeoutError extends Error {
  override readonly name = 'ProbeTimeoutError';
}
