// The agent: builds the modules from the config, starts them, serves HTTP, reloads on SIGHUP or
// POST /-/reload (a bad new config is rejected and the old one kept), stops cleanly.
import type { Logger } from 'pino';
import { loadConfigFile, ConfigError } from './config/load';
import type { Config } from './config/schema';
import { systemClock, type Clock } from './context';
import { NodeStore } from './state/store';
import { createAlertHub } from './alerting/hub';
import { DEFAULT_SERVER_LIMITS, HttpServer } from './http/server';
import type { AgentControl, Component, Hubs, Module, ModuleFactory, WiringCtx } from './module';
import { defaultModules } from './wiring';
import { createShared } from './wiring/shared';
import { createMetricsRegistry, type MetricsRegistry } from '../exporters/registry';
import { VERSION } from './version';
import { resolveWebSettings, type WebSettings } from './http/webConfig';
import { DEFAULT_TELEMETRY_PATH, telemetryPathCollision } from './http/telemetryPath';

export interface DaemonOptions {
  configFile: string;
  log: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** --web.listen-address overrides the config's. */
  listenAddress?: string;
  /** --web.config.file: the exporter-toolkit web config, in place of web.config_file; re-read on reload. */
  webConfigFile?: string;
  /** --web.telemetry-path: where the metrics are served (default /metrics). */
  telemetryPath?: string;
  /** Replaces the default module list (tests). */
  modules?: ModuleFactory[];
}

interface Built {
  factory: ModuleFactory;
  slice: string;
  module: Module;
}

export class Daemon implements AgentControl {
  readonly hubs: Hubs;
  readonly http: HttpServer;
  private config!: Config;
  private built: Built[] = [];
  private metrics?: MetricsRegistry;
  private readonly clock: Clock;
  private readonly env: NodeJS.ProcessEnv;
  private readonly factories: ModuleFactory[];
  private reloading: Promise<void> = Promise.resolve();
  private listening?: string;
  /** Effective web settings (web.config_file merged) of each accepted config, read when it is loaded. */
  private readonly webSettings = new WeakMap<Config, WebSettings>();
  readonly startedAt: number;
  ready = false;
  /** Outcome of the last reload attempt, for keepwatch_config_last_reload_successful. */
  lastReload: { ok: boolean; at: number; error?: string };

  constructor(private readonly opts: DaemonOptions) {
    this.clock = opts.clock ?? systemClock;
    this.env = opts.env ?? process.env;
    this.factories = opts.modules ?? defaultModules;
    this.config = this.loadConfig();
    this.startedAt = this.clock.now();
    this.lastReload = { ok: true, at: this.startedAt };
    const store = new NodeStore(this.config.node, this.clock);
    this.hubs = { store, alerts: createAlertHub(), shared: createShared({ config: this.config, store, clock: this.clock, log: opts.log, startedAt: this.startedAt }) };
    this.http = new HttpServer(opts.log, () => this.clock.now());
  }

  private loadConfig(): Config {
    const cfg = loadConfigFile(this.opts.configFile, this.env);
    if (this.opts.listenAddress) cfg.web.listen_address = this.opts.listenAddress;
    // A bad web config file rejects the config (and so a reload) like any bad key.
    this.webSettings.set(cfg, resolveWebSettings(cfg.web, this.opts.configFile, this.opts.webConfigFile));
    return cfg;
  }

  /** The web settings the server runs with (web config file merged over web.*). */
  get web(): WebSettings {
    return this.webSettings.get(this.config)!;
  }

  get telemetryPath(): string {
    return this.opts.telemetryPath ?? DEFAULT_TELEMETRY_PATH;
  }

  private wctx(): WiringCtx {
    return { ...this.hubs, agent: this, config: this.config, web: this.web, clock: this.clock, log: this.opts.log, version: VERSION, env: this.env };
  }

  async start(): Promise<void> {
    for (const factory of this.factories) {
      this.built.push({ factory, slice: JSON.stringify(factory.slice(this.config, this.web)), module: await factory.build(this.wctx()) });
    }
    this.applyRoutesAndMetrics();
    await this.listen();
    for (const b of this.built) await this.startComponents(b.module.components ?? []);
    this.ready = true;
    this.opts.log.info({ node: this.config.node, listen: this.config.web.listen_address, version: VERSION }, 'keepwatch started');
  }

