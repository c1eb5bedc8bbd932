// What happened while the agent was down, fitted into the store's timeline. Three sources keep it
// (the FIFO's unread lines, the hook spool, the log since the agent's last read position); the
// agent's own persisted last state (agent/state/lastStateFile.ts) is the baseline they continue
// from. Per instance the timeline is then: the backlog records (in time order, before the agent's
// start), the junction with the first live knowledge, and the live records.
// - Backlog records never move the current state once a live source has spoken: they are placed
//   at their time, and the junction is re-derived (the first live state against the backlog's end).
// - The same transition from several backlogs (spool, log, FIFO) is one record: matched by state,
//   time (exact, or bounded for FIFO lines, which carry none) and each source's own order.
// - Where no backlog kept a transition, the baseline (or the backlog's end) against the first live
//   read records it as inferred, "between X and Y".
// - Counted once: backlog and inferred records are counted when every backlog source said it was
//   done (or after a timeout), so the counter never counts a record whose `from` may still change.
import type { Clock } from '../context';
import { fmtTime } from '../format';
import type { InstanceKey, InstanceState, KeepalivedEvent, LastState, NodeState, SourceName, TransitionEvent, TransitionRecord, VrrpState } from './types';

/** Keepalived runs the instance in these states; STOP, DELETED and UNKNOWN are not running. */
export const RUNNING_STATES: ReadonlySet<VrrpState> = new Set<VrrpState>(['INIT', 'BACKUP', 'MASTER', 'FAULT']);

/** What the history needs of the store. */
export interface HistoryHost {
  readonly state: NodeState;
  ensureInstance(iname: string, key?: Partial<InstanceKey>): InstanceState;
  /** Adds rec to the transitions counter (from UNKNOWN is not counted). */
  count(rec: TransitionRecord): void;
}

export interface HistoryOptions {
  clock: Clock;
  /** Reports of one transition within this window are the same transition (exact times). */
  dedupWindowMs: number;
  /** Longest backlog kept per instance. */
  maxRecords: number;
  /** Called once the backlogs are counted (the counters changed without an event). */
  onSettled?: () => void;
}

interface Chain {
  /** The instance's backlog records, oldest first (also in the timeline while it keeps them). */
  records: TransitionRecord[];
  /** The first live knowledge of the instance: its time and state. */
  liveAt?: number;
  liveState?: VrrpState;
  /** Whether that first knowledge was a read (a state, e.g. D-Bus enumeration) or an observed transition. */
  liveRead?: boolean;
  /** The record the first live knowledge made (inferred, or a live transition from the backlog's end). */
  junction?: TransitionRecord;
  /** Per source, the last backlog record it matched (a source's backlog arrives in order). */
  cursors: Map<SourceName, TransitionRecord>;
}

/** "between X and Y", or "before Y" when nothing bounds it below. */
function between(earliest: number | undefined, at: number): string {
  return earliest === undefined ? `before ${fmtTime(at)}` : `between ${fmtTime(earliest)} and ${fmtTime(at)}`;
}

function boundedCause(earliest: number | undefined, at: number, source: SourceName): string {
  return `while the agent was down, ${between(earliest, at)} (read from the ${source} backlog at start; its lines carry no time)`;
}

export class TransitionHistory {
  private baseline: LastState | undefined;
  private baselineSet = false;
  private readonly chains = new Map<string, Chain>();
  /** Records waiting for the backlogs to settle before they are counted. */
  private readonly uncounted = new Set<TransitionRecord>();
  /** Records counted once already: a later change of their `from` does not count them again. */
  private readonly counted = new WeakSet<TransitionRecord>();
  private pendingSources = new Set<SourceName>();
  private settleTimer: NodeJS.Timeout | undefined;
  private settledFlag = true;

  constructor(private readonly host: HistoryHost, private readonly o: HistoryOptions) {}

  /** The agent's last persisted state, once, before any source starts; later calls are ignored. */
  setBaseline(last: LastState | undefined): boolean {
    if (this.baselineSet) return false;
    this.baselineSet = true;
    this.baseline = last && last.node === this.host.state.node ? last : undefined;
    return true;
  }

  get lastState(): LastState | undefined {
    return this.baseline;
  }

