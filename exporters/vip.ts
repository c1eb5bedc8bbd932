// Where the VIPs are: keepwatch_vip_bound{iname,vip,intf} (1 bound on this node, 0 not; intf is
// where it is bound, else the instance's interface), keepwatch_vip_changes_total (changes of
// where a VIP is bound here), and keepwatch_vip_duplicate{vip}: 1 when, since this node last took
// the VIP, duplicate-address probing saw another MAC answer for it. A VIP whose probing failed
// (no CAP_NET_RAW) or cannot be probed (IPv6) has no keepwatch_vip_duplicate series: unknown is
// not 0. The MAC is in /api/v1/state (vips[].duplicate.mac).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import type { Collector } from './collector';

export function vipCollector(store: NodeStore): Collector {
  let bound: Gauge;
  let changes: Counter;
  let duplicate: Gauge;
  return {
    name: 'vip',
    // Reads only the store (and histograms fed by its events): same revision, same text.
    revision: () => store.state.revision,
    register(registry: Registry) {
      bound = new Gauge({ name: 'keepwatch_vip_bound', help: 'Whether the VIP is bound on this node (1) or not (0).', labelNames: ['iname', 'vip', 'intf'], registers: [registry] });
      changes = new Counter({ name: 'keepwatch_vip_changes_total', help: 'Changes of where a VIP is bound on this node since the agent started.', registers: [registry] });
      duplicate = new Gauge({
        name: 'keepwatch_vip_duplicate',
        help: 'Whether another host answers duplicate-address probes for a VIP this node holds (1) or not (0).',
        labelNames: ['vip'],
        registers: [registry],
      });
    },
    update() {
      const s = store.state;
      bound.reset();
      duplicate.reset();
      changes.reset();
      changes.inc(s.vipChanges);
      const dup = new Map<string, number>();
      for (const v of Object.values(s.vips)) {
        const intf = v.intf ?? s.instances[v.iname]?.intf ?? '';
        bound.set({ iname: v.iname, vip: v.vip, intf }, v.intf ? 1 : 0);
        const d = v.duplicate;
        let value: number | undefined;
        if (!v.intf) value = 0;
        else if (d && d.at >= v.since && !d.error) value = d.duplicate ? 1 : 0;
        if (value !== undefined) dup.set(v.vip, Math.max(dup.get(v.vip) ?? 0, value));
      }
      for (const [vip, value] of dup) if (!vip.includes(':')) duplicate.set({ vip }, value); // IPv6: never probed
    },
  };
}
