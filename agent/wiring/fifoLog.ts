// The notify FIFO and log sources (keepalived.notify_fifo, keepalived.log): both optional, both
// feed the store, both read what piled up while the agent was down (the log from its read
// position in keepalived.state_dir). Rebuilt only when one of the paths changes.
import type { ModuleFactory } from '../module';
import { sourceEnv, type Source } from '../sources/source';
import { fifoSource } from '../sources/fifoSource';
import { logSource } from '../sources/logSource';
import { fifoCollector } from '../../exporters/fifo';
import { logPositionPath } from './history';

export const fifoLogModule: ModuleFactory = {
  name: 'fifo_log',
  slice: (c) => ({ fifo: c.keepalived.notify_fifo, log: c.keepalived.log, state_dir: c.keepalived.state_dir }),
  build(w) {
    const k = w.config.keepalived;
    const components: Source[] = [];
    const fifo = k.notify_fifo ? fifoSource({ path: k.notify_fifo, onBacklogDone: () => w.store.backlogDone('fifo') }, sourceEnv(w.store, w, 'fifo')) : undefined;
    if (fifo) components.push(fifo);
    if (k.log) {
      components.push(logSource({ path: k.log, positionFile: logPositionPath(k.state_dir), onBacklogDone: () => w.store.backlogDone('log') }, sourceEnv(w.store, w, 'log')));
    }
    return { components, collectors: fifo ? [fifoCollector(() => fifo.stats)] : [] };
  },
};
