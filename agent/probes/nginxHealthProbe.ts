// A real request to the site: GET nginx.health_url locally and, while this node holds a VIP (and
// health_via_vip), the same URL through each VIP (host replaced by the VIP, Host header kept so
// name-based virtual hosts answer as for users). 2xx/3xx is healthy. Targets run in parallel.
// Each result carries the target's failures in a row: one failed request is a blip (or an nginx
// restart's gap), NGINX_HEALTH_FAILURES_DOWN in a row is nginx down.
import type { Clock } from '../context';
import type { NodeStore } from '../state/store';
import type { NginxHealthEvent, NodeEvent } from '../state/types';
import { httpErrorText, type HttpGet } from './httpGet';
import { isIpv6 } from './ipAddress';
import type { Probe } from './probe';

export interface NginxHealthProbeOptions {
  url: string;
  viaVip: boolean;
  store: NodeStore;
  http: HttpGet;
  clock: Clock;
  /** Monotonic ms for request durations (performance.now by default). */
  monotonicNow?: () => number;
}

/** The health URL with its host replaced by the VIP (IPv6 in brackets). */
export function urlThroughVip(url: string, vip: string): string {
  const u = new URL(url);
  u.hostname = isIpv6(vip) ? `[${vip}]` : vip;
  return u.toString();
}

export class NginxHealthProbe implements Probe {
  readonly name = 'nginx_health';
  readonly source = 'nginx_probe';
  private readonly mono: () => number;
  /** Per target: failures in a row and when the first of them was seen. */
  private readonly streak = new Map<string, { failures: number; since: number }>();

  constructor(private readonly opts: NginxHealthProbeOptions) {
    this.mono = opts.monotonicNow ?? (() => performance.now());
  }

  targets(): Array<{ target: string; url: string }> {
    const out = [{ target: 'local', url: this.opts.url }];
    if (!this.opts.viaVip) return out;
    const seen = new Set<string>();
    for (const v of Object.values(this.opts.store.state.vips)) {
      if (!v.intf || seen.has(v.vip)) continue;
      seen.add(v.vip);
      out.push({ target: `vip:${v.vip}`, url: urlThroughVip(this.opts.url, v.vip) });
    }
    return out;
  }

  async run(signal: AbortSignal): Promise<NodeEvent[]> {
    const host = new URL(this.opts.url).host;
    const targets = this.targets();
    const events = await Promise.all(targets.map((t) => this.check(t.target, t.url, host, signal)));
    // A VIP no longer held is no longer a target: its streak starts afresh when it is held again.
    for (const t of [...this.streak.keys()]) if (!targets.some((x) => x.target === t)) this.streak.delete(t);
    return events.map((ev) => this.counted(ev));
  }

  /** The first target that did not answer 2xx/3xx fails the run. */
  judge(events: NodeEvent[]): string | undefined {
    for (const ev of events) if (ev.kind === 'nginx_health' && !ev.up) return `${ev.target}: ${ev.reason ?? `status ${ev.statusCode ?? 'none'}`}`;
    return undefined;
  }

  private counted(ev: NginxHealthEvent): NginxHealthEvent {
    if (ev.up) {
      this.streak.delete(ev.target);
      return { ...ev, failures: 0 };
    }
    const s = this.streak.get(ev.target) ?? { failures: 0, since: ev.at };
    s.failures++;
    this.streak.set(ev.target, s);
    return { ...ev, failures: s.failures, failingSince: s.since };
  }

  private async check(target: string, url: string, host: string, signal: AbortSignal): Promise<NginxHealthEvent> {
    const t0 = this.mono();
    const base = { kind: 'nginx_health' as const, source: 'nginx_probe' as const, target };
    try {
      const res = await this.opts.http(url, { signal, headers: { host }, maxBytes: 1024 });
      const up = res.status >= 200 && res.status < 400;
      return { ...base, at: this.opts.clock.now(), up, statusCode: res.status, durationMs: this.mono() - t0, reason: up ? undefined : `${url} answered ${res.status}` };
    } catch (e) {
      const reason = signal.aborted ? `no answer from ${url}: ${httpErrorText(signal.reason)}` : `${url}: ${httpErrorText(e)}`;
      return { ...base, at: this.opts.clock.now(), up: false, durationMs: this.mono() - t0, reason };
    }
  }
}
