// The routing tree, as Alertmanager's: an alert walks down from the root; at each node the first
// matching child wins unless it says `continue`; a node none of whose children match is itself the
// match. Children inherit receiver, group_by and the three timers from their parent.
import type { RouteConfig } from '../config/schema';
import { INCIDENT_LABEL } from './incident';
import { formatMatchers, matchesAll, parseMatcher, type Matcher } from './matchers';

/**
 * Defaults tuned for paging on an HA pair, not Alertmanager's 30s/5m/4h:
 * - group_wait 0s: the rules already debounce (their `for` durations), so a second wait here only
 *   delays the page; alerts published in the same evaluation still coalesce (the flush runs on
 *   the next tick), so SplitBrain can still inhibit the VipMismatch raised with it.
 * - group_interval 10s: how soon changes to an already-paged group (another alert joining, the
 *   resolve) go out. 10 s brings the "resolved" in seconds instead of Alertmanager's ~5 min, while a
 *   flapping pair still makes at most 6 messages a minute per group (Slack takes ~1/s per hook,
 *   and the flapping rule turns sustained flapping into one alert anyway).
 * - repeat_interval 4h: Alertmanager's reminder for what is still firing.
 * - group_by [incident]: one story per incident (the alerts that share a cause, see incident.ts):
 *   the first page as soon as its first alert fires, at most one update per group_interval while
 *   it evolves, one end with the timeline. With Alertmanager's [alertname, vrid] a keepalived that
 *   stops makes three pages (Failover, KeepalivedDown, RedundancyLost), each without the others.
 */
export const ROUTE_DEFAULTS = {
  groupBy: [INCIDENT_LABEL],
  groupWait: 0,
  groupInterval: 10_000,
  repeatInterval: 4 * 3_600_000,
} as const;

/** A node of the routing tree, built from the config's RouteConfig with what it inherits resolved. */
export interface AlertRoute {
  /** Stable identity (Alertmanager's route key: parent key / matchers; equal siblings get /receiver, then /index). */
  readonly id: string;
  readonly receiver: string;
  readonly matchers: Matcher[];
  readonly continue: boolean;
  readonly groupBy: readonly string[];
  /** group_by: ['...']: every label is a group label (one group per alert). */
  readonly groupByAll: boolean;
  readonly groupWait: number;
  readonly groupInterval: number;
  readonly repeatInterval: number;
  /** Names of alerting.time_intervals (not inherited, as in Alertmanager): see timeIntervals.ts. */
  readonly muteTimeIntervals: readonly string[];
  readonly activeTimeIntervals: readonly string[];
  readonly routes: AlertRoute[];
}

/** What a child takes from its parent unless it sets its own. */
type Inherited = Pick<AlertRoute, 'receiver' | 'groupBy' | 'groupByAll' | 'groupWait' | 'groupInterval' | 'repeatInterval'>;

/** Sibling ids: parent/matchers; equal siblings told apart by receiver, then by index. */
function childIds(parentId: string, children: RouteConfig[], inheritedReceiver: string, synthetic: boolean): string[] {
  const base = children.map((c) => `${parentId}/${formatMatchers(c.matchers.map(parseMatcher))}`);
  // The implicit one-child-per-receiver tree always names the receiver, so adding a receiver later
  // does not change the ids (and group keys) of the others: the notification log still knows them.
  if (synthetic) return base.map((b, i) => `${b}/${children[i].receiver}`);
  const dup = (list: string[], x: string) => list.filter((y) => y === x).length > 1;
  const withReceiver = base.map((b, i) => (dup(base, b) ? `${b}/${children[i].receiver ?? inheritedReceiver}` : b));
  return withReceiver.map((b, i) => (dup(withReceiver, b) ? `${b}/${i}` : b));
}

function build(cfg: RouteConfig, parent: Inherited, id: string, isRoot: boolean, synthetic: boolean): AlertRoute {
  const matchers = isRoot ? [] : cfg.matchers.map(parseMatcher); // the root matches everything
  const groupByAll = cfg.group_by ? cfg.group_by.includes('...') : parent.groupByAll;
  const own: Inherited = {
    receiver: cfg.receiver ?? parent.receiver,
    groupBy: cfg.group_by ? (groupByAll ? [] : [...cfg.group_by]) : parent.groupBy,
    groupByAll,
    groupWait: cfg.group_wait ?? parent.groupWait,
    groupInterval: cfg.group_interval ?? parent.groupInterval,
    repeatInterval: cfg.repeat_interval ?? parent.repeatInterval,
  };
  const ids = childIds(id, cfg.routes, own.receiver, synthetic);
  return {
    id,
    ...own,
    matchers,
    continue: cfg.continue,
    muteTimeIntervals: cfg.mute_time_intervals ?? [],
    activeTimeIntervals: cfg.active_time_intervals ?? [],
    routes: cfg.routes.map((c, i) => build(c, own, ids[i], false, false)),
  };
}

/**
 * The route tree from the config. Without a `route`, every receiver gets every alert (one child
 * per receiver with `continue`), with the defaults above. Throws on a bad matcher or an unknown
 * receiver (the config schema reports these at load time; this is the last line of defence).
 */
export function buildRouteTree(cfg: RouteConfig | undefined, receiverNames: string[]): AlertRoute {
  const base: Inherited = { receiver: '', ...ROUTE_DEFAULTS, groupByAll: false };
  const tree =
    cfg ??
    ({
      matchers: [],
      continue: false,
      routes: receiverNames.map((r) => ({ receiver: r, matchers: [], continue: true, routes: [] })),
    } satisfies RouteConfig);
  const root = build(tree, base, formatMatchers([]), true, !cfg);
  const known = new Set(receiverNames);
  const walk = (r: AlertRoute, path: string) => {
    if (cfg && !r.receiver) throw new Error(`${path}: no receiver (set route.receiver)`);
    if (r.receiver && !known.has(r.receiver)) throw new Error(`${path}: receiver "${r.receiver}" is not defined in alerting.receivers`);
    r.routes.forEach((c, i) => walk(c, `${path}.routes.${i}`));
  };
  walk(root, 'route');
  return root;
}

/** The routes an alert with these labels goes to (Alertmanager's Route.Match). */
export function matchRoutes(route: AlertRoute, labels: Record<string, string>): AlertRoute[] {
  if (!matchesAll(route.matchers, labels)) return [];
  const all: AlertRoute[] = [];
  for (const child of route.routes) {
    const m = matchRoutes(child, labels);
    all.push(...m);
    if (m.length > 0 && !child.continue) break;
  }
  if (all.length === 0 && route.receiver) all.push(route);
  return all;
}

/** The group labels of an alert on a route: the group_by labels it has (all of them for '...'). */
export function groupLabels(route: AlertRoute, labels: Record<string, string>): Record<string, string> {
  if (route.groupByAll) return { ...labels };
  const out: Record<string, string> = {};
  for (const k of route.groupBy) if (Object.prototype.hasOwnProperty.call(labels, k)) out[k] = labels[k];
  return out;
}

/** Alertmanager's group key: `<route id>:{a="b", c="d"}` with the labels sorted. */
export function groupKey(route: AlertRoute, glabels: Record<string, string>): string {
  const body = Object.keys(glabels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(glabels[k])}`)
    .join(', ');
  return `${route.id}:{${body}}`;
}

/** A route that groups by incident tells incidents (first, update, end) rather than Alertmanager's groups. */
export function groupsByIncident(route: AlertRoute): boolean {
  return !route.groupByAll && route.groupBy.includes(INCIDENT_LABEL);
}
