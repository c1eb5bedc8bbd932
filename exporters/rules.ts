// What the rules engine concludes, for Prometheus: split brain per VRID, flapping per instance of
// this node, and the cost of an evaluation. (keepwatch_alerts, the count of active alerts, belongs
// to the alert pipeline's collector, which sees every alert whatever produced it.)
import type { EngineState } from '../rules/engine';
import { vridKey } from '../agent/state/cluster';
import type { Collector } from './collector';
import { scrapedGauge } from './scraped';

export function rulesCollector(state: EngineState): Collector {
  return {
    name: 'rules',
    // Everything below changes only in an evaluation, which counts itself.
    revision: () => state.evaluations,
    metrics: [
      scrapedGauge(
        {
          name: 'keepwatch_split_brain',
          help: 'Whether a split brain (two or more keepalived processes claiming MASTER) is active for the VRID (1) or not (0).',
          labelNames: ['vrid'],
        },
        () => {
          const view = state.lastView;
          if (!view) return [];
          const firing = new Set(
            [...state.active.values()].filter((a) => a.labels.alertname === 'SplitBrain').map((a) => (a.labels.family === 'IPv6' ? `${a.labels.vrid}/IPv6` : a.labels.vrid)),
          );
          return view.vrids.map((v) => {
            const label = v.vrid ? (v.family === 'IPv6' ? `${v.vrid}/IPv6` : String(v.vrid)) : v.key;
            return [{ vrid: label }, firing.has(label) ? 1 : 0];
          });
        },
      ),
      scrapedGauge(
        {
          name: 'keepwatch_flapping',
          help: 'Whether the instance\'s VRID is flapping (1: rules.flapping.changes MASTER changes within rules.flapping.window, until rules.flapping.quiet without one) or not (0).',
          labelNames: ['iname'],
        },
        () => {
          const self = state.lastView?.nodes.find((n) => n.self)?.state;
          return Object.values(self?.instances ?? {}).map((inst) => [{ iname: inst.iname }, state.flapping.has(vridKey(inst)) ? 1 : 0]);
        },
      ),
      // One histogram for the agent's life (the engine's): the registry is rebuilt on reload, the observations stay.
      state.histogram,
    ],
  };
}
