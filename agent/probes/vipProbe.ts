// Where the expected VIPs are bound on this node. Expected: per instance, the `vips:` override of
// keepwatch's config, else what keepalived said (D-Bus/JSON dumps) or keepalived.conf, as folded
// in the store. Bound: os.networkInterfaces() (getifaddrs: microseconds, secondary addresses and
// labels included; systeminformation's networkInterfaces forks and reads sysfs per interface,
// milliseconds: bench/probeCost.ts). Changes are followed as they happen: a long-lived
// `ip -o monitor address` child (netlink; iproute2 6.1 prints text even with -json) makes us
// re-read on every line, so a VIP that appears or vanishes is seen in milliseconds without fast
// polling; the scheduled run is only a safety net. The child is restarted with backoff if it dies.
import { spawn as cpSpawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../context';
import type { NodeStore } from '../state/store';
import type { NodeEvent, VipObservationEvent } from '../state/types';
import { deviceOfLabel, normalizeIp } from './ipAddress';
import { parseIpMonitorLine } from './parse/ipMonitorLine';
import type { Probe } from './probe';

/** Where an address is bound: its device, and its prefix length when the reader knows it. */
export interface BoundAddress {
  intf: string;
  prefix?: number;
}

/** Bound addresses (normalized) to their device (a bare device name: prefix unknown). */
export type AddressReader = () => Map<string, string | BoundAddress>;

export function osAddressReader(networkInterfaces: () => NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces): AddressReader {
  return () => {
    const out = new Map<string, BoundAddress>();
    const ifs = networkInterfaces();
    for (const [name, addrs] of Object.entries(ifs)) {
      for (const a of addrs ?? []) {
        const n = normalizeIp(a.address);
        // The prefix goes into the fix a page names (`ip addr del <vip>/<prefix> dev <if>`).
        const prefix = a.cidr ? Number(a.cidr.slice(a.cidr.lastIndexOf('/') + 1)) : NaN;
        if (n && !out.has(n)) out.set(n, Number.isInteger(prefix) ? { intf: deviceOfLabel(name), prefix } : { intf: deviceOfLabel(name) });
      }
    }
    return out;
  };
}

export type SpawnFn = (cmd: string, args: string[]) => ChildProcess;

export interface VipProbeOptions {
  store: NodeStore;
  clock: Clock;
  log: Logger;
  /** Config `vips:` (instance name -> addresses); wins over keepalived's own list for that instance. */
  overrides?: Record<string, string[]>;
  readAddresses?: AddressReader;
  /** The address monitor command; null disables it (then only the scheduled runs see changes). */
  monitorCommand?: string[] | null;
  spawn?: SpawnFn;
  /** Restart backoff of the monitor, ms. */
  restartInitialMs?: number;
  restartMaxMs?: number;
}

export const DEFAULT_MONITOR_COMMAND = ['ip', '-o', 'monitor', 'address'];

export class VipProbe implements Probe {
  readonly name = 'vip';
  readonly source = 'vip_probe';
  private readonly read: AddressReader;
  private emit?: (ev: NodeEvent) => void;
  private child?: ChildProcess;
  private restartTimer?: NodeJS.Timeout;
  private restartDelay: number;
  private childStartedAt = 0;
  private stopped = false;
  private pendingRecheck = false;
  private lastSeen = '';
  private unsubscribe?: () => void;
  /** Lines the monitor printed (for tests and the API). */
  monitorLines = 0;

  constructor(private readonly opts: VipProbeOptions) {
    this.read = opts.readAddresses ?? osAddressReader();
    this.restartDelay = opts.restartInitialMs ?? 200;
  }

  /** (iname, vip) pairs this node should know about, VIPs normalized, config override first. */
  expected(): Array<{ iname: string; vip: string }> {
    const out: Array<{ iname: string; vip: string }> = [];
    const seen = new Set<string>();
    const add = (iname: string, vip: string) => {
      const n = normalizeIp(vip);
      if (!n) return;
      const id = `${iname}|${n}`;
      if (seen.has(id)) return;
      seen.add(id);
      out.push({ iname, vip: n });
    };
    const ov = this.opts.overrides ?? {};
    for (const [iname, vips] of Object.entries(ov)) for (const v of vips) add(iname, v);
    for (const inst of Object.values(this.opts.store.state.instances)) {
      if (inst.iname in ov) continue;
      for (const v of inst.vips) add(inst.iname, v);
    }
    return out;
  }

  /** One full observation: every expected VIP with its device here, or null. */
  observe(): VipObservationEvent {
    const bound = this.read();
    return {
      kind: 'vip',
      source: 'vip_probe',
      at: this.opts.clock.now(),
      vips: this.expected().map(({ iname, vip }) => {
        const b = bound.get(vip);
        if (b === undefined) return { iname, vip, intf: null };
        if (typeof b === 'string') return { iname, vip, intf: b };
        return b.prefix === undefined ? { iname, vip, intf: b.intf } : { iname, vip, intf: b.intf, prefix: b.prefix };
      }),
    };
  }

  async run(signal: AbortSignal): Promise<NodeEvent[]> {
    signal.throwIfAborted();
    const ev = this.observe();
    this.lastSeen = fingerprint(ev);
    return [ev];
  }

  /** Where the VIPs are is a finding, never a failure: a run that could read the addresses succeeded
   *  (one that could not threw). */
  judge(): string | undefined {
    return undefined;
  }

  async start(emit: (ev: NodeEvent) => void): Promise<void> {
    this.emit = emit;
    this.stopped = false;
    // New or changed instances (keepalived.conf parsed, D-Bus enumeration) change what is expected.
    this.unsubscribe = this.opts.store.subscribe((c) => {
      if (c.event.kind === 'instance' || (c.event.kind === 'transition' && c.transitions.length > 0)) this.scheduleRecheck();
    });
    if (this.opts.monitorCommand !== null) this.spawnMonitor();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.opts.clock.clearTimeout(this.restartTimer);
    const c = this.child;
    this.child = undefined;
    if (c && c.exitCode === null && c.signalCode === null) {
      await new Promise<void>((resolve) => {
        c.once('close', () => resolve());
        c.kill('SIGTERM');
      });
    }
  }

  /** Re-reads now-ish (coalesces a burst of monitor lines into one read) and emits only a change. */
  private scheduleRecheck(): void {
    if (this.pendingRecheck || this.stopped) return;
    this.pendingRecheck = true;
    setImmediate(() => {
      this.pendingRecheck = false;
      this.recheck();
    });
  }

  recheck(): void {
    if (this.stopped || !this.emit) return;
    let ev: VipObservationEvent;
    try {
      ev = this.observe();
    } catch (e) {
      this.opts.log.warn({ err: (e as Error).message }, 'reading interface addresses failed');
      return;
    }
    const fp = fingerprint(ev);
    if (fp === this.lastSeen) return;
    this.logChanges(this.lastSeen, ev);
    this.lastSeen = fp;
    this.emit(ev);
  }

  /** One info line per VIP that appeared or vanished here: the operator's record of where it was. */
  private logChanges(before: string, ev: VipObservationEvent): void {
    const prev = new Map(before.split(',').filter(Boolean).map((e) => {
      const [iname, vip, intf] = e.split('|');
      return [`${iname}|${vip}`, intf];
    }));
    for (const v of ev.vips) {
      const was = prev.get(`${v.iname}|${v.vip}`);
      const now = v.intf ?? '';
      if (was === undefined || was === now) continue;
      if (now) this.opts.log.info({ iname: v.iname, vip: v.vip, intf: now }, 'VIP bound on this node');
      else this.opts.log.info({ iname: v.iname, vip: v.vip, was }, 'VIP no longer bound on this node');
    }
  }

  private spawnMonitor(): void {
    if (this.stopped) return;
    const [cmd, ...args] = this.opts.monitorCommand ?? DEFAULT_MONITOR_COMMAND;
    const spawn = this.opts.spawn ?? ((c: string, a: string[]) => cpSpawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let child: ChildProcess;
    try {
      child = spawn(cmd, args);
    } catch (e) {
      this.monitorDied(`cannot start ${cmd}: ${(e as Error).message}`);
      return;
    }
    this.child = child;
    this.childStartedAt = this.opts.clock.now();
    let buf = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.monitorLines++;
        const ch = parseIpMonitorLine(line);
        if (ch) this.opts.log.debug({ change: ch }, 'address change');
        this.scheduleRecheck();
      }
      if (buf.length > 64 * 1024) buf = ''; // a line that long is not ip's
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      if (stderr.length < 2048) stderr += s;
    });
    child.on('spawn', () => {
      this.emit?.({ kind: 'source', source: 'vip_probe', at: this.opts.clock.now(), up: true });
      // Whatever changed between the last read and the monitor listening is caught here.
      this.scheduleRecheck();
    });
    let gone = false;
    const onGone = (why: string) => {
      if (gone) return;
      gone = true;
      if (this.child === child) this.child = undefined;
      if (!this.stopped) this.monitorDied(why + (stderr.trim() ? `: ${stderr.trim().split('\n').slice(-1)[0]}` : ''));
    };
    child.on('error', (e: NodeJS.ErrnoException) => onGone(e.code === 'ENOENT' ? `${cmd} not found (install iproute2)` : `${cmd}: ${e.message}`));
    child.on('close', (code, sig) => onGone(`${[cmd, ...args].join(' ')} exited (${sig ?? code})`));
  }

  private monitorDied(why: string): void {
    const ranLong = this.opts.clock.now() - this.childStartedAt > 10_000;
    if (ranLong) this.restartDelay = this.opts.restartInitialMs ?? 200;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(this.restartDelay * 2, this.opts.restartMaxMs ?? 30_000);
    this.opts.log.warn({ why, restartInMs: delay }, 'address monitor stopped; VIP changes are seen by the scheduled run until it is back');
    this.emit?.({ kind: 'source', source: 'vip_probe', at: this.opts.clock.now(), up: false, error: `address monitor: ${why}; restarting in ${delay} ms` });
    this.restartTimer = this.opts.clock.setTimeout(() => this.spawnMonitor(), delay);
  }
}

function fingerprint(ev: VipObservationEvent): string {
  return ev.vips.map((v) => `${v.iname}|${v.vip}|${v.intf ?? ''}`).join(',');
}
