// Request authentication: bearer tokens compared in constant time, basic auth against bcrypt
// hashes (exporter-toolkit's basic_auth_users), bounded in cost per client (see BasicAuthVerifier).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time: hashing first makes lengths equal, so nothing leaks through early exit. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

export function checkBearer(header: string | undefined, tokens: string[]): boolean {
  if (!header || tokens.length === 0) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  let ok = false;
  for (const t of tokens) ok = safeEqual(m[1], t) || ok; // no early exit
  return ok;
}

/** Limits of basic-auth verification: bcrypt is slow on purpose, so its cost must stay bounded. */
export interface BasicAuthLimits {
  /** bcrypt comparisons running at once; more wait in a queue (bcryptjs's async form yields between rounds). */
  maxConcurrent: number;
  /** Comparisons allowed to wait; beyond, a request is refused without one. */
  maxQueued: number;
  /** Failed attempts per client address within failureWindowMs before its attempts are refused unchecked. */
  maxFailures: number;
  failureWindowMs: number;
  /** Verified good credentials kept (misses are never cached, so they cannot evict these). */
  maxCached: number;
}

export const DEFAULT_BASIC_AUTH_LIMITS: BasicAuthLimits = { maxConcurrent: 1, maxQueued: 64, maxFailures: 10, failureWindowMs: 60_000, maxCached: 256 };

export type BasicAuthResult = 'ok' | 'denied' | 'limited';

/**
 * Basic auth against bcrypt hashes. Unknown users are compared against a dummy hash of the same
 * cost, so timing does not tell which users exist. Good credentials are cached (Prometheus sends
 * the same ones every scrape); failures are counted per client and, past the limit, refused
 * without spending bcrypt on them.
 */
export class BasicAuthVerifier {
  private readonly good = new Map<string, true>(); // sha256(user:pass:hash), insertion order = age
  private readonly failures = new Map<string, number[]>(); // client -> failure times in the window
  private running = 0;
  private readonly queue: Array<() => void> = [];
  private dummy?: Promise<string>;

  constructor(
    private readonly users: Record<string, string>,
    private readonly now: () => number = Date.now,
    private readonly limits: BasicAuthLimits = DEFAULT_BASIC_AUTH_LIMITS,
  ) {}

  async verify(header: string | undefined, client: string): Promise<BasicAuthResult> {
    const creds = parseBasic(header);
    if (!creds) return 'denied';
    const hash = Object.prototype.hasOwnProperty.call(this.users, creds.user) ? this.users[creds.user] : undefined;
    const key = hash === undefined ? undefined : sha256(`${creds.user}\u0000${creds.pass}\u0000${hash}`).toString('hex');
    if (key !== undefined && this.good.has(key)) return 'ok';
    if (this.limited(client)) return 'limited';
    if (this.running >= this.limits.maxConcurrent && this.queue.length >= this.limits.maxQueued) return 'limited';
    const ok = await this.compare(creds.pass, hash ?? (await this.dummyHash()));
    if (ok && key !== undefined) {
      if (this.good.size >= this.limits.maxCached) this.good.delete(this.good.keys().next().value as string);
      this.good.set(key, true);
      return 'ok';
    }
    this.recordFailure(client);
    return 'denied';
  }

  private limited(client: string): boolean {
    const times = this.failures.get(client);
    if (!times) return false;
    const since = this.now() - this.limits.failureWindowMs;
    while (times.length && times[0] <= since) times.shift();
    if (!times.length) this.failures.delete(client);
    return times.length >= this.limits.maxFailures;
  }

  private recordFailure(client: string): void {
    // Bounded: the map forgets its oldest client rather than grow with every address that tries.
    if (!this.failures.has(client) && this.failures.size >= 4096) this.failures.delete(this.failures.keys().next().value as string);
    const times = this.failures.get(client) ?? [];
    times.push(this.now());
    if (times.length > this.limits.maxFailures) times.shift();
    this.failures.set(client, times);
  }

  private async compare(pass: string, hash: string): Promise<boolean> {
    if (this.running >= this.limits.maxConcurrent) await new Promise<void>((r) => this.queue.push(r));
    this.running++;
    try {
      return await bcrypt.compare(pass, hash);
    } catch {
      return false; // a malformed hash in the config: nobody passes
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }

  /** A hash of a random password at the configured cost: an unknown user costs as much as a known one. */
  private dummyHash(): Promise<string> {
    if (!this.dummy) {
      const cost = Math.max(4, ...Object.values(this.users).map((h) => Number(/^\$2[aby]\$(\d{2})\$/.exec(h)?.[1] ?? 10)));
      this.dummy = bcrypt.hash(randomBytes(18).toString('base64'), cost);
    }
    return this.dummy;
  }
}

function parseBasic(header: string | undefined): { user: string; pass: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}
