// --web.telemetry-path, Prometheus exporters' flag: where the metrics are served. It must be a
// path the router can match (canonical, as every request path must be) and must not take the
// place of another endpoint, or that endpoint (or the metrics) would silently disappear.
import { canonicalTarget, type RouteSpec } from './server';

export const DEFAULT_TELEMETRY_PATH = '/metrics';

/** Why this path cannot be the telemetry path on its own (undefined: fine). */
export function telemetryPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must start with "/"';
  if (/[?#]/.test(path)) return 'must be a path alone, without "?" or "#"';
  if (path.length > 1 && path.endsWith('/')) return 'must not end with "/"';
  const c = canonicalTarget(path);
  if (typeof c !== 'string') return c.error.replace(/^request /, '');
  return undefined;
}

/**
 * Why the telemetry path cannot be served beside these routes, the metrics route among them
 * (undefined: fine). Another route on the same path, or a prefix route (`/static/*`) covering it,
 * would shadow or be shadowed.
 */
export function telemetryPathCollision(path: string, routes: readonly RouteSpec[]): string | undefined {
  const own = telemetryPathProblem(path);
  if (own) return own;
  const hits = routes.filter((r) => (r.path.endsWith('/*') ? path.startsWith(r.path.slice(0, -1)) : r.path === path));
  // The metrics route itself is one of them (a GET on the path: with another such, either is named).
  const metricsRoute = hits.findIndex((r) => r.method.toUpperCase() === 'GET' && r.path === path);
  const others = hits.filter((_, i) => i !== metricsRoute);
  if (others.length) return `collides with ${others.map((r) => `${r.method.toUpperCase()} ${r.path}`).join(', ')}`;
  return undefined;
}
