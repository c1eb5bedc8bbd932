// What the modules offer each other. The daemon builds this record once, before any module and in
// dependency order, and hands the same objects to every build: a module rebuilt on reload finds
// the peers it followed, the alerts already firing, its counters and a failover being measured,
// instead of starting them over. Each field names who writes it and who reads it; a module that
// needs something of another module's finds it here, typed, never by a name.
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import type { Clock } from '../context';
import type { KeepalivedConf } from '../keepalived/confTypes';
import { PeerDirectory } from '../peers/peerDirectory';
import { ClusterDeliveryPolicy } from '../peers/deliveryPolicy';
import type { NodeStore } from '../state/store';
import { FailoverOutageTracker, type FailoverOutageOptions } from '../state/failoverOutage';
import { createEngineState, type EngineState } from '../../rules/engine';
import { NotificationMetrics } from '../../exporters/notifications';
import { failoverCollector } from '../../exporters/failover';
import type { Collector } from '../../exporters/collector';
import { Silences } from '../alerting/silences';

/** keepalived.conf as last parsed: the keepalived_conf module points it at the source of its
 *  current build, so a reader holds this one object across rebuilds of that module. */
export class KeepalivedConfReading {
  private source?: { current(): KeepalivedConf | undefined };

  follow(source: { current(): KeepalivedConf | undefined }): void {
    this.source = source;
  }

  /** undefined: not read yet (or no keepalived_conf module). */
  current(): KeepalivedConf | undefined {
    return this.source?.current();
  }
}

export interface Shared {
  /** The peers as this agent follows them. Written by the peers module's client; read by the
   *  rules, the failover measurement and the status page. */
  peers: PeerDirectory;
  /** Which agent pages for an alert every agent raises. The peers module sets its peer timeout
   *  and serves its view of it; the alerting pipeline asks it at each group flush. */
  delivery: ClusterDeliveryPolicy;
  /** The rules engine's active alerts and rule memories: a rebuilt rules module does not re-page. */
  engine: EngineState;
  /** The notification counters: a rebuilt alerting module carries them on. */
  notificationMetrics: NotificationMetrics;
  /** The silences: the pair's, not this node's, so one store for the agent's life. The alerting
   *  module mutes with them and serves them (and points them at a reloaded silences_file); the
   *  peers module carries their changes to and from the peers. */
  silences: Silences;
  /** keepalived.conf as parsed. Set by the keepalived_conf module; read by the probes (start hook). */
  keepalivedConf: KeepalivedConfReading;
  /** The failover outage measurement and its histogram. Fed by the probes and the peers; the probes
   *  module starts it and hands it new settings on reload: a takeover being measured is not lost. */
  failover: { tracker: FailoverOutageTracker; collector: Collector };
}

export interface SharedDeps {
  config: Config;
  store: NodeStore;
  clock: Clock;
  log: Logger;
  /** When the agent started: peers not heard from yet get peer_timeout to answer before paging. */
  startedAt: number;
}

/** The failover measurement's settings from the config (at start and on every probes build). */
export function failoverOutageOptions(config: Config, d: Pick<FailoverOutageOptions, 'store' | 'peers' | 'clock' | 'log'>): FailoverOutageOptions {
  return {
    ...d,
    log: d.log.child({ module: 'probes', component: 'failover-outage' }),
    // The old master's agent reports its leaving within milliseconds; one that says nothing for
    // peer_timeout is taken for gone, and its last advert estimated.
    settleMs: config.rules.peer_timeout + 1000,
    viaVip: config.nginx.health_via_vip,
  };
}

/** The record, in dependency order: the directory first, then what reads it. */
export function createShared(d: SharedDeps): Shared {
  const peers = new PeerDirectory();
  const delivery = new ClusterDeliveryPolicy({ self: d.config.node, directory: peers, clock: d.clock, peerTimeoutMs: d.config.rules.peer_timeout, startedAt: d.startedAt });
  const tracker = new FailoverOutageTracker(failoverOutageOptions(d.config, { store: d.store, peers, clock: d.clock, log: d.log }));
  const silences = new Silences({ file: d.config.alerting.silences_file, clock: d.clock, log: d.log.child({ module: 'alerting' }), maxClockSkewMs: d.config.peer_limits.max_clock_skew });
  silences.load();
  return {
    silences,
    peers,
    delivery,
    engine: createEngineState(),
    notificationMetrics: new NotificationMetrics(),
    keepalivedConf: new KeepalivedConfReading(),
    failover: { tracker, collector: failoverCollector(d.store) },
  };
}
