// The primary source: keepalived's D-Bus interface (org.keepalived.Vrrp1). Pushed and immediate:
// one AddMatch per signal family on a raw bus connection, so VrrpStatusChange of every instance
// (also of instances that appear after a reload) arrives without a proxy object per instance.
// NameOwnerChanged says when keepalived joins or leaves the bus; on joining, and after a reload,
// the instances are enumerated (Introspect, then GetAll of Name and State, or Get where the
// bus policy allows only that).
//
// Instance paths are /org/keepalived/Vrrp1/Instance/<intf>/<vrid>/<IPv4|IPv6>, where keepalived
// replaced every non-alphanumeric character of the interface name by "_" (eth0.100 -> eth0_100).
// The real name is recovered when exactly one interface on this host mangles to the path's form;
// otherwise the path form is kept (the dumps and keepalived.conf carry the real name).
import { readdirSync } from 'fs';
import { networkInterfaces } from 'os';
import * as dbus from 'dbus-next';
import { stateFromCode, stateFromName, type AddressFamily, type InstanceKey, type NodeEvent, type VrrpState } from '../state/types';
import { RetryBackoff, type BackoffOptions } from '../backoff';
import { errText } from '../errors';
import type { KeepalivedLiveness } from './keepalivedPid';
import type { Source, SourceEnv, SourceFactory } from './source';
import type { SourceReporter } from './sourceReporter';

const KEEPALIVED_BUS_NAME = 'org.keepalived.Vrrp1';
const VRRP_PATH = '/org/keepalived/Vrrp1/Vrrp';
const VRRP_IFACE = 'org.keepalived.Vrrp1.Vrrp';
const INSTANCE_ROOT = '/org/keepalived/Vrrp1/Instance';
const INSTANCE_IFACE = 'org.keepalived.Vrrp1.Instance';
const DBUS_NAME = 'org.freedesktop.DBus';
const DBUS_PATH = '/org/freedesktop/DBus';
const INSTANCE_PATH_RE = /^\/org\/keepalived\/Vrrp1\/Instance\/([A-Za-z0-9_]+)\/(\d+)\/(IPv4|IPv6)$/;
// Bounds the tree walk: a node with thousands of instances is still enumerated, a runaway is not.
const MAX_TREE_NODES = 20_000;

const MATCH_RULES = [
  `type='signal',sender='${DBUS_NAME}',path='${DBUS_PATH}',interface='${DBUS_NAME}',member='NameOwnerChanged',arg0='${KEEPALIVED_BUS_NAME}'`,
  // No sender= on keepalived's own signals: it emits its first ones before it owns its name.
  `type='signal',interface='${INSTANCE_IFACE}',member='VrrpStatusChange',path_namespace='${INSTANCE_ROOT}'`,
  `type='signal',interface='${VRRP_IFACE}',path='${VRRP_PATH}'`,
];

export interface DbusSourceOptions {
  /** "system" (honours DBUS_SYSTEM_BUS_ADDRESS) or a D-Bus address, e.g. unix:path=/run/dbus/system_bus_socket. */
  address: string;
  /** Timeout of every D-Bus call, ms. */
  callTimeoutMs?: number;
  /** Reconnect and re-enumerate backoff. */
  backoff?: BackoffOptions;
  /**
   * Is keepalived's process alive? Asked when keepalived is not on the bus, to tell "keepalived
   * stopped" from "keepalived runs but lost the bus" (keepalived 2.2.7 does not reconnect after a
   * dbus-daemon restart). Without it, leaving the bus means keepalived is down.
   */
  keepalivedAlive?: () => Promise<KeepalivedLiveness>;
  /** While keepalived is alive but off the bus, how often to ask keepalivedAlive again, ms. */
  aliveRecheckMs?: number;
  /** Interface names on this host, to map a D-Bus path's mangled name back to the real one. */
  listInterfaces?: () => string[];
}

interface PathInfo {
  iname: string;
  key: InstanceKey;
}

interface Applied {
  sender: string;
  serial: number;
}

interface QueuedSignal {
  state: VrrpState;
  at: number;
  sender: string;
  serial: number;
}

