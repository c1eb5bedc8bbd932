// Duplicate-address probing of every VIP this node holds: `arping -D -c 2 -w 2 -I <dev> <vip>`
// (iputils; probes with sender 0.0.0.0, so only ANOTHER host answers). An answer means a second
// holder on the segment: another MASTER (a split brain seen from the wire) or an address a dead
// keepalived left bound; the neighbour table's addresses for the answering MAC go with it, to name
// that host (a peer's address names the peer). Needs CAP_NET_RAW; without it (or
// without arping) every result carries an error saying so, logged once. IPv4 only: IPv6 has no
// ARP and arping cannot send NDP DAD probes, so IPv6 VIPs get the error 'not supported for IPv6'.
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Logger } from 'pino';
import type { NodeStore } from '../state/store';
import type { NodeEvent, VipDuplicateEvent } from '../state/types';
import type { Clock } from '../context';
import { isIpv6 } from './ipAddress';
import { parseArpingOutput } from './parse/arpingOutput';
import { addressesOf, parseProcNetArp } from './parse/neighbourTable';
import { runCommand, type CommandRunner } from './runCommand';
import type { Probe } from './probe';

export const IPV6_UNSUPPORTED = 'not supported for IPv6';

export interface ArpProbeOptions {
  store: NodeStore;
  clock: Clock;
  log: Logger;
  /** argv for one probe (default arping -D -c 2 -w 2 -I <dev> <vip>). */
  command?: (dev: string, vip: string) => string[];
  run?: CommandRunner;
  /** This node's own MACs: an answer from one of them (a VMAC interface) is not a duplicate. */
  ownMacs?: () => Set<string>;
  /** The neighbour table's text (default: /proc/net/arp, this network namespace's), read only
   *  when another host answers, to name it by the address this node knows its MAC by. */
  readNeighbours?: () => string;
}

export const PROC_NET_ARP = '/proc/net/arp';

/** How long defaultArpingCommand's arping waits for answers (-w 2, whole seconds), plus a margin:
 * the least probes.arp.timeout the config accepts, and its default under a short interval. */
export const ARPING_MIN_TIMEOUT_MS = 2_500;

export function defaultArpingCommand(dev: string, vip: string): string[] {
  return ['arping', '-D', '-c', '2', '-w', '2', '-I', dev, vip];
}

function osMacs(): Set<string> {
  const out = new Set<string>();
  for (const addrs of Object.values(os.networkInterfaces())) for (const a of addrs ?? []) if (a.mac && a.mac !== '00:00:00:00:00:00') out.add(a.mac.toLowerCase());
  return out;
}

/** How soon a run that found a duplicate is repeated. arping itself waits up to 2 s. */
export const DUPLICATE_FOLLOW_UP_MS = 2_000;

export class ArpProbe implements Probe {
  readonly name = 'arp';
  readonly source = 'arp_probe';
  private readonly logged = new Set<string>();

  constructor(private readonly opts: ArpProbeOptions) {}

  /** VIPs bound here, each once, with the device to probe from. */
  held(): Array<{ vip: string; dev: string }> {
    const out = new Map<string, string>();
    for (const v of Object.values(this.opts.store.state.vips)) if (v.intf && !out.has(v.vip)) out.set(v.vip, v.intf);
    return [...out].map(([vip, dev]) => ({ vip, dev }));
  }

  async run(signal: AbortSignal): Promise<NodeEvent[]> {
    const held = this.held();
    if (held.length === 0) return [];
    const own = (this.opts.ownMacs ?? osMacs)();
    return Promise.all(held.map(({ vip, dev }) => this.probeOne(vip, dev, own, signal)));
  }

  /** While another host answers for a VIP, look again every 2 s: the split brain's end (the other
   * MASTER letting go) then clears the finding within seconds instead of at the next interval. */
  followUpMs(events: NodeEvent[]): number | undefined {
    return events.some((ev) => ev.kind === 'vip_duplicate' && ev.duplicate) ? DUPLICATE_FOLLOW_UP_MS : undefined;
  }

  /** Only "could not probe" fails the run; a duplicate is a finding, IPv6 a known limit. */
  judge(events: NodeEvent[]): string | undefined {
    for (const ev of events) if (ev.kind === 'vip_duplicate' && ev.error && ev.error !== IPV6_UNSUPPORTED) return `${ev.vip}: ${ev.error}`;
    return undefined;
  }

  private async probeOne(vip: string, dev: string, own: Set<string>, signal: AbortSignal): Promise<VipDuplicateEvent> {
    const base = { kind: 'vip_duplicate' as const, source: 'arp_probe' as const, vip };
    if (isIpv6(vip)) return { ...base, at: this.opts.clock.now(), duplicate: false, error: IPV6_UNSUPPORTED };
    const argv = (this.opts.command ?? defaultArpingCommand)(dev, vip);
    const r = await (this.opts.run ?? runCommand)(argv, { signal, maxBytes: 8192 });
    const at = this.opts.clock.now();
    if (r.error) {
      const error =
        r.errorCode === 'ENOENT' ? `${argv[0]} not found: install iputils-arping` : r.error === 'aborted' ? 'arping aborted (probe timeout)' : `cannot run ${argv[0]}: ${r.error}`;
      this.logOnce(error, { vip, dev });
      return { ...base, at, duplicate: false, error };
    }
    const parsed = parseArpingOutput(r.stdout, r.stderr, r.code);
    if (parsed.error) {
      this.logOnce(parsed.error, { vip, dev });
      return { ...base, at, duplicate: false, error: parsed.error };
    }
    const foreign = parsed.macs.filter((m) => !own.has(m));
    if (parsed.duplicate && parsed.macs.length > 0 && foreign.length === 0) return { ...base, at, duplicate: false };
    if (!parsed.duplicate) return { ...base, at, duplicate: false, mac: foreign[0] };
    const macAddresses = foreign[0] ? this.addressesOf(foreign[0], vip) : undefined;
    this.opts.log.warn({ vip, dev, mac: foreign[0], macAddresses }, 'another host answers for a VIP this node holds');
    return { ...base, at, duplicate: true, mac: foreign[0], ...(macAddresses?.length ? { macAddresses } : {}) };
  }

  /** The other addresses the neighbour table knows that MAC by; none when it cannot be read (naming the host is a courtesy, not the finding). */
  private addressesOf(mac: string, vip: string): string[] {
    try {
      const text = (this.opts.readNeighbours ?? (() => fs.readFileSync(PROC_NET_ARP, 'utf8')))();
      return addressesOf(parseProcNetArp(text), mac).filter((ip) => ip !== vip);
    } catch {
      return [];
    }
  }

  private logOnce(error: string, ctx: object): void {
    const kind = error.replace(/\d+/g, '#');
    if (this.logged.has(kind)) return;
    this.logged.add(kind);
    this.opts.log.error({ ...ctx, error }, 'duplicate-address probing of VIPs cannot run');
  }
}
