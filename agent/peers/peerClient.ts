// The client side of the peer protocol: one long-lived server-sent-events stream per configured
// peer (http or https), so a peer's change arrives within one coalescing period instead of a poll
// interval. A peer is up while complete events or heartbeats keep arriving within peer_timeout.
// Everything a peer sends is bounded: event size, events and bytes per second; a peer that
// breaks the bounds or sends garbage is cut off, counted, and retried later with backoff. A valid
// message that may not be believed (another node's name, from the future, over the caps: see
// peerAdmission.ts) is refused, counted as a rejection, and the peer cut off the same way; its last
// good state is kept. The silences a peer sends are merged into ours. The agent never depends on a
// peer: a dead one only makes the cluster view stale.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RequestOptions } from 'node:https';
import type { Logger } from 'pino';
import type { Clock } from '../context';
import type { Component } from '../module';
import { RetryBackoff } from '../backoff';
import { PeerDirectory, type PeerErrorReason } from './peerDirectory';
import { parsePeerMessage } from './peerMessage';
import { SseParser, SseTooLargeError } from './sseParser';
import { PEER_STREAM_PATH } from './peerServer';
import { admitSender, admitState, DEFAULT_PEER_LIMITS, type Admission, type PeerIdentity, type PeerLimits } from './peerAdmission';
import { parseSilenceMessage, SILENCE_EVENT, SILENCE_EVENT_BYTES } from './silenceMessage';
import type { Silences } from '../alerting/silences';
import { peerTlsOptions } from './peerTls';

export interface PeerTarget {
  name: string;
  /** Base URL of the peer agent (http:// or https://). */
  url: string;
  /** The node name this peer must report (peers[].name). Unset for peers found from keepalived.conf
   *  (named by address): bound to the first name the peer reports. */
  node?: string;
  token?: string;
  /** PEM CA bundle to verify an https peer against (default: the system's). */
  caFile?: string;
  /** Accept any certificate (a self-signed one without its CA at hand). Encrypts, does not authenticate. */
  insecureSkipVerify?: boolean;
  /** Trusted beside caFile or the system CAs (PEM files). */
  extraCaFiles?: string[];
  /** A peer showing this very certificate (PEM file) is trusted whatever address reached it. */
  pinnedCertFile?: string;
  /** Shown to a peer that asks for a client certificate. */
  clientCert?: { certFile: string; keyFile: string };
}

export interface PeerClientOptions {
  directory: PeerDirectory;
  clock: Clock;
  log: Logger;
  /** No event or heartbeat for this long: the peer is down (rules.peer_timeout). */
  timeoutMs?: number;
  maxEventBytes?: number;
  /** Items (events + heartbeats) per second above which a peer is flooding. */
  maxEventsPerSecond?: number;
  maxBytesPerSecond?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Wait after cutting off a misbehaving peer. */
  penaltyMs?: number;
  random?: () => number;
  /** This agent's node name: a peer claiming it is refused. */
  self?: string;
  limits?: PeerLimits;
  /** Where the peers' silences merge (none: silence events are skipped). */
  silences?: Pick<Silences, 'merge'>;
}

/** Reasons that mean the peer misbehaved (not merely went away): retried only after penaltyMs. */
const MISBEHAVIOUR: PeerErrorReason[] = ['too_large', 'bad_data', 'flood', 'rejected'];

type ConnOptions = Required<Omit<PeerClientOptions, 'directory' | 'clock' | 'log' | 'silences'>> & PeerClientOptions;

class PeerConnection {
  private req?: ClientRequest;
  private res?: IncomingMessage;
  private reconnectTimer?: NodeJS.Timeout;
  /** The liveness check, due at the earliest deadline below (not a poll: an idle pair wakes for it
   * once per timeout, not several times a second). */
  private watchdog?: { at: number; t: NodeJS.Timeout };
  private readonly backoff: RetryBackoff;
  private attemptStartedAt = 0;
  private responded = false;
  /** Last complete item (event or heartbeat) on this connection, or when it was answered. */
  private lastItemAt = 0;
  private stopped = true;
  private parser!: SseParser;
  private windowStart = 0;
  private windowItems = 0;
  private windowBytes = 0;
  private readonly tls?: RequestOptions;
  private tlsError?: string;
  private generation = 0;
  /** The node name this peer's messages must carry (configured, or the first it reported). */
  private boundNode?: string;

