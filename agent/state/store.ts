// The node-state store: the one truth about this node. Every source and probe calls apply();
// exporters, rules, the API and peers read state. Nothing here knows of metrics or alerts.
import type { Clock } from '../context';
import { RUNNING_STATES, TransitionHistory } from './history';
import { NGINX_HEALTH_FAILURES_DOWN } from './types';
import { FAILOVERS_KEPT } from './failoverOutage';
import type {
  InstanceKey,
  InstanceState,
  LastState,
  NodeEvent,
  NodeState,
  PersistedInstance,
  SourceName,
  TransitionEvent,
  TransitionRecord,
  VrrpState,
} from './types';

export interface StoreChange {
  event: NodeEvent;
  /** The new transitions this event caused (none when a second source confirmed a known one). */
  transitions: TransitionRecord[];
  revision: number;
  /**
   * False when the event only repeated what the state already said with fresher numbers: a probe
   * result with an unchanged verdict (nginx up, health, duplicate VIP, VIP listing), dump counters,
   * a probe's own bookkeeping (probe_run). With every probe each second most events are such
   * repeats; consumers that act on news (the rules, the peer stream) leave them to their timers.
   */
  material: boolean;
}

export interface StoreOptions {
  /** How many transitions the timeline keeps. */
  timelineSize?: number;
  /** A lagging source's report matches an earlier transition to the same state within this window. */
  dedupWindowMs?: number;
}

interface HistoryEntry {
  seq: number;
  to: VrrpState;
  at: number;
}

const HISTORY_SIZE = 32;

export function transitionCountKey(iname: string, from: VrrpState, to: VrrpState): string {
  return JSON.stringify([iname, from, to]);
}

export class NodeStore {
  private readonly s: NodeState;
  private readonly listeners = new Set<(c: StoreChange) => void>();
  // Per instance, the recent transitions with a sequence, and per (source, instance) the last
  // one that source reported: a slow source (log) re-reporting a transition that a fast one
  // (D-Bus) already delivered advances its cursor instead of counting the transition twice,
  // even when the instance has moved on since.
  private readonly history = new Map<string, HistoryEntry[]>();
  private readonly cursors = new Map<string, number>();
  private historySeq = 0;
  /** Groups a live source has reported: a backlog never overwrites them. */
  private readonly liveGroups = new Set<string>();
  private readonly timelineSize: number;
  private readonly dedupWindowMs: number;
  /** What happened while the agent was down (backlogs, the persisted last state): see history.ts. */
  private readonly past: TransitionHistory;

  constructor(node: string, private readonly clock: Clock, opts: StoreOptions = {}) {
    this.timelineSize = opts.timelineSize ?? 200;
    this.dedupWindowMs = opts.dedupWindowMs ?? 2000;
    const now = clock.now();
    this.s = {
      node,
      revision: 0,
      bootAt: now,
      keepalived: { up: false, since: now, reason: 'not yet seen' },
      instances: {},
      groups: {},
      scripts: {},
      checkers: {},
      sources: {},
      vips: {},
      nginx: { health: {} },
      probes: {},
      transitionCounts: {},
      vipChanges: 0,
      failovers: [],
      timeline: [],
    };
    this.past = new TransitionHistory(
      { state: this.s, ensureInstance: (iname, key) => this.ensureInstance(iname, key), count: (rec) => this.count(rec) },
      { clock, dedupWindowMs: this.dedupWindowMs, maxRecords: this.timelineSize, onSettled: () => this.notifySettled() },
    );
  }

  // ------------------------------------------------------------------ history (see history.ts)

  /** The agent's last persisted state (before any source starts; once: false for later calls). */
  setBaseline(last: LastState | undefined): boolean {
    return this.past.setBaseline(last);
  }

  /** The baseline given to setBaseline (when it was this node's). */
  get lastState(): LastState | undefined {
    return this.past.lastState;
  }

