// The server side of the peer protocol: GET /api/v1/peer/state (one snapshot) and
// GET /api/v1/peer/stream (server-sent events: the full state on connect, a new state after every
// material store change, coalesced to at most one per coalesceMs, fresher measurements alone at
// most once per refreshMs, and a heartbeat comment every heartbeatMs so the peer can tell a quiet
// node from a dead one). Both need the peer bearer token ('peer' auth in the HTTP server: 401 and
// nothing else without it). The stream also carries the silences (agent/peers/silenceMessage.ts):
// the whole set after the first state, then every change on the next tick.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../context';
import type { Component } from '../module';
import type { NodeStore } from '../state/store';
import { sendJson, type RouteSpec } from '../http/server';
import { encodePeerMessage } from './peerMessage';
import { encodeSilenceEvents } from './silenceMessage';
import type { Silence, Silences } from '../alerting/silences';

export interface PeerServerOptions {
  store: NodeStore;
  clock: Clock;
  log: Logger;
  heartbeatMs?: number;
  coalesceMs?: number;
  /** A change that only refreshes measurements (StoreChange.material false) waits up to this long. */
  refreshMs?: number;
  /** Streams served at once; more get 503 (a peer set is small: this only stops abuse). */
  maxStreams?: number;
  /** A client that lets this much pile up unread is cut off (a slow reader must not grow our memory). */
  maxBufferedBytes?: number;
  /** The silences to share with the peers (none: the stream carries states alone). */
  silences?: Pick<Silences, 'all' | 'subscribe'>;
}

export const PEER_STATE_PATH = '/api/v1/peer/state';
export const PEER_STREAM_PATH = '/api/v1/peer/stream';

interface Stream {
  res: ServerResponse;
  close(): void;
}

export class PeerServer implements Component {
  readonly name = 'peer-server';
  private readonly streams = new Set<Stream>();
  private readonly heartbeatMs: number;
  private readonly coalesceMs: number;
  private readonly refreshMs: number;
  private readonly maxStreams: number;
  private readonly maxBuffered: number;
  // One encoding per revision, shared by every stream.
  private cache?: { revision: number; at: number; text: string };
  private stopped = false;

  constructor(private readonly o: PeerServerOptions) {
    this.heartbeatMs = o.heartbeatMs ?? 1000;
    this.coalesceMs = o.coalesceMs ?? 50;
    this.refreshMs = o.refreshMs ?? 5000;
    this.maxStreams = o.maxStreams ?? 32;
    this.maxBuffered = o.maxBufferedBytes ?? 8 * 1024 * 1024;
  }

  routes(): RouteSpec[] {
    return [
      {
        method: 'GET',
        path: PEER_STATE_PATH,
        auth: 'peer',
        handler: (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
          res.end(this.encoded());
        },
      },
      { method: 'GET', path: PEER_STREAM_PATH, auth: 'peer', handler: (req, res) => this.serveStream(req, res) },
    ];
  }

  async start(): Promise<void> {
    this.stopped = false;
  }

  /** Ends every stream: peers reconnect to whatever serves next (a reload's new module). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of [...this.streams]) s.close();
  }

  private encoded(): string {
    const st = this.o.store.state;
    const now = this.o.clock.now();
    // Re-encoded when the state changed, or when the cached sentAt would mislead a new reader.
    if (this.cache?.revision !== st.revision || now - this.cache.at > this.heartbeatMs) this.cache = { revision: st.revision, at: now, text: encodePeerMessage(st, now) };
    return this.cache.text;
  }

  private serveStream(req: IncomingMessage, res: ServerResponse): void {
    if (this.stopped || this.streams.size >= this.maxStreams) {
      sendJson(res, 503, { error: `peer stream unavailable (${this.streams.size} streams open)` });
      return;
    }
    const { clock } = this.o;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.socket?.setNoDelay(true);
    let timer: NodeJS.Timeout | undefined;
    let timerDue = 0;
    let lastSentAt = 0;
    let sentRevision = -1;
    let blocked = false;
    let closed = false;

    const write = (text: string): void => {
      if (closed) return;
      if (res.writableLength > this.maxBuffered) {
        this.o.log.warn({ peer: req.socket.remoteAddress, buffered: res.writableLength }, 'peer stream reader too slow, closing its stream');
        stream.close();
        return;
      }
      if (!res.write(text)) blocked = true;
    };
    const sendState = (): void => {
      timer = undefined;
      if (closed) return;
      if (blocked) return; // 'drain' sends the newest state
      const rev = this.o.store.state.revision;
      if (rev === sentRevision) return;
      sentRevision = rev;
      lastSentAt = clock.now();
      write(`event: state\ndata: ${this.encoded()}\n\n`);
    };
    const schedule = (urgent = true): void => {
      if (closed) return;
      // Never send from inside store.apply (the source that applied an event must not wait for
      // JSON encoding): at least a timer tick later, and no more often than coalesceMs. A change
      // that only repeats what the state said (fresher probe numbers, counters) goes at most once
      // per refreshMs: nothing on the peer acts on those numbers (its rules read verdicts, which
      // are material), while probes run every second and each full state costs an encoding here
      // and a validation there, on agents meant to sit idle.
      const now = clock.now();
      const due = Math.max(now, lastSentAt + (urgent ? this.coalesceMs : this.refreshMs));
      if (timer && timerDue <= due) return;
      clock.clearTimeout(timer);
      timerDue = due;
      timer = clock.setTimeout(sendState, due - now);
    };
    const unsubscribe = this.o.store.subscribe((c) => schedule(c.material));
    // Silence changes wait for the next tick (never sent from inside the change) and for a blocked
    // stream's drain; the newest version of each is what goes.
    const pendingSilences = new Map<string, Silence>();
    let silenceTimer: NodeJS.Timeout | undefined;
    const sendSilences = (): void => {
      silenceTimer = undefined;
      if (closed || blocked || !pendingSilences.size) return;
      const list = [...pendingSilences.values()];
      pendingSilences.clear();
      for (const ev of encodeSilenceEvents(this.o.store.state.node, list, false, clock.now())) write(ev);
    };
    const unsubscribeSilences = this.o.silences?.subscribe((changed) => {
      for (const s of changed) pendingSilences.set(s.id, s);
      silenceTimer ??= clock.setTimeout(sendSilences, 0);
    });
    const heartbeat = clock.setInterval(() => {
      if (!blocked) write(`: hb ${clock.now()}\n\n`);
    }, this.heartbeatMs);
    const onDrain = (): void => {
      blocked = false;
      schedule();
      sendSilences();
    };
    res.on('drain', onDrain);
    const stream: Stream = {
      res,
      close: () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        unsubscribeSilences?.();
        clock.clearTimeout(timer);
        clock.clearTimeout(silenceTimer);
        clock.clearInterval(heartbeat);
        res.off('drain', onDrain);
        this.streams.delete(stream);
        res.destroy();
      },
    };
    this.streams.add(stream);
    res.on('close', () => stream.close());
    res.on('error', () => stream.close());
    sendState();
    if (this.o.silences) for (const ev of encodeSilenceEvents(this.o.store.state.node, this.o.silences.all(), true, clock.now())) write(ev);
  }
}
