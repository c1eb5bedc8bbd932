// What clients of the VIP lived through in a failover, measured on the new master: from the old
// master's loss to the VIP bound here, and to the first good request through the VIP here.
//
// The loss is the best fact known, in this order: the old master's own report of leaving MASTER
// (its keepalived leaving: STOP; its FAULT; or its giving way to us: BACKUP), read from its state
// as its agent streams it; else, when that agent is unreachable or unknown, its last advert,
// estimated as our own BACKUP -> MASTER transition minus master_down_interval (3 x advert_int +
// skew: the silence keepalived waits for before taking over). The VIP bound is the address
// monitor's time of the binding; the first good request is the first health request through the
// VIP that answered (nginx.health_via_vip; the probes module requests it the moment the VIP binds).
// When the loss is only estimated (the old master's agent out of sight), the first duplicate-address
// probe after our VIP bound says more: another host still answering for it means the old master kept
// the VIP (keepalived killed with -9 there, or still MASTER), so "no service" is not a fact.
//
// Fed by this node's store and by the peer directory; it writes each measurement into the store
// (NodeState.failovers, via a 'failover_outage' event) as its facts arrive, so the Failover rule,
// the API, the peers and keepwatch_failover_duration_seconds all read the same record.
import type { Logger } from 'pino';
import type { Clock } from '../context';
import type { Component } from '../module';
import { buildClusterView, nginxServing, vridKey, type PeerView } from './cluster';
import type { NodeStore, StoreChange } from './store';
import type { InstanceState, TransitionRecord, VipDuplicateEvent, VrrpState } from './types';

/** Which fact the outage is counted from. */
export type OutageLossKind = 'keepalived_left' | 'fault' | 'released' | 'last_advert';

export interface OutageLoss {
  at: number;
  kind: OutageLossKind;
  /** last_advert: the master_down_interval subtracted from our takeover, ms. */
  masterDownMs?: number;
  /** What the old master's agent said of it (e.g. "keepalived stopped"). */
  cause?: string;
  /** The old master still held the VIP with nginx serving when we took over (keepalived killed
   *  with -9 leaves its VIPs bound): clients reaching it were still served, there may be no gap. */
  vipLeftBound?: boolean;
  /** last_advert only: the first duplicate-address probe after our VIP bound heard another host
   *  answer for it. The old master kept the VIP: clients that reached it may have been served. */
  stillAnswered?: boolean;
}

/** One takeover by this node, as far as it is measured. */
export interface FailoverOutage {
  /** `${vrid}@${masterAt}`. */
  id: string;
  /** The VRID key ("51", "51/IPv6"). */
  vrid: string;
  iname: string;
  /** The new master: this node. */
  node: string;
  /** The old master, when known. */
  from?: string;
  /** Our BACKUP -> MASTER transition. */
  masterAt: number;
  loss: OutageLoss;
  vipBoundAt?: number;
  firstGoodAt?: number;
  /** No more facts will be added (both measured, this node left MASTER, or it waited long enough). */
  done: boolean;
}

/** How many measurements NodeState.failovers keeps, newest last. */
export const FAILOVERS_KEPT = 10;
/** A report of the old master's leaving may come this long after our takeover (it gave way to us). */
const AFTER_SLACK_MS = 2_000;
/** The old master's leaving is looked for this far back at most. */
const LOOKBACK_MS = 600_000;
/** A measurement still missing a stage is closed this long after the takeover. */
export const OUTAGE_MAX_WAIT_MS = 300_000;

/** keepalived's master_down_interval: 3 x advert_int + skew, skew = (256 - priority) x advert_int / 256. */
export function masterDownIntervalMs(inst: Pick<InstanceState, 'advertIntervalMs' | 'priority'>): number {
  const adv = inst.advertIntervalMs ?? 1000;
  const prio = inst.priority ?? 100;
  return 3 * adv + ((256 - prio) * adv) / 256;
}