  /** The backlog sources that will say when they are done; counting waits for them (at most timeoutMs). */
  expectBacklogs(sources: SourceName[], timeoutMs: number): void {
    if (!sources.length) return;
    for (const s of sources) this.pendingSources.add(s);
    this.settledFlag = false;
    this.o.clock.clearTimeout(this.settleTimer);
    this.settleTimer = this.o.clock.setTimeout(() => this.settle(), timeoutMs);
    // Never what keeps a stopping process alive.
    (this.settleTimer as { unref?: () => void } | undefined)?.unref?.();
  }

  backlogDone(source: SourceName): void {
    if (!this.pendingSources.delete(source) || this.pendingSources.size) return;
    this.settle();
  }

  get settled(): boolean {
    return this.settledFlag;
  }

  /** Counts what the backlogs brought; from now on history records are counted as they come. */
  settle(): void {
    this.o.clock.clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    this.pendingSources.clear();
    if (this.settledFlag) return;
    this.settledFlag = true;
    const recs = [...this.uncounted];
    this.uncounted.clear();
    for (const rec of recs) this.pend(rec);
    this.o.onSettled?.();
  }

  isLive(iname: string): boolean {
    return this.chains.get(iname)?.liveAt !== undefined;
  }

  /** A backlog event newer than the instance's first live knowledge is news, for the live path. */
  isNews(ev: TransitionEvent): boolean {
    const live = this.chains.get(ev.iname)?.liveAt;
    return live !== undefined && ev.at > live;
  }

  /** Instances of the baseline in a running state that no source has reported yet. */
  baselineRunning(): string[] {
    const b = this.baseline;
    if (!b) return [];
    return Object.values(b.instances)
      .filter((i) => RUNNING_STATES.has(i.state) && !this.host.state.instances[i.iname])
      .map((i) => i.iname);
  }

  /** Whether a backlog or the baseline says anything of the instance. */
  knows(iname: string): boolean {
    return this.end(iname).state !== undefined;
  }

  // ------------------------------------------------------------------ the backlog

  /**
   * A transition read from a backlog. Returns the records it added (none for a duplicate or for
   * what the agent saw before it went down).
   */
  backlog(ev: TransitionEvent): TransitionRecord[] {
    const c = this.chain(ev.iname);
    const base = this.baseline?.instances[ev.iname];
    const bounded = ev.history?.bounded === true;
    // Seen live by the agent's previous run (for a bounded time: even its latest is before the
    // run's last known time): the baseline already is its result.
    if (this.baseline && ev.at <= this.baseline.aliveAt) return [];
    // Before the persisted state began: that state is already its result, even when the previous
    // run stopped before its own backlogs settled (its last alive time then is not set).
    if (base && ev.at < base.since - this.o.dedupWindowMs) return [];
    if (!bounded && base && base.state === ev.state && Math.abs(ev.at - base.since) <= this.o.dedupWindowMs) return [];

    // A line with no time of its own came after the agent's last known time and after the
    // source's previous line.
    const earliest = bounded ? this.lowerBound(c.cursors.get(ev.source)) : undefined;
    const match = this.findMatch(c, ev, bounded, earliest);
    if (match) {
      c.cursors.set(ev.source, match);
      if (!bounded && match.bounds) this.refine(c, match, ev);
      return [];
    }
    // Position: after every record of the instance at or before it (a bounded one's at is its latest).
    let pos = c.records.length;
    while (pos > 0 && c.records[pos - 1].at > ev.at) pos--;
    const from = pos > 0 ? c.records[pos - 1].to : base?.state ?? 'UNKNOWN';
    if (from === ev.state) return [];
    const rec: TransitionRecord = { at: ev.at, iname: ev.iname, from, to: ev.state, source: ev.source, history: 'backlog' };
    if (ev.cause) rec.cause = ev.cause;
    if (bounded) {
      rec.bounds = earliest === undefined ? {} : { earliest };
      rec.cause = `${rec.cause ? `${rec.cause}; ` : ''}${boundedCause(earliest, rec.at, ev.source)}`;
    }
    c.records.splice(pos, 0, rec);
    if (c.records.length > this.o.maxRecords) c.records.shift();
    c.cursors.set(ev.source, rec);
    this.insertInTimeline(rec);
    this.pend(rec);
    const inst = this.host.ensureInstance(ev.iname, ev.key);
    if (ev.priority !== undefined && (!this.isLive(ev.iname) || inst.effectivePriority === undefined)) inst.effectivePriority = ev.priority;
    const out = [rec];
    this.relink(c, pos + 1);
    const j = this.rejoin(c, inst);
    if (j) out.push(j);
    return out;
  }