/** Mangled interface name, vrid and family from an instance path; undefined when not one. */
export function parseInstancePath(path: string): { intf: string; vrid: number; family: AddressFamily } | undefined {
  const m = INSTANCE_PATH_RE.exec(path);
  if (!m) return undefined;
  const vrid = Number(m[2]);
  if (vrid < 1 || vrid > 255) return undefined;
  return { intf: m[1], vrid, family: m[3] as AddressFamily };
}

/** keepalived's mangling of an interface name in an object path. */
export function mangleInterfaceName(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, '_');
}

/** The real interface whose mangled form is the path's, when exactly one matches; else the path form. */
export function resolveInterfaceName(pathIntf: string, interfaces: string[]): string {
  const matches = [...new Set(interfaces)].filter((n) => mangleInterfaceName(n) === pathIntf);
  return matches.length === 1 ? matches[0] : pathIntf;
}

function defaultListInterfaces(): string[] {
  try {
    return readdirSync('/sys/class/net');
  } catch {
    return Object.keys(networkInterfaces());
  }
}

/** Child node names of an Introspect reply. A regex, not an XML library: only <node name="..."/> matters. */
export function introspectChildren(xml: string): string[] {
  const out: string[] = [];
  const re = /<node\s+name\s*=\s*"([^"/]+)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) out.push(m[1]);
  return out;
}

/** A property value that keepalived returns either bare or wrapped in a struct: "s" or "(s)". */
function unwrapString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

/** State "(us)": [2, "Master"]. */
function stateOfProperty(v: unknown): VrrpState | undefined {
  if (!Array.isArray(v)) return typeof v === 'number' ? stateFromCode(v) : undefined;
  const byCode = typeof v[0] === 'number' ? stateFromCode(v[0]) : 'UNKNOWN';
  if (byCode !== 'UNKNOWN') return byCode;
  return typeof v[1] === 'string' ? stateFromName(v[1]) : undefined;
}

function variantValue(v: unknown): unknown {
  return v instanceof dbus.Variant ? v.value : v;
}

export class DbusSource implements Source {
  readonly name = 'dbus' as const;
  private readonly log: SourceEnv['log'];
  private readonly clock: SourceEnv['clock'];
  private readonly callTimeoutMs: number;
  private readonly backoff: RetryBackoff;
  private readonly aliveRecheckMs: number;
  private readonly listInterfaces: () => string[];

  private running = false;
  /** Bumped on every (re)connection and on stop: async work of an older one is dropped. */
  private gen = 0;
  private bus: dbus.MessageBus | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private enumerateTimer: NodeJS.Timeout | undefined;
  private aliveTimer: NodeJS.Timeout | undefined;
  /** Unique name of keepalived's connection; null when nobody owns the name; undefined when unknown. */
  private owner: string | null | undefined;
  private stoppedSignalled = false;
  /** Whether the bus policy lets us call Properties.GetAll (undefined: not tried on this connection). */
  private getAllAllowed: boolean | undefined;
  private aliveChecks = 0;
  private offBusReason = 'keepalived is not on the bus';
  private readonly paths = new Map<string, PathInfo>();
  private readonly applied = new Map<string, Applied>();
  private readonly waiting = new Map<string, QueuedSignal[]>();
  /** Instances of the last complete enumeration, for DELETED after a reload removed one. */
  private known = new Map<string, PathInfo>();
  private enumerating: Promise<void> | undefined;
  private enumerateAgain = false;
  private readonly report: SourceReporter;

  constructor(private readonly opts: DbusSourceOptions, env: SourceEnv) {
    this.log = env.log;
    this.clock = env.clock;
    this.report = env.report;
    this.callTimeoutMs = opts.callTimeoutMs ?? 3000;
    this.backoff = new RetryBackoff(opts.backoff);
    this.aliveRecheckMs = opts.aliveRecheckMs ?? 5000;
    this.listInterfaces = opts.listInterfaces ?? defaultListInterfaces;
  }

