// The nginx exporter's metrics (nginx-prometheus-exporter, stub_status mode), same names, types
// and help, from the nginx_status probe: dashboards and alerts built on it keep working. As the Go
// exporter does, a failed stub_status fetch exports nginx_up 0 and no connection series.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import type { Collector } from './collector';

/** prom-client always prints a label-less metric (0 after reset); these print no sample while nginx is down. */
export function silentWhen<T extends Gauge | Counter>(metric: T, silent: () => boolean): T {
  const get = metric.get.bind(metric);
  (metric as { get: () => ReturnType<typeof get> }).get = async () => {
    const r = await get();
    return silent() ? { ...r, values: [] } : r;
  };
  return metric;
}

export function nginxCollector(store: NodeStore): Collector {
  let down = true;
  let up: Gauge;
  let active: Gauge;
  let reading: Gauge;
  let writing: Gauge;
  let waiting: Gauge;
  let accepted: Counter;
  let handled: Counter;
  let requests: Counter;
  return {
    name: 'nginx',
    // Reads only the store (and histograms fed by its events): same revision, same text.
    revision: () => store.state.revision,
    register(registry: Registry) {
      const r = [registry];
      up = new Gauge({ name: 'nginx_up', help: 'Status of the last metric scrape', registers: r });
      const quiet = <T extends Gauge | Counter>(m: T) => silentWhen(m, () => down);
      active = quiet(new Gauge({ name: 'nginx_connections_active', help: 'Active client connections', registers: r }));
      accepted = quiet(new Counter({ name: 'nginx_connections_accepted', help: 'Accepted client connections', registers: r }));
      handled = quiet(new Counter({ name: 'nginx_connections_handled', help: 'Handled client connections', registers: r }));
      reading = quiet(new Gauge({ name: 'nginx_connections_reading', help: 'Connections where NGINX is reading the request header', registers: r }));
      writing = quiet(new Gauge({ name: 'nginx_connections_writing', help: 'Connections where NGINX is writing the response back to the client', registers: r }));
      waiting = quiet(new Gauge({ name: 'nginx_connections_waiting', help: 'Idle client connections', registers: r }));
      requests = quiet(new Counter({ name: 'nginx_http_requests_total', help: 'Total http requests', registers: r }));
    },
    update() {
      const ev = store.state.nginx.status;
      for (const m of [active, reading, writing, waiting, accepted, handled, requests]) m.reset();
      down = !ev?.up || !ev.status;
      if (!ev?.up || !ev.status) {
        up.set(0);
        return;
      }
      const s = ev.status;
      up.set(1);
      active.set(s.active);
      reading.set(s.reading);
      writing.set(s.writing);
      waiting.set(s.waiting);
      accepted.inc(s.accepted);
      handled.inc(s.handled);
      requests.inc(s.requests);
    },
  };
}
