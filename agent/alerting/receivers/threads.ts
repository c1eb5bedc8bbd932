// Where a receiver keeps what it needs to thread an incident's notifications: the Slack `ts` of
// the thread's first message, the email thread's subject, and which steps of the incident it has
// already told (so an update can say what is new). It must outlive the agent: a restart between an
// incident's first page and its end would otherwise start a second thread. In the agent it lives in
// the outbox journal (outboxThreadStore, beside the notification log); tests use memoryThreadStore.
import type { Clock } from '../../context';
import type { IncidentNotice } from '../incident';
import { stepKey } from '../incidentText';
import type { DurableState } from '../outbox/stateStore';

/** What one receiver remembers about one incident's thread. */
export interface ThreadMark {
  /** Slack: ts of the thread's first message, and the channel id Slack posted it in. */
  ts?: string;
  channel?: string;
  /** Email: the subject of the thread's first mail (later mails keep it, so clients thread them). */
  subject?: string;
  /** IncidentStep keys (stepKey) already told in this thread, oldest first. */
  told: string[];
  /** ms since epoch of the last write: marks older than the retention are forgotten. */
  at: number;
}

export interface ThreadStore {
  get(incidentId: string): ThreadMark | undefined;
  put(incidentId: string, mark: ThreadMark): void;
}

/** At most this many step keys are remembered per thread (a long flapping incident has many steps). */
export const MAX_TOLD = 500;

/** Marks are forgotten after this long, as the notification log's entries are (Alertmanager: 120 h). */
export const THREAD_RETENTION_MS = 120 * 3_600_000;

function isMark(v: unknown): v is ThreadMark {
  const m = v as ThreadMark;
  return Boolean(m) && typeof m === 'object' && Array.isArray(m.told) && typeof m.at === 'number';
}

export function memoryThreadStore(): ThreadStore {
  const marks = new Map<string, ThreadMark>();
  return {
    get: (id) => marks.get(id),
    put(id, mark) {
      marks.set(id, { ...mark, told: mark.told.slice(-MAX_TOLD) });
    },
  };
}

const PREFIX = 'thread:';

/**
 * One receiver's marks in the outbox journal's state records, under `thread:<receiver>\0<incident>`.
 * Written after the notifications enqueued before it, like the notification log. Each write drops
 * every receiver's marks older than the retention, so a removed receiver's marks go too.
 */
export function outboxThreadStore(outbox: DurableState, receiver: string, clock: Clock, retentionMs = THREAD_RETENTION_MS): ThreadStore {
  const key = (id: string) => `${PREFIX}${receiver}\u0000${id}`;
  return {
    get(id) {
      const v = outbox.states().get(key(id));
      return isMark(v) && v.at + retentionMs > clock.now() ? v : undefined;
    },
    put(id, mark) {
      const t = clock.now();
      const stale: string[] = [];
      for (const [k, v] of outbox.states()) if (k.startsWith(PREFIX) && (!isMark(v) || v.at + retentionMs <= t)) stale.push(k);
      for (const k of stale) outbox.putState(k, undefined);
      outbox.putState(key(id), { ...mark, told: mark.told.slice(-MAX_TOLD) });
    },
  };
}

/**
 * After a notice was accepted: its steps are told in the thread; `start` (the Slack ts and channel of
 * a new top-level message, the subject of a root mail) replaces what the mark held.
 */
export function recordSent(threads: ThreadStore, notice: IncidentNotice, at: number, start: Partial<Pick<ThreadMark, 'ts' | 'channel' | 'subject'>> = {}): void {
  const mark = threads.get(notice.id);
  const told = new Set(mark?.told ?? []);
  const fresh = notice.steps.map(stepKey).filter((k) => !told.has(k));
  threads.put(notice.id, { ...mark, ...start, told: [...(mark?.told ?? []), ...fresh], at });
}
