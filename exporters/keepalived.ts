// The keepalived exporter's metrics, same names, labels and help, so its dashboards and alerts
// keep working: keepalived_up, keepalived_vrrp_state{iname,intf,vrid,ip_address} (one series per
// VIP, as the Go exporter does), the per-instance *_total counters, keepalived_script_*.
// Unlike the Go exporter, a dead keepalived shows every instance as STOP (98), never a stale MASTER.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import { VRRP_COUNTER_NAMES, VRRP_STATE_CODE, type VrrpCounterName } from '../agent/state/types';
import type { Collector } from './collector';

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

export function keepalivedCollector(store: NodeStore): Collector {
  let up: Gauge;
  let vrrpState: Gauge;
  let scriptStatus: Gauge;
  let scriptState: Gauge;
  const counters = new Map<VrrpCounterName, Counter>();
  return {
    name: 'keepalived',
    // Everything below reads only the store: unchanged revision, unchanged text.
    revision: () => store.state.revision,
    register(registry: Registry) {
      up = new Gauge({ name: 'keepalived_up', help: 'Status', registers: [registry] });
      vrrpState = new Gauge({ name: 'keepalived_vrrp_state', help: 'State of vrrp', labelNames: ['iname', 'intf', 'vrid', 'ip_address'], registers: [registry] });
      for (const n of VRRP_COUNTER_NAMES) {
        counters.set(n, new Counter({ name: `keepalived_${n}_total`, help: COUNTER_HELP[n], labelNames: INSTANCE_LABELS, registers: [registry] }));
      }
      scriptStatus = new Gauge({ name: 'keepalived_script_status', help: 'Tracker Script Status', labelNames: ['name'], registers: [registry] });
      scriptState = new Gauge({ name: 'keepalived_script_state', help: 'Tracker Script State', labelNames: ['name'], registers: [registry] });
    },
    update() {
      const s = store.state;
      up.set(s.keepalived.up ? 1 : 0);
      vrrpState.reset();
      for (const c of counters.values()) c.reset();
      scriptStatus.reset();
      scriptState.reset();
      for (const inst of Object.values(s.instances)) {
        if (inst.state === 'UNKNOWN') continue;
        const code = VRRP_STATE_CODE[inst.state];
        const base = { iname: inst.iname, intf: inst.intf, vrid: String(inst.vrid) };
        if (inst.vips.length === 0) vrrpState.set({ ...base, ip_address: '' }, code);
        for (const vip of inst.vips) vrrpState.set({ ...base, ip_address: vip }, code);
        for (const [name, value] of Object.entries(inst.counters) as Array<[VrrpCounterName, number]>) {
          counters.get(name)?.inc(base, value);
        }
      }
      for (const [name, sc] of Object.entries(s.scripts)) {
        scriptStatus.set({ name }, sc.good ? 1 : 0);
        if (sc.state !== undefined) scriptState.set({ name }, sc.state);
      }
    },
  };
}
