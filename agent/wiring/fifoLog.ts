// The notify FIFO and log sources (keepalived.notify_fifo, keepalived.log): both optional, both
// feed the store. Rebuilt only when one of the two paths changes.
import type { Component, ModuleFactory } from '../module';
import { fifoSource } from '../sources/fifoSource';
import { logSource } from '../sources/logSource';
import { fifoCollector } from '../../exporters/fifo';

export const fifoLogModule: ModuleFactory = {
  name: 'fifo_log',
  slice: (c) => ({ fifo: c.keepalived.notify_fifo, log: c.keepalived.log }),
  build(w) {
    const k = w.config.keepalived;
    const emit = (ev: Parameters<typeof w.store.apply>[0]) => void w.store.apply(ev);
    const components: Component[] = [];
    const fifo = k.notify_fifo ? fifoSource({ path: k.notify_fifo }, w, emit) : undefined;
    if (fifo) components.push(fifo);
    if (k.log) components.push(logSource({ path: k.log }, w, emit));
    return { components, collectors: fifo ? [fifoCollector(() => fifo.stats)] : [] };
  },
};
