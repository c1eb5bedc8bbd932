// nginx's stub_status page, fetched and parsed: the nginx exporter's numbers (nginx_up,
// nginx_connections_*, nginx_http_requests_total). Any failure is `up: false` with the reason.
import type { Clock } from '../context';
import type { NodeEvent } from '../state/types';
import { httpErrorText, type HttpGet } from './httpGet';
import { parseStubStatus } from './parse/stubStatus';
import type { Probe } from './probe';

export interface NginxStatusProbeOptions {
  url: string;
  http: HttpGet;
  clock: Clock;
}

export class NginxStatusProbe implements Probe {
  readonly name = 'nginx_status';
  readonly source = 'nginx_probe';

  constructor(private readonly opts: NginxStatusProbeOptions) {}

  async run(signal: AbortSignal): Promise<NodeEvent[]> {
    const base = { kind: 'nginx_status' as const, source: 'nginx_probe' as const };
    try {
      const res = await this.opts.http(this.opts.url, { signal, maxBytes: 4096 });
      const at = this.opts.clock.now();
      if (res.status !== 200) return [{ ...base, at, up: false, reason: `${this.opts.url} answered ${res.status}` }];
      const p = parseStubStatus(res.body);
      if (!p.ok) return [{ ...base, at, up: false, reason: p.error }];
      return [{ ...base, at, up: true, status: p.status }];
    } catch (e) {
      const reason = signal.aborted ? `no answer from ${this.opts.url}: ${httpErrorText(signal.reason)}` : `${this.opts.url}: ${httpErrorText(e)}`;
      return [{ ...base, at: this.opts.clock.now(), up: false, reason }];
    }
  }

  /** stub_status not fetched or not parsed fails the run. */
  judge(events: NodeEvent[]): string | undefined {
    for (const ev of events) if (ev.kind === 'nginx_status' && !ev.up) return ev.reason ?? 'nginx_status down';
    return undefined;
  }
}
