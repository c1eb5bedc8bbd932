// How the daemon is put together. Each layer (sources, probes, peers, rules, alerting, exporters,
// status page) is a ModuleFactory under agent/wiring/: it reads its slice of the config and
// builds components, HTTP routes and collectors. On reload only the modules whose slice changed
// are rebuilt, so a reload that touches receivers does not reconnect D-Bus.
import type { Config } from './config/schema';
import type { Ctx } from './context';
import type { NodeStore } from './state/store';
import type { Collector } from '../exporters/collector';
import type { RouteSpec } from './http/server';
import type { Alert } from './alerting/alert';
import type { Shared } from './wiring/shared';
import type { WebSettings } from './http/webConfig';

/** Something with a life: started after build, stopped before a rebuild or on shutdown. */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Module {
  components?: Component[];
  routes?: RouteSpec[];
  collectors?: Collector[];
}

/** Alerts flow from the rules to the alert pipeline through this hub (it outlives reloads). */
export interface AlertHub {
  publish(alert: Alert): void;
  subscribe(fn: (alert: Alert) => void): () => void;
  /** Currently firing alerts (for the API, status page and keepwatch_alerts). */
  active(): Alert[];
  /** The last alert changes, newest last (bounded), for the status page's timeline. */
  recent(): Alert[];
}

/** Long-lived objects every module may use; they survive reloads. */
export interface Hubs {
  store: NodeStore;
  alerts: AlertHub;
  /** What modules offer each other (the peer directory, the delivery policy, ...): see wiring/shared.ts. */
  shared: Shared;
}

/** What modules may ask of the running agent itself. */
export interface AgentControl {
  reload(): Promise<void>;
  /** buffer: the body as UTF-8 when the registry keeps it (the same object while nothing changed). */
  scrape(): Promise<{ contentType: string; body: string; buffer?: Buffer }>;
  readonly startedAt: number;
  /** Where the metrics are served (--web.telemetry-path, default /metrics). */
  readonly telemetryPath: string;
  /** True once the config is loaded and every module's components have been started. */
  readonly ready: boolean;
  readonly lastReload: { ok: boolean; at: number; error?: string };
}

export interface WiringCtx extends Ctx, Hubs {
  agent: AgentControl;
  config: Config;
  /** The web settings the agent serves with: web.*, with the web config file (flag or web.config_file) merged over them. */
  web: WebSettings;
  /** The agent's own version string. */
  version: string;
  /** Environment, for commands and sockets that need it (injectable). */
  env: NodeJS.ProcessEnv;
}

export interface ModuleFactory {
  readonly name: string;
  /** The part of the config this module depends on; the module is rebuilt on reload only when it changed.
   *  web: the effective web settings (for modules that depend on TLS however it was configured). */
  slice(config: Config, web?: WebSettings): unknown;
  build(w: WiringCtx): Module | Promise<Module>;
}
