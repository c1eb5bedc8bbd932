// Small state kept in the outbox journal beside the notifications: the notification log, the
// incident book and the receivers' threads. A value is journalled after the notifications enqueued
// before it, so it never becomes durable ahead of them: the notification log says "paged" only
// once the page itself is safe on disk.
import type { JournalRecord } from './journal';

type StateRecord = Extract<JournalRecord, { t: 'state' }>;

/** Where the notification log, the incident book and the thread stores keep their records. */
export interface DurableState {
  /** Sets a value; undefined deletes it. */
  putState(key: string, value: unknown): void;
  /** Every value: those read from the journal at open, and those set since. */
  states(): ReadonlyMap<string, unknown>;
}

export class StateStore {
  private readonly values = new Map<string, unknown>();

  /** `persist` journals a change (after what was enqueued before it). */
  constructor(private readonly persist: (r: StateRecord) => void) {}

  put(key: string, value: unknown): void {
    if (value === undefined) this.values.delete(key);
    else this.values.set(key, value);
    this.persist({ t: 'state', k: key, v: value ?? null });
  }

  /** Takes a value read back from the journal (null or undefined: deleted). */
  restore(key: string, value: unknown): void {
    if (value === null || value === undefined) this.values.delete(key);
    else this.values.set(key, value);
  }

  all(): ReadonlyMap<string, unknown> {
    return this.values;
  }

  /** Every value as a journal record, for a rewrite. */
  records(): StateRecord[] {
    return [...this.values].map(([k, v]) => ({ t: 'state', k, v }));
  }
}
