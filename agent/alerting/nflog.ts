// The notification log, as Alertmanager's nflog: per (group, receiver), which alerts were last
// notified as firing and as resolved, and when. It decides whether a group flush is news (new
// firing alerts, new resolutions, or repeat_interval elapsed). Saved to a file (debounced) so a
// restart or reload does not page again for what was already paged.
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../context';
import { writeFileAtomic } from './atomicFile';

export interface NflogEntry {
  firing: string[];
  resolved: string[];
  /** ms since epoch of the notification. */
  at: number;
}

export interface NotificationLogOptions {
  /** Where to persist; undefined keeps it in memory only. */
  file?: string;
  clock: Clock;
  log: Logger;
  /** Entries older than this are forgotten (Alertmanager: 120 h). */
  retentionMs?: number;
  saveDelayMs?: number;
}

const key = (groupKey: string, receiver: string) => `${receiver}\u0000${groupKey}`;

export class NotificationLog {
  private entries = new Map<string, NflogEntry>();
  private timer?: NodeJS.Timeout;
  private readonly retention: number;

  constructor(private readonly opts: NotificationLogOptions) {
    this.retention = opts.retentionMs ?? 120 * 3_600_000;
  }

  load(): void {
    const f = this.opts.file;
    if (!f || !existsSync(f)) return;
    try {
      const data = JSON.parse(readFileSync(f, 'utf8')) as { entries: Record<string, NflogEntry> };
      const now = this.opts.clock.now();
      for (const [k, e] of Object.entries(data.entries ?? {})) {
        if (e && Array.isArray(e.firing) && Array.isArray(e.resolved) && typeof e.at === 'number' && e.at + this.retention > now) this.entries.set(k, e);
      }
    } catch (e) {
      // Losing it only means a possible repeat page; say so and go on.
      this.opts.log.warn({ file: f, err: (e as Error).message }, 'notification log unreadable: starting empty (ongoing alerts may be paged again)');
    }
  }

  get(groupKey: string, receiver: string): NflogEntry | undefined {
    return this.entries.get(key(groupKey, receiver));
  }

  record(groupKey: string, receiver: string, firing: string[], resolved: string[]): void {
    const now = this.opts.clock.now();
    this.entries.set(key(groupKey, receiver), { firing, resolved, at: now });
    for (const [k, e] of this.entries) if (e.at + this.retention < now) this.entries.delete(k);
    this.scheduleSave();
  }

  private scheduleSave(): void {
    if (!this.opts.file || this.timer) return;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.save();
    }, this.opts.saveDelayMs ?? 1000);
  }

  /** Writes now (on stop). */
  save(): void {
    if (this.timer) {
      this.opts.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.opts.file) return;
    try {
      writeFileAtomic(this.opts.file, JSON.stringify({ version: 1, entries: Object.fromEntries(this.entries) }));
    } catch (e) {
      this.opts.log.error({ file: this.opts.file, err: (e as Error).message }, 'cannot write the notification log');
    }
  }
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