  /** The backlog sources that will call backlogDone(); backlog transitions are counted when all did, or after timeoutMs. */
  expectBacklogs(sources: SourceName[], timeoutMs: number): void {
    this.past.expectBacklogs(sources, timeoutMs);
  }

  backlogDone(source: SourceName): void {
    this.past.backlogDone(source);
  }

  /** Whether every backlog was read (or the wait timed out): the counters include them. */
  get historySettled(): boolean {
    return this.past.settled;
  }

  /**
   * What to persist: every instance in a known state, over the baseline's instances that no source
   * has reported a state of yet (so a restart with keepalived not yet readable keeps them).
   */
  persistable(aliveAt: number): LastState {
    const instances: Record<string, PersistedInstance> = {};
    // Once keepalived is seen running, an instance no source lists any more (removed from
    // keepalived.conf) is not carried over.
    for (const b of Object.values(this.past.lastState?.instances ?? {})) {
      if (!this.s.keepalived.up || this.s.instances[b.iname]) instances[b.iname] = b;
    }
    for (const i of Object.values(this.s.instances)) {
      if (i.state === 'UNKNOWN') continue;
      instances[i.iname] = { iname: i.iname, intf: i.intf, vrid: i.vrid, family: i.family, state: i.state, since: i.since };
    }
    return { node: this.s.node, aliveAt, instances };
  }

  private notifySettled(): void {
    // The counters changed without an event: a revision for the scrape cache and the peers.
    this.s.revision++;
    const change: StoreChange = { event: { kind: 'source', source: 'derived', at: this.clock.now(), up: true }, transitions: [], revision: this.s.revision, material: true };
    for (const l of this.listeners) l(change);
  }

  private count(rec: TransitionRecord): void {
    if (rec.from === 'UNKNOWN') return;
    const k = transitionCountKey(rec.iname, rec.from, rec.to);
    this.s.transitionCounts[k] = (this.s.transitionCounts[k] ?? 0) + 1;
  }

  /** The live state. Treat as read-only; structuredClone it to keep a copy. */
  get state(): Readonly<NodeState> {
    return this.s;
  }

