// The notification log, as Alertmanager's nflog: per (group, receiver), which alerts were last
// notified as firing and as resolved, and when. It decides whether a group flush is news (new
// firing alerts, new resolutions, or repeat_interval elapsed). It is kept in the outbox journal
// (NflogStore), written after the notification it records: after a crash it never claims a page
// that is not itself on disk, and a restart or reload does not page again for what was paged.
import type { Clock } from '../context';
import type { DurableState } from './outbox/stateStore';

export interface NflogEntry {
  firing: string[];
  resolved: string[];
  /** ms since epoch of the notification. */
  at: number;
}

/** Where entries persist (the outbox's state records); undefined value deletes. */
export interface NflogStore {
  entries(): Iterable<[string, NflogEntry]>;
  put(key: string, entry: NflogEntry | undefined): void;
}

export interface NotificationLogOptions {
  clock: Clock;
  /** Without a store it lives in memory only (tests, or an outbox that cannot be opened). */
  store?: NflogStore;
  /** Entries older than this are forgotten (Alertmanager: 120 h). */
  retentionMs?: number;
}

const key = (groupKey: string, receiver: string) => `${receiver}\u0000${groupKey}`;

function isEntry(e: unknown): e is NflogEntry {
  const x = e as NflogEntry;
  return Boolean(x) && Array.isArray(x.firing) && Array.isArray(x.resolved) && typeof x.at === 'number';
}

export class NotificationLog {
  private entries = new Map<string, NflogEntry>();
  private readonly retention: number;

  constructor(private readonly opts: NotificationLogOptions) {
    this.retention = opts.retentionMs ?? 120 * 3_600_000;
  }

  /** Takes what the store holds (call after the outbox is open). */
  load(): void {
    if (!this.opts.store) return;
    const now = this.opts.clock.now();
    for (const [k, e] of this.opts.store.entries()) if (isEntry(e) && e.at + this.retention > now) this.entries.set(k, e);
  }

  get(groupKey: string, receiver: string): NflogEntry | undefined {
    return this.entries.get(key(groupKey, receiver));
  }

  record(groupKey: string, receiver: string, firing: string[], resolved: string[]): void {
    const now = this.opts.clock.now();
    const k = key(groupKey, receiver);
    const e = { firing, resolved, at: now };
    this.entries.set(k, e);
    this.opts.store?.put(k, e);
    for (const [old, x] of this.entries) {
      if (x.at + this.retention < now) {
        this.entries.delete(old);
        this.opts.store?.put(old, undefined);
      }
    }
  }
}

/** The notification log's store in the outbox journal, under a key prefix. */
export function outboxNflogStore(outbox: DurableState, prefix = 'nflog:'): NflogStore {
  return {
    *entries() {
      for (const [k, v] of outbox.states()) if (k.startsWith(prefix)) yield [k.slice(prefix.length), v as NflogEntry];
    },
    put(k, e) {
      outbox.putState(prefix + k, e);
    },
  };
}

/**
 * Alertmanager's DedupStage.needsUpdate: notify when a firing alert was not in the last
 * notification, when all alerts resolved after some were notified firing, when (with
 * send_resolved) a resolution is new, or when repeat_interval has passed.
 */
export function needsUpdate(
  entry: NflogEntry | undefined,
  firing: ReadonlySet<string>,
  resolved: ReadonlySet<string>,
  sendResolved: boolean,
  repeatIntervalMs: number,
  now: number,
): boolean {
  if (!entry) return firing.size > 0;
  const lastFiring = new Set(entry.firing);
  for (const f of firing) if (!lastFiring.has(f)) return true;
  if (firing.size === 0) return entry.firing.length > 0;
  if (sendResolved) {
    const lastResolved = new Set(entry.resolved);
    for (const r of resolved) if (!lastResolved.has(r)) return true;
  }
  return entry.at + repeatIntervalMs <= now;
}