  private async startComponents(components: Component[]): Promise<void> {
    for (const c of components) {
      try {
        await c.start();
      } catch (e) {
        // A component that cannot start is reported by itself (source_up 0); the agent goes on.
        this.opts.log.error({ err: e, component: c.name }, 'component failed to start');
      }
    }
  }

  private async stopComponents(components: Component[]): Promise<void> {
    for (const c of [...components].reverse()) {
      try {
        await c.stop();
      } catch (e) {
        this.opts.log.warn({ err: e, component: c.name }, 'component failed to stop cleanly');
      }
    }
  }

  private applyRoutesAndMetrics(): void {
    const collectors = this.built.flatMap((b) => b.module.collectors ?? []);
    const routes = this.built.flatMap((b) => b.module.routes ?? []);
    const collision = telemetryPathCollision(this.telemetryPath, routes);
    if (collision) throw new Error(`--web.telemetry-path ${this.telemetryPath}: ${collision}`);
    this.metrics = createMetricsRegistry(collectors);
    this.http.setRoutes(routes);
    this.http.setHeaders(this.webSettings.get(this.config)?.headers);
    const tokens = [this.config.peer_token, ...(this.config.peers ?? []).map((p) => p.token)].filter((t): t is string => Boolean(t));
    this.http.setAuth({
      basicAuthUsers: this.webSettings.get(this.config)?.basicAuthUsers,
      peerTokens: tokens,
      // Never the peer token: a peer that can stream state must not be able to silence or reload.
      apiTokens: [this.config.alerting.api_token].filter((t): t is string => Boolean(t)),
      enableLifecycle: this.config.web.enable_lifecycle,
    });
  }

  /** The scrape: every collector updated and timed, then the exposition text. */
  async scrape(): Promise<{ contentType: string; body: string; buffer?: Buffer }> {
    if (!this.metrics) throw new Error('not started');
    return this.metrics.scrape();
  }

  private async listen(): Promise<void> {
    const web = this.webSettings.get(this.config)!;
    const limits = { ...DEFAULT_SERVER_LIMITS, maxConnections: this.config.web.max_connections };
    const key = JSON.stringify([web.listenAddress, web.tls, limits]);
    if (this.listening === key) return;
    await this.http.close();
    await this.http.listen(web.listenAddress, web.tls, limits);
    this.listening = key;
  }

  /** Re-reads the config; on error keeps the running one and throws the ConfigError. Serialised. */
  reload(): Promise<void> {
    const run = this.reloading.then(() => this.doReload());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async doReload(): Promise<void> {
    let next: Config;
    try {
      next = this.loadConfig();
      if (next.node !== this.config.node) throw new ConfigError(this.opts.configFile, [`node: cannot change on reload (was ${this.config.node}); restart the agent`]);
    } catch (e) {
      this.lastReload = { ok: false, at: this.clock.now(), error: (e as Error).message };
      this.opts.log.error({ err: (e as Error).message }, 'config reload rejected, keeping the running config');
      throw e;
    }
    this.config = next;
    const rebuilt: string[] = [];
    for (const b of this.built) {
      const slice = JSON.stringify(b.factory.slice(next, this.webSettings.get(next)));
      if (slice === b.slice) continue;
      await this.stopComponents(b.module.components ?? []);
      b.module = await b.factory.build(this.wctx());
      b.slice = slice;
      rebuilt.push(b.factory.name);
      await this.startComponents(b.module.components ?? []);
    }
    this.applyRoutesAndMetrics();
    await this.listen();
    this.lastReload = { ok: true, at: this.clock.now() };
    this.opts.log.info({ rebuilt }, 'config reloaded');
  }

  async stop(): Promise<void> {
    this.ready = false;
    for (const b of [...this.built].reverse()) await this.stopComponents(b.module.components ?? []);
    await this.http.close();
    this.opts.log.info('keepwatch stopped');
  }
}
