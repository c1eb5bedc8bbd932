// The rules engine: on every store change and peer update (debounced a few ms), on a timer for
// conditions about time, and at times the rules ask for, it builds the cluster view, runs every
// rule, and diffs the conditions against the active alerts: new conditions fire, vanished ones
// resolve, on the AlertHub. Its state (active alerts, rule memories) lives in an EngineState that
// outlives the engine (the daemon keeps it), so a reload of the rules does not re-page what is
// already firing.
// Before any rule runs it computes which VRIDs flap (rules/flapping.ts, its memory kept with the
// rules' memories) and hands that to every rule as a read-only input (RuleContext.flapping): the
// Flapping rule pages it and the per-transition rules fold into it, whatever the rules' order.
import { Histogram } from 'prom-client';
import type { Logger } from 'pino';
import type { Clock } from '../agent/context';
import type { AlertHub, Component } from '../agent/module';
import type { NodeStore } from '../agent/state/store';
import { fingerprint, type Alert } from '../agent/alerting/alert';
import { buildClusterView, type ClusterView, type PeerView } from '../agent/state/cluster';
import { FlappingTracker, type FlappingEpisode } from './flapping';
import type { Condition, Rule, RuleContext, RuleSettings } from './rule';

/** The flapping tracker's key among the memories (rules' memories are keyed by alertname). */
const FLAPPING_MEMORY = 'flapping-tracker';

/** What survives a reload of the rules module. */
export interface EngineState {
  active: Map<string, Alert>;
  /** Condition.facts of each active alert's last condition, by fingerprint, for its resolved notice. */
  facts: Map<string, unknown>;
  memory: Map<string, unknown>;
  /** Per-transition alerts folded into a Flapping alert, per VRID key. */
  folded: Map<string, number>;
  /** The VRID keys flapping at the last evaluation. */
  flapping: Set<string>;
  lastView?: ClusterView;
  lastEvaluation?: { at: number; durationMs: number; conditions: number; errors: string[] };
  evaluations: number;
  /** keepwatch_rule_evaluation_duration_seconds: one histogram for the agent's life (registries come and go on reload). */
  histogram: Histogram<string>;
}

export function createEngineState(): EngineState {
  return {
    active: new Map(),
    facts: new Map(),
    memory: new Map(),
    folded: new Map(),
    flapping: new Set(),
    evaluations: 0,
    histogram: new Histogram({
      name: 'keepwatch_rule_evaluation_duration_seconds',
      help: 'Time to build the cluster view and evaluate every rule once.',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [],
    }),
  };
}

export interface PeerSource {
  views(): PeerView[];
  subscribe(fn: (name: string) => void): () => void;
}

export interface RulesEngineOptions {
  store: NodeStore;
  peers: PeerSource;
  alerts: AlertHub;
  clock: Clock;
  log: Logger;
  settings: RuleSettings;
  /** The peers' names at each evaluation, in place of settings.peers, when they come and go
   *  (peers found in keepalived.conf rather than listed in the config). */
  peerNames?: () => string[];
  rules: Rule[];
  state: EngineState;
  intervalMs: number;
  /** Changes within this time are evaluated together. */
  debounceMs?: number;
}

export class RulesEngine implements Component {
  readonly name = 'rules-engine';
  private debounceTimer?: NodeJS.Timeout;
  private interval?: NodeJS.Timeout;
  private wakeTimer?: { at: number; t: NodeJS.Timeout };
  private unsubs: Array<() => void> = [];
  private running = false;
  private readonly debounceMs: number;
  private readonly loggedErrors = new Set<string>();

  constructor(private readonly o: RulesEngineOptions) {
    this.debounceMs = o.debounceMs ?? 5;
  }

  async start(): Promise<void> {
    this.running = true;
    // A repeat of what the state already said (StoreChange.material) waits for the timer: probes
    // repeat their result every second, and a repeat changes no condition.
    this.unsubs.push(this.o.store.subscribe((c) => c.material && this.schedule()));
    this.unsubs.push(this.o.peers.subscribe(() => this.schedule()));
    this.interval = this.o.clock.setInterval(() => this.evaluate(), this.o.intervalMs);
    this.schedule();
  }

