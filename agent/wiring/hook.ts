// The notify hook module: the hook source (socket + spool + heartbeat) and its collector.
// Rebuilt only when the hook's own keys change.
import type { ModuleFactory } from '../module';
import { sourceEnv } from '../sources/source';
import { hookSource } from '../sources/hookSource';
import { hookCollector } from '../../exporters/hook';

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
    return { components: [source], collectors: [hookCollector(() => source.stats)] };
  },
};
