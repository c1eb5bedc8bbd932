// The agent's side of the keepalived notify hook (agent/hook/keepwatch-notify): records arrive on a
// Unix socket (agent up) or in the spool directory (agent down, or no socat on the host); both are
// applied to the store in keepalived's order and acknowledged only after that.
// - Socket: one record per line; the reply "ok <id>" is written after the event was applied, so a
//   hook that got no ack spools the record (the id then dedups it here).
// - Spool: ingested on start and as files appear (fs.watch, plus a slow rescan because inotify can
//   overflow or miss a directory that was recreated); each file is deleted after its event was
//   applied, so a crash in between re-applies it on restart (the store dedups), never loses it.
//   Records spooled before the source started were written while the agent was down: they are
//   history (placed in the timeline at their own time, never applied over the live state).
// - Order: keepalived forks notify scripts concurrently, so records can arrive out of order. A record
//   older (compareRecords: fork order, then time) than the last one applied for the same name, or
//   older than a different state the store already has from another source, is history: counted as
//   superseded, not applied (applying it would move the state backwards).
// - Heartbeat: <spool>/agent.alive holds "alive until" (epoch s); the hook reads it to decide whether
//   to try the socket and whether to page by itself.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { NodeState } from '../state/types';
import { errText } from '../errors';
import type { Emit, Source, SourceEnv, SourceFactory } from './source';
import type { SourceReporter } from './sourceReporter';
import {
  compareRecords,
  excerpt,
  parseRecord,
  recordToEvent,
  type HookRecord,
  readPidMax,
  type OrderOptions,
} from '../hook/record';
import { ensureSpool, listSpool, pruneDir, writeAtomic, writeHeartbeat, type SpoolPaths } from '../hook/spool';

export interface HookSourceOptions {
  spoolDir: string;
  /** Unix socket to listen on; undefined: spool only. */
  socketPath?: string;
  /** Mode of the socket file (default 0o600: the agent's user; root, which runs the hook, can always connect). */
  socketMode?: number;
  /** Read-only view of the store, to skip records older than what another source already reported. */
  state?: () => Readonly<NodeState>;
  heartbeatIntervalMs?: number;
  /** The heartbeat says alive for this long; the hook treats the agent as down after (default 3 s). */
  aliveForS?: number;
  /** Safety rescan of the spool (default 5 s). */
  rescanIntervalMs?: number;
  /** Files kept in <spool>/bad (default 1000). */
  maxBad?: number;
  /** tmp/ files older than this are a writer that died before its rename: ingested or moved to bad/. */
  staleTmpMs?: number;
  order?: OrderOptions;
  /** Called once, after the spool left while the agent was down has been applied (or could not be read). */
  onBacklogDone?(): void;
}

export interface HookStats {
  applied: { socket: number; spool: number };
  duplicate: number;
  superseded: number;
  bad: number;
  spoolErrors: number;
}

const MAX_LINE = 4096;
const MAX_CONN_BYTES = 256 * 1024;
const MAX_CONNECTIONS = 256;
const SEEN_IDS = 8192;
/** Names whose last record is remembered (keepalived has a handful; bounded against floods). */
const MAX_NAMES = 10_000;

export class HookSource implements Source {
  readonly name = 'hook' as const;
  readonly stats: HookStats = { applied: { socket: 0, spool: 0 }, duplicate: 0, superseded: 0, bad: 0, spoolErrors: 0 };
  private readonly o: Required<Omit<HookSourceOptions, 'socketPath' | 'state' | 'order' | 'onBacklogDone'>> & Pick<HookSourceOptions, 'socketPath' | 'state' | 'order' | 'onBacklogDone'>;
  /** Records stamped before this were spooled while the agent was down. */
  private startedAt = 0;
  private paths!: SpoolPaths;
  private server?: net.Server;
  private socketIno?: number;
  private watcher?: fs.FSWatcher;
  private heartbeat?: NodeJS.Timeout;
  private rescan?: NodeJS.Timeout;
  private scanning = false;
  private scanAgain = false;
  private scheduled = false;
  private stopped = true;
  private readonly seen = new Set<string>();
  private readonly order: OrderOptions;
  /** Per "TYPE NAME": the last record applied. */
  private readonly last = new Map<string, HookRecord>();
  private readonly clock: SourceEnv['clock'];
  private readonly log: SourceEnv['log'];
  /** Records go to the store unguarded: a spool file is deleted only after its event was applied. */
  private readonly emit: Emit;
  private readonly report: SourceReporter;

