// A probe checks something keepalived itself does not (VIP binding, nginx). The scheduler runs it
// on its interval or cron schedule, never overlapping itself, with a timeout; whatever happens,
// the result is events (a failure is `up: false` with a reason), never an exception.
//
// The contract in one line: run(signal) -> events, judge(events) -> failure reason or undefined.
// Each probe says what its own results mean, so the scheduler knows no probe by name or kind.
import type { NodeEvent, SourceName } from '../state/types';

/** The store's source names of probe events. */
export type ProbeSource = Extract<SourceName, 'vip_probe' | 'arp_probe' | 'nginx_probe'>;

export interface Probe {
  /** Config key under `probes:` and the `probe` label of keepwatch_probe_duration_seconds. */
  readonly name: string;
  /** The source its events (and the scheduler's probe_run about it) are applied under. */
  readonly source: ProbeSource;
  /** Runs once. Must honour the signal (aborted on timeout). May throw: the scheduler turns it into a failed result. */
  run(signal: AbortSignal): Promise<NodeEvent[]>;
  /** The failure reason these events of a run mean, or undefined when the run succeeded (a finding, such as a duplicate VIP, is not a failure of the probe). */
  judge(events: NodeEvent[]): string | undefined;
  /** Optional: run again this many ms after a run whose events call for a closer look (e.g. a
   *  duplicate VIP, so that its end is seen in seconds, not at the next interval), or undefined. */
  followUpMs?(events: NodeEvent[]): number | undefined;
  /** Optional long-lived part (e.g. an address monitor pushing changes between runs). */
  start?(emit: (ev: NodeEvent) => void): Promise<void>;
  stop?(): Promise<void>;
}
