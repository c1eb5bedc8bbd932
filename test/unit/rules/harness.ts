// The rules' test bench, on a FakeClock, nothing needing D-Bus: a cluster of simulated nodes (one
// real NodeStore per node fed the events the sources would emit, a controllable peer directory:
// up/down, restart, stale snapshots) seen from one of them (self), and either
//  - RuleSim: rules on their own, a ClusterView in and Condition[] out (one test file per rule), or
//  - SimCluster: the real engine with every rule and a real AlertHub (the engine's tests, and the
//    modules downstream of it: alerting, the failover outage).
import { NodeStore } from '../../../agent/state/store';
import type { NodeEvent, NodeState, VrrpState } from '../../../agent/state/types';
import { buildClusterView, type ClusterView, type PeerView } from '../../../agent/state/cluster';
import { createAlertHub } from '../../../agent/alerting/hub';
import { fingerprint, type Alert, type Severity } from '../../../agent/alerting/alert';
import { silentLogger } from '../../../agent/logger';
import { alertOf, RulesEngine, createEngineState, type EngineState, type PeerSource } from '../../../rules/engine';
import { FlappingTracker, type FlappingEpisode } from '../../../rules/flapping';
import { allRules } from '../../../rules';
import type { Condition, Rule, RuleSettings } from '../../../rules/rule';
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
  peerAgentDeadMs: 30_000,
  flapping: { changes: 3, windowMs: 300_000, quietMs: 120_000 },
  nginxStandby: 'hot',
  takeoverGraceMs: 10_000,
  peers: [],
};

interface PeerSlot {
  up: boolean;
  /** Its agent's URL in our config (setPeerUrl). */
  url?: string;
  /** What we last received (kept while down). */
  snapshot?: NodeState;
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

/** The simulated nodes, their stores and the peer directory as self sees it. */
export abstract class SimNodes {
  readonly clock = new FakeClock();
  readonly stores = new Map<string, NodeStore>();
  readonly peers = new Map<string, PeerSlot>();
  readonly settings: RuleSettings;
  protected readonly listeners = new Set<(n: string) => void>();

  constructor(
    readonly nodes: string[],
    readonly self = nodes[0],
    settings: Partial<RuleSettings> = {},
  ) {
    this.settings = { ...DEFAULT_SETTINGS, peers: nodes.filter((n) => n !== self), ...settings };
    for (const n of nodes) {
      this.stores.set(n, new NodeStore(n, this.clock));
      if (n !== self) this.peers.set(n, { up: true, since: this.clock.now() });
    }
  }

  /** Called after every step of advance(). */
  protected abstract tick(): void;

  get now(): number {
    return this.clock.now();
  }

  store(node: string): NodeStore {
    return this.stores.get(node)!;
  }

  /** A node's agent starts afresh on this store (a new bootAt, an empty timeline). */
  setStore(node: string, store: NodeStore): void {
    this.stores.set(node, store);
  }

  /** What self's peer directory says of the peers. */
  peerViews(): PeerView[] {
    return [...this.peers].map(([name, p]): PeerView => ({ name, url: p.url, up: p.up, since: p.since, state: p.snapshot, receivedAt: p.receivedAt, lastSeenAt: p.lastSeenAt }));
  }

