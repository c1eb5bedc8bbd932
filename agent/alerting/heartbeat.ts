// The heartbeat: a URL (a dead man's switch service: healthchecks, Cronitor, Dead Man's Snitch,
// Opsgenie heartbeats) pinged on a node-cron schedule while the agent runs. Unlike the Watchdog it
// does not pass through Alertmanager, so it also says the agent is alive where Alertmanager is the
// thing that is down. Pings never overlap (one still running skips the next). The URL is often the
// credential itself: it never appears in logs, errors or the API.
import type { Logger } from 'pino';
import type { HeartbeatConfig } from '../config/schema';
import type { Clock } from '../context';
import { errText } from '../errors';
import { nodeCronScheduler, type CronScheduler } from '../probes/scheduler';
import { VERSION } from '../version';
import { httpPost } from './receivers/httpPost';

export interface HeartbeatStatus {
  schedule: string;
  pings: number;
  failures: number;
  /** When the last ping ended (ms), and how. */
  lastAt?: number;
  lastOk?: boolean;
  lastError?: string;
}

export interface HeartbeatOptions {
  cfg: HeartbeatConfig;
  clock: Clock;
  log: Logger;
  cron?: CronScheduler;
}

export class Heartbeat {
  private task?: { stop(): void };
  private running?: Promise<void>;
  private abort?: AbortController;
  private readonly st: HeartbeatStatus;

  constructor(private readonly o: HeartbeatOptions) {
    this.st = { schedule: o.cfg.schedule, pings: 0, failures: 0 };
  }

  start(): void {
    if (this.task) return;
    this.task = (this.o.cron ?? nodeCronScheduler).schedule(this.o.cfg.schedule, () => void this.ping(), 'heartbeat');
  }

  async stop(): Promise<void> {
    this.task?.stop();
    this.task = undefined;
    this.abort?.abort();
    await this.running;
  }

  status(): HeartbeatStatus {
    return { ...this.st };
  }

  /** One ping (the schedule's tick); resolves when it ended. A ping still running makes this one a no-op. */
  ping(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.send().finally(() => (this.running = undefined));
    return this.running;
  }

  private async send(): Promise<void> {
    const { cfg, clock, log } = this.o;
    const ac = new AbortController();
    this.abort = ac;
    const wasOk = this.st.lastOk;
    try {
      await httpPost({ receiver: 'heartbeat', url: cfg.url, method: cfg.method, body: '', headers: { 'user-agent': `keepwatch/${VERSION}` }, timeoutMs: cfg.timeout, signal: ac.signal, clock });
      this.st.lastOk = true;
      this.st.lastError = undefined;
      if (wasOk === false) log.info('heartbeat: the ping is accepted again');
    } catch (e) {
      if (ac.signal.aborted) return; // the agent stops: not a failure of the ping
      this.st.failures++;
      this.st.lastOk = false;
      this.st.lastError = errText(e);
      // Once per outage, not once a minute.
      if (wasOk !== false) log.warn({ err: this.st.lastError }, 'heartbeat: ping failed; the dead man\'s switch will page if this lasts');
    } finally {
      this.abort = undefined;
    }
    this.st.pings++;
    this.st.lastAt = clock.now();
  }
}
