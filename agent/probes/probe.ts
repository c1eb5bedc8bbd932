// A probe checks something keepalived itself does not (VIP binding, nginx). The scheduler runs it
// on its interval or cron schedule, never overlapping itself, with a timeout; whatever happens,
// the result is events (a failure is `up: false` with a reason), never an exception.
import type { NodeEvent } from '../state/types';

export interface Probe {
  /** Config key under `probes:` and the `probe` label of keepwatch_probe_duration_seconds. */
  readonly name: string;
  /** Runs once. Must honour the signal (aborted on timeout). May throw: the scheduler turns it into a failed result. */
  run(signal: AbortSignal): Promise<NodeEvent[]>;
  /** Optional: run again this many ms after a run whose events call for a closer look (e.g. a
   *  duplicate VIP, so that its end is seen in seconds, not at the next interval), or undefined. */
  followUpMs?(events: NodeEvent[]): number | undefined;
  /** Optional long-lived part (e.g. an address monitor pushing changes between runs). */
  start?(emit: (ev: NodeEvent) => void): Promise<void>;
  stop?(): Promise<void>;
}