  /** Connects and enumerates once; failures are reported as events and retried, never thrown. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.gen++;
    this.clock.clearTimeout(this.reconnectTimer);
    this.clock.clearTimeout(this.enumerateTimer);
    this.clock.clearTimeout(this.aliveTimer);
    this.reconnectTimer = this.enumerateTimer = this.aliveTimer = undefined;
    this.dropBus();
    if (this.enumerating) await this.enumerating.catch(() => undefined);
  }

  /** Asks keepalived to write /tmp/keepalived.data (D-Bus PrintData). Rejects when not possible. */
  async printData(): Promise<void> {
    await this.callKeepalived('PrintData');
  }

  /** Asks keepalived to write /tmp/keepalived.stats (D-Bus PrintStats). Rejects when not possible. */
  async printStats(): Promise<void> {
    await this.callKeepalived('PrintStats');
  }

  // ------------------------------------------------------------------ connection

  private async connect(): Promise<void> {
    if (!this.running) return;
    const gen = ++this.gen;
    let bus: dbus.MessageBus;
    try {
      bus = this.opts.address === 'system' ? dbus.systemBus() : dbus.sessionBus({ busAddress: this.opts.address });
    } catch (e) {
      this.lost(gen, `cannot connect to D-Bus at ${this.opts.address}: ${errText(e)}`);
      return;
    }
    this.bus = bus;
    this.owner = undefined;
    this.getAllAllowed = undefined;
    // Errors of this connection end it; without a listener an 'error' event would crash the agent.
    bus.on('error', (e: unknown) => this.lost(gen, `D-Bus connection error: ${errText(e)}`));
    // dbus-next does not surface the socket's end (dbus-daemon stopped) on the bus object.
    const conn = (bus as unknown as { _connection?: NodeJS.EventEmitter & { stream?: NodeJS.EventEmitter } })._connection;
    conn?.on('end', () => this.lost(gen, 'D-Bus connection closed (dbus-daemon stopped?)'));
    conn?.stream?.on('close', () => this.lost(gen, 'D-Bus connection closed (dbus-daemon stopped?)'));
    bus.on('message', (m: dbus.Message) => this.onMessage(gen, m));
    try {
      await this.withTimeout(
        new Promise<void>((resolve, reject) => {
          bus.once('connect', () => resolve());
          bus.once('error', (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))));
        }),
        'connect',
      );
      for (const rule of MATCH_RULES) {
        await this.call(bus, { destination: DBUS_NAME, path: DBUS_PATH, interface: DBUS_NAME, member: 'AddMatch', signature: 's', body: [rule] });
      }
      const owner = await this.getNameOwner(bus);
      if (gen !== this.gen) return;
      this.backoff.reset();
      // A NameOwnerChanged handled while the reply was on its way is newer than the reply.
      if (this.owner !== undefined) return;
      this.log.info({ address: this.opts.address, keepalivedOnBus: owner !== null }, 'connected to D-Bus');
      if (owner) await this.ownerAppeared(gen, owner, 'on the bus at connect');
      else await this.ownerMissing(gen, 'keepalived is not on the bus');
    } catch (e) {
      this.lost(gen, `D-Bus: ${errText(e)}`);
    }
  }

  private async getNameOwner(bus: dbus.MessageBus): Promise<string | null> {
    try {
      const r = await this.call(bus, { destination: DBUS_NAME, path: DBUS_PATH, interface: DBUS_NAME, member: 'GetNameOwner', signature: 's', body: [KEEPALIVED_BUS_NAME] });
      return typeof r.body[0] === 'string' ? r.body[0] : null;
    } catch (e) {
      if (e instanceof dbus.DBusError && e.type === 'org.freedesktop.DBus.Error.NameHasNoOwner') return null;
      throw e;
    }
  }

  /** The connection failed or ended: report, forget it, reconnect with backoff. */
  private lost(gen: number, error: string): void {
    if (gen !== this.gen || !this.running) return;
    this.gen++;
    this.dropBus();
    this.clock.clearTimeout(this.enumerateTimer);
    this.clock.clearTimeout(this.aliveTimer);
    this.enumerateTimer = this.aliveTimer = undefined;
    this.owner = undefined;
    this.paths.clear();
    this.applied.clear();
    this.waiting.clear();
    this.report.down(error);
    const delay = this.backoff.next();
    this.log.debug({ delayMs: delay }, 'D-Bus reconnect scheduled');
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  private dropBus(): void {
    const bus = this.bus;
    this.bus = undefined;
    if (!bus) return;
    bus.removeAllListeners();
    // A late error of the old connection must find a listener (or it would be thrown).
    bus.on('error', () => undefined);
    try {
      bus.disconnect();
    } catch {
      // already closed
    }
  }

  // ------------------------------------------------------------------ keepalived on/off the bus

  private async ownerAppeared(gen: number, owner: string, why: string): Promise<void> {
    this.owner = owner;
    this.stoppedSignalled = false;
    this.clock.clearTimeout(this.aliveTimer);
    this.aliveTimer = undefined;
    // A new keepalived may number its instances' paths differently: names are re-read.
    this.paths.clear();
    this.applied.clear();
    this.log.info({ owner, why }, 'keepalived is on the bus');
    this.report.emit({ kind: 'keepalived', up: true, at: this.clock.now(), source: 'dbus' });
    await this.enumerate(gen);
  }

  private async ownerMissing(gen: number, reason: string): Promise<void> {
    if (this.owner !== null) this.aliveChecks = 0;
    this.offBusReason = reason;
    this.owner = null;
    this.paths.clear();
    this.applied.clear();
    if (this.stoppedSignalled) {
      this.report.up();
      return; // keepalived said VrrpStopped: already reported down
    }
    const liveness = await this.checkAlive();
    // keepalived may have joined the bus while its liveness was read (NameOwnerChanged): what that
    // read says of a keepalived off the bus no longer holds.
    if (gen !== this.gen || this.owner !== null) return;
    if (liveness?.alive) {
      // Not "keepalived down": it runs, we just cannot see it (keepalived does not rejoin a
      // restarted dbus-daemon). Reported as this source's failure, re-checked on a timer.
      this.report.down(`keepalived${liveness.pid ? ` (pid ${liveness.pid})` : ''} is running but not on the D-Bus bus; restart keepalived after a dbus-daemon restart`);
      // Soon at first: a crashing keepalived's parent often outlives its VRRP child by a moment.
      this.scheduleAliveCheck(gen, this.aliveChecks++ < 3 ? Math.min(250, this.aliveRecheckMs) : this.aliveRecheckMs);
      return;
    }
    this.report.up();
    this.report.emit({ kind: 'keepalived', up: false, at: this.clock.now(), source: 'dbus', reason });
  }

  private async checkAlive(): Promise<KeepalivedLiveness | undefined> {
    if (!this.opts.keepalivedAlive) return undefined;
    try {
      return await this.opts.keepalivedAlive();
    } catch (e) {
      this.report.once('alive-check', () => this.log.warn({ err: errText(e) }, 'keepalived liveness check failed'));
      return undefined;
    }
  }

  private scheduleAliveCheck(gen: number, delayMs: number): void {
    this.clock.clearTimeout(this.aliveTimer);
    this.aliveTimer = this.clock.setTimeout(() => {
      this.aliveTimer = undefined;
      if (gen !== this.gen || this.owner !== null) return;
      void this.ownerMissing(gen, this.offBusReason);
    }, delayMs);
  }

  // ------------------------------------------------------------------ signals

  private onMessage(gen: number, msg: dbus.Message): void {
    if (gen !== this.gen || msg.type !== dbus.MessageType.SIGNAL) return;
    try {
      if (msg.interface === DBUS_NAME && msg.member === 'NameOwnerChanged') {
        if (msg.sender !== DBUS_NAME || msg.body?.[0] !== KEEPALIVED_BUS_NAME) return;
        const newOwner = typeof msg.body[2] === 'string' ? msg.body[2] : '';
        if (newOwner) void this.ownerAppeared(gen, newOwner, 'NameOwnerChanged');
        else if (this.owner !== null) void this.ownerMissing(gen, this.stoppedSignalled ? 'stopped' : 'keepalived left the bus');
        return;
      }
      if (!this.fromKeepalived(msg)) return;
      if (msg.interface === INSTANCE_IFACE && msg.member === 'VrrpStatusChange') {
        this.onStatusChange(gen, msg);
      } else if (msg.interface === VRRP_IFACE) {
        if (msg.member === 'VrrpStopped') {
          this.stoppedSignalled = true;
          this.report.emit({ kind: 'keepalived', up: false, at: this.clock.now(), source: 'dbus', reason: 'stopped' });
        } else if (msg.member === 'VrrpReloaded') {
          this.log.info('keepalived reloaded: re-reading instances');
          void this.enumerate(gen);
        } else if (msg.member === 'VrrpStarted') {
          this.log.info('keepalived VRRP process started');
        }
      }
    } catch (e) {
      // A handler bug must not take the connection down: count and go on.
      this.parseError(`D-Bus signal ${msg.interface}.${msg.member}: ${errText(e)}`);
    }
  }

  /** Signals from another connection than keepalived's are ignored once keepalived owns its name. */
  private fromKeepalived(msg: dbus.Message): boolean {
    if (!this.owner || msg.sender === this.owner) return true;
    this.report.once(`foreign:${msg.sender}`, () => this.log.warn({ sender: msg.sender, member: msg.member }, 'ignoring a keepalived signal from a connection that is not keepalived'));
    return false;
  }

  private onStatusChange(gen: number, msg: dbus.Message): void {
    const at = this.clock.now();
    const parsed = parseInstancePath(msg.path);
    if (!parsed) {
      this.parseError(`VrrpStatusChange from an unexpected path ${msg.path}`);
      return;
    }
    const code = msg.body?.[0];
    const state = typeof code === 'number' ? stateFromCode(code) : 'UNKNOWN';
    if (state === 'UNKNOWN') {
      this.parseError(`VrrpStatusChange with an unknown state ${JSON.stringify(code)} from ${msg.path}`);
      return;
    }
    const sig: QueuedSignal = { state, at, sender: msg.sender, serial: msg.serial ?? 0 };
    const info = this.paths.get(msg.path);
    const queue = this.waiting.get(msg.path);
    if (info && !queue) {
      this.emitSignal(msg.path, info, sig); // the hot path: synchronous, no round trip
      return;
    }
    if (queue) {
      queue.push(sig);
      return;
    }
    // First signal from an instance not yet named (it appeared after a reload, or before the
    // enumeration finished): ask it its Name, then deliver this and any later signal in order.
    this.waiting.set(msg.path, [sig]);
    void this.resolvePath(gen, msg.path, msg.sender);
  }

  private async resolvePath(gen: number, path: string, sender: string): Promise<void> {
    let info: PathInfo | undefined;
    try {
      const bus = this.bus;
      if (!bus) throw new Error('not connected');
      // To the sender's unique name: keepalived emits before it owns org.keepalived.Vrrp1.
      const reply = await this.getProperty(bus, sender, path, 'Name');
      const iname = unwrapString(reply);
      if (iname) info = { iname, key: this.keyOf(path, iname) };
    } catch (e) {
      this.log.debug({ path, err: errText(e) }, 'could not read the Name of a new instance; the enumeration will');
    }
    if (gen !== this.gen) return;
    const queue = this.waiting.get(path) ?? [];
    this.waiting.delete(path);
    if (!info) {
      info = this.paths.get(path);
      if (!info) {
        // The state will be read by the enumeration of the instance tree.
        if (this.owner) this.scheduleEnumerate(gen, 0);
        return;
      }
    }
    this.paths.set(path, info);
    for (const sig of queue) this.emitSignal(path, info, sig);
  }

  private emitSignal(path: string, info: PathInfo, sig: QueuedSignal): void {
    const last = this.applied.get(path);
    if (last && last.sender === sig.sender && last.serial > sig.serial) return; // older than what we know
    this.applied.set(path, { sender: sig.sender, serial: sig.serial });
    this.report.emit({ kind: 'transition', at: sig.at, source: 'dbus', iname: info.iname, state: sig.state, key: { ...info.key } });
  }

  private keyOf(path: string, iname: string): InstanceKey {
    const p = parseInstancePath(path)!;
    let intf = p.intf;
    try {
      intf = resolveInterfaceName(p.intf, this.listInterfaces());
    } catch {
      // keep the path form
    }
    return { iname, intf, vrid: p.vrid, family: p.family };
  }

  // ------------------------------------------------------------------ enumeration

  private scheduleEnumerate(gen: number, delayMs: number): void {
    if (this.enumerateTimer) return;
    this.enumerateTimer = this.clock.setTimeout(() => {
      this.enumerateTimer = undefined;
      if (gen === this.gen) void this.enumerate(gen);
    }, delayMs);
  }

  /** Coalesced: a request while one runs makes it run once more after. */
  private enumerate(gen: number): Promise<void> {
    if (this.enumerating) {
      this.enumerateAgain = true;
      return this.enumerating;
    }
    this.enumerating = (async () => {
      do {
        this.enumerateAgain = false;
        await this.enumerateOnce(gen);
      } while (this.enumerateAgain && gen === this.gen && this.running);
    })().finally(() => {
      this.enumerating = undefined;
    });
    return this.enumerating;
  }

  private async enumerateOnce(gen: number): Promise<void> {
    const bus = this.bus;
    const owner = this.owner;
    if (!bus || !owner || gen !== this.gen) return;
    let results: Array<{ path: string; iname: string; state?: VrrpState; sender: string; serial: number }>;
    try {
      const paths = await this.instancePaths(bus, owner);
      results = await Promise.all(
        paths.map((path) => this.readInstance(bus, owner, path)),
      );
    } catch (e) {
      if (gen !== this.gen || this.owner !== owner) return; // keepalived left meanwhile: not our failure
      this.report.down(`reading keepalived's instances over D-Bus failed: ${errText(e)}`);
      this.scheduleEnumerate(gen, this.backoff.next());
      return;
    }
    if (gen !== this.gen || this.owner !== owner) return;
    this.backoff.reset();
    this.report.up();
    const seen = new Map<string, PathInfo>();
    for (const r of results) {
      const info: PathInfo = { iname: r.iname, key: this.keyOf(r.path, r.iname) };
      seen.set(r.path, info);
      this.paths.set(r.path, info);
      const ev: NodeEvent = { kind: 'instance', at: this.clock.now(), source: 'dbus', key: { ...info.key } };
      const last = this.applied.get(r.path);
      // A signal newer than this reply was already delivered: keep its state, not the reply's.
      const stale = last !== undefined && last.sender === r.sender && last.serial > r.serial;
      if (r.state && r.state !== 'UNKNOWN' && !stale) {
        ev.state = r.state;
        this.applied.set(r.path, { sender: r.sender, serial: r.serial });
      }
      this.report.emit(ev);
    }
    const seenNames = new Set([...seen.values()].map((i) => i.iname));
    for (const [path, info] of this.known) {
      if (seen.has(path) || seenNames.has(info.iname)) continue;
      this.paths.delete(path);
      this.applied.delete(path);
      this.report.emit({ kind: 'transition', at: this.clock.now(), source: 'dbus', iname: info.iname, state: 'DELETED', key: { ...info.key }, cause: 'no longer configured (keepalived reloaded)' });
    }
    this.known = seen;
    this.log.debug({ instances: seen.size }, 'enumerated keepalived instances');
  }

  /** Name and State of one instance: one GetAll, or two Gets where the bus policy allows only Get. */
  private async readInstance(bus: dbus.MessageBus, dest: string, path: string): Promise<{ path: string; iname: string; state?: VrrpState; sender: string; serial: number }> {
    if (this.getAllAllowed !== false) {
      try {
        const r = await this.call(bus, { destination: dest, path, interface: 'org.freedesktop.DBus.Properties', member: 'GetAll', signature: 's', body: [INSTANCE_IFACE] });
        this.getAllAllowed = true;
        const props = (r.body[0] ?? {}) as Record<string, unknown>;
        const iname = unwrapString(variantValue(props.Name));
        if (!iname) throw new Error(`instance ${path} has no Name`);
        return { path, iname, state: stateOfProperty(variantValue(props.State)), sender: r.sender, serial: r.serial ?? 0 };
      } catch (e) {
        // A least-privilege policy (deploy/dbus) may allow Properties.Get only.
        if (!(e instanceof dbus.DBusError) || !/AccessDenied|UnknownMethod|NotSupported/.test(e.type)) throw e;
        this.getAllAllowed = false;
        this.report.once('getall-denied', () => this.log.info({ err: e.type }, 'Properties.GetAll refused; reading Name and State with Get'));
      }
    }
    const get = (prop: string) => this.call(bus, { destination: dest, path, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [INSTANCE_IFACE, prop] });
    const nameReply = await get('Name');
    // State asked second: its reply's serial is what orders it against the instance's signals.
    const stateReply = await get('State');
    const iname = unwrapString(variantValue(nameReply.body[0]));
    if (!iname) throw new Error(`instance ${path} has no Name`);
    return { path, iname, state: stateOfProperty(variantValue(stateReply.body[0])), sender: stateReply.sender, serial: stateReply.serial ?? 0 };
  }

  /** Instance object paths under /org/keepalived/Vrrp1/Instance, by walking Introspect. */
  private async instancePaths(bus: dbus.MessageBus, dest: string): Promise<string[]> {
    const out: string[] = [];
    let level = [INSTANCE_ROOT];
    let visited = 0;
    for (let depth = 0; depth < 3 && level.length; depth++) {
      const next: string[] = [];
      const replies = await Promise.all(
        level.map((p) =>
          this.call(bus, { destination: dest, path: p, interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect' }).then(
            (r) => ({ p, xml: String(r.body[0] ?? '') }),
            (e: unknown) => {
              // The root does not exist when keepalived has no instance.
              if (p === INSTANCE_ROOT && e instanceof dbus.DBusError && /UnknownObject|UnknownMethod/.test(e.type)) return { p, xml: '' };
              throw e;
            },
          ),
        ),
      );
      for (const { p, xml } of replies) {
        for (const child of introspectChildren(xml)) {
          if (++visited > MAX_TREE_NODES) throw new Error(`more than ${MAX_TREE_NODES} objects under ${INSTANCE_ROOT}`);
          const path = `${p}/${child}`;
          if (depth === 2) {
            if (parseInstancePath(path)) out.push(path);
          } else {
            next.push(path);
          }
        }
      }
      level = next;
    }
    return out;
  }

  private async getProperty(bus: dbus.MessageBus, dest: string, path: string, prop: string): Promise<unknown> {
    const r = await this.call(bus, { destination: dest, path, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [INSTANCE_IFACE, prop] });
    return variantValue(r.body[0]);
  }

  // ------------------------------------------------------------------ calls

  private async callKeepalived(member: 'PrintData' | 'PrintStats'): Promise<void> {
    const bus = this.bus;
    if (!bus) throw new Error('not connected to D-Bus');
    await this.call(bus, { destination: this.owner || KEEPALIVED_BUS_NAME, path: VRRP_PATH, interface: VRRP_IFACE, member });
  }

  private async call(bus: dbus.MessageBus, m: { destination: string; path: string; interface: string; member: string; signature?: string; body?: unknown[] }): Promise<dbus.Message> {
    const msg = new dbus.Message({ ...m, body: m.body ?? [] });
    // dbus-next never settles a call whose connection died: every call is bounded.
    const reply = await this.withTimeout(bus.call(msg), `${m.interface}.${m.member}`);
    if (!reply) throw new Error(`${m.member}: no reply`);
    return reply;
  }

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = this.clock.setTimeout(() => reject(new Error(`${what}: no answer within ${this.callTimeoutMs} ms`)), this.callTimeoutMs);
      p.then(
        (v) => {
          this.clock.clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          this.clock.clearTimeout(t);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  // ------------------------------------------------------------------ reporting

  private parseError(reason: string): void {
    this.report.parseError(reason.slice(0, 40), reason, this.clock.now());
  }
}

export const dbusSource: SourceFactory<DbusSourceOptions, DbusSource> = (opts, env) => new DbusSource(opts, env);
