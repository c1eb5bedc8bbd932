// The rules module: the engine that turns the cluster view into alerts on w.alerts, its metrics,
// and GET /api/v1/rules (active alerts of the rules, last evaluation). Its state (active alerts,
// rule memories) lives in w.shared, so a reload of the rules config does not re-page.
import type { ModuleFactory } from '../module';
import { sendJson } from '../http/server';
import { RulesEngine } from '../../rules/engine';
import { allRules, ruleSettings } from '../../rules';
import { rulesCollector } from '../../exporters/rules';

export const rulesModule: ModuleFactory = {
  name: 'rules',
  slice: (c) => ({ rules: c.rules, standby: c.nginx.standby, grace: c.nginx.takeover_grace, peers: (c.peers ?? []).map((p) => p.name) }),
  build(w) {
    const { engine: state, peers: directory } = w.shared;
    const engine = new RulesEngine({
      store: w.store,
      peers: directory,
      alerts: w.alerts,
      clock: w.clock,
      log: w.log.child({ module: 'rules' }),
      settings: ruleSettings(w.config),
      // Zero-config peers (no peers: list) come and go with keepalived.conf: the rules count the
      // directory's peers, whatever their origin.
      peerNames: w.config.peers ? undefined : () => directory.list().map((p) => p.name),
      rules: allRules,
      state,
      intervalMs: w.config.rules.evaluation_interval,
    });
    return {
      components: [engine],
      collectors: [rulesCollector(state)],
      routes: [
        {
          method: 'GET',
          path: '/api/v1/rules',
          auth: 'web',
          handler(_req, res) {
            sendJson(res, 200, {
              rules: allRules.map((r) => r.name),
              active: [...state.active.values()],
              recent: w.alerts.recent().filter((a) => allRules.some((r) => r.name === a.labels.alertname)),
              flapping: [...state.flapping],
              folded: Object.fromEntries(state.folded),
              lastEvaluation: state.lastEvaluation,
              evaluations: state.evaluations,
            });
          },
        },
      ],
    };
  },
};