  /** keepalived stopped, from a backlog (the log): STOP for every instance running at that time. */
  backlogKeepalivedDown(ev: KeepalivedEvent): TransitionRecord[] {
    if (ev.up) return [];
    const out: TransitionRecord[] = [];
    for (const iname of new Set([...this.chains.keys(), ...Object.keys(this.baseline?.instances ?? {})])) {
      const c = this.chain(iname);
      if (c.liveAt !== undefined && ev.at > c.liveAt) continue; // a live source speaks for that time
      let pos = c.records.length;
      while (pos > 0 && c.records[pos - 1].at > ev.at) pos--;
      const before = pos > 0 ? c.records[pos - 1].to : this.baseline?.instances[iname]?.state;
      if (!before || !RUNNING_STATES.has(before)) continue;
      out.push(...this.backlog({ kind: 'transition', iname, state: 'STOP', at: ev.at, source: ev.source, history: ev.history, cause: `keepalived ${ev.reason ?? 'stopped'}` }));
    }
    return out;
  }

  /**
   * The first live report of an instance, before the store applies it: the instance takes the
   * backlog's (or the baseline's) end as its state, so an equal report confirms it and a different
   * one is a transition from it. A read that differs is recorded here, as inferred (returned with
   * handled: true); an observed transition is left to the live path.
   */
  firstLive(inst: InstanceState, ev: { at: number; state: VrrpState; source: SourceName }, read: boolean): { handled: boolean; record?: TransitionRecord } {
    const c = this.chain(inst.iname);
    c.liveAt = ev.at;
    c.liveState = ev.state;
    c.liveRead = read;
    const end = this.end(inst.iname);
    if (end.state === undefined) return { handled: false };
    this.adoptEnd(inst, end);
    if (end.state === ev.state || !read) return { handled: false };
    const rec = this.inferred(inst.iname, end.state, ev.state, end.at, ev.at, ev.source);
    c.junction = rec;
    return { handled: true, record: rec };
  }

  /**
   * The live path recorded the first live report (a first sighting from UNKNOWN, or a transition
   * from the backlog's end): it is the junction, counted here (once the backlogs have settled), and
   * re-derived when a backlog arrives later.
   */
  liveJunction(iname: string, rec: TransitionRecord): void {
    const c = this.chain(iname);
    if (c.junction) return;
    c.junction = rec;
    this.pend(rec);
  }

  // ------------------------------------------------------------------ internals

  private chain(iname: string): Chain {
    let c = this.chains.get(iname);
    if (!c) {
      c = { records: [], cursors: new Map() };
      this.chains.set(iname, c);
    }
    return c;
  }

  /** The state the backlog (or the baseline) ends in, and the last time it is known to hold. */
  private end(iname: string): { state?: VrrpState; at?: number; since?: number; source?: SourceName } {
    const c = this.chains.get(iname);
    const last = c?.records[c.records.length - 1];
    // Known to hold from the last change on: its exact time, or the earliest a bounded one can be.
    if (c && last) return { state: last.to, at: this.knownBefore(c, c.records.length), since: last.at, source: last.source };
    const base = this.baseline?.instances[iname];
    if (base) return { state: base.state, at: this.baseline!.aliveAt, since: base.since, source: 'derived' };
    return {};
  }

  /** The instance takes the backlog's end as its state (until a live source says otherwise). */
  private adoptEnd(inst: InstanceState, end: { state?: VrrpState; since?: number; source?: SourceName }): void {
    if (end.state === undefined) return;
    if (inst.state !== end.state) inst.confirmedBy = [];
    inst.state = end.state;
    if (end.since !== undefined) inst.since = end.since;
    if (end.source) inst.source = end.source;
    const base = this.baseline?.instances[inst.iname];
    if (base) {
      if (!inst.intf && base.intf) inst.intf = base.intf;
      if (!inst.vrid && base.vrid) inst.vrid = base.vrid;
    }
  }

