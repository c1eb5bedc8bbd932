// Silences, as Alertmanager's: matchers plus a time window, who and why. An alert matched by an
// active silence is not notified. Kept in one JSON file, replaced atomically on every change, so
// a silence set before a restart still holds after it.
// Silences are the cluster's, not one node's: every change is told to subscribers (the peer stream
// carries it to the peers) and the peers' silences are merged in by id, the way Alertmanager's
// cluster gossips them (silenceWins below), so every agent of a pair converges on one set.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../context';
import { writeFileAtomic } from './atomicFile';
import { createMatcher, matchesAll, matcherFromJson, matcherToJson, parseMatcher, type Matcher, type MatcherJson } from './matchers';

export type SilenceState = 'pending' | 'active' | 'expired';

export interface Silence {
  id: string;
  matchers: MatcherJson[];
  /** ms since epoch. */
  startsAt: number;
  endsAt: number;
  updatedAt: number;
  createdBy: string;
  comment: string;
}

/** What the API and CLI send: matchers as strings (`a="b"`) or Alertmanager's JSON objects. */
export interface SilenceInput {
  id?: string;
  matchers: Array<string | MatcherJson>;
  startsAt?: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

export class SilenceError extends Error {
  constructor(message: string, readonly status: 400 | 404 | 500 = 400) {
    super(message);
    this.name = 'SilenceError';
  }
}

export interface SilencesOptions {
  file: string;
  clock: Clock;
  log: Logger;
  /** Expired silences are forgotten after this long (Alertmanager keeps them 120 h). */
  retentionMs?: number;
  /** Bound on stored silences. */
  maxSilences?: number;
  /** A peer's silence updated further than this in the future is refused (its clock is wrong, and a
   *  future updatedAt would win every merge until then). */
  maxClockSkewMs?: number;
}

/** What merge() did with a peer's silences. */
export interface MergeResult {
  /** Silences taken over (new, or newer than ours). */
  adopted: Silence[];
  /** Silences refused, with why (bad matchers, clock skew, ...). */
  refused: Array<{ id: string; error: string }>;
}

/** Is `s` expired at `now` (ended, or expired by hand: expire() sets endsAt to the moment). */
export function silenceExpired(s: Pick<Silence, 'endsAt'>, now: number): boolean {
  return now >= s.endsAt;
}

function canonical(s: Silence): string {
  return JSON.stringify([s.id, s.matchers, s.startsAt, s.endsAt, s.updatedAt, s.createdBy, s.comment]);
}

/**
 * Does a peer's version of a silence replace ours? A total order both agents apply alike, so they
 * converge whatever the order of arrival: an expired version beats a live one (expiry is final: an
 * expired silence is never revived, as Alertmanager refuses to update one), then the newer updatedAt
 * wins (Alertmanager's merge), then, for two versions with one updatedAt, the earlier end, then the
 * text, so that neither side keeps its own.
 */
export function silenceWins(incoming: Silence, ours: Silence | undefined, now: number): boolean {
  if (!ours) return true;
  const inExpired = silenceExpired(incoming, now);
  const ourExpired = silenceExpired(ours, now);
  if (inExpired !== ourExpired) return inExpired;
  if (incoming.updatedAt !== ours.updatedAt) return incoming.updatedAt > ours.updatedAt;
  if (incoming.endsAt !== ours.endsAt) return incoming.endsAt < ours.endsAt;
  return canonical(incoming) < canonical(ours);
}

const MAX_MATCHERS = 64;
const MAX_TEXT = 2000;
const MAX_ID = 128;

/** Checks a stored or received silence (never trusted: a peer sent it, or a file held it) and
 *  compiles its matchers; throws an Error saying what is wrong. */
function checkSilence(s: Silence): Matcher[] {
  if (!s || typeof s !== 'object') throw new Error('not an object');
  if (typeof s.id !== 'string' || !s.id || s.id.length > MAX_ID || s.id.includes('/')) throw new Error(`id: a string of 1 to ${MAX_ID} characters without '/'`);
  for (const k of ['startsAt', 'endsAt', 'updatedAt'] as const) if (typeof s[k] !== 'number' || !Number.isFinite(s[k])) throw new Error(`${k}: not a time`);
  if (s.endsAt < s.startsAt) throw new Error('endsAt: before startsAt');
  if (typeof s.createdBy !== 'string' || typeof s.comment !== 'string' || s.createdBy.length > MAX_TEXT || s.comment.length > MAX_TEXT) throw new Error(`createdBy/comment: strings of at most ${MAX_TEXT} characters`);
  if (!Array.isArray(s.matchers) || s.matchers.length === 0 || s.matchers.length > MAX_MATCHERS) throw new Error(`matchers: 1 to ${MAX_MATCHERS}`);
  const matchers = s.matchers.map(matcherFromJson);
  if (matchesAll(matchers, {})) throw new Error('matchers: match every alert');
  return matchers;
}

export class Silences {
  private silences = new Map<string, Silence>();
  private compiled = new Map<string, Matcher[]>();
  private readonly retention: number;
  private readonly max: number;
  private readonly maxSkew: number;
  private readonly listeners = new Set<(changed: Silence[]) => void>();
  private file: string;