function lossKindOf(to: VrrpState): OutageLossKind {
  if (to === 'FAULT') return 'fault';
  if (to === 'BACKUP') return 'released';
  return 'keepalived_left'; // STOP, DELETED, INIT (restarted), UNKNOWN
}

export interface PeerStates {
  views(): PeerView[];
  subscribe(fn: (name: string) => void): () => void;
}

export interface FailoverOutageOptions {
  store: NodeStore;
  peers: PeerStates;
  clock: Clock;
  log: Logger;
  /** How long a peer that still says MASTER may take to report its leaving (peer_timeout and some). */
  settleMs: number;
  /** nginx.health_via_vip: without it there is no first good request to wait for. */
  viaVip: boolean;
}

interface Pending {
  vrid: string;
  iname: string;
  masterAt: number;
  /** How long we were BACKUP/FAULT before: a takeover after keepalived's first election is no failover. */
  waitedMs: number;
  masterDownMs: number;
  lowerBound: number;
  record?: FailoverOutage;
  timer?: NodeJS.Timeout;
  /** The first duplicate-address probe after the VIP bound has answered (stillAnswered decided). */
  probed?: boolean;
}

export class FailoverOutageTracker implements Component {
  readonly name = 'failover-outage';
  private readonly pending = new Map<string, Pending>();
  /** Per own instance: when it last left MASTER (the old master's leaving must be after it). */
  private readonly lastExit = new Map<string, number>();
  /** Per own instance: a finished measurement from an estimated loss, until the first
   *  duplicate-address probe after its VIP bound (the probe runs every 10 s by default; the
   *  measurement is usually done within a second or two). */
  private readonly awaitingProbe = new Map<string, Pending>();
  private unsubs: Array<() => void> = [];

  constructor(private o: FailoverOutageOptions) {}

  /** A rebuilt probes module hands its new settings; measurements in progress go on. */
  configure(o: FailoverOutageOptions): void {
    this.o = o;
  }

  async start(): Promise<void> {
    this.unsubs.push(this.o.store.subscribe((c) => this.onStore(c)));
    this.unsubs.push(this.o.peers.subscribe(() => this.resolveAll()));
    for (const p of this.pending.values()) this.arm(p);
  }

  async stop(): Promise<void> {
    for (const u of this.unsubs) u();
    this.unsubs = [];
    for (const p of this.pending.values()) {
      this.o.clock.clearTimeout(p.timer);
      p.timer = undefined;
    }
  }

  /** Measurements not finished yet (tests, API). */
  inProgress(): number {
    return this.pending.size;
  }

  private onStore(c: StoreChange): void {
    const ev = c.event;
    if (ev.kind === 'failover_outage') return;
    for (const t of c.transitions) this.onTransition(t);
    if (ev.kind === 'vip_duplicate') this.onProbe(ev);
    if (!this.pending.size) return;
    if (ev.kind === 'vip' || ev.kind === 'nginx_health' || c.transitions.length) {
      for (const p of this.pending.values()) this.update(p);
    }
  }

  private onTransition(t: TransitionRecord): void {
    const s = this.o.store.state;
    const inst = s.instances[t.iname];
    if (!inst) return;
    if (t.from === 'MASTER') {
      this.lastExit.set(t.iname, t.at);
      for (const p of [...this.pending.values()]) if (p.iname === t.iname) this.finish(p);
      this.awaitingProbe.delete(t.iname);
      return;
    }
    if (t.to !== 'MASTER' || !['BACKUP', 'FAULT', 'INIT'].includes(t.from)) return;
    // History replayed at start (what happened while the agent was down) is no takeover to time now.
    if (t.at < s.bootAt) return;
    const vrid = vridKey(inst);
    const before = [...s.timeline].reverse().find((r) => r.iname === t.iname && r !== t && r.at <= t.at);
    const p: Pending = {
      vrid,
      iname: t.iname,
      masterAt: t.at,
      waitedMs: before ? t.at - before.at : Infinity,
      masterDownMs: masterDownIntervalMs(inst),
      lowerBound: Math.max(this.lastExit.get(t.iname) ?? -Infinity, t.at - LOOKBACK_MS),
    };
    this.pending.set(`${vrid}@${t.at}`, p);
    this.arm(p);
    this.update(p);
  }

