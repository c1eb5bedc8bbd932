import { buildRouteTree, groupKey, groupLabels, matchRoutes, ROUTE_DEFAULTS } from '../../../agent/alerting/route';
import type { RouteConfig } from '../../../agent/config/schema';

const r = (o: Partial<RouteConfig>): RouteConfig => ({ matchers: [], continue: false, routes: [], ...o });

describe('route tree', () => {
  const cfg = r({
    receiver: 'default',
    group_by: ['alertname'],
    group_wait: 5000,
    routes: [
      r({ matchers: ['severity="critical"'], receiver: 'pager', group_wait: 0, continue: true, routes: [r({ matchers: ['alertname="SplitBrain"'], group_by: ['alertname', 'vrid'] })] }),
      r({ matchers: ['severity=~"critical|warning"'], receiver: 'slack' }),
      r({ matchers: ['team="db"'], receiver: 'db' }),
    ],
  });
  const tree = buildRouteTree(cfg, ['default', 'pager', 'slack', 'db']);

  test('first matching child wins, continue goes on, no child match = the node itself', () => {
    const names = (labels: Record<string, string>) => matchRoutes(tree, labels).map((x) => x.receiver);
    expect(names({ alertname: 'SplitBrain', severity: 'critical' })).toEqual(['pager', 'slack']);
    expect(names({ alertname: 'X', severity: 'warning', team: 'db' })).toEqual(['slack']);
    expect(names({ alertname: 'X', team: 'db' })).toEqual(['db']);
    expect(names({ alertname: 'X' })).toEqual(['default']);
  });

  test('children inherit receiver, group_by and timers', () => {
    const [sb] = matchRoutes(tree, { alertname: 'SplitBrain', severity: 'critical' });
    expect(sb.receiver).toBe('pager');
    expect(sb.groupBy).toEqual(['alertname', 'vrid']);
    expect(sb.groupWait).toBe(0);
    expect(sb.groupInterval).toBe(ROUTE_DEFAULTS.groupInterval);
    expect(sb.repeatInterval).toBe(ROUTE_DEFAULTS.repeatInterval);
    const [d] = matchRoutes(tree, { alertname: 'X' });
    expect(d.groupWait).toBe(5000);
    expect(d.groupBy).toEqual(['alertname']);
  });

  test('route ids are Alertmanager-like keys, unique among equal siblings', () => {
    expect(tree.id).toBe('{}');
    expect(tree.routes[0].routes[0].id).toBe('{}/{severity="critical"}/{alertname="SplitBrain"}');
    const dup = buildRouteTree(r({ receiver: 'a', routes: [r({ matchers: ['x=1'] }), r({ matchers: ['x=1'] }), r({ matchers: ['x=1'], receiver: 'b' })] }), ['a', 'b']);
    expect(dup.routes.map((x) => x.id)).toEqual(['{}/{x="1"}/a/0', '{}/{x="1"}/a/1', '{}/{x="1"}/b']);
    // the implicit tree names receivers, so adding one does not change the others' group keys
    expect(buildRouteTree(undefined, ['a']).routes.map((x) => x.id)).toEqual(['{}/{}/a']);
    expect(buildRouteTree(undefined, ['a', 'b']).routes.map((x) => x.id)).toEqual(['{}/{}/a', '{}/{}/b']);
  });

  test("group_by ['...'] groups by every label", () => {
    const t = buildRouteTree(r({ receiver: 'a', group_by: ['...'] }), ['a']);
    expect(groupLabels(t, { a: '1', b: '2' })).toEqual({ a: '1', b: '2' });
  });

  test('group labels are the group_by labels the alert has; the key sorts them', () => {
    const [sb] = matchRoutes(tree, { alertname: 'SplitBrain', severity: 'critical', vrid: '51', node: 'ka1' });
    const gl = groupLabels(sb, { alertname: 'SplitBrain', severity: 'critical', vrid: '51', node: 'ka1' });
    expect(gl).toEqual({ alertname: 'SplitBrain', vrid: '51' });
    expect(groupKey(sb, gl)).toBe('{}/{severity="critical"}/{alertname="SplitBrain"}:{alertname="SplitBrain", vrid="51"}');
    expect(groupLabels(sb, { alertname: 'SplitBrain' })).toEqual({ alertname: 'SplitBrain' });
  });

  test('without a route every receiver gets every alert with the HA defaults', () => {
    const t = buildRouteTree(undefined, ['slack', 'mail']);
    const m = matchRoutes(t, { alertname: 'NoMaster' });
    expect(m.map((x) => x.receiver)).toEqual(['slack', 'mail']);
    expect(m[0]).toMatchObject({ groupWait: 0, groupInterval: 10_000, groupBy: ['incident'] });
    expect(matchRoutes(buildRouteTree(undefined, []), { alertname: 'x' })).toEqual([]);
  });

  test('unknown receivers and bad matchers are errors', () => {
    expect(() => buildRouteTree(r({ receiver: 'nope' }), ['a'])).toThrow(/receiver "nope" is not defined/);
    expect(() => buildRouteTree(r({ receiver: 'a', routes: [r({ matchers: ['bad'] })] }), ['a'])).toThrow(/bad matcher/);
    expect(() => buildRouteTree(r({}), ['a'])).toThrow(/no receiver/);
  });
});
