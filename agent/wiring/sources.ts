// Keepalived's own interfaces: D-Bus first (pushed, immediate), the dumps for counters, and the
// pid file for liveness where D-Bus is off. (The FIFO and the log are the fifo_log module, the
// hook the hook module.) Each emits into the one store; the store counts a transition once
// whichever sources saw it.
import type { ModuleFactory } from '../module';
import { sourceEnv, type Source } from '../sources/source';
import { dbusSource, type DbusSource } from '../sources/dbusSource';
import { dumpsSource } from '../sources/dumpsSource';
import { processSource } from '../sources/processSource';
import { pidFileLiveness } from '../sources/keepalivedPid';

export const sourcesModule: ModuleFactory = {
  name: 'sources',
  // Keys of the hook, fifo_log and conf modules are theirs: changing them does not reconnect D-Bus.
  slice: (c) => ({ dbus: c.keepalived.dbus, dbus_enabled: c.keepalived.dbus_enabled, pid_file: c.keepalived.pid_file, dumps: c.keepalived.dumps }),
  build(w) {
    const k = w.config.keepalived;
    const components: Source[] = [];
    let dbus: DbusSource | undefined;
    if (k.dbus_enabled) {
      dbus = dbusSource({ address: k.dbus, keepalivedAlive: pidFileLiveness(k.pid_file) }, sourceEnv(w.store, w, 'dbus'));
      components.push(dbus);
    } else {
      components.push(processSource({ pidFile: k.pid_file }, sourceEnv(w.store, w, 'process')));
    }
    if (k.dumps.method !== 'off') {
      components.push(
        dumpsSource(
          {
            method: k.dumps.method,
            intervalMs: k.dumps.interval,
            pidFile: k.pid_file,
            dir: k.dumps.dir,
            dbus,
            jsonSignal: k.dumps.json_signal,
          },
          sourceEnv(w.store, w, 'dumps'),
        ),
      );
    }
    return { components };
  },
};
