// Interface metadata for operators (MAC, link state, speed, MTU, type) for /api/v1/interfaces:
// what systeminformation gives and os.networkInterfaces() does not. Its networkInterfaces() runs
// synchronous commands and sysfs reads per interface (tens of ms on the calling thread), so it runs
// in a worker thread: the agent's event loop stays free. Read on demand, cached for maxAgeMs, and
// one read shared by every request that arrives while it runs. The VIP probe reads addresses with
// os.networkInterfaces() (vipProbe.ts), never through this.
import { Worker } from 'node:worker_threads';
import type { Systeminformation } from 'systeminformation';
import type { Clock } from '../context';

export type InterfaceData = Pick<Systeminformation.NetworkInterfacesData, 'iface' | 'mac' | 'operstate' | 'speed' | 'mtu' | 'type' | 'virtual' | 'ip4' | 'ip6'>;

/** Reads every interface's metadata. */
export type InterfaceReader = () => Promise<InterfaceData[]>;

/** A reader backed by a thread that outlives a read; close() ends the thread. */
export interface InterfaceWorker {
  read: InterfaceReader;
  close(): Promise<void>;
}

type Answer = { id: number; ok: true; list: InterfaceData[] } | { id: number; ok: false; error: string };

/** The worker's code: loads systeminformation once and answers each numbered request. */
function workerCode(si: string): string {
  return `
    const { parentPort } = require('node:worker_threads');
    const si = require(${JSON.stringify(si)});
    parentPort.on('message', ({ id }) => si.networkInterfaces().then(
      (r) => parentPort.postMessage({ id, ok: true, list: (Array.isArray(r) ? r : [r]).map((i) => ({ iface: i.iface, mac: i.mac, operstate: i.operstate, speed: i.speed, mtu: i.mtu, type: i.type, virtual: i.virtual, ip4: i.ip4, ip6: i.ip6 })) }),
      (e) => parentPort.postMessage({ id, ok: false, error: String((e && e.message) || e) }),
    ));`;
}

/**
 * systeminformation.networkInterfaces() in one long-lived worker thread: started on the first read
 * (an agent nobody asks pays nothing), so thread start-up and module load happen once and off the
 * reads; unref'd while idle, so it never keeps the process alive; one read at a time, concurrent
 * callers sharing it; a read with no answer within timeoutMs ends the thread (it may be stuck in a
 * command) and the next read starts a new one, as does a thread that died. A thread with no read
 * for idleMs is ended: its isolate, with systeminformation loaded, holds memory that an agent whose
 * interfaces nobody asks for any more should not keep.
 */
export function workerInterfaceReader(o: { timeoutMs?: number; idleMs?: number; /** The thread's code (tests). */ code?: string } = {}): InterfaceWorker {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const idleMs = o.idleMs ?? 60_000;
  const code = o.code ?? workerCode(require.resolve('systeminformation'));
  let worker: Worker | undefined;
  let nextId = 0;
  let pending: { id: number; worker: Worker; resolve: (l: InterfaceData[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  let inflight: Promise<InterfaceData[]> | undefined;
  let closed = false;
  let idleTimer: NodeJS.Timeout | undefined;

  /** Ends the read in flight if it is `w`'s (a thread ended after a timeout must not fail the next thread's read). */
  const settle = (w: Worker, fn: (p: NonNullable<typeof pending>) => void) => {
    const p = pending;
    if (!p || p.worker !== w) return;
    pending = undefined;
    clearTimeout(p.timer);
    w.unref();
    if (worker === w) {
      idleTimer = setTimeout(() => drop(w), idleMs);
      idleTimer.unref();
    }
    fn(p);
  };
  /** Forgets the thread (it is gone or being ended): the next read starts another. */
  const drop = (w: Worker) => {
    if (worker !== w) return;
    worker = undefined;
    void w.terminate();
  };
  const start = (): Worker => {
    const w = new Worker(code, { eval: true });
    w.on('message', (m: Answer) => {
      if (pending?.id !== m.id) return; // the answer to a read that timed out
      settle(w, (p) => (m.ok ? p.resolve(m.list) : p.reject(new Error(`systeminformation networkInterfaces: ${m.error}`))));
    });
    w.on('error', (e) => {
      drop(w);
      settle(w, (p) => p.reject(new Error(`systeminformation networkInterfaces: worker failed: ${e.message}`)));
    });
    w.on('exit', (exitCode) => {
      drop(w);
      settle(w, (p) => p.reject(new Error(`systeminformation networkInterfaces: worker exited (code ${exitCode})`)));
    });
    // After the listeners (adding a 'message' listener refs the thread again): idle, the thread
    // never keeps the process alive; a read in flight does (its caller waits for it).
    w.unref();
    return w;
  };
  const readOnce = () =>
    new Promise<InterfaceData[]>((resolve, reject) => {
      clearTimeout(idleTimer);
      const w = (worker ??= start());
      const id = ++nextId;
      const timer = setTimeout(() => {
        drop(w);
        settle(w, (p) => p.reject(new Error(`systeminformation networkInterfaces: no answer within ${timeoutMs} ms`)));
      }, timeoutMs);
      pending = { id, worker: w, resolve, reject, timer };
      w.ref();
      w.postMessage({ id });
    });
  return {
    read() {
      if (closed) return Promise.reject(new Error('systeminformation networkInterfaces: stopped'));
      inflight ??= readOnce().finally(() => (inflight = undefined));
      return inflight;
    },
    async close() {
      closed = true;
      clearTimeout(idleTimer);
      const w = worker;
      worker = undefined;
      if (!w) return;
      settle(w, (p) => p.reject(new Error('systeminformation networkInterfaces: stopped')));
      await w.terminate();
    },
  };
}

export interface InterfaceInfoOptions {
  clock: Clock;
  /** How long a read is served from cache (default 10 s). */
  maxAgeMs?: number;
  read: InterfaceReader;
}

export interface InterfaceInfo {
  /** The cached read while fresh, else the read in progress, else a new one. */
  get(): Promise<{ at: number; interfaces: InterfaceData[] }>;
}

export function createInterfaceInfo(o: InterfaceInfoOptions): InterfaceInfo {
  const maxAgeMs = o.maxAgeMs ?? 10_000;
  let cache: { at: number; interfaces: InterfaceData[] } | undefined;
  let inflight: Promise<{ at: number; interfaces: InterfaceData[] }> | undefined;
  return {
    get() {
      if (cache && o.clock.now() - cache.at <= maxAgeMs) return Promise.resolve(cache);
      if (!inflight) {
        const at = o.clock.now();
        inflight = o
          .read()
          .then((interfaces) => (cache = { at, interfaces }))
          .finally(() => (inflight = undefined));
      }
      return inflight;
    },
  };
}