  constructor(opts: HookSourceOptions, env: SourceEnv) {
    this.clock = env.clock;
    this.log = env.log;
    this.emit = env.emit;
    this.report = env.report;
    this.o = {
      socketMode: 0o600,
      heartbeatIntervalMs: 1000,
      aliveForS: 3,
      rescanIntervalMs: 5000,
      maxBad: 1000,
      staleTmpMs: 60_000,
      ...opts,
    };
    this.order = { pidMax: opts.order?.pidMax ?? readPidMax(), forkSkewNs: opts.order?.forkSkewNs };
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.startedAt = this.clock.now();
    try {
      this.paths = ensureSpool(this.o.spoolDir);
    } catch (e) {
      this.report.down(`cannot create spool ${this.o.spoolDir}: ${errText(e)}`);
      this.o.onBacklogDone?.();
      throw e;
    }
    // Socket first, heartbeat second: a hook that sees the heartbeat finds the socket ready.
    if (this.o.socketPath) {
      try {
        await this.listen(this.o.socketPath);
      } catch (e) {
        // Spool ingestion still works: report the socket, keep going.
        this.report.down(`socket ${this.o.socketPath}: ${errText(e)}`);
      }
    }
    this.beat();
    this.heartbeat = this.clock.setInterval(() => this.beat(), this.o.heartbeatIntervalMs);
    try {
      this.watcher = fs.watch(this.paths.dir, { persistent: false }, () => this.schedule());
      this.watcher.on('error', (e) => {
        this.log.warn({ err: e, spool: this.paths.dir }, 'hook spool watch failed; relying on the periodic rescan');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.log.warn({ err: e, spool: this.paths.dir }, 'cannot watch the hook spool; relying on the periodic rescan');
    }
    this.rescan = this.clock.setInterval(() => this.schedule(true), this.o.rescanIntervalMs);
    // Records left while the agent was down, before anything else happens.
    this.scanNow(true);
    this.o.onBacklogDone?.();
    if (!this.o.socketPath || this.server) this.report.up();
    this.log.info({ spool: this.paths.dir, socket: this.server ? this.o.socketPath : undefined }, 'hook source started');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearInterval(this.heartbeat);
    this.clock.clearInterval(this.rescan);
    this.watcher?.close();
    this.watcher = undefined;
    // No heartbeat left behind: a hook called from now on knows at once that the agent is down.
    try {
      fs.unlinkSync(this.paths.alive);
    } catch {
      /* not there */
    }
    if (this.server) {
      const srv = this.server;
      this.server = undefined;
      await new Promise<void>((resolve) => srv.close(() => resolve()));
      this.removeOwnSocket();
    }
  }

  // ------------------------------------------------------------------ socket

  private async listen(sockPath: string): Promise<void> {
    fs.mkdirSync(path.dirname(sockPath), { recursive: true, mode: 0o755 });
    await this.clearStaleSocket(sockPath);
    // Bind under a private name, set the mode, then rename into place: the socket is never
    // reachable with the default (umask) permissions.
    const tmpPath = `${sockPath}.${process.pid}.tmp`;
    try {
      fs.unlinkSync(tmpPath);
    } catch {
      /* none */
    }
    const server = net.createServer({ allowHalfOpen: true }, (c) => this.onConnection(c));
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(tmpPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.log.warn({ err: e }, 'hook socket error'));
    fs.chmodSync(tmpPath, this.o.socketMode);
    fs.renameSync(tmpPath, sockPath);
    this.socketIno = fs.statSync(sockPath).ino;
    this.server = server;
  }

  /** Removes a socket file no process listens on; refuses to touch anything else. */
  private async clearStaleSocket(sockPath: string): Promise<void> {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(sockPath);
    } catch {
      return;
    }
    if (!st.isSocket()) throw new Error(`${sockPath} exists and is not a socket; not removing it`);
    const live = await new Promise<boolean>((resolve) => {
      const c = net.connect(sockPath);
      const t = setTimeout(() => { c.destroy(); resolve(true); }, 500);
      c.once('connect', () => { clearTimeout(t); c.destroy(); resolve(true); });
      c.once('error', () => { clearTimeout(t); resolve(false); });
    });
    if (live) throw new Error(`${sockPath} is in use by another process (another agent?)`);
    fs.unlinkSync(sockPath);
  }

  private removeOwnSocket(): void {
    const p = this.o.socketPath;
    if (!p) return;
    try {
      if (fs.lstatSync(p).ino === this.socketIno) fs.unlinkSync(p);
    } catch {
      /* gone */
    }
  }

  private onConnection(c: net.Socket): void {
    let buf = '';
    let total = 0;
    c.setEncoding('utf8');
    c.setTimeout(2000, () => c.destroy());
    c.on('error', () => undefined);
    c.on('data', (chunk: string) => {
      total += chunk.length;
      buf += chunk;
      if (total > MAX_CONN_BYTES || (buf.length > MAX_LINE && !buf.includes('\n'))) {
        this.bad('socket', buf.slice(0, MAX_LINE), 'record too long or no newline');
        c.end('err too long\n');
        c.destroy();
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl + 1);
        buf = buf.slice(nl + 1);
        c.write(this.onSocketLine(line));
      }
    });
    c.on('end', () => {
      if (buf.length) c.write(this.onSocketLine(buf));
      buf = '';
      c.end();
    });
  }

