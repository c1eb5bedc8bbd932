// keepalived's D-Bus side, played on a real (private) bus with dbus-next's low-level API, so D-Bus
// client tests can run without root: instance objects with Name and State, VrrpStatusChange and
// the global signals, PrintData/PrintStats. It answers exactly what keepalived 2.2.7 answers
// (Name as a bare "s" by default, State as "(us)"), and lets a test choose the awkward cases.
import * as dbus from 'dbus-next';

const INSTANCE_IFACE = 'org.keepalived.Vrrp1.Instance';
const VRRP_IFACE = 'org.keepalived.Vrrp1.Vrrp';
const VRRP_PATH = '/org/keepalived/Vrrp1/Vrrp';
const NAMES: Record<number, string> = { 0: 'Init', 1: 'Backup', 2: 'Master', 3: 'Fault', 97: 'Deleted', 98: 'Stop' };

export interface FakeInstance {
  name: string;
  state: number;
  /** How Name is typed: 2.2.7 returns a bare "s"; its introspection says "(s)". */
  nameSignature?: 's' | '(s)';
}

export class FakeKeepalivedBus {
  readonly instances = new Map<string, FakeInstance>();
  readonly calls: string[] = [];
  /** Refuse Properties.GetAll with AccessDenied, as a Get-only bus policy does. */
  denyGetAll = false;
  bus: dbus.MessageBus | undefined;

  constructor(readonly address: string) {}

  /** Connects; owns org.keepalived.Vrrp1 unless own is false (keepalived emits before it owns it). */
  async connect(own = true): Promise<string> {
    const bus = dbus.sessionBus({ busAddress: this.address });
    bus.on('error', () => undefined);
    this.bus = bus;
    bus.addMethodHandler((msg: dbus.Message) => this.handle(msg));
    await new Promise<void>((resolve) => bus.once('connect', () => resolve()));
    if (own) await this.own();
    return (bus as unknown as { name: string }).name;
  }

  async own(): Promise<void> {
    await this.bus!.requestName('org.keepalived.Vrrp1', 0);
  }

  disconnect(): void {
    this.bus?.disconnect();
    this.bus = undefined;
  }

  add(path: string, inst: FakeInstance): void {
    this.instances.set(path, inst);
  }

  statusChange(path: string, state: number): void {
    const inst = this.instances.get(path);
    if (inst) inst.state = state;
    this.bus!.send(dbus.Message.newSignal(path, INSTANCE_IFACE, 'VrrpStatusChange', 'u', [state]));
  }

  global(member: 'VrrpStarted' | 'VrrpReloaded' | 'VrrpStopped'): void {
    this.bus!.send(dbus.Message.newSignal(VRRP_PATH, VRRP_IFACE, member));
  }

  private children(path: string): string[] {
    const all = [...this.instances.keys(), VRRP_PATH];
    const prefix = path === '/' ? '/' : `${path}/`;
    const out = new Set<string>();
    for (const p of all) if (p.startsWith(prefix)) out.add(p.slice(prefix.length).split('/')[0]);
    return [...out];
  }

  private handle(msg: dbus.Message): boolean {
    if (msg.type !== dbus.MessageType.METHOD_CALL) return false;
    const reply = (sig = '', body: unknown[] = []) => this.bus!.send(dbus.Message.newMethodReturn(msg, sig, body));
    // dbus-next's types declare newError(msg: string, ...); at runtime it takes the Message.
    const error = (name: string, text: string) => this.bus!.send((dbus.Message.newError as unknown as (m: dbus.Message, n: string, t: string) => dbus.Message)(msg, name, text));
    if (msg.interface === 'org.freedesktop.DBus.Introspectable' && msg.member === 'Introspect') {
      const kids = this.children(msg.path);
      if (!kids.length && !this.instances.has(msg.path)) {
        error('org.freedesktop.DBus.Error.UnknownObject', `No such object path '${msg.path}'`);
        return true;
      }
      reply('s', [`<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n<node>\n${kids.map((k) => `  <node name="${k}"/>`).join('\n')}\n</node>\n`]);
      return true;
    }
    if (msg.interface === 'org.freedesktop.DBus.Properties') {
      const inst = this.instances.get(msg.path);
      if (!inst) {
        error('org.freedesktop.DBus.Error.UnknownObject', `No such object path '${msg.path}'`);
        return true;
      }
      this.calls.push(`${msg.member} ${msg.path}`);
      if (msg.member === 'GetAll' && this.denyGetAll) {
        error('org.freedesktop.DBus.Error.AccessDenied', 'Rejected send message (test policy)');
        return true;
      }
      const name = inst.nameSignature === '(s)' ? new dbus.Variant('(s)', [inst.name]) : new dbus.Variant('s', inst.name);
      const state = new dbus.Variant('(us)', [inst.state, NAMES[inst.state] ?? 'Unknown']);
      if (msg.member === 'GetAll') reply('a{sv}', [{ Name: name, State: state }]);
      else if (msg.member === 'Get') reply('v', [msg.body[1] === 'Name' ? name : state]);
      else return false;
      return true;
    }
    if (msg.interface === VRRP_IFACE && msg.path === VRRP_PATH) {
      this.calls.push(msg.member);
      reply();
      return true;
    }
    return false;
  }
}