  async stop(): Promise<void> {
    // Active alerts stay as they are: a stopping agent has not seen anything resolve.
    this.running = false;
    for (const u of this.unsubs) u();
    this.unsubs = [];
    this.o.clock.clearTimeout(this.debounceTimer);
    this.debounceTimer = undefined;
    this.o.clock.clearInterval(this.interval);
    if (this.wakeTimer) this.o.clock.clearTimeout(this.wakeTimer.t);
    this.wakeTimer = undefined;
  }

  private schedule(): void {
    if (!this.running || this.debounceTimer) return;
    this.debounceTimer = this.o.clock.setTimeout(() => {
      this.debounceTimer = undefined;
      this.evaluate();
    }, this.debounceMs);
  }

  private wakeAt(at: number): void {
    if (!this.running) return;
    const { clock } = this.o;
    if (this.wakeTimer && this.wakeTimer.at <= at) return;
    if (this.wakeTimer) clock.clearTimeout(this.wakeTimer.t);
    const t = clock.setTimeout(() => {
      this.wakeTimer = undefined;
      this.evaluate();
    }, Math.max(0, at - clock.now()) + 1);
    this.wakeTimer = { at, t };
  }

  /** One evaluation of every rule; publishes what changed. Never throws. */
  evaluate(): void {
    const { clock, state, peerNames } = this.o;
    const t0 = performance.now();
    const settings = peerNames ? { ...this.o.settings, peers: peerNames() } : this.o.settings;
    const now = clock.now();
    const memory = <T>(key: string, init: () => T): T => {
      let m = state.memory.get(key) as T | undefined;
      if (m === undefined) {
        m = init();
        state.memory.set(key, m);
      }
      return m;
    };
    const wakes: number[] = [];
    const wakeAt = (at: number) => wakes.push(at);
    let view: ClusterView;
    let flapping: ReadonlyMap<string, FlappingEpisode>;
    try {
      view = buildClusterView(this.o.store.state, this.o.peers.views(), now);
      // Part of the view: without it no rule can be judged (active alerts stay as they are).
      flapping = memory(FLAPPING_MEMORY, () => new FlappingTracker(now)).update(view, settings.flapping, now, wakeAt);
    } catch (e) {
      this.logOnce('view', e);
      return;
    }
    state.lastView = view;
    state.flapping = new Set(flapping.keys());
    const errors: string[] = [];
    const firing = new Map<string, { alert: Alert; cond: Condition }>();
    const failedRules = new Set<string>();
    let count = 0;
    for (const rule of this.o.rules) {
      const ctx: RuleContext = {
        now,
        view,
        settings,
        memory: (init) => memory(rule.name, init),
        flapping,
        fold: (key) => state.folded.set(key, (state.folded.get(key) ?? 0) + 1),
        wakeAt,
      };
      let conds: Condition[];
      try {
        conds = rule.evaluate(ctx);
      } catch (e) {
        // A broken rule keeps its alerts as they were (resolving them would be a false all-clear).
        failedRules.add(rule.name);
        errors.push(`${rule.name}: ${(e as Error).message}`);
        this.logOnce(rule.name, e);
        continue;
      }
      for (const cond of conds) {
        count++;
        const alert = alertOf(rule, cond, view.self, now);
        if (cond.endsAt !== undefined) {
          this.publishPast(alert, cond);
          continue;
        }
        if (!firing.has(alert.fingerprint)) firing.set(alert.fingerprint, { alert, cond });
      }
    }

    for (const [fp, { alert, cond }] of firing) {
      if (cond.facts === undefined) state.facts.delete(fp);
      else state.facts.set(fp, cond.facts);
      let cur = state.active.get(fp);
      if (cur && cond.event && cond.startsAt !== undefined && cond.startsAt > cur.startsAt) {
        // A new occurrence of an event with the same labels: the old one ends now, the new one fires.
        state.active.delete(fp);
        this.o.alerts.publish({ ...cur, status: 'resolved', endsAt: now });
        cur = undefined;
      }
      if (cur) {
        // Kept current for the API and for the resolved notice; not re-published (no re-page).
        cur.annotations = alert.annotations;
        continue;
      }
      state.active.set(fp, alert);
      this.o.log.info({ alert: alert.labels, startsAt: alert.startsAt }, `alert firing: ${alert.annotations.summary}`);
      this.o.alerts.publish(alert);
    }
    for (const [fp, alert] of [...state.active]) {
      if (firing.has(fp) || failedRules.has(alert.labels.alertname)) continue;
      state.active.delete(fp);
      const facts = state.facts.get(fp);
      state.facts.delete(fp);
      let annotations = alert.annotations;
      const rule = this.o.rules.find((r) => r.name === alert.labels.alertname);
      try {
        if (rule?.resolvedAnnotations) annotations = { ...rule.resolvedAnnotations(alert, now, view, facts), observer: alert.annotations.observer ?? view.self };
      } catch (e) {
        this.logOnce(`${rule?.name}.resolvedAnnotations`, e);
      }
      const resolved: Alert = { ...alert, annotations, status: 'resolved', endsAt: now };
      this.o.log.info({ alert: alert.labels }, `alert resolved: ${alert.annotations.summary}`);
      this.o.alerts.publish(resolved);
    }
    for (const k of [...state.folded.keys()]) if (!state.flapping.has(k)) state.folded.delete(k);

    const durationMs = performance.now() - t0;
    state.histogram.observe(durationMs / 1000);
    state.evaluations++;
    state.lastEvaluation = { at: now, durationMs, conditions: count, errors };
    const next = wakes.filter((w) => w > now).sort((a, b) => a - b)[0];
    if (next !== undefined) this.wakeAt(next);
  }

