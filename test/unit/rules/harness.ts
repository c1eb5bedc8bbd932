// A cluster of N simulated nodes for rule tests: one real NodeStore per node fed with the events
// the sources would emit, a controllable peer directory (up/down, restart, stale snapshots), the
// real engine with every rule, a real AlertHub, and a FakeClock. Nothing here needs D-Bus.
import { NodeStore } from '../../../agent/state/store';
import type { NodeEvent, VrrpState } from '../../../agent/state/types';
import type { PeerView } from '../../../agent/state/cluster';
import { createAlertHub } from '../../../agent/alerting/hub';
import type { Alert } from '../../../agent/alerting/alert';
import { silentLogger } from '../../../agent/logger';
import { RulesEngine, createEngineState, type EngineState, type PeerSource } from '../../../rules/engine';
import { allRules } from '../../../rules';
import type { Rule, RuleSettings } from '../../../rules/rule';
import { FakeClock } from '../../helpers/fakeClock';

/** A NodeEvent without at/source (the harness stamps them), kept a discriminated union. */
export type EventInput = NodeEvent extends infer E ? (E extends NodeEvent ? Omit<E, 'at' | 'source'> & { at?: number; source?: NodeEvent['source'] } : never) : never;

export const DEFAULT_SETTINGS: RuleSettings = {
  noMasterForMs: 5000,
  splitBrainForMs: 1000,
  conditionForMs: 5000,
  eventHoldMs: 300_000,
  driftForMs: 60_000,
  syncGroupForMs: 3000,
  peerTimeoutMs: 3000,
  flapping: { changes: 3, windowMs: 300_000, quietMs: 120_000 },
  nginxStandby: 'hot',
  takeoverGraceMs: 10_000,
  peers: [],
};

interface PeerSlot {
  up: boolean;
  /** What we last received (kept while down). */
  snapshot?: ReturnType<NodeStore['snapshot']>;
  receivedAt?: number;
  lastSeenAt?: number;
  since: number;
}

export interface InstanceSpec {
  iname?: string;
  vrid?: number;
  state: VrrpState;
  priority?: number;
  vips?: string[];
  advertIntervalMs?: number;
  authType?: string;
  nopreempt?: boolean;
  syncGroup?: string;
}

export class SimCluster {
  readonly clock = new FakeClock();
  readonly stores = new Map<string, NodeStore>();
  readonly peers = new Map<string, PeerSlot>();
  readonly hub = createAlertHub(10_000);
  readonly published: Alert[] = [];
  engine!: RulesEngine;
  state: EngineState;
  private listeners = new Set<(n: string) => void>();
  readonly settings: RuleSettings;

  constructor(
    readonly nodes: string[],
    readonly self = nodes[0],
    settings: Partial<RuleSettings> = {},
    readonly rules: Rule[] = allRules,
  ) {
    this.settings = { ...DEFAULT_SETTINGS, peers: nodes.filter((n) => n !== self), ...settings };
    for (const n of nodes) {
      this.stores.set(n, new NodeStore(n, this.clock));
      if (n !== self) this.peers.set(n, { up: true, since: this.clock.now() });
    }
    this.hub.subscribe((a) => this.published.push(a));
    this.state = createEngineState();
    this.startEngine();
  }

  /** (Re)starts the engine on the given state (a reload keeps it; an agent restart does not). */
  startEngine(state: EngineState = this.state): void {
    void this.engine?.stop();
    this.state = state;
    const source: PeerSource = {
      views: () => [...this.peers].map(([name, p]): PeerView => ({ name, up: p.up, since: p.since, state: p.snapshot, receivedAt: p.receivedAt, lastSeenAt: p.lastSeenAt })),
      subscribe: (fn) => {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
      },
    };
    this.engine = new RulesEngine({
      store: this.stores.get(this.self)!,
      peers: source,
      alerts: this.hub,
      clock: this.clock,
      log: silentLogger(),
      settings: this.settings,
      rules: this.rules,
      state,
      intervalMs: 1000,
    });
    void this.engine.start();
  }

  get now(): number {
    return this.clock.now();
  }

  store(node: string): NodeStore {
    return this.stores.get(node)!;
  }

