// The keepalived exporter's metrics, same names, labels, values and help, so its dashboards and
// alerts keep working: keepalived_up, keepalived_vrrp_state{iname,intf,vrid,ip_address} (one series
// per VIP, as the Go exporter does) and keepalived_vrrp_excluded_state (one per excluded VIP), the
// per-instance *_total counters, keepalived_script_*.
// mehdy/keepalived-exporter internal/collector (ParseVIP): ip_address is the dump's first word (addr/prefix), intf the word after it (the dev).
// Unlike the Go exporter, a dead keepalived shows every instance as STOP (98), never a stale MASTER.
import type { NodeStore } from '../agent/state/store';
import { defaultPrefix } from '../agent/sources/parse/dumpCommon';
import { VRRP_COUNTER_NAMES, VRRP_STATE_CODE, type InstanceState, type VipEntry, type VrrpCounterName } from '../agent/state/types';
import type { Collector } from './collector';
import { scrapedCounter, scrapedGauge } from './scraped';

const COUNTER_HELP: Record<VrrpCounterName, string> = {
  advertisements_received: 'Advertisements received',
  advertisements_sent: 'Advertisements sent',
  become_master: 'Became master',
  release_master: 'Released master',
  packet_length_errors: 'Packet length errors',
  advertisements_interval_errors: 'Advertisement interval errors',
  ip_ttl_errors: 'TTL errors',
  invalid_type_received: 'Invalid type errors',
  address_list_errors: 'Address list errors',
  authentication_invalid: 'Authentication invalid',
  authentication_mismatch: 'Authentication mismatch',
  authentication_failure: 'Authentication failure',
  priority_zero_received: 'Priority zero received',
  priority_zero_sent: 'Priority zero sent',
  gratuitous_arp_delay: 'Gratuitous ARP delay',
};

const INSTANCE_LABELS = ['iname', 'intf', 'vrid'] as const;
export const VIP_LABELS = ['iname', 'intf', 'vrid', 'ip_address'] as const;

/** An instance's VIPs as keepalived writes them; a source that gave only the addresses gets
 *  keepalived's default prefix. */
export function vipEntriesOf(inst: InstanceState): VipEntry[] {
  return inst.vipEntries ?? inst.vips.map((address) => ({ address, prefix: defaultPrefix(address) }));
}

/** The exporter's VIP labels: `10.1.0.1/24`, and the VIP's device (else the instance's interface). */
export function vipLabels(inst: InstanceState, vrid: string, v: VipEntry) {
  return { iname: inst.iname, intf: v.dev ?? inst.intf, vrid, ip_address: `${v.address}/${v.prefix}` };
}

export function keepalivedCollector(store: NodeStore): Collector {
  /** Instances in a known state, with their instance labels. */
  const known = (): Array<{ inst: InstanceState; base: { iname: string; intf: string; vrid: string } }> =>
    Object.values(store.state.instances)
      .filter((inst) => inst.state !== 'UNKNOWN')
      .map((inst) => ({ inst, base: { iname: inst.iname, intf: inst.intf, vrid: String(inst.vrid) } }));
  const counter = (n: VrrpCounterName) =>
    scrapedCounter({ name: `keepalived_${n}_total`, help: COUNTER_HELP[n], labelNames: INSTANCE_LABELS }, function* () {
      for (const { inst, base } of known()) {
        const v = inst.counters[n];
        if (v !== undefined) yield [base, v];
      }
    });
  return {
    name: 'keepalived',
    // Everything below reads only the store: unchanged revision, unchanged text.
    revision: () => store.state.revision,
    metrics: [
      scrapedGauge({ name: 'keepalived_up', help: 'Status' }, () => (store.state.keepalived.up ? 1 : 0)),
      scrapedGauge({ name: 'keepalived_vrrp_state', help: 'State of vrrp', labelNames: VIP_LABELS }, function* () {
        for (const { inst, base } of known()) {
          const code = VRRP_STATE_CODE[inst.state];
          const vips = vipEntriesOf(inst);
          if (vips.length === 0) yield [{ ...base, ip_address: '' }, code];
          for (const v of vips) yield [vipLabels(inst, base.vrid, v), code];
        }
      }),
      scrapedGauge({ name: 'keepalived_vrrp_excluded_state', help: 'State of vrrp with excluded VIP', labelNames: VIP_LABELS }, function* () {
        for (const { inst, base } of known()) {
          for (const v of inst.excludedVips ?? []) yield [vipLabels(inst, base.vrid, v), VRRP_STATE_CODE[inst.state]];
        }
      }),
      ...VRRP_COUNTER_NAMES.map(counter),
      scrapedGauge({ name: 'keepalived_script_status', help: 'Tracker Script Status', labelNames: ['name'] }, () =>
        Object.entries(store.state.scripts).map(([name, sc]) => [{ name }, sc.good ? 1 : 0]),
      ),
      scrapedGauge({ name: 'keepalived_script_state', help: 'Tracker Script State', labelNames: ['name'] }, function* () {
        for (const [name, sc] of Object.entries(store.state.scripts)) if (sc.state !== undefined) yield [{ name }, sc.state];
      }),
    ],
  };
}