  constructor(private readonly opts: SilencesOptions) {
    this.retention = opts.retentionMs ?? 120 * 3_600_000;
    this.max = opts.maxSilences ?? 10_000;
    this.maxSkew = opts.maxClockSkewMs ?? 5_000;
    this.file = opts.file;
  }

  /** Tells fn every silence that changed (added, updated, expired, or merged in from a peer). */
  subscribe(fn: (changed: Silence[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(changed: Silence[]): void {
    if (!changed.length) return;
    for (const l of this.listeners) {
      try {
        l(changed);
      } catch (e) {
        this.opts.log.error({ err: (e as Error).message }, 'silence change listener failed');
      }
    }
  }

  /** Every stored silence, as stored (what a peer is sent on connect). */
  all(): Silence[] {
    return [...this.silences.values()];
  }

  /**
   * A reload names another silences_file: the silences held move there, merged with what that
   * file already holds (by the same rule as a peer's), so none is lost either way.
   */
  useFile(file: string): void {
    if (file === this.file) return;
    const held = this.all();
    this.file = file;
    this.silences.clear();
    this.compiled.clear();
    this.load();
    this.merge(held, `previous silences_file`);
  }

  /**
   * Merges silences from a peer (or another file): each new one, or one that wins over ours
   * (silenceWins), replaces ours; the change is persisted in one write and told to subscribers.
   * Invalid silences, ones from the future (beyond maxClockSkewMs) and ones past the retention are
   * refused one by one; the rest still merge. Never throws.
   */
  merge(incoming: Silence[], from: string): MergeResult {
    const now = this.opts.clock.now();
    const refused: MergeResult['refused'] = [];
    const take: Array<{ s: Silence; m: Matcher[] }> = [];
    for (const raw of incoming) {
      const id = typeof raw?.id === 'string' ? raw.id.slice(0, MAX_ID) : '?';
      let m: Matcher[];
      try {
        m = checkSilence(raw);
      } catch (e) {
        refused.push({ id, error: (e as Error).message });
        continue;
      }
      if (raw.updatedAt > now + this.maxSkew) {
        refused.push({ id, error: `updatedAt ${new Date(raw.updatedAt).toISOString()} is more than ${this.maxSkew} ms in the future (clock skew)` });
        continue;
      }
      if (raw.endsAt + this.retention < now) continue; // forgotten here already (gc)
      const ours = this.silences.get(raw.id);
      if (!silenceWins(raw, ours, now)) continue;
      if (!ours && this.silences.size + take.length >= this.max) {
        refused.push({ id, error: `too many silences (${this.max})` });
        continue;
      }
      const s: Silence = { id: raw.id, matchers: raw.matchers.map((x) => ({ ...x })), startsAt: raw.startsAt, endsAt: raw.endsAt, updatedAt: raw.updatedAt, createdBy: raw.createdBy, comment: raw.comment };
      take.push({ s, m });
    }
    if (refused.length) this.opts.log.warn({ from, refused: refused.slice(0, 5), count: refused.length }, 'silences refused');
    if (!take.length) return { adopted: [], refused };
    try {
      this.commit(() => {
        for (const { s, m } of take) {
          this.silences.set(s.id, s);
          this.compiled.set(s.id, m);
        }
      });
    } catch (e) {
      return { adopted: [], refused: [...refused, ...take.map(({ s }) => ({ id: s.id, error: (e as Error).message }))] };
    }
    const adopted = take.map(({ s }) => s);
    this.opts.log.info({ from, silences: adopted.map((s) => s.id) }, 'silences merged');
    this.emit(adopted);
    return { adopted, refused };
  }

  /** Reads the file. A missing file is an empty list; an unreadable one is moved aside and reported. */
  load(): void {
    const { log } = this.opts;
    const file = this.file;
    if (!existsSync(file)) return;
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { silences?: Silence[] };
      if (!parsed || !Array.isArray(parsed.silences)) throw new Error('no "silences" array');
      for (const s of parsed.silences) {
        try {
          this.compiled.set(s.id, checkSilence(s));
          this.silences.set(s.id, s);
        } catch (e) {
          log.error({ file, silence: s?.id, err: (e as Error).message }, 'silences file: skipping a silence with bad matchers');
        }
      }
    } catch (e) {
      const aside = `${file}.corrupt-${this.opts.clock.now()}`;
      log.error({ file, movedTo: aside, err: (e as Error).message }, 'silences file unreadable: moved aside, starting with no silences');
      try {
        renameSync(file, aside);
      } catch {
        /* left in place; the next save replaces it */
      }
    }
  }

  private stateOf(s: Silence, now = this.opts.clock.now()): SilenceState {
    if (now >= s.endsAt) return 'expired';
    if (now < s.startsAt) return 'pending';
    return 'active';
  }

  /** Creates a silence, or updates an existing one when input.id is set. Returns its id. */
  add(input: SilenceInput): string {
    const now = this.opts.clock.now();
    if (!Array.isArray(input.matchers) || input.matchers.length === 0) throw new SilenceError('matchers: at least one matcher is required');
    if (input.matchers.length > MAX_MATCHERS) throw new SilenceError(`matchers: at most ${MAX_MATCHERS}`);
    const matchers: Matcher[] = input.matchers.map((m, i) => {
      try {
        if (typeof m === 'string') return parseMatcher(m);
        if (!m || typeof m.name !== 'string' || typeof m.value !== 'string') throw new Error('needs name and value strings');
        return createMatcher(m.name, m.isRegex ? (m.isEqual === false ? '!~' : '=~') : m.isEqual === false ? '!=' : '=', m.value);
      } catch (e) {
        throw new SilenceError(`matchers.${i}: ${(e as Error).message}`);
      }
    });
    // As Alertmanager: a silence whose every matcher matches the empty label set would silence everything.
    if (matchesAll(matchers, {})) throw new SilenceError('matchers: at least one matcher must not match the empty string (this would silence every alert)');
    const startsAt = input.startsAt ?? now;
    if (!Number.isFinite(startsAt) || !Number.isFinite(input.endsAt)) throw new SilenceError('startsAt/endsAt: not valid times');
    if (input.endsAt <= startsAt) throw new SilenceError('endsAt: must be after startsAt');
    if (input.endsAt <= now) throw new SilenceError('endsAt: is in the past');
    if (typeof input.createdBy !== 'string' || !input.createdBy.trim()) throw new SilenceError('createdBy: required');
    if (typeof input.comment !== 'string' || !input.comment.trim()) throw new SilenceError('comment: required (say why)');
    if (input.createdBy.length > MAX_TEXT || input.comment.length > MAX_TEXT) throw new SilenceError(`createdBy/comment: at most ${MAX_TEXT} characters`);
    let id = input.id;
    if (id !== undefined) {
      const old = this.silences.get(id);
      if (!old) throw new SilenceError(`silence ${id} not found`, 404);
      if (this.stateOf(old, now) === 'expired') throw new SilenceError(`silence ${id} is expired; create a new one`);
    } else {
      this.gc(now);
      if (this.silences.size >= this.max) throw new SilenceError(`too many silences (${this.max}); expire some first`);
      id = randomUUID();
    }
    const s: Silence = {
      id,
      matchers: matchers.map(matcherToJson),
      startsAt,
      endsAt: input.endsAt,
      updatedAt: now,
      createdBy: input.createdBy.trim(),
      comment: input.comment.trim(),
    };
    this.commit(() => {
      this.silences.set(id, s);
      this.compiled.set(id, matchers);
    });
    this.emit([s]);
    this.opts.log.info({ silence: id, matchers: matchers.map(String), endsAt: new Date(s.endsAt).toISOString(), createdBy: s.createdBy }, 'silence set');
    return id;
  }

  /** Ends a silence now. Expiring an expired one is a no-op; an unknown id is a 404. */
  expire(id: string): void {
    const s = this.silences.get(id);
    if (!s) throw new SilenceError(`silence ${id} not found`, 404);
    const now = this.opts.clock.now();
    if (this.stateOf(s, now) === 'expired') return;
    const next = { ...s, endsAt: now, startsAt: Math.min(s.startsAt, now), updatedAt: now };
    this.commit(() => this.silences.set(id, next));
    this.emit([next]);
    this.opts.log.info({ silence: id }, 'silence expired');
  }

  list(): Array<Silence & { state: SilenceState }> {
    const now = this.opts.clock.now();
    return [...this.silences.values()].map((s) => ({ ...s, state: this.stateOf(s, now) })).sort((a, b) => a.endsAt - b.endsAt);
  }

  /** Ids of the active silences matching these labels. */
  silencedBy(labels: Record<string, string>): string[] {
    const now = this.opts.clock.now();
    const out: string[] = [];
    for (const s of this.silences.values()) {
      if (this.stateOf(s, now) !== 'active') continue;
      if (matchesAll(this.compiled.get(s.id) ?? [], labels)) out.push(s.id);
    }
    return out;
  }

  counts(): Record<SilenceState, number> {
    const c: Record<SilenceState, number> = { active: 0, pending: 0, expired: 0 };
    const now = this.opts.clock.now();
    for (const s of this.silences.values()) c[this.stateOf(s, now)]++;
    return c;
  }

  /** Forgets silences expired longer than the retention. */
  gc(now = this.opts.clock.now()): void {
    let changed = false;
    for (const [id, s] of this.silences) {
      if (s.endsAt + this.retention < now) {
        this.silences.delete(id);
        this.compiled.delete(id);
        changed = true;
      }
    }
    if (changed) {
      try {
        this.save();
      } catch (e) {
        this.opts.log.error({ file: this.file, err: (e as Error).message }, 'cannot write silences file');
      }
    }
  }

  /** Applies a change and persists it; when the file cannot be written the change is undone. */
  private commit(change: () => void): void {
    const before = new Map(this.silences);
    const beforeCompiled = new Map(this.compiled);
    change();
    try {
      this.save();
    } catch (e) {
      this.silences = before;
      this.compiled = beforeCompiled;
      this.opts.log.error({ file: this.file, err: (e as Error).message }, 'cannot write silences file; change not applied');
      throw new SilenceError(`cannot persist silences: ${(e as Error).message}`, 500);
    }
  }

  private save(): void {
    writeFileAtomic(this.file, `${JSON.stringify({ version: 1, silences: [...this.silences.values()] }, null, 1)}\n`);
  }
}