  private arm(p: Pending): void {
    this.o.clock.clearTimeout(p.timer);
    const due = p.record ? p.masterAt + OUTAGE_MAX_WAIT_MS : p.masterAt + this.o.settleMs;
    p.timer = this.o.clock.setTimeout(() => {
      p.timer = undefined;
      if (p.record) this.finish(p);
      else this.update(p, true);
    }, Math.max(0, due - this.o.clock.now()));
  }

  private resolveAll(): void {
    for (const p of this.pending.values()) if (!p.record) this.update(p);
  }

  /** Adds what is known now; `settled`: the old master had its time to report. */
  private update(p: Pending, settled = false): void {
    const id = `${p.vrid}@${p.masterAt}`;
    let changed = false;
    if (!p.record) {
      const loss = this.loss(p, settled);
      if (loss === 'wait') return;
      if (loss === 'none') {
        // Two masters (a split brain, not a failover) or keepalived's first election: nothing to time.
        this.o.clock.clearTimeout(p.timer);
        this.pending.delete(id);
        return;
      }
      p.record = { id, vrid: p.vrid, iname: p.iname, node: this.o.store.state.node, from: loss.from, masterAt: p.masterAt, loss: loss.loss, done: false };
      this.arm(p);
      changed = true;
    }
    const r = p.record;
    if (r.vipBoundAt === undefined) {
      r.vipBoundAt = this.vipBoundAt(p);
      changed ||= r.vipBoundAt !== undefined;
    }
    if (r.vipBoundAt !== undefined && r.firstGoodAt === undefined) {
      r.firstGoodAt = this.firstGoodAt(p, r.vipBoundAt);
      changed ||= r.firstGoodAt !== undefined;
    }
    if (r.vipBoundAt !== undefined && (r.firstGoodAt !== undefined || !this.o.viaVip)) this.finish(p);
    else if (changed) this.emit(r);
  }

  /** The first duplicate-address probe of a VIP of an instance after it bound here, for a takeover whose loss is estimated. */
  private onProbe(ev: VipDuplicateEvent): void {
    if (ev.error) return;
    const inames = new Set(Object.values(this.o.store.state.vips).filter((v) => v.vip === ev.vip).map((v) => v.iname));
    const waiting = [...this.pending.values(), ...this.awaitingProbe.values()];
    for (const p of waiting) {
      const r = p.record;
      if (!inames.has(p.iname) || p.probed || !r || r.loss.kind !== 'last_advert' || r.vipBoundAt === undefined || ev.at < r.vipBoundAt) continue;
      p.probed = true;
      if (this.awaitingProbe.get(p.iname) === p) this.awaitingProbe.delete(p.iname);
      if (!ev.duplicate) continue;
      r.loss.stillAnswered = true;
      this.o.log.info({ vrid: r.vrid, from: r.from, vip: ev.vip, mac: ev.mac }, 'failover outage: the old master still answers for the VIP');
      this.emit(r);
    }
  }

  private finish(p: Pending): void {
    const id = `${p.vrid}@${p.masterAt}`;
    this.o.clock.clearTimeout(p.timer);
    this.pending.delete(id);
    if (!p.record) return;
    if (p.record.loss.kind === 'last_advert' && !p.probed && this.o.store.state.instances[p.iname]?.state === 'MASTER') this.awaitingProbe.set(p.iname, p);
    p.record.done = true;
    const r = p.record;
    this.o.log.info(
      {
        vrid: r.vrid,
        from: r.from,
        loss: r.loss.kind,
        vipBoundS: r.vipBoundAt === undefined ? undefined : (r.vipBoundAt - r.loss.at) / 1000,
        firstGoodRequestS: r.firstGoodAt === undefined ? undefined : (r.firstGoodAt - r.loss.at) / 1000,
      },
      'failover outage measured',
    );
    this.emit(r);
  }

