// When each node's nginx was last seen serving, remembered across evaluations (a probe result
// only says "now"). Cold standby needs it: a new MASTER's nginx must have served since it took over.
import type { ClusterView } from '../agent/state/cluster';

export class NginxLastUp {
  private readonly at = new Map<string, number>();

  update(view: ClusterView): void {
    for (const n of view.nodes) {
      if (n.fresh && n.nginx.up === true) this.at.set(n.node, Math.max(this.at.get(n.node) ?? 0, n.nginx.at ?? view.at));
    }
  }

  /** Has the node's nginx served at or after `t`? */
  servedSince(node: string, t: number): boolean {
    return (this.at.get(node) ?? -Infinity) >= t;
  }
}
