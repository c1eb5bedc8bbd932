// The agent's last known state of each instance, kept across restarts: at the next start it is the
// baseline the backlogs continue from, and where no backlog kept a transition, the baseline against
// the state read at start records it ("BACKUP -> MASTER while the agent was down, between X and
// Y"). Written (atomically: agent/alerting/atomicFile.ts) on every change of an instance's state,
// and every aliveIntervalMs while the agent runs so that X, the last time the agent knew the
// state, stays close to when it went down. X only advances while a source of keepalived's state
// is up and the backlogs of the start are in: otherwise the agent did not know the state then.
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import { z } from 'zod';
import { writeFileAtomic } from '../alerting/atomicFile';
import type { Clock } from '../context';
import type { NodeStore } from './store';
import type { LastState, SourceName } from './types';

const STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP', 'DELETED', 'UNKNOWN'] as const;

const schema = z.object({
  node: z.string().min(1),
  aliveAt: z.number().int().min(0),
  instances: z.record(
    z.string().min(1),
    z.object({
      iname: z.string().min(1),
      intf: z.string(),
      vrid: z.number().int().min(0).max(255),
      family: z.enum(['IPv4', 'IPv6']),
      state: z.enum(STATES),
      since: z.number().int().min(0),
    }),
  ),
});

/** Sources whose being up means the agent hears of every state change. */
const STATE_SOURCES: SourceName[] = ['dbus', 'fifo', 'log', 'hook'];

/** The persisted last state; undefined when there is none. A damaged file is an error naming it. */
export function readLastState(file: string): LastState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the agent's last state ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`the agent's last state ${file} is not JSON`);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new Error(`the agent's last state ${file} is not valid: ${r.error.issues.map((i) => `${i.path.join('.') || 'top'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export interface LastStateFileOptions {
  file: string;
  store: NodeStore;
  clock: Clock;
  log: Logger;
  /** How often the alive time is refreshed while nothing changes (default 5 s). */
  aliveIntervalMs?: number;
}

export class LastStateFile {
  readonly name = 'last_state';
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private aliveAt: number;
  private lastText = '';
  private readonly failed = new Set<string>();

  constructor(private readonly o: LastStateFileOptions) {
    this.aliveAt = o.store.lastState?.aliveAt ?? 0;
  }

  async start(): Promise<void> {
    this.unsubscribe = this.o.store.subscribe((c) => {
      if (c.transitions.length) this.write();
    });
    this.timer = this.o.clock.setInterval(() => this.write(), this.o.aliveIntervalMs ?? 5000);
    this.write();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.o.clock.clearInterval(this.timer);
    this.timer = undefined;
    this.write();
  }

  /** Writes the current state; never throws (a failure is logged once per kind). */
  write(): void {
    const s = this.o.store.state;
    if (this.o.store.historySettled && STATE_SOURCES.some((n) => s.sources[n]?.up)) this.aliveAt = this.o.clock.now();
    const last = this.o.store.persistable(this.aliveAt);
    if (!Object.keys(last.instances).length) return;
    const text = `${JSON.stringify(last)}\n`;
    if (text === this.lastText) return;
    try {
      writeFileAtomic(this.o.file, text);
      this.lastText = text;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      if (this.failed.has(code)) return;
      this.failed.add(code);
      this.o.log.warn({ err: (e as Error).message, file: this.o.file }, 'cannot save the last known state (after a restart, changes while the agent was down are found only in the backlogs)');
    }
  }
}
