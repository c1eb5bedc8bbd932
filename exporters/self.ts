// keepwatch's own view of the node beyond the keepalived exporter's: build info, which sources
// work, parse errors, transitions as seen by any source, how long each state has lasted, and the
// outcome of the last configuration reload.
import { Gauge } from 'prom-client';
import type { Clock } from '../agent/context';
import type { NodeStore } from '../agent/state/store';
import type { AgentControl } from '../agent/module';
import type { Collector } from './collector';
import { scrapedCounter, scrapedGauge } from './scraped';

export function selfCollector(store: NodeStore, clock: Clock, version: string, agent?: Pick<AgentControl, 'lastReload'>): Collector {
  const buildInfo = new Gauge({
    name: 'keepwatch_build_info',
    help: 'keepwatch build information; value is always 1.',
    labelNames: ['version', 'nodejs', 'node'],
    registers: [],
  });
  buildInfo.set({ version, nodejs: process.version, node: store.state.node }, 1);
  const sources = () => Object.entries(store.state.sources).flatMap(([name, src]) => (src ? [{ source: name, src }] : []));
  return {
    name: 'self',
    // Ages in whole seconds: the store, the reload outcome and the clock's second make the text.
    revision: () => `${store.state.revision}:${agent?.lastReload.at ?? 0}:${agent?.lastReload.ok}:${Math.floor(clock.now() / 1000)}`,
    metrics: [
      buildInfo,
      scrapedGauge({ name: 'keepwatch_source_up', help: 'Whether a source of keepalived state works (1) or not (0).', labelNames: ['source'] }, () =>
        sources().map(({ source, src }) => [{ source }, src.up ? 1 : 0]),
      ),
      scrapedCounter({ name: 'keepwatch_parse_errors_total', help: 'Lines or records a source could not parse.', labelNames: ['source'] }, () =>
        sources().map(({ source, src }) => [{ source }, src.parseErrors]),
      ),
      scrapedCounter(
        {
          name: 'keepwatch_vrrp_transitions_total',
          help: 'VRRP state transitions seen since the agent started, counted once whichever sources reported them.',
          labelNames: ['iname', 'from', 'to'],
        },
        () =>
          Object.entries(store.state.transitionCounts).map(([key, n]) => {
            const [iname, from, to] = JSON.parse(key) as [string, string, string];
            return [{ iname, from, to }, n];
          }),
      ),
      scrapedGauge({ name: 'keepwatch_vrrp_state_age_seconds', help: 'Seconds since the instance entered its current state.', labelNames: ['iname'] }, () => {
        const now = clock.now();
        return Object.values(store.state.instances).map((inst) => [{ iname: inst.iname }, Math.max(0, (now - inst.since) / 1000)]);
      }),
      scrapedGauge({ name: 'keepwatch_config_last_reload_successful', help: 'Whether the last configuration reload succeeded.' }, () =>
        agent ? (agent.lastReload.ok ? 1 : 0) : undefined,
      ),
      new Gauge({
        name: 'keepwatch_config_last_reload_success_timestamp_seconds',
        help: 'Timestamp of the last successful configuration reload.',
        registers: [],
        collect() {
          // A failed reload leaves the time of the last successful one.
          if (agent?.lastReload.ok) this.set(agent.lastReload.at / 1000);
        },
      }),
    ],
  };
}
