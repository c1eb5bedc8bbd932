// The peers as this agent sees them: up or down, when last heard from, and why their streams
// failed. keepwatch_peer_up is the "is the other agent there" signal (alert on it from Prometheus
// too: a monitor that cannot see its peer cannot see a split brain). Every peer has an errors and a
// rejected series for each reason, 0 until it happens: increase() then sees the first failure.
import type { Clock } from '../agent/context';
import { PEER_ERROR_REASONS, type PeerDirectory } from '../agent/peers/peerDirectory';
import { PEER_REJECT_REASONS } from '../agent/peers/peerAdmission';
import type { Collector } from './collector';
import { scrapedCounter, scrapedGauge } from './scraped';

export function peersCollector(directory: PeerDirectory, clock: Clock): Collector {
  return {
    name: 'peers',
    // Up/down and errors at once; last-seen ages in whole seconds.
    revision: () =>
      JSON.stringify([Math.floor(clock.now() / 1000), directory.list().map((p) => [p.name, p.up, p.lastSeenAt, p.lastDelayMs, p.errors, p.rejected])]),
    metrics: [
      scrapedGauge({ name: 'keepwatch_peer_up', help: 'Whether the peer agent streams its state to this agent (1) or not (0).', labelNames: ['peer'] }, () =>
        directory.list().map((p) => [{ peer: p.name }, p.up ? 1 : 0]),
      ),
      scrapedGauge({ name: 'keepwatch_peer_last_seen_seconds', help: 'Seconds since the last event or heartbeat from the peer agent (-1: never).', labelNames: ['peer'] }, () => {
        const now = clock.now();
        return directory.list().map((p) => [{ peer: p.name }, p.lastSeenAt === undefined ? -1 : Math.max(0, (now - p.lastSeenAt) / 1000)]);
      }),
      scrapedCounter({ name: 'keepwatch_peer_errors_total', help: 'Failures of the stream from a peer agent, by reason.', labelNames: ['peer', 'reason'] }, function* () {
        for (const p of directory.list()) for (const reason of PEER_ERROR_REASONS) yield [{ peer: p.name, reason }, p.errors[reason] ?? 0];
      }),
      scrapedCounter(
        {
          name: 'keepwatch_peer_rejected_total',
          help: 'Messages from a peer agent refused, by reason (node_mismatch, clock_skew, too_many_instances, too_many_vips, state_too_large, bad_silence).',
          labelNames: ['peer', 'reason'],
        },
        function* () {
          for (const p of directory.list()) for (const reason of PEER_REJECT_REASONS) yield [{ peer: p.name, reason }, p.rejected?.[reason] ?? 0];
        },
      ),
      scrapedGauge(
        {
          name: 'keepwatch_peer_state_delay_seconds',
          help: 'Arrival time minus the peer\'s send time of its last state: network delay plus clock skew between the nodes.',
          labelNames: ['peer'],
        },
        function* () {
          for (const p of directory.list()) if (p.lastDelayMs !== undefined) yield [{ peer: p.name }, p.lastDelayMs / 1000];
        },
      ),
    ],
  };
}