  constructor(readonly target: PeerTarget, private readonly o: ConnOptions) {
    this.boundNode = target.node;
    this.backoff = new RetryBackoff({ initialMs: o.backoffInitialMs, maxMs: o.backoffMaxMs, random: o.random });
    if (/^https:/i.test(target.url)) {
      const t = peerTlsOptions(target);
      if (t.error !== undefined) this.tlsError = t.error;
      else this.tls = t.options;
    }
  }

  start(): void {
    this.stopped = false;
    this.o.directory.ensure(this.target.name, this.target.url, this.o.clock.now());
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimeout(this.watchdog?.t);
    this.watchdog = undefined;
    this.o.clock.clearTimeout(this.reconnectTimer);
    this.teardown();
    this.o.directory.setConnected(this.target.name, false);
  }

  private get name(): string {
    return this.target.name;
  }

  private teardown(): void {
    this.generation++;
    const req = this.req;
    this.req = undefined;
    this.res = undefined;
    req?.destroy();
  }

  private connect(): void {
    if (this.stopped) return;
    const { clock, directory } = this.o;
    this.attemptStartedAt = clock.now();
    this.responded = false;
    this.parser = new SseParser(this.o.maxEventBytes);
    this.windowStart = clock.now();
    this.windowItems = 0;
    this.windowBytes = 0;
    if (this.tlsError) {
      this.fail('connect', this.tlsError);
      return;
    }
    let url: URL;
    try {
      const base = this.target.url.endsWith('/') ? this.target.url : `${this.target.url}/`;
      url = new URL(PEER_STREAM_PATH.slice(1), base);
    } catch (e) {
      this.fail('connect', `bad peer URL ${this.target.url}: ${(e as Error).message}`);
      return;
    }
    const gen = ++this.generation;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    const opts = { method: 'GET', headers, agent: false as const };
    let req: ClientRequest;
    try {
      req =
        url.protocol === 'https:'
          ? httpsRequest(url, { ...opts, ...this.tls })
          : httpRequest(url, opts);
    } catch (e) {
      this.fail('connect', (e as Error).message);
      return;
    }
    this.req = req;
    this.arm();
    req.on('socket', (s) => s.setNoDelay(true));
    req.on('response', (res) => {
      if (gen !== this.generation) return;
      this.res = res;
      this.responded = true;
      if (res.statusCode !== 200) {
        res.resume();
        this.fail('http_status', `HTTP ${res.statusCode}${res.statusCode === 401 ? ' (wrong or missing peer token)' : ''}`);
        return;
      }
      if (!/^text\/event-stream/.test(String(res.headers['content-type'] ?? ''))) {
        res.resume();
        this.fail('bad_data', `not an event stream (content-type ${res.headers['content-type'] ?? 'none'})`);
        return;
      }
      directory.setConnected(this.name, true);
      this.lastItemAt = clock.now();
      this.arm();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (gen === this.generation) this.onData(chunk);
      });
      res.on('end', () => {
        if (gen === this.generation) this.fail('closed', 'peer ended the stream');
      });
      res.on('error', (e) => {
        if (gen === this.generation) this.fail('closed', e.message);
      });
    });
    req.on('error', (e) => {
      if (gen !== this.generation) return;
      this.fail(this.responded ? 'closed' : 'connect', e.message);
    });
    req.end();
  }

  private onData(chunk: string): void {
    const { clock, directory } = this.o;
    const now = clock.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowItems = 0;
      this.windowBytes = 0;
    }
    this.windowBytes += chunk.length;
    if (this.windowBytes > this.o.maxBytesPerSecond) {
      this.fail('flood', `more than ${this.o.maxBytesPerSecond} bytes in one second`);
      return;
    }
    let items;
    try {
      items = this.parser.push(chunk);
    } catch (e) {
      if (e instanceof SseTooLargeError) this.fail('too_large', e.message);
      else this.fail('bad_data', (e as Error).message);
      return;
    }
    this.windowItems += items.length;
    if (items.length) this.lastItemAt = now;
    if (this.windowItems > this.o.maxEventsPerSecond) {
      this.fail('flood', `more than ${this.o.maxEventsPerSecond} events in one second`);
      return;
    }
    for (const item of items) {
      if (item.kind === 'comment') {
        directory.seen(this.name, now);
        continue;
      }
      if (item.event === SILENCE_EVENT) {
        if (!this.onSilences(item.data, now)) return;
        continue;
      }
      if (item.event !== 'state') continue; // unknown event types from newer agents are skipped
      const parsed = parsePeerMessage(item.data);
      if (!parsed.ok) {
        this.fail('bad_data', parsed.error);
        return;
      }
      if (!this.admitted(admitState(this.identity(), parsed.message, item.data.length, now, this.o.limits), now)) return;
      this.boundNode ??= parsed.message.state.node;
      directory.setState(this.name, parsed.message.state, parsed.message.sentAt, now);
      this.backoff.reset(); // a good state: the next reconnect starts from the short delay again
      const p = directory.get(this.name);
      if (p && !p.up) {
        directory.setUp(this.name, true, now);
        this.o.log.info({ peer: this.name, node: parsed.message.state.node }, 'peer up');
      }
    }
  }

  private identity(): PeerIdentity {
    return { peer: this.name, node: this.boundNode, self: this.o.self };
  }

  /** False (and the peer cut off) when the message is refused. */
  private admitted(a: Admission, now: number): boolean {
    if (a.ok) return true;
    this.o.directory.reject(this.name, a.reason, a.error, now);
    this.o.log.warn({ peer: this.name, reason: a.reason, error: a.error }, 'peer message refused');
    this.fail('rejected', a.error);
    return false;
  }

  /** A silences event: merged into ours; false when the stream was cut off. */
  private onSilences(data: string, now: number): boolean {
    if (!this.o.silences) return true;
    const parsed = parseSilenceMessage(data);
    if (!parsed.ok) {
      this.fail('bad_data', parsed.error);
      return false;
    }
    const m = parsed.message;
    if (!this.admitted(admitSender(this.identity(), m.node, m.sentAt, now, this.o.limits), now)) return false;
    this.boundNode ??= m.node;
    this.o.directory.seen(this.name, now);
    const r = this.o.silences.merge(m.silences, `peer ${this.name}`);
    // One bad silence (a newer agent's matcher, a clock off) does not cut the peer off: the rest merge.
    if (r.refused.length) this.o.directory.reject(this.name, 'bad_silence', `peer ${this.name}: ${r.refused.length} silence(s) refused, e.g. ${r.refused[0].id}: ${r.refused[0].error}`, now);
    return true;
  }

  /** The earliest time check() can find something: a deadline below passing. */
  private nextDeadline(): number | undefined {
    const t = this.o.timeoutMs;
    const p = this.o.directory.get(this.name);
    const due: number[] = [];
    if (this.req) due.push((this.responded ? this.lastItemAt : this.attemptStartedAt) + t);
    if (p?.up) due.push((p.lastSeenAt ?? 0) + t);
    return due.length ? Math.min(...due) : undefined;
  }

  /** (Re)arms the watchdog for the earliest deadline. Data arriving only moves deadlines later, so
   * it need not re-arm: the watchdog then fires early, finds nothing, and re-arms. */
  private arm(): void {
    if (this.stopped) return;
    const at = this.nextDeadline();
    if (at === undefined || (this.watchdog && this.watchdog.at <= at)) return;
    const { clock } = this.o;
    clock.clearTimeout(this.watchdog?.t);
    const t = clock.setTimeout(() => {
      this.watchdog = undefined;
      this.check();
      this.arm();
    }, Math.max(0, at - clock.now()) + 1);
    this.watchdog = { at, t };
  }

  /** Liveness: nothing complete from the peer within the timeout means it is down. */
  private check(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const p = this.o.directory.get(this.name);
    if (!p) return;
    if (this.req && !this.responded && now - this.attemptStartedAt > this.o.timeoutMs) {
      this.fail('timeout', `no answer within ${this.o.timeoutMs} ms`);
      return;
    }
    // A connection that delivers no complete event or heartbeat (silent, or dripping bytes).
    if (this.req && this.responded && now - this.lastItemAt > this.o.timeoutMs) {
      this.fail('timeout', `no event or heartbeat for ${now - this.lastItemAt} ms`);
      return;
    }
    if (p.up && now - (p.lastSeenAt ?? 0) > this.o.timeoutMs) this.markDown(now, `nothing received for ${now - (p.lastSeenAt ?? 0)} ms`);
  }

  private markDown(now: number, why: string): void {
    const p = this.o.directory.get(this.name);
    if (p?.up) this.o.log.warn({ peer: this.name, why }, 'peer down');
    this.o.directory.setUp(this.name, false, now);
  }

  private fail(reason: PeerErrorReason, message: string): void {
    if (this.stopped) return;
    const { clock, directory } = this.o;
    const now = clock.now();
    const wasConnected = this.responded && reason !== 'http_status';
    this.teardown();
    directory.setConnected(this.name, false);
    directory.countError(this.name, reason, message);
    const p = directory.get(this.name);
    // A stream that ends is retried at once and the peer stays up while the retry succeeds within
    // the timeout (a peer agent's reload is not an outage). Anything else marks it down now.
    const stale = now - (p?.lastSeenAt ?? 0) > this.o.timeoutMs;
    if (!(reason === 'closed' && wasConnected) || stale) this.markDown(now, `${reason}: ${message}`);
    this.o.log.debug({ peer: this.name, reason, message }, 'peer stream failed');
    let delay: number;
    if (MISBEHAVIOUR.includes(reason)) {
      this.o.log.warn({ peer: this.name, reason, message }, 'peer cut off');
      delay = this.o.penaltyMs;
    } else {
      delay = this.backoff.next();
    }
    clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
    this.arm(); // a peer still up (a stream that ended) goes down if the retry takes too long
  }
}