  /** Applies an event on a node; a peer that is up "streams" its new state at once. */
  apply(node: string, ev: EventInput): void {
    const full = { at: this.now, source: 'dbus', ...ev } as NodeEvent;
    this.store(node).apply(full);
    this.sync(node);
  }

  private sync(node: string): void {
    const p = this.peers.get(node);
    if (!p || !p.up) return;
    p.snapshot = this.store(node).snapshot();
    p.receivedAt = this.now;
    p.lastSeenAt = this.now;
    for (const l of this.listeners) l(node);
  }

  /** keepalived up with the instances, VIPs bound where MASTER, nginx serving. */
  boot(node: string, instances: InstanceSpec[], opts: { nginx?: boolean; vipProbe?: boolean } = {}): void {
    this.apply(node, { kind: 'keepalived', up: true, pid: 100 });
    for (const i of instances) {
      this.apply(node, {
        kind: 'instance',
        key: { iname: i.iname ?? 'VI_1', intf: 'eth0', vrid: i.vrid ?? 51, family: 'IPv4' },
        state: i.state,
        priority: i.priority,
        effectivePriority: i.priority,
        vips: i.vips ?? ['192.0.2.100'],
        advertIntervalMs: i.advertIntervalMs ?? 1000,
        authType: i.authType,
        nopreempt: i.nopreempt,
        syncGroup: i.syncGroup,
      });
    }
    if (opts.vipProbe ?? true) this.vipsFromState(node);
    if (opts.nginx ?? true) this.nginx(node, true);
  }

  /** The VIP probe's view: every VIP of a MASTER instance bound (as a /24 on eth0), others not (or as given). */
  vipsFromState(node: string, override: Record<string, boolean> = {}): void {
    const s = this.store(node).state;
    const vips = Object.values(s.instances).flatMap((i) =>
      i.vips.map((vip) => ((override[vip] ?? i.state === 'MASTER') ? { iname: i.iname, vip, intf: 'eth0', prefix: 24 } : { iname: i.iname, vip, intf: null })),
    );
    this.apply(node, { kind: 'vip', vips, source: 'vip_probe' });
  }

  nginx(node: string, up: boolean): void {
    this.apply(node, { kind: 'nginx_status', up, source: 'nginx_probe', reason: up ? undefined : 'connection refused' });
    this.apply(node, { kind: 'nginx_health', target: 'local', up, durationMs: 1, source: 'nginx_probe' });
  }

  /** A transition as keepalived makes it: state, then (for MASTER/else) the VIP follows. */
  transition(node: string, state: VrrpState, iname = 'VI_1', opts: { moveVip?: boolean; priority?: number } = {}): void {
    this.apply(node, { kind: 'transition', iname, state, priority: opts.priority });
    if (opts.moveVip ?? true) this.vipsFromState(node);
  }

  setPeerUp(node: string, up: boolean): void {
    const p = this.peers.get(node)!;
    if (p.up === up) return;
    p.up = up;
    p.since = this.now;
    if (up) this.sync(node);
    else for (const l of this.listeners) l(node);
  }

  /** The peer's agent restarts: a new store (new bootAt, empty timeline) re-reads keepalived. */
  restartPeerAgent(node: string, instances: InstanceSpec[]): void {
    this.setPeerUp(node, false);
    this.clock.advance(1500);
    this.stores.set(node, new NodeStore(node, this.clock));
    this.setPeerUp(node, true);
    this.boot(node, instances);
  }

  advance(ms: number, step = 100): void {
    for (let t = 0; t < ms; t += step) this.clock.advance(Math.min(step, ms - t));
  }

  firing(alertname?: string): Alert[] {
    return this.hub.active().filter((a) => !alertname || a.labels.alertname === alertname);
  }

  events(alertname: string, status?: Alert['status']): Alert[] {
    return this.published.filter((a) => a.labels.alertname === alertname && (!status || a.status === status));
  }

  names(): string[] {
    return [...new Set(this.firing().map((a) => a.labels.alertname))].sort();
  }
}

/** Two nodes, ka1 MASTER 150 with the VIP, ka2 BACKUP 100, settled. */
export function healthyPair(self = 'ka1', settings: Partial<RuleSettings> = {}): SimCluster {
  const c = new SimCluster(['ka1', 'ka2'], self, settings);
  c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
  c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
  c.advance(10_000);
  return c;
}
