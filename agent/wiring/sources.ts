// The sources of keepalived state: D-Bus first (pushed, immediate), the notify FIFO and the log
// beside it, the dumps for counters, and the pid file for liveness where D-Bus is off. Each
// emits into the one store; the store counts a transition once whichever sources saw it.
import type { ModuleFactory } from '../module';
import type { Component } from '../module';
import { DbusSource } from '../sources/dbusSource';
import { DumpsSource } from '../sources/dumpsSource';
import { fifoSource } from '../sources/fifoSource';
import { logSource } from '../sources/logSource';
import { processSource } from '../sources/processSource';
import { pidFileLiveness } from '../sources/keepalivedPid';

export const sourcesModule: ModuleFactory = {
  name: 'sources',
  // The hook and keepalived.conf keys belong to other modules: changing them does not reconnect D-Bus.
  slice: (c) => ({ ...c.keepalived, hook_enabled: undefined, hook_socket: undefined, hook_spool: undefined, config: undefined }),
  build(w) {
    const k = w.config.keepalived;
    const emit = (ev: Parameters<typeof w.store.apply>[0]) => void w.store.apply(ev);
    const ctxFor = (source: string) => ({ clock: w.clock, log: w.log.child({ source }) });
    const components: Component[] = [];
    let dbus: DbusSource | undefined;
    if (k.dbus_enabled) {
      dbus = new DbusSource({ ctx: ctxFor('dbus'), emit, address: k.dbus, keepalivedAlive: pidFileLiveness(k.pid_file) });
      components.push(dbus);
    } else {
      components.push(processSource({ pidFile: k.pid_file }, ctxFor('process'), emit));
    }
    if (k.notify_fifo) components.push(fifoSource({ path: k.notify_fifo }, ctxFor('fifo'), emit));
    if (k.log) components.push(logSource({ path: k.log }, ctxFor('log'), emit));
    if (k.dumps.method !== 'off') {
      components.push(
        new DumpsSource({
          ctx: ctxFor('dumps'),
          emit,
          method: dbus ? k.dumps.method : 'signal',
          intervalMs: k.dumps.interval,
          pidFile: k.pid_file,
          dir: k.dumps.dir,
          dbus,
          jsonSignal: k.dumps.json_signal,
        }),
      );
    }
    return { components };
  },
};
