// keepwatch's own view of the node beyond the keepalived exporter's: build info, which sources
// work, parse errors, transitions as seen by any source, how long each state has lasted, and the
// outcome of the last configuration reload.
import { Gauge } from 'prom-client';
import type { Clock } from '../agent/context';
import type { NodeStore } from '../agent/state/store';
import type { AgentControl } from '../agent/module';
import type { BuildInfo } from '../agent/version';
import type { Collector } from './collector';
import { scrapedCounter, scrapedGauge } from './scraped';

/** What keepwatch_build_info says of the build (agent/version.ts: package.json and build-info.json). */
export type BuildLabels = Pick<BuildInfo, 'version' | 'revision' | 'branch'>;

export function selfCollector(store: NodeStore, clock: Clock, build: BuildLabels, agent?: Pick<AgentControl, 'lastReload'>): Collector {
  // Prometheus's <name>_build_info{version,revision,branch,goversion}, the runtime as `nodejs`.
  const buildInfo = new Gauge({
    name: 'keepwatch_build_info',
    help: 'A metric with a constant \'1\' value labeled by version, revision, branch, and nodejs from which keepwatch was built.',
    labelNames: ['version', 'revision', 'branch', 'nodejs'],
    registers: [],
  });
  buildInfo.set({ version: build.version, revision: build.revision, branch: build.branch, nodejs: process.version }, 1);
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
