// What the agent keeps across restarts to recover what happened while it was down: its last known
// state of each instance (the baseline, loaded once, before any source starts) and, through the
// fifo_log module, the log's read position, both in keepalived.state_dir. The backlog sources
// configured (hook spool, FIFO, log) say when their backlog is read; the store counts the
// history then (at most BACKLOG_WAIT_MS after the start).
import { join } from 'node:path';
import type { ModuleFactory } from '../module';
import { LastStateFile, readLastState } from '../state/lastStateFile';
import type { LastState, SourceName } from '../state/types';

/** The longest the counters wait for the backlogs at start (a slow journalctl). */
export const BACKLOG_WAIT_MS = 15_000;

export function lastStatePath(stateDir: string): string {
  return join(stateDir, 'last-state.json');
}

export function logPositionPath(stateDir: string): string {
  return join(stateDir, 'log-position.json');
}

export const historyModule: ModuleFactory = {
  name: 'history',
  slice: (c) => ({ dir: c.keepalived.state_dir }),
  build(w) {
    const k = w.config.keepalived;
    const file = lastStatePath(k.state_dir);
    const log = w.log.child({ component: 'last_state' });
    let last: LastState | undefined;
    try {
      last = readLastState(file);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'last known state not usable: changes while the agent was down are found only in the backlogs');
    }
    // Once per process: a reload that moves state_dir does not re-read history.
    if (w.store.setBaseline(last)) {
      const backlogs: SourceName[] = [];
      if (k.hook_enabled) backlogs.push('hook');
      if (k.notify_fifo) backlogs.push('fifo');
      if (k.log) backlogs.push('log');
      w.store.expectBacklogs(backlogs, BACKLOG_WAIT_MS);
      if (last) log.info({ file, aliveAt: new Date(last.aliveAt).toISOString(), instances: Object.keys(last.instances) }, 'last known state loaded');
    }
    return { components: [new LastStateFile({ file, store: w.store, clock: w.clock, log })] };
  },
};