/** Keeps one stream per configured peer; setPeers() reconciles on reload without touching unchanged peers. */
export class PeerClient implements Component {
  readonly name = 'peer-client';
  private readonly conns = new Map<string, { key: string; conn: PeerConnection }>();
  private readonly o: ConnOptions;
  private running = false;
  private targets: PeerTarget[];

  constructor(targets: PeerTarget[], opts: PeerClientOptions) {
    this.targets = targets;
    const limits = opts.limits ?? DEFAULT_PEER_LIMITS;
    this.o = {
      timeoutMs: 3000,
      // The SSE cap lets a state reach the admission check (which names the cap it breaks).
      maxEventBytes: Math.max(1024 * 1024, limits.maxStateBytes + 4096, SILENCE_EVENT_BYTES + 4096),
      self: '',
      limits,
      maxEventsPerSecond: 100,
      maxBytesPerSecond: 16 * 1024 * 1024,
      backoffInitialMs: 100,
      backoffMaxMs: 5000,
      penaltyMs: 30_000,
      random: Math.random,
      ...opts,
    };
  }

  async start(): Promise<void> {
    this.running = true;
    this.setPeers(this.targets);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const { conn } of this.conns.values()) conn.stop();
    this.conns.clear();
  }

  setPeers(targets: PeerTarget[]): void {
    this.targets = targets;
    if (!this.running) return;
    const want = new Map(targets.map((t) => [t.name, t]));
    for (const [name, c] of [...this.conns]) {
      const t = want.get(name);
      if (!t || JSON.stringify(t) !== c.key) {
        c.conn.stop();
        this.conns.delete(name);
      }
    }
    for (const t of targets) {
      if (this.conns.has(t.name)) continue;
      const conn = new PeerConnection(t, this.o);
      this.conns.set(t.name, { key: JSON.stringify(t), conn });
      conn.start();
    }
    this.o.directory.retain(targets.map((t) => t.name));
  }
}