  /** The cluster view self builds now. */
  view(): ClusterView {
    return buildClusterView(this.store(this.self).state, this.peerViews(), this.now);
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
    p.snapshot = structuredClone(this.store(node).state);
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

  /** The URL our config gives for a peer's agent (its address names it in a neighbour table). */
  setPeerUrl(node: string, url: string): void {
    this.peers.get(node)!.url = url;
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
    this.advance(1500);
    this.setStore(node, new NodeStore(node, this.clock));
    this.setPeerUp(node, true);
    this.boot(node, instances);
  }

  advance(ms: number, step = 100): void {
    for (let t = 0; t < ms; t += step) {
      this.clock.advance(Math.min(step, ms - t));
      this.tick();
    }
  }
}

/**
 * One occurrence of a condition, read from the Condition[] of successive evaluations as
 * rules/rule.ts defines them: from the evaluation that first returns its labels to the first one
 * that does not (an event's occurrence also ends at a later startsAt); one returned with endsAt
 * was over when found.
 */
export interface Occurrence {
  rule: string;
  labels: Record<string, string>;
  severity: Severity;
  startsAt: number;
  /** The first evaluation that returned it. */
  firstAt: number;
  /** As last returned. */
  condition: Condition;
  /** When it was over: the first evaluation without it, or its own endsAt. */
  endedAt?: number;
  /** The view of that evaluation (what its resolved notice says holds now). */
  endView?: ClusterView;
}

/**
 * Rules on their own on the simulated cluster, evaluated when the engine would evaluate them: a
 * few ms after a change (changes at one instant are seen together), every second, and when a rule
 * asked to be woken (at the first step of advance() at or after that time). Each rule keeps its
 * memory across evaluations; flapping is computed first and handed to every rule, as the engine does.
 */
export class RuleSim extends SimNodes {
  readonly rules: Rule[];
  /** Per-transition events folded into a Flapping alert, per VRID key, since the start. */
  readonly folded = new Map<string, number>();
  /** The flapping VRIDs at the last evaluation. */
  flapping: ReadonlyMap<string, FlappingEpisode> = new Map();
  private memory = new Map<string, unknown>();
  private tracker?: FlappingTracker;
  private latest = new Map<string, Condition[]>();
  private occ: Array<Occurrence & { key: string }> = [];
  private debounce?: NodeJS.Timeout;
  private lastAt = -Infinity;
  private wakes: number[] = [];
  private unsubscribe = () => {};

  constructor(rules: Rule | Rule[], nodes: string[], self = nodes[0], settings: Partial<RuleSettings> = {}) {
    super(nodes, self, settings);
    this.rules = Array.isArray(rules) ? rules : [rules];
    this.listeners.add(() => this.schedule());
    this.watchSelf();
  }

  private watchSelf(): void {
    this.unsubscribe();
    this.unsubscribe = this.store(this.self).subscribe(() => this.schedule());
  }

  override setStore(node: string, store: NodeStore): void {
    super.setStore(node, store);
    if (node === this.self) this.watchSelf();
  }

  private schedule(): void {
    if (this.debounce) return;
    this.debounce = this.clock.setTimeout(() => {
      this.debounce = undefined;
      this.evaluate();
    }, 5);
  }

  protected tick(): void {
    if (this.now - this.lastAt >= 1000 || this.wakes.some((w) => w <= this.now)) this.evaluate();
  }

  /** Every rule once on the view of now. */
  evaluate(): void {
    const now = this.now;
    const view = this.view();
    this.lastAt = now;
    this.wakes = [];
    const wakeAt = (at: number) => at > now && this.wakes.push(at);
    this.tracker ??= new FlappingTracker(now);
    this.flapping = this.tracker.update(view, this.settings.flapping, now, wakeAt);
    for (const rule of this.rules) {
      const conds = rule.evaluate({
        now,
        view,
        settings: this.settings,
        memory: <T>(init: () => T): T => {
          if (!this.memory.has(rule.name)) this.memory.set(rule.name, init());
          return this.memory.get(rule.name) as T;
        },
        flapping: this.flapping,
        fold: (key) => this.folded.set(key, (this.folded.get(key) ?? 0) + 1),
        wakeAt,
      });
      this.latest.set(rule.name, conds);
      this.record(rule.name, conds, now, view);
    }
  }

  private record(rule: string, conds: Condition[], now: number, view: ClusterView): void {
    const open = this.occ.filter((o) => o.rule === rule && o.endedAt === undefined);
    const still = new Set<Occurrence>();
    const end = (o: Occurrence) => {
      if (o.endedAt !== undefined) return;
      o.endedAt = now;
      o.endView = view;
    };
    for (const c of conds) {
      const key = fingerprint({ severity: c.severity, ...c.labels });
      let o = open.find((x) => x.key === key && x.endedAt === undefined);
      if (o && still.has(o)) continue;
      const fresh = { rule, key, labels: c.labels, severity: c.severity, condition: c, firstAt: now };
      if (c.endsAt !== undefined) {
        if (!o) this.occ.push({ ...fresh, startsAt: c.startsAt ?? c.endsAt, endedAt: c.endsAt, endView: view });
        continue;
      }
      if (o && c.event && c.startsAt !== undefined && c.startsAt > o.startsAt) {
        end(o);
        o = undefined;
      }
      if (!o) {
        o = { ...fresh, startsAt: Math.min(c.startsAt ?? now, now) };
        this.occ.push(o);
        open.push(o);
      }
      o.condition = c;
      still.add(o);
    }
    for (const o of open) if (!still.has(o)) end(o);
  }

