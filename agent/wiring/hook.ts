// The notify hook module: the hook source (socket + spool + heartbeat), its collector, and the
// alert for what the hook's fallback pager could not page while the agent was down.
// Rebuilt only when the hook's own keys change.
import type { ModuleFactory } from '../module';
import { sourceEnv } from '../sources/source';
import { hookSource } from '../sources/hookSource';
import { hookCollector } from '../../exporters/hook';
import { DeliveryFailureReporter } from '../hook/deliveryFailure';

export const hookModule: ModuleFactory = {
  name: 'hook',
  slice: (c) => ({
    enabled: c.keepalived.hook_enabled,
    socket: c.keepalived.hook_socket,
    spool: c.keepalived.hook_spool,
  }),
  build(w) {
    const k = w.config.keepalived;
    if (!k.hook_enabled) return {};
    const source = hookSource(
      {
        spoolDir: k.hook_spool,
        socketPath: k.hook_socket,
        state: () => w.store.state,
        onBacklogDone: () => w.store.backlogDone('hook'),
      },
      sourceEnv(w.store, w, 'hook'),
    );
    const failures = new DeliveryFailureReporter({ spoolDir: k.hook_spool, node: w.config.node, alerts: w.alerts, clock: w.clock, log: w.log.child({ source: 'hook' }) });
    return { components: [source, failures], collectors: [hookCollector(() => source.stats)] };
  },
};
