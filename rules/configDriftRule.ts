// ConfigDrift (warning): the nodes disagree on what should be the same: an instance's VRID, the
// VIPs of a VRID, the advert interval, the auth type (never the auth secret itself), or the nginx
// configuration (hash of nginx -T). Drift is how split brains (VRID/auth mismatch) and failed
// takeovers (a backup serving another site) are born. Must last rules.drift_for (a rollout
// reaches nodes one after the other).
import { describeVrid, vridLabels, inameOf } from './format';
import { lasting } from './pending';
import type { Condition, Rule, RuleContext } from './rule';

interface Found {
  key: string;
  labels: Record<string, string>;
  summary: string;
}

export const configDriftRule: Rule = {
  name: 'ConfigDrift',
  severity: 'warning',
  rank: 90,
  evaluate(ctx: RuleContext): Condition[] {
    const { view, settings } = ctx;
    const found: Found[] = [];
    for (const v of view.vrids) {
      for (const d of v.disagreements) {
        const what = { vips: 'VIPs', advert_interval: 'advert intervals', auth_type: 'auth types' }[d.field];
        found.push({ key: `${v.key}|${d.field}`, labels: { ...vridLabels(v, inameOf(v, view.self)), field: d.field }, summary: `${describeVrid(v)}: ${what} differ: ${d.detail}` });
      }
    }
    // One instance name or one VIP under different VRIDs on different nodes: the nodes do not
    // even meet in one election (the classic virtual_router_id mismatch split brain).
    const fresh = view.nodes.filter((n) => n.fresh && n.state);
    const byIname = new Map<string, Map<string, string[]>>();
    const byVip = new Map<string, Map<string, string[]>>();
    for (const n of fresh) {
      for (const inst of Object.values(n.state!.instances)) {
        if (!inst.vrid) continue;
        const add = (m: Map<string, Map<string, string[]>>, k: string) => {
          const per = m.get(k) ?? new Map<string, string[]>();
          per.set(String(inst.vrid), [...(per.get(String(inst.vrid)) ?? []), n.node]);
          m.set(k, per);
        };
        add(byIname, inst.iname);
        for (const vip of inst.vips) add(byVip, vip);
      }
    }
    const vridDrift = (kind: string, name: string, per: Map<string, string[]>) => {
      if (per.size < 2) return;
      const detail = [...per].map(([vrid, nodes]) => `VRID ${vrid} on ${nodes.join(', ')}`).join('; ');
      found.push({ key: `vrid|${kind}|${name}`, labels: { field: 'vrid', [kind]: name }, summary: `${kind === 'iname' ? `instance ${name}` : `VIP ${name}`} has different VRIDs: ${detail}` });
    };
    for (const [iname, per] of byIname) vridDrift('iname', iname, per);
    for (const [vip, per] of byVip) vridDrift('vip', vip, per);
    const hashes = fresh.filter((n) => n.nginxConfigHash);
    if (new Set(hashes.map((n) => n.nginxConfigHash)).size > 1) {
      found.push({
        key: 'nginx_config',
        labels: { field: 'nginx_config' },
        summary: `nginx configurations differ: ${hashes.map((n) => `${n.node}=${n.nginxConfigHash!.slice(0, 12)}`).join(', ')}`,
      });
    }
    return lasting(ctx, settings.driftForMs, found).map((f) => ({
      severity: 'warning',
      labels: f.labels,
      startsAt: f.since,
      annotations: {
        summary: `Config drift: ${f.summary}`,
        description:
          'The nodes of the pair should agree on this. Diff keepalived.conf (virtual_router_id, virtual_ipaddress, advert_int, ' +
          'authentication) or `nginx -T` between the nodes and deploy the same version to both.',
      },
    }));
  },
};