  subscribe(fn: (c: StoreChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  apply(ev: NodeEvent): StoreChange {
    let material = this.isMaterial(ev);
    // A backlog event's time is in the past: the source was last heard of now.
    const src = this.touchSource(ev.source, ev.history ? Math.max(ev.at, this.clock.now()) : ev.at);
    const transitions: TransitionRecord[] = [];
    // A backlog (ev.history) says what happened while the agent was down: it fills the timeline
    // and never overwrites what a live source reports now (history.ts). Of the other kinds, only
    // what no live source has said yet is taken from it.
    const past = ev.history !== undefined;
    switch (ev.kind) {
      case 'transition':
        transitions.push(...this.applyTransitionEvent(ev, false));
        break;
      case 'instance': {
        const inst = this.ensureInstance(ev.key.iname, ev.key);
        for (const k of ['priority', 'effectivePriority', 'advertIntervalMs', 'authType', 'nopreempt', 'preemptDelayS', 'unicastPeers', 'syncGroup'] as const) {
          if (ev[k] !== undefined) (inst as unknown as Record<string, unknown>)[k] = ev[k];
        }
        if (ev.vips) inst.vips = [...ev.vips];
        if (ev.vipEntries) inst.vipEntries = ev.vipEntries.map((v) => ({ ...v }));
        if (ev.excludedVips) inst.excludedVips = ev.excludedVips.map((v) => ({ ...v }));
        if (ev.state) {
          transitions.push(...this.applyTransitionEvent({ kind: 'transition', iname: ev.key.iname, state: ev.state, at: ev.at, source: ev.source, priority: ev.priority, history: ev.history }, true));
        }
        break;
      }
      case 'priority': {
        const inst = this.ensureInstance(ev.iname);
        if (!past || inst.effectivePriority === undefined) inst.effectivePriority = ev.priority;
        break;
      }
      case 'group': {
        const g = this.s.groups[ev.group];
        // A backlog fills in a group no live source has reported yet, in its own order.
        if (past && g && (this.liveGroups.has(ev.group) || ev.at < g.since)) break;
        if (!past) this.liveGroups.add(ev.group);
        if (!g || g.state !== ev.state) this.s.groups[ev.group] = { state: ev.state, since: ev.at, priority: ev.priority };
        else if (ev.priority !== undefined) g.priority = ev.priority;
        break;
      }
      case 'keepalived':
        if (past) transitions.push(...this.past.backlogKeepalivedDown(ev));
        else transitions.push(...this.applyKeepalived(ev.up, ev.at, ev.source, ev.pid, ev.reason));
        break;
      case 'evidence': {
        const inst = this.ensureInstance(ev.iname);
        const prev = inst.lastEvidence;
        if (past && prev && prev.at >= ev.at) break;
        const count = prev && prev.type === ev.type && ev.at - prev.at < 10_000 ? prev.count + 1 : 1;
        inst.lastEvidence = { type: ev.type, at: ev.at, peer: ev.peer, count };
        break;
      }
      case 'counters': {
        const inst = this.ensureInstance(ev.iname);
        inst.counters = { ...inst.counters, ...ev.counters };
        break;
      }
      case 'script':
        if (past && this.s.scripts[ev.name]) break;
        this.s.scripts[ev.name] = { good: ev.good, state: ev.state, at: ev.at };
        break;
      case 'checker':
        if (past && this.s.checkers[ev.target]) break;
        this.s.checkers[ev.target] = { up: ev.up, at: ev.at };
        break;
      case 'source':
        if (src.up !== ev.up) src.since = ev.at;
        src.up = ev.up;
        src.error = ev.up ? undefined : ev.error;
        break;
      case 'parse_error':
        src.parseErrors++;
        break;
      case 'vip': {
        const seen = new Set<string>();
        for (const v of ev.vips) {
          const id = `${v.iname}|${v.vip}`;
          seen.add(id);
          const cur = this.s.vips[id];
          if (!cur) {
            this.s.vips[id] = { iname: v.iname, vip: v.vip, intf: v.intf, since: ev.at };
            material = true;
          } else if (cur.intf !== v.intf) {
            cur.intf = v.intf;
            cur.since = ev.at;
            this.s.vipChanges++;
            material = true;
          }
          const vs = this.s.vips[id];
          if (v.intf !== null && v.prefix !== undefined) vs.prefix = v.prefix;
          else delete vs.prefix;
        }
        for (const id of Object.keys(this.s.vips)) {
          if (seen.has(id)) continue;
          delete this.s.vips[id];
          material = true;
        }
        break;
      }
      case 'vip_duplicate':
        for (const v of Object.values(this.s.vips)) {
          if (v.vip === ev.vip) v.duplicate = { duplicate: ev.duplicate, mac: ev.mac, macAddresses: ev.macAddresses, at: ev.at, error: ev.error };
        }
        break;
      case 'nginx_status':
        this.s.nginx.status = ev;
        break;
      case 'nginx_health':
        this.s.nginx.health[ev.target] = ev;
        break;
      case 'nginx_process':
        this.s.nginx.process = ev;
        break;
      case 'nginx_config':
        this.s.nginx.config = ev;
        break;
      case 'nginx_start_hook':
        this.s.nginx.startHook = ev;
        break;
      case 'probe_run':
        this.s.probes[ev.probe] = { ok: ev.ok, at: ev.at, durationMs: ev.durationMs, reason: ev.reason };
        break;
      case 'failover_outage': {
        const list = (this.s.failovers ??= []);
        const i = list.findIndex((f) => f.id === ev.outage.id);
        if (i >= 0) list[i] = ev.outage;
        else list.push(ev.outage);
        if (list.length > FAILOVERS_KEPT) list.splice(0, list.length - FAILOVERS_KEPT);
        break;
      }
    }
    this.s.revision++;
    const change: StoreChange = { event: ev, transitions, revision: this.s.revision, material: material || transitions.length > 0 };
    for (const l of this.listeners) l(change);
    return change;
  }

  /** Whether ev says something the state does not say yet (see StoreChange.material); called before applying it. */
  private isMaterial(ev: NodeEvent): boolean {
    const n = this.s.nginx;
    switch (ev.kind) {
      case 'probe_run':
      case 'counters':
        return false;
      case 'nginx_status':
        return n.status?.up !== ev.up;
      case 'nginx_process':
        return n.process?.up !== ev.up || n.process?.pid !== ev.pid;
      case 'nginx_health': {
        const prev = n.health[ev.target];
        // The failure that makes a streak long enough to mean "down" is news too.
        const confirms = (ev.failures ?? 0) >= NGINX_HEALTH_FAILURES_DOWN && (prev?.failures ?? 0) < NGINX_HEALTH_FAILURES_DOWN;
        return prev?.up !== ev.up || confirms;
      }
      case 'vip_duplicate':
        return Object.values(this.s.vips).some((v) => v.vip === ev.vip && (v.duplicate?.duplicate !== ev.duplicate || v.duplicate?.error !== ev.error));
      case 'vip':
        // Decided while applying it: a binding added, moved or gone.
        return false;
      default:
        return true;
    }
  }

  private touchSource(source: SourceName, at: number) {
    let src = this.s.sources[source];
    if (!src) {
      src = { up: true, since: at, parseErrors: 0 };
      this.s.sources[source] = src;
    }
    src.lastEventAt = at;
    return src;
  }

  private ensureInstance(iname: string, key?: Partial<InstanceKey>): InstanceState {
    let inst = this.s.instances[iname];
    if (!inst) {
      inst = {
        iname,
        intf: '',
        vrid: 0,
        family: 'IPv4',
        state: 'UNKNOWN',
        since: this.clock.now(),
        source: 'derived',
        confirmedBy: [],
        vips: [],
        counters: {},
      };
      this.s.instances[iname] = inst;
    }
    if (key) {
      if (key.intf) inst.intf = key.intf;
      if (key.vrid) inst.vrid = key.vrid;
      if (key.family) inst.family = key.family;
    }
    return inst;
  }

  /** A transition event, or a state read (an instance event with a state, read = true). */
  private applyTransitionEvent(ev: TransitionEvent, read: boolean): TransitionRecord[] {
    if (ev.history && !this.past.isNews(ev)) return this.past.backlog(ev);
    const inst = this.ensureInstance(ev.iname, ev.key);
    if (!this.past.isLive(ev.iname)) {
      // A running state from a live source is proof keepalived runs (FIFO/log-only setups).
      if (RUNNING_STATES.has(ev.state) && !this.s.keepalived.up && this.s.keepalived.reason === 'not yet seen') this.applyKeepalived(true, ev.at, 'derived');
      // The first live report: it continues from the backlog (or the persisted last state).
      const first = this.past.firstLive(inst, ev, read);
      if (first.handled && first.record) {
        if (ev.priority !== undefined) inst.effectivePriority = ev.priority;
        this.adopt(inst, first.record, `${ev.source}\u0000${ev.iname}`);
        return [first.record];
      }
      const rec = this.applyTransition(ev, true);
      if (rec) this.past.liveJunction(ev.iname, rec);
      return rec ? [rec] : [];
    }
    const rec = this.applyTransition(ev);
    return rec ? [rec] : [];
  }

  private applyTransition(ev: TransitionEvent, junction = false): TransitionRecord | undefined {
    const inst = this.ensureInstance(ev.iname, ev.key);
    if (ev.priority !== undefined) inst.effectivePriority = ev.priority;
    const hist = this.history.get(ev.iname) ?? [];
    this.history.set(ev.iname, hist);
    const cursorKey = `${ev.source}\u0000${ev.iname}`;
    const cursor = this.cursors.get(cursorKey) ?? -1;
    const latest = hist.length ? hist[hist.length - 1].seq : -1;

    const match = hist.find((h) => h.seq > cursor && h.to === ev.state && Math.abs(ev.at - h.at) <= this.dedupWindowMs);
    if (match) {
      this.cursors.set(cursorKey, match.seq);
      if (match.seq === latest && !inst.confirmedBy.includes(ev.source)) inst.confirmedBy.push(ev.source);
      return undefined;
    }
    // Older than the current state and matching no recent transition: an out-of-order line
    // (reversed hook records, a late read). Applying it would move the state backwards.
    if (inst.state !== 'UNKNOWN' && ev.at < inst.since) return undefined;
    if (inst.state === ev.state) {
      this.cursors.set(cursorKey, latest);
      if (!inst.confirmedBy.includes(ev.source) && inst.source !== ev.source) inst.confirmedBy.push(ev.source);
      return undefined;
    }
    const live = ev.state !== 'STOP' && ev.state !== 'DELETED' && ev.state !== 'UNKNOWN';
    if (live && !this.s.keepalived.up) {
      // A live state stamped before keepalived was seen to die is a stale line (a late log read):
      // not believed. One stamped after is proof keepalived runs (FIFO/log-only setups).
      if (this.s.keepalived.reason !== 'not yet seen' && ev.at <= this.s.keepalived.since) return undefined;
      this.applyKeepalived(true, ev.at, 'derived');
    }
    // The junction (first live report) is counted by the history, once the backlogs are in.
    return this.recordTransition(inst, ev.state, ev.at, ev.source, ev.cause, cursorKey, !junction);
  }

  private recordTransition(inst: InstanceState, to: VrrpState, at: number, source: SourceName, cause: string | undefined, cursorKey?: string, count = true): TransitionRecord {
    const rec: TransitionRecord = { at, iname: inst.iname, from: inst.state, to, source, cause };
    if (count) this.count(rec);
    this.s.timeline.push(rec);
    this.adopt(inst, rec, cursorKey);
    return rec;
  }

  /** The instance takes rec as its current state; rec joins the live dedup history. */
  private adopt(inst: InstanceState, rec: TransitionRecord, cursorKey?: string): void {
    const hist = this.history.get(inst.iname) ?? [];
    this.history.set(inst.iname, hist);
    const seq = ++this.historySeq;
    hist.push({ seq, to: rec.to, at: rec.at });
    if (hist.length > HISTORY_SIZE) hist.shift();
    if (cursorKey) this.cursors.set(cursorKey, seq);
    inst.state = rec.to;
    inst.since = rec.at;
    inst.source = rec.source;
    inst.confirmedBy = [];
    if (this.s.timeline.length > this.timelineSize) this.s.timeline.splice(0, this.s.timeline.length - this.timelineSize);
  }

  private applyKeepalived(up: boolean, at: number, source: SourceName, pid?: number, reason?: string): TransitionRecord[] {
    const k = this.s.keepalived;
    const changed = k.up !== up;
    if (changed) k.since = at;
    k.up = up;
    k.pid = up ? pid ?? k.pid : undefined;
    k.reason = up ? undefined : reason ?? 'stopped';
    if (!up) {
      // No stale MASTER after keepalived died: every instance is STOP until it is re-read.
      const out: TransitionRecord[] = [];
      // Instances known only from the persisted last state, running then: keepalived is down now.
      for (const iname of this.past.baselineRunning()) this.ensureInstance(iname);
      for (const inst of Object.values(this.s.instances)) {
        if (!this.past.isLive(inst.iname) && this.past.knows(inst.iname)) {
          // A read of "not running" against what the backlog or the last state said.
          const first = this.past.firstLive(inst, { at, state: 'STOP', source }, true);
          if (first.record) {
            this.adopt(inst, first.record);
            out.push(first.record);
            continue;
          }
        }
        if (inst.state !== 'STOP' && inst.state !== 'UNKNOWN') {
          out.push(this.recordTransition(inst, 'STOP', at, source, `keepalived ${k.reason}`));
        }
      }
      return out;
    }
    return [];
  }
}
