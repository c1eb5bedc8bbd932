// Every alert change an agent publishes, as a test sees it: polls the agent's /api/v1/rules
// (its recent list keeps 200 changes, so a poll every 50 ms misses none) and keeps each change
// once with when it was first seen. Used by the rules and variants e2e tests.
import type { Alert } from '../../agent/alerting/alert';
import { waitUntil, type LabAgent } from './agents';

export interface Seen {
  alert: Alert;
  /** When the poller first saw this alert change. */
  at: number;
}

/** Every alert change an agent publishes (its /api/v1/rules recent list, polled). */
export class AlertLog {
  readonly seen: Seen[] = [];
  private keys = new Set<string>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(readonly agent: LabAgent, private readonly pollMs = 50) {}

  start(): this {
    const poll = async () => {
      try {
        const r = await this.agent.getJson<{ recent: Alert[] }>('/api/v1/rules');
        const now = Date.now();
        for (const a of r.recent) {
          const k = `${a.fingerprint}|${a.status}|${a.startsAt}`;
          if (this.keys.has(k)) continue;
          this.keys.add(k);
          this.seen.push({ alert: a, at: now });
        }
      } catch {
        // restarting agent: the next poll catches up
      }
      if (!this.stopped) this.timer = setTimeout(poll, this.pollMs);
    };
    void poll();
    return this;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  events(alertname?: string, status?: Alert['status'], since = 0): Seen[] {
    return this.seen.filter((s) => (!alertname || s.alert.labels.alertname === alertname) && (!status || s.alert.status === status) && s.at >= since);
  }

  /** Names of the alerts that fired since `since`, sorted, each once. */
  fired(since = 0): string[] {
    return [...new Set(this.events(undefined, 'firing', since).map((s) => s.alert.labels.alertname))].sort();
  }

  async waitFor(alertname: string, status: Alert['status'], since: number, timeoutMs: number, match: (a: Alert) => boolean = () => true): Promise<Seen> {
    let hit: Seen | undefined;
    await waitUntil(() => (hit = this.events(alertname, status, since).find((s) => match(s.alert))), timeoutMs, 25, `${alertname} ${status} on ${this.agent.node.name}`);
    return hit!;
  }
}
