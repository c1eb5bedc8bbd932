// process_* as every Prometheus client exports them (start time, CPU, resident and virtual
// memory, heap, open and max fds): prom-client's collectDefaultMetrics, registered in a registry of
// this collector's own, never the global one. Its nodejs_* families are left out: the loop delay is
// keepwatch_event_loop_delay_seconds, the runtime's version is in keepwatch_build_info{nodejs}, and
// the per-V8-space and per-GC-kind series change their label sets with the Node.js version and
// with when a GC happens, which no dashboard or golden exposition of keepwatch can pin.
// collectDefaultMetrics has no selection and no teardown (it starts a GC observer and a loop
// monitor), so the metrics are made once per process and shared: they describe the process, and
// an agent rebuilt by a reload, or many in one test process, must not add observers each time.
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import type { Clock } from '../agent/context';
import type { Collector } from './collector';

let shared: Metric[] | undefined;

function processMetrics(): Metric[] {
  if (!shared) {
    const registry = new Registry();
    // Its loop monitor (nodejs_eventloop_lag_*, dropped below) would tick every 10 ms and wake the
    // idle agent 100 times a second; once a minute is the least it takes.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 60_000 });
    shared = registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((name) => name.startsWith('process_'))
      .flatMap((name) => registry.getSingleMetric(name) ?? []);
  }
  return shared;
}

export function processCollector(clock: Clock): Collector {
  return {
    name: 'process',
    // CPU seconds and memory move all the time: at most one render per second of the agent's
    // clock, so back-to-back scrapes still get the last answer byte for byte.
    revision: () => Math.floor(clock.now() / 1000),
    metrics: processMetrics(),
  };
}
