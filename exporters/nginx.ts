// The nginx exporter's metrics (nginx-prometheus-exporter, stub_status mode), same names, types
// and help, from the nginx_status probe: dashboards and alerts built on it keep working. As the Go
// exporter does, a failed stub_status fetch exports nginx_up 0 and no connection series.
import { Counter, Gauge } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import type { NginxStatus } from '../agent/state/types';
import type { Collector } from './collector';
import { silentWhen } from './silentWhen';

export function nginxCollector(store: NodeStore): Collector {
  /** The last stub_status numbers, or undefined while nginx does not answer with them. */
  const status = (): NginxStatus | undefined => {
    const ev = store.state.nginx.status;
    return ev?.up ? ev.status : undefined;
  };
  const down = () => status() === undefined;
  const gauge = (name: string, help: string, value: (s: NginxStatus) => number) =>
    silentWhen(
      new Gauge({
        name,
        help,
        registers: [],
        collect() {
          const s = status();
          this.set(s ? value(s) : 0);
        },
      }),
      down,
    );
  const counter = (name: string, help: string, value: (s: NginxStatus) => number) =>
    silentWhen(
      new Counter({
        name,
        help,
        registers: [],
        collect() {
          this.reset();
          const s = status();
          if (s) this.inc(value(s));
        },
      }),
      down,
    );
  return {
    name: 'nginx',
    // Reads only the store: same revision, same text.
    revision: () => store.state.revision,
    metrics: [
      new Gauge({
        name: 'nginx_up',
        help: 'Status of the last metric scrape',
        registers: [],
        collect() {
          this.set(status() ? 1 : 0);
        },
      }),
      gauge('nginx_connections_active', 'Active client connections', (s) => s.active),
      counter('nginx_connections_accepted', 'Accepted client connections', (s) => s.accepted),
      counter('nginx_connections_handled', 'Handled client connections', (s) => s.handled),
      gauge('nginx_connections_reading', 'Connections where NGINX is reading the request header', (s) => s.reading),
      gauge('nginx_connections_writing', 'Connections where NGINX is writing the response back to the client', (s) => s.writing),
      gauge('nginx_connections_waiting', 'Idle client connections', (s) => s.waiting),
      counter('nginx_http_requests_total', 'Total http requests', (s) => s.requests),
    ],
  };
}