  /** The last time the instance's state was known before position pos of its backlog. */
  private knownBefore(c: Chain, pos: number): number | undefined {
    let t = this.baseline?.aliveAt;
    for (let i = 0; i < pos; i++) {
      const r = c.records[i];
      const known = r.bounds ? r.bounds.earliest : r.at;
      if (known !== undefined && (t === undefined || known > t)) t = known;
    }
    return t;
  }

  private compatible(r: TransitionRecord, at: number, bounded: boolean, earliest: number | undefined): boolean {
    const w = this.o.dedupWindowMs;
    const rLo = r.bounds ? r.bounds.earliest ?? -Infinity : r.at;
    const lo = bounded ? earliest ?? -Infinity : at;
    // Both intervals (a point for an exact time), widened by the window, overlap.
    return lo <= r.at + w && rLo - w <= at;
  }

  /** The agent's last known time, or the time after which `after` happened when that is later. */
  private lowerBound(after: TransitionRecord | undefined): number | undefined {
    const a = this.baseline?.aliveAt;
    const b = after ? (after.bounds ? after.bounds.earliest : after.at) : undefined;
    return a === undefined ? b : b === undefined ? a : Math.max(a, b);
  }

  private findMatch(c: Chain, ev: TransitionEvent, bounded: boolean, earliest: number | undefined): TransitionRecord | undefined {
    const cursor = c.cursors.get(ev.source);
    const start = cursor ? c.records.indexOf(cursor) + 1 : 0;
    for (let i = start; i < c.records.length; i++) {
      const r = c.records[i];
      if (r.to === ev.state && this.compatible(r, ev.at, bounded, earliest)) return r;
    }
    // An inferred junction is what no backlog had kept: a backlog that has it makes it exact.
    const j = c.junction;
    if (j && j.history === 'inferred' && j.to === ev.state && this.compatible(j, ev.at, bounded, earliest)) {
      this.exactJunction(c, j, ev, bounded, earliest);
      return j;
    }
    return undefined;
  }

  /** The inferred junction, now known from a backlog: a backlog record at its time. */
  private exactJunction(c: Chain, j: TransitionRecord, ev: TransitionEvent, bounded: boolean, earliest: number | undefined): void {
    c.junction = undefined;
    j.history = 'backlog';
    j.source = ev.source;
    if (bounded) {
      const lo = Math.max(j.bounds?.earliest ?? -Infinity, earliest ?? -Infinity);
      j.bounds = lo === -Infinity ? {} : { earliest: lo };
      this.moveInTimeline(j, Math.min(j.at, ev.at));
      j.cause = boundedCause(j.bounds.earliest, j.at, ev.source);
    } else {
      delete j.cause;
      delete j.bounds;
      this.moveInTimeline(j, ev.at);
    }
    let pos = c.records.length;
    while (pos > 0 && c.records[pos - 1].at > j.at) pos--;
    c.records.splice(pos, 0, j);
    this.relink(c, 0);
    const inst = this.host.state.instances[j.iname];
    if (inst && inst.state === j.to && inst.since >= j.at) inst.since = j.at;
  }

  /** A bounded record that an exact report matches: it takes the exact time. */
  private refine(c: Chain, rec: TransitionRecord, ev: TransitionEvent): void {
    delete rec.bounds;
    rec.cause = ev.cause;
    if (rec.cause === undefined) delete rec.cause;
    rec.source = ev.source;
    c.records.splice(c.records.indexOf(rec), 1);
    let pos = c.records.length;
    while (pos > 0 && c.records[pos - 1].at > ev.at) pos--;
    c.records.splice(pos, 0, rec);
    this.moveInTimeline(rec, ev.at);
    this.relink(c, 0);
    const inst = this.host.state.instances[rec.iname];
    if (inst) this.rejoin(c, inst);
  }

  /** Re-derives `from` of the backlog records from position pos on (a record was inserted before them). */
  private relink(c: Chain, pos: number): void {
    for (let i = Math.max(1, pos); i < c.records.length; i++) {
      const r = c.records[i];
      const from = c.records[i - 1].to;
      if (r.from === from) continue;
      if (from === r.to) {
        // No longer a change: the inserted record already brought this state.
        c.records.splice(i, 1);
        this.removeFromTimeline(r);
        this.uncounted.delete(r);
        i--;
        continue;
      }
      r.from = from;
    }
  }

