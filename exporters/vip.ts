// Where the VIPs are: keepwatch_vip_bound{iname,vip,intf} (1 bound on this node, 0 not; intf is
// where it is bound, else the instance's interface), keepwatch_vip_changes_total (changes of
// where a VIP is bound here), and keepwatch_vip_duplicate{vip}: 1 when, since this node last took
// the VIP, duplicate-address probing saw another MAC answer for it. A VIP whose probing failed
// (no CAP_NET_RAW) or cannot be probed (IPv6) has no keepwatch_vip_duplicate series: unknown is
// not 0. The MAC is in /api/v1/state (vips[].duplicate.mac).
import type { NodeStore } from '../agent/state/store';
import type { NodeState } from '../agent/state/types';
import type { Collector } from './collector';
import { scrapedCounter, scrapedGauge } from './scraped';

/** Per VIP (any instance): 1 when another host answered for it since this node took it, 0 when
 *  not or not held here; absent when unknown (probing failed or not done since). */
function duplicates(s: NodeState): Map<string, number> {
  const dup = new Map<string, number>();
  for (const v of Object.values(s.vips)) {
    const d = v.duplicate;
    let value: number | undefined;
    if (!v.intf) value = 0;
    else if (d && d.at >= v.since && !d.error) value = d.duplicate ? 1 : 0;
    if (value !== undefined) dup.set(v.vip, Math.max(dup.get(v.vip) ?? 0, value));
  }
  return dup;
}

export function vipCollector(store: NodeStore): Collector {
  return {
    name: 'vip',
    // Reads only the store: same revision, same text.
    revision: () => store.state.revision,
    metrics: [
      scrapedGauge({ name: 'keepwatch_vip_bound', help: 'Whether the VIP is bound on this node (1) or not (0).', labelNames: ['iname', 'vip', 'intf'] }, () => {
        const s = store.state;
        return Object.values(s.vips).map((v) => [{ iname: v.iname, vip: v.vip, intf: v.intf ?? s.instances[v.iname]?.intf ?? '' }, v.intf ? 1 : 0]);
      }),
      scrapedCounter({ name: 'keepwatch_vip_changes_total', help: 'Changes of where a VIP is bound on this node since the agent started.' }, () => store.state.vipChanges),
      scrapedGauge(
        { name: 'keepwatch_vip_duplicate', help: 'Whether another host answers duplicate-address probes for a VIP this node holds (1) or not (0).', labelNames: ['vip'] },
        function* () {
          for (const [vip, value] of duplicates(store.state)) if (!vip.includes(':')) yield [{ vip }, value]; // IPv6: never probed
        },
      ),
    ],
  };
}
