// keepalived_check_script_status{iname,intf,vrid,ip_address}: the keepalived exporter's per-VIP
// check script status, same name, labels, help and values (1: the script exited 0 for the VIP,
// else 0), one series per keepalived_vrrp_state series with a VIP. The script's runs, their
// bounds and their cache are agent/probes/checkScript.ts's.
import { Gauge } from 'prom-client';
import type { NodeStore } from '../agent/state/store';
import type { CheckScript } from '../agent/probes/checkScript';
import type { Collector } from './collector';
import { VIP_LABELS, vipEntriesOf, vipLabels } from './keepalived';

export function checkScriptCollector(store: NodeStore, script: CheckScript): Collector {
  const series = () =>
    Object.values(store.state.instances)
      .filter((inst) => inst.state !== 'UNKNOWN')
      .flatMap((inst) => vipEntriesOf(inst).map((v) => vipLabels(inst, String(inst.vrid), v)));
  const vipsOf = (labels: ReturnType<typeof series>) => labels.map((l) => l.ip_address);
  return {
    name: 'check_script',
    // The text changes with the store or a finished run; when a run is due, collect() starts it.
    revision: () => {
      const labels = series();
      return script.due(vipsOf(labels)) ? undefined : `${store.state.revision}:${script.generation()}`;
    },
    metrics: [
      new Gauge({
        name: 'keepalived_check_script_status',
        help: 'Check Script status for each VIP',
        labelNames: VIP_LABELS,
        registers: [],
        async collect() {
          const labels = series();
          const status = await script.statuses(vipsOf(labels));
          this.reset();
          for (const l of labels) {
            const ok = status.get(l.ip_address);
            if (ok !== undefined) this.set(l, ok ? 1 : 0);
          }
        },
      }),
    ],
  };
}