  /** What a rule (or every rule) returned at the last evaluation. */
  conditions(rule?: string): Condition[] {
    return rule ? (this.latest.get(rule) ?? []) : [...this.latest.values()].flat();
  }

  /** The rules whose last evaluation returned a condition still going on, sorted. */
  names(): string[] {
    return [...this.latest].filter(([, cs]) => cs.some((c) => c.endsAt === undefined)).map(([name]) => name).sort();
  }

  /** Every occurrence of a rule's (or every rule's) conditions so far, in order of appearance. */
  occurrences(rule?: string): Occurrence[] {
    return this.occ.filter((o) => !rule || o.rule === rule);
  }

  /** The conditions of the last evaluation as the alerts self publishes for them. */
  alerts(): Alert[] {
    return this.rules.flatMap((r) => this.conditions(r.name).map((c) => alertOf(r, c, this.self, this.now)));
  }

  /** The annotations of an ended occurrence's resolved notice (the rule's resolvedAnnotations, or its own). */
  resolvedNotice(o: Occurrence): Alert['annotations'] {
    const rule = this.rules.find((r) => r.name === o.rule)!;
    if (!rule.resolvedAnnotations || o.endedAt === undefined || !o.endView) return o.condition.annotations;
    return rule.resolvedAnnotations({ ...alertOf(rule, o.condition, this.self, o.firstAt), startsAt: o.startsAt }, o.endedAt, o.endView, o.condition.facts);
  }

  /** Self's agent restarts: the rules' memories are lost, and what was going on is the old agent's. */
  restartAgent(): void {
    this.memory.clear();
    this.tracker = undefined;
    for (const o of this.occ) if (o.endedAt === undefined) o.endedAt = this.now;
  }
}

/** The real engine with the rules (every rule by default), publishing on a real AlertHub. */
export class SimCluster extends SimNodes {
  readonly hub = createAlertHub(10_000);
  readonly published: Alert[] = [];
  engine!: RulesEngine;
  state: EngineState;

  constructor(
    nodes: string[],
    self = nodes[0],
    settings: Partial<RuleSettings> = {},
    readonly rules: Rule[] = allRules,
  ) {
    super(nodes, self, settings);
    this.hub.subscribe((a) => this.published.push(a));
    this.state = createEngineState();
    this.startEngine();
  }

  protected tick(): void {}

  /** (Re)starts the engine on the given state (a reload keeps it; an agent restart does not). */
  startEngine(state: EngineState = this.state): void {
    void this.engine?.stop();
    this.state = state;
    const source: PeerSource = {
      views: () => this.peerViews(),
      subscribe: (fn) => {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
      },
    };
    this.engine = new RulesEngine({
      store: this.store(this.self),
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

/** ka1 MASTER 150 with the VIP, ka2 BACKUP 100, settled for 10 s. */
function settlePair<T extends SimNodes>(c: T): T {
  c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
  c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
  c.advance(10_000);
  return c;
}

/** A healthy settled pair under the real engine with every rule. */
export function healthyPair(self = 'ka1', settings: Partial<RuleSettings> = {}): SimCluster {
  return settlePair(new SimCluster(['ka1', 'ka2'], self, settings));
}

/** A healthy settled pair, seen from self, under the given rules alone. */
export function rulePair(rules: Rule | Rule[], self = 'ka1', settings: Partial<RuleSettings> = {}): RuleSim {
  return settlePair(new RuleSim(rules, ['ka1', 'ka2'], self, settings));
}

/** A node's agent comes back: a new store with its persisted last state, its backlog (history), then the live read. */
export function restartWithHistory(
  c: RuleSim,
  node: string,
  last: { state: VrrpState; aliveAt: number },
  backlog: Array<{ state: VrrpState; at: number; bounded?: boolean }>,
  live: VrrpState,
): void {
  const store = new NodeStore(node, c.clock);
  store.setBaseline({ node, aliveAt: last.aliveAt, instances: { VI_1: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4', state: last.state, since: last.aliveAt - 60_000 } } });
  c.setStore(node, store);
  // Our own agent restarting: its rules start afresh on the new store.
  if (node === c.self) c.restartAgent();
  for (const b of backlog) c.apply(node, { kind: 'transition', iname: 'VI_1', state: b.state, at: b.at, source: 'fifo', history: b.bounded ? { bounded: true } : {} });
  c.boot(node, [{ state: live, priority: node === 'ka1' ? 150 : 100 }]);
  if (node !== c.self) c.setPeerUp(node, true);
}
