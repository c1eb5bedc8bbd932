// prom-client always prints a label-less metric (0 when never set or after reset). Where 0 would
// be a claim (nginx_connections_active 0 while nginx does not answer; keepwatch_nginx_process_up
// 0 before the probe said anything), the metric is wrapped to print no sample while `silent()`.
import type { Counter, Gauge } from 'prom-client';

export function silentWhen<T extends Gauge | Counter>(metric: T, silent: () => boolean): T {
  const get = metric.get.bind(metric);
  (metric as { get: () => ReturnType<typeof get> }).get = async () => {
    const r = await get();
    return silent() ? { ...r, values: [] } : r;
  };
  return metric;
}
