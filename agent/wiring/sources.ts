// Keepalived's own interfaces: D-Bus first (pushed, immediate), the dumps for counters, and the
// pid file for liveness where D-Bus is off. (The FIFO and the log are the fifo_log module, the
// hook the hook module.) Each emits into the one store; the store counts a transition once
// whichever sources saw it.
import type { Component, ModuleFactory } from '../module';
import type { Emit } from '../sources/source';
import { DbusSource } from '../sources/dbusSource';
import { DumpsSource } from '../sources/dumpsSource';
import { processSource } from '../sources/processSource';
import { pidFileLiveness } from '../sources/keepalivedPid';

export const sourcesModule: ModuleFactory = {
  name: 'sources',
  // Keys of the hook, fifo_log and conf modules are theirs: changing them does not reconnect D-Bus.
  slice: (c) => ({ dbus: c.keepalived.dbus, dbus_enabled: c.keepalived.dbus_enabled, pid_file: c.keepalived.pid_file, dumps: c.keepalived.dumps }),
  build(w) {
    const k = w.config.keepalived;
    const emit: Emit = (ev) => void w.store.apply(ev);
    const ctxFor = (source: string) => ({ clock: w.clock, log: w.log.child({ source }) });
    const components: Component[] = [];
    let dbus: DbusSource | undefined;
    if (k.dbus_enabled) {
      dbus = new DbusSource({ ctx: ctxFor('dbus'), emit, address: k.dbus, keepalivedAlive: pidFileLiveness(k.pid_file) });
      components.push(dbus);
    } else {
      components.push(processSource({ pidFile: k.pid_file }, ctxFor('process'), emit));
    }
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