  private onSocketLine(line: string): string {
    if (this.stopped) return 'err stopping\n';
    const r = parseRecord(line);
    if (!r.ok) {
      this.bad('socket', line, r.reason);
      return `err ${r.reason.replace(/\n/g, ' ')}\n`;
    }
    this.applyRecord(r.record, 'socket');
    return `ok ${r.record.id}\n`;
  }

  // ------------------------------------------------------------------ spool

  private beat(): void {
    try {
      writeHeartbeat(this.paths, this.clock.now(), this.o.aliveForS);
    } catch (e) {
      this.logOnce('heartbeat', { err: e }, 'cannot write the hook heartbeat; hooks will treat the agent as down');
    }
  }

  /** Coalesces watch events into one scan at a time. */
  private schedule(withTmp = false): void {
    if (this.stopped) return;
    if (withTmp) this.tmpDue = true;
    if (this.scanning) {
      this.scanAgain = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.scanNow(this.tmpDue);
    });
  }

  private tmpDue = false;

  /** Reads every spooled file, applies them in keepalived's order, deletes each after it is applied. */
  private scanNow(withTmp: boolean): void {
    if (this.stopped) return;
    this.scanning = true;
    this.tmpDue = false;
    try {
      do {
        this.scanAgain = false;
        if (withTmp) this.recoverTmp();
        withTmp = false;
        const batch: Array<{ file: string; record: HookRecord }> = [];
        for (const name of listSpool(this.paths.dir)) {
          const file = path.join(this.paths.dir, name);
          let text: string;
          try {
            text = fs.readFileSync(file, 'utf8');
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.spoolError(e, file);
            continue;
          }
          const r = parseRecord(text);
          if (!r.ok) {
            this.bad('spool', text, r.reason, file);
            continue;
          }
          batch.push({ file, record: r.record });
        }
        batch.sort((a, b) => compareRecords(a.record, b.record, this.order));
        for (const { file, record } of batch) {
          this.applyRecord(record, 'spool');
          this.unlink(file); // the deliverer (root) drops its marker once the record is gone
        }
      } while (this.scanAgain && !this.stopped);
    } catch (e) {
      this.spoolError(e, this.paths.dir);
    } finally {
      this.scanning = false;
    }
  }

  /** tmp/ files left by a writer that died between write and rename. */
  private recoverTmp(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.paths.tmp);
    } catch {
      return;
    }
    const now = this.clock.now();
    for (const n of names) {
      const f = path.join(this.paths.tmp, n);
      try {
        if (now - fs.statSync(f).mtimeMs < this.o.staleTmpMs) continue;
        const m = /^(\d{1,20}-\d{1,10}\.(?:rec|bad))/.exec(n);
        if (m) fs.renameSync(f, path.join(this.paths.dir, m[1]));
        else this.bad('spool', fs.readFileSync(f, 'utf8').slice(0, MAX_LINE), 'unexpected file in the spool tmp/ directory', f);
      } catch {
        /* raced with its writer or already gone */
      }
    }
  }

  private unlink(file: string): void {
    try {
      fs.unlinkSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.spoolError(e, file);
    }
  }

  // ------------------------------------------------------------------ applying

  private applyRecord(r: HookRecord, via: 'socket' | 'spool'): void {
    if (this.seen.has(r.id)) {
      this.stats.duplicate++;
      return;
    }
    this.remember(r.id);
    const key = `${r.type} ${r.name}`;
    const prev = this.last.get(key);
    const evKey = r.state === 'MASTER_RX_LOWER_PRI' ? undefined : key;
    if (evKey && prev && compareRecords(r, prev, this.order) < 0) {
      this.superseded(r, `after ${prev.state} (${prev.id}) was applied`);
      return;
    }
    // Spooled while the agent was down: history, which the store places at its time.
    const past = via === 'spool' && r.at < this.startedAt;
    if (evKey && !past && this.olderThanStore(r)) {
      this.superseded(r, 'the store already has a newer state from another source');
      return;
    }
    if (evKey) {
      this.last.delete(key); // re-insert: the map's order is the eviction order
      this.last.set(key, r);
      if (this.last.size > MAX_NAMES) this.last.delete(this.last.keys().next().value as string);
    }
    this.emit(past ? { ...recordToEvent(r), history: {} } : recordToEvent(r));
    this.stats.applied[via]++;
  }

  private olderThanStore(r: HookRecord): boolean {
    const s = this.o.state?.();
    if (!s) return false;
    const cur = r.type === 'INSTANCE' ? s.instances[r.name] : s.groups[r.name];
    if (!cur || cur.state === 'UNKNOWN' || cur.state === r.state) return false;
    return r.at < cur.since;
  }

  private superseded(r: HookRecord, why: string): void {
    this.stats.superseded++;
    this.log.info({ record: r.id, name: r.name, state: r.state }, `hook record superseded: ${why}`);
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_IDS) {
      const first = this.seen.values().next().value;
      if (first !== undefined) this.seen.delete(first);
    }
  }

  /** A record that cannot be parsed: parse_error event, kept in bad/ for inspection. */
  private bad(via: 'socket' | 'spool', text: string, reason: string, file?: string): void {
    this.stats.bad++;
    const at = this.clock.now();
    this.emit({ kind: 'parse_error', source: 'hook', at, reason, input: excerpt(text) });
    this.logOnce(`bad:${reason.split(' ').slice(0, 3).join(' ')}`, { via, reason, input: excerpt(text) }, 'bad hook record moved to the spool bad/ directory');
    try {
      const name = file ? path.basename(file) : `${BigInt(at) * 1_000_000n}-${this.stats.bad}.socket`;
      if (file) fs.renameSync(file, path.join(this.paths.bad, name));
      else writeAtomic(this.paths, name, text, this.paths.bad);
      pruneDir(this.paths.bad, this.o.maxBad);
    } catch (e) {
      if (file) this.unlink(file); // never re-read a bad file forever
      this.spoolError(e, file ?? this.paths.bad);
    }
  }

  private spoolError(e: unknown, where: string): void {
    this.stats.spoolErrors++;
    this.logOnce(`spool:${(e as NodeJS.ErrnoException).code ?? 'error'}`, { err: e, where }, 'hook spool error');
  }

  private logOnce(kind: string, obj: object, msg: string): void {
    this.report.once(kind, () => this.log.warn(obj, msg));
  }
}

export const hookSource: SourceFactory<HookSourceOptions, HookSource> = (opts, env) => new HookSource(opts, env);
