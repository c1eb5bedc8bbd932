// The nginx exporter's metrics (nginx-prometheus-exporter, stub_status mode), same names, types
// and help, from the nginx_status probe: dashboards and alerts built on it keep working. As the Go
// exporter does, a failed stub_status fetch exports nginx_up 0 and no connection series.
import type { Counter, Gauge } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import type { NginxStatus } from '../agent/state/types';
import type { Collector } from './collector';
import { scrapedCounter, scrapedGauge } from './scraped';
import { silentWhen } from './silentWhen';

export function nginxCollector(store: NodeStore): Collector {
  /** The last stub_status numbers, or undefined while nginx does not answer with them. */
  const status = (): NginxStatus | undefined => {
    const ev = store.state.nginx.status;
    return ev?.up ? ev.status : undefined;
  };
  /** A connection series: none while nginx does not answer. */
  const whileUp = <M extends Gauge | Counter>(metric: M): M => silentWhen(metric, () => status() === undefined);
  return {
    name: 'nginx',
    // Reads only the store: same revision, same text.
    revision: () => store.state.revision,
    metrics: [
      scrapedGauge({ name: 'nginx_up', help: 'Status of the last metric scrape' }, () => (status() ? 1 : 0)),
      whileUp(scrapedGauge({ name: 'nginx_connections_active', help: 'Active client connections' }, () => status()?.active)),
      whileUp(scrapedCounter({ name: 'nginx_connections_accepted', help: 'Accepted client connections' }, () => status()?.accepted)),
      whileUp(scrapedCounter({ name: 'nginx_connections_handled', help: 'Handled client connections' }, () => status()?.handled)),
      whileUp(scrapedGauge({ name: 'nginx_connections_reading', help: 'Connections where NGINX is reading the request header' }, () => status()?.reading)),
      whileUp(scrapedGauge({ name: 'nginx_connections_writing', help: 'Connections where NGINX is writing the response back to the client' }, () => status()?.writing)),
      whileUp(scrapedGauge({ name: 'nginx_connections_waiting', help: 'Idle client connections' }, () => status()?.waiting)),
      whileUp(scrapedCounter({ name: 'nginx_http_requests_total', help: 'Total http requests' }, () => status()?.requests)),
    ],
  };
}