  /** A condition found after it ended: one firing and one resolved notice, unless already active.
   *  It is an event (it happened; nothing of it is still going on) and `past` (told as a past incident). */
  private publishPast(alert: Alert, cond: Condition): void {
    if (this.o.state.active.has(alert.fingerprint)) return;
    const firing: Alert = { ...alert, startsAt: cond.startsAt ?? cond.endsAt!, event: true, past: true };
    this.o.log.warn({ alert: alert.labels, startsAt: firing.startsAt, endsAt: cond.endsAt }, `past alert found: ${alert.annotations.summary}`);
    this.o.alerts.publish(firing);
    this.o.alerts.publish({ ...firing, status: 'resolved', endsAt: cond.endsAt });
  }

  private logOnce(what: string, e: unknown): void {
    const key = `${what}:${(e as Error)?.message}`;
    if (this.loggedErrors.has(key)) return;
    if (this.loggedErrors.size > 100) this.loggedErrors.clear();
    this.loggedErrors.add(key);
    this.o.log.error({ err: e, rule: what }, 'rule evaluation failed');
  }
}

/** A rule's condition as the firing alert this agent (observer) publishes for it. */
export function alertOf(rule: Pick<Rule, 'name' | 'scope' | 'rank'>, cond: Condition, observer: string, now: number): Alert {
  const labels = { alertname: rule.name, severity: cond.severity, ...cond.labels };
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: { ...cond.annotations, observer },
    status: 'firing',
    startsAt: Math.min(cond.startsAt ?? now, now),
    scope: rule.scope ?? 'cluster',
    ...kind(rule.rank, cond.event),
  };
}

/** Alert.rank and Alert.event, set only when they apply (alerts stay small and compare equal in tests). */
function kind(rank: number | undefined, event: boolean | undefined): Pick<Alert, 'rank' | 'event'> {
  return { ...(rank !== undefined ? { rank } : {}), ...(event ? { event: true } : {}) };
}
