// The shipped Grafana dashboard (deploy/grafana/keepwatch.json): its shape, and every PromQL
// expression in it with where it is, for the tests that check those expressions.
import { join } from 'node:path';

export const DASHBOARD = join(__dirname, '../../deploy/grafana/keepwatch.json');

export interface Target { expr: string; datasource?: { uid?: string } }
export interface Panel { id: number; type: string; title: string; datasource?: { uid?: string }; targets?: Target[]; gridPos: { x: number; y: number; w: number; h: number }; panels?: Panel[] }
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; definition?: string }> };
  annotations: { list: Array<{ expr?: string }> };
}


/** Every PromQL expression of the dashboard with where it is. */
export function dashboardExpressions(d: Dashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (ps: Panel[]) => {
    for (const p of ps) {
      for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const a of d.annotations.list) if (a.expr) out.push({ where: 'annotation', expr: a.expr });
  for (const v of d.templating.list) {
    const m = v.definition && /^label_values\((.*),\s*\w+\)$/.exec(v.definition);
    if (m) out.push({ where: `variable $${v.name}`, expr: m[1] });
  }
  return out;
}
