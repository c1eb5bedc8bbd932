// keepwatch's own view of the node beyond the keepalived exporter's: build info, which sources
// work, parse errors, transitions as seen by any source, and how long each state has lasted.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../agent/context';
import type { NodeStore } from '../agent/state/store';
import type { AgentControl } from '../agent/module';
import type { Collector } from './collector';

export function selfCollector(store: NodeStore, clock: Clock, version: string, agent?: Pick<AgentControl, 'lastReload'>): Collector {
  let sourceUp: Gauge;
  let parseErrors: Counter;
  let transitions: Counter;
  let stateAge: Gauge;
  let reloadOk: Gauge;
  let reloadAt: Gauge;
  return {
    name: 'self',
    register(registry: Registry) {
      new Gauge({
        name: 'keepwatch_build_info',
        help: 'keepwatch build information; value is always 1.',
        labelNames: ['version', 'nodejs', 'node'],
        registers: [registry],
      }).set({ version, nodejs: process.version, node: store.state.node }, 1);
      sourceUp = new Gauge({ name: 'keepwatch_source_up', help: 'Whether a source of keepalived state works (1) or not (0).', labelNames: ['source'], registers: [registry] });
      parseErrors = new Counter({ name: 'keepwatch_parse_errors_total', help: 'Lines or records a source could not parse.', labelNames: ['source'], registers: [registry] });
      transitions = new Counter({
        name: 'keepwatch_vrrp_transitions_total',
        help: 'VRRP state transitions seen since the agent started, counted once whichever sources reported them.',
        labelNames: ['iname', 'from', 'to'],
        registers: [registry],
      });
      stateAge = new Gauge({ name: 'keepwatch_vrrp_state_age_seconds', help: 'Seconds since the instance entered its current state.', labelNames: ['iname'], registers: [registry] });
      reloadOk = new Gauge({ name: 'keepwatch_config_last_reload_successful', help: 'Whether the last configuration reload succeeded.', registers: [registry] });
      reloadAt = new Gauge({ name: 'keepwatch_config_last_reload_success_timestamp_seconds', help: 'Timestamp of the last successful configuration reload.', registers: [registry] });
    },
    // Ages in whole seconds: the store, the reload outcome and the clock's second make the text.
    revision: () => `${store.state.revision}:${agent?.lastReload.at ?? 0}:${agent?.lastReload.ok}:${Math.floor(clock.now() / 1000)}`,
    update() {
      const s = store.state;
      const now = clock.now();
      sourceUp.reset();
      parseErrors.reset();
      for (const [name, src] of Object.entries(s.sources)) {
        if (!src) continue;
        sourceUp.set({ source: name }, src.up ? 1 : 0);
        parseErrors.inc({ source: name }, src.parseErrors);
      }
      transitions.reset();
      for (const [key, n] of Object.entries(s.transitionCounts)) {
        const [iname, from, to] = JSON.parse(key) as [string, string, string];
        transitions.inc({ iname, from, to }, n);
      }
      stateAge.reset();
      for (const inst of Object.values(s.instances)) stateAge.set({ iname: inst.iname }, Math.max(0, (now - inst.since) / 1000));
      if (agent) {
        reloadOk.set(agent.lastReload.ok ? 1 : 0);
        if (agent.lastReload.ok) reloadAt.set(agent.lastReload.at / 1000);
      }
    },
  };
}