  private emit(r: FailoverOutage): void {
    const outage = structuredClone(r);
    // Not from inside the store's own notification of the event that completed it: listeners
    // after this one would see the two changes out of order.
    queueMicrotask(() => this.o.store.apply({ kind: 'failover_outage', source: 'derived', at: this.o.clock.now(), outage }));
  }

  /** The old master's loss, 'wait' while a peer that still says MASTER may report, 'none' when there was no failover. */
  private loss(p: Pending, settled: boolean): { loss: OutageLoss; from?: string } | 'wait' | 'none' {
    const now = this.o.clock.now();
    const view = buildClusterView(this.o.store.state, this.o.peers.views(), now);
    const v = view.vrids.find((x) => x.key === p.vrid);
    let best: { loss: OutageLoss; from: string } | undefined;
    const stillMaster: string[] = [];
    const unreachable: string[] = [];
    for (const m of v?.members ?? []) {
      if (m.node === view.self) continue;
      const s = view.nodes.find((n) => n.node === m.node)?.state;
      const last = [...(s?.timeline ?? [])].reverse().find((t) => t.iname === m.iname && t.at <= p.masterAt + AFTER_SLACK_MS);
      if (last && last.from === 'MASTER' && last.at >= p.lowerBound) {
        if (!best || last.at > best.loss.at) {
          const kind = lossKindOf(last.to);
          // Only a dead keepalived leaves its VIP behind (FAULT and BACKUP remove it; their removal
          // may just not have been streamed yet).
          const vipLeftBound = kind === 'keepalived_left' && (m.vipsBound?.length ?? 0) > 0 && s !== undefined && nginxServing(s).up !== false;
          best = { from: m.node, loss: { at: last.at, kind, cause: last.cause, ...(vipLeftBound ? { vipLeftBound } : {}) } };
        }
      } else if (m.state === 'MASTER') {
        (m.fresh ? stillMaster : unreachable).push(m.node);
      }
    }
    if (best) return best;
    if (stillMaster.length && !settled) return 'wait';
    if (stillMaster.length) return 'none';
    const estimate: OutageLoss = { at: p.masterAt - p.masterDownMs, kind: 'last_advert', masterDownMs: p.masterDownMs };
    if (unreachable.length) return { loss: estimate, from: unreachable[0] };
    // Nobody known was MASTER: a master existed only if we had been BACKUP longer than keepalived
    // waits for one at start (then someone's adverts kept us there).
    return p.waitedMs > p.masterDownMs + 500 ? { loss: estimate } : 'none';
  }

  private vipBoundAt(p: Pending): number | undefined {
    const mine = Object.values(this.o.store.state.vips).filter((v) => v.iname === p.iname);
    if (!mine.length || mine.some((v) => v.intf === null)) return undefined;
    const at = Math.max(...mine.map((v) => v.since));
    // Bound long before the takeover (left over, or the agent started while we held it): ours since the takeover.
    return at < p.masterAt - AFTER_SLACK_MS ? p.masterAt : at;
  }

  private firstGoodAt(p: Pending, vipBoundAt: number): number | undefined {
    const s = this.o.store.state;
    const vips = new Set(Object.values(s.vips).filter((v) => v.iname === p.iname).map((v) => `vip:${v.vip}`));
    const good = Object.values(s.nginx.health).filter((h) => vips.has(h.target) && h.up && h.at >= vipBoundAt);
    return good.length ? Math.min(...good.map((h) => h.at)) : undefined;
  }
}