  /**
   * The junction after the backlog changed: the backlog's end against the first live knowledge.
   * Equal: no transition (the junction goes). Different: the junction's `from` follows the backlog;
   * a read that had confirmed the state now records an inferred transition. Before any live
   * report, the instance's state is the backlog's end.
   */
  private rejoin(c: Chain, inst: InstanceState): TransitionRecord | undefined {
    const end = this.end(inst.iname);
    if (end.state === undefined) return undefined;
    if (c.liveAt === undefined) {
      this.adoptEnd(inst, end);
      return undefined;
    }
    const j = c.junction;
    if (j) {
      if (j.to === end.state) {
        c.junction = undefined;
        this.removeFromTimeline(j);
        this.uncounted.delete(j);
        if (inst.state === j.to && inst.since === j.at && end.since !== undefined) inst.since = end.since;
        return undefined;
      }
      j.from = end.state;
      // A read (not an observed transition) that now differs from the backlog's end: the change
      // happened unseen, between the two.
      if (j.history === 'inferred' || (c.liveRead && j.history === undefined && j.at === c.liveAt)) {
        j.history = 'inferred';
        j.bounds = end.at === undefined ? {} : { earliest: end.at };
        j.cause = inferredCause(j.from, j.to, end.at, j.at);
      }
      this.pend(j);
      return undefined;
    }
    if (c.liveState === undefined || c.liveState === end.state) {
      if (c.liveState === end.state && inst.state === end.state && end.since !== undefined && inst.since > end.since && inst.since <= c.liveAt) inst.since = end.since;
      return undefined;
    }
    // The live report had confirmed the old end: now it differs, the change happened unseen.
    const rec = this.inferred(inst.iname, end.state, c.liveState, end.at, c.liveAt, 'derived');
    c.junction = rec;
    return rec;
  }

  private inferred(iname: string, from: VrrpState, to: VrrpState, earliest: number | undefined, at: number, source: SourceName): TransitionRecord {
    const rec: TransitionRecord = {
      at,
      iname,
      from,
      to,
      source,
      history: 'inferred',
      bounds: earliest === undefined ? {} : { earliest },
      cause: inferredCause(from, to, earliest, at),
    };
    this.insertInTimeline(rec);
    this.pend(rec);
    return rec;
  }

  /** Counts rec once, when the backlogs have settled and its `from` is known. */
  private pend(rec: TransitionRecord): void {
    if (this.counted.has(rec)) return;
    if (!this.settledFlag) {
      this.uncounted.add(rec);
      return;
    }
    if (rec.from === 'UNKNOWN') return;
    this.counted.add(rec);
    this.host.count(rec);
  }

  private insertInTimeline(rec: TransitionRecord): void {
    const tl = this.host.state.timeline;
    let i = tl.length;
    while (i > 0 && tl[i - 1].at > rec.at) i--;
    tl.splice(i, 0, rec);
    // Bounded like the live timeline: the oldest go first.
    if (tl.length > this.o.maxRecords) tl.splice(0, tl.length - this.o.maxRecords);
  }

  private removeFromTimeline(rec: TransitionRecord): void {
    const tl = this.host.state.timeline;
    const i = tl.indexOf(rec);
    if (i >= 0) tl.splice(i, 1);
  }

  private moveInTimeline(rec: TransitionRecord, at: number): void {
    const had = this.host.state.timeline.includes(rec);
    this.removeFromTimeline(rec);
    rec.at = at;
    if (had) this.insertInTimeline(rec);
  }
}

/**
 * Whether this agent saw the transition as it happened. Rules that judge what is happening now
 * (flapping) count only these; the others are history from while the agent was down.
 */
export function seenLive(t: TransitionRecord): boolean {
  return t.history === undefined;
}

export function inferredCause(from: VrrpState, to: VrrpState, earliest: number | undefined, at: number): string {
  return `${from} -> ${to} while the agent was down, ${between(earliest, at)} (no source kept the transition: inferred from the agent's last known state)`;
}
