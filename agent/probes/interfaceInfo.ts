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

/** systeminformation.networkInterfaces() in a worker thread of its own, ended when it answers. */
export function workerInterfaceReader(timeoutMs = 30_000): InterfaceReader {
  const si = require.resolve('systeminformation');
  const code = `
    const { parentPort } = require('node:worker_threads');
    require(${JSON.stringify(si)}).networkInterfaces().then(
      (r) => parentPort.postMessage({ ok: true, list: (Array.isArray(r) ? r : [r]).map((i) => ({ iface: i.iface, mac: i.mac, operstate: i.operstate, speed: i.speed, mtu: i.mtu, type: i.type, virtual: i.virtual, ip4: i.ip4, ip6: i.ip6 })) }),
      (e) => parentPort.postMessage({ ok: false, error: String(e && e.message || e) }),
    );`;
  return () =>
    new Promise<InterfaceData[]>((resolve, reject) => {
      const w = new Worker(code, { eval: true });
      const timer = setTimeout(() => {
        void w.terminate();
        reject(new Error(`systeminformation networkInterfaces: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      w.once('message', (m: { ok: true; list: InterfaceData[] } | { ok: false; error: string }) => {
        clearTimeout(timer);
        void w.terminate();
        if (m.ok) resolve(m.list);
        else reject(new Error(`systeminformation networkInterfaces: ${m.error}`));
      });
      w.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
}

export interface InterfaceInfoOptions {
  clock: Clock;
  /** How long a read is served from cache (default 10 s). */
  maxAgeMs?: number;
  read?: InterfaceReader;
}

export interface InterfaceInfo {
  /** The cached read while fresh, else the read in progress, else a new one. */
  get(): Promise<{ at: number; interfaces: InterfaceData[] }>;
}

export function createInterfaceInfo(o: InterfaceInfoOptions): InterfaceInfo {
  const maxAgeMs = o.maxAgeMs ?? 10_000;
  let read = o.read;
  let cache: { at: number; interfaces: InterfaceData[] } | undefined;
  let inflight: Promise<{ at: number; interfaces: InterfaceData[] }> | undefined;
  return {
    get() {
      if (cache && o.clock.now() - cache.at <= maxAgeMs) return Promise.resolve(cache);
      if (!inflight) {
        read ??= workerInterfaceReader();
        const at = o.clock.now();
        inflight = read()
          .then((interfaces) => (cache = { at, interfaces }))
          .finally(() => (inflight = undefined));
      }
      return inflight;
    },
  };
}
