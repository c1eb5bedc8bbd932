// The probes module: keepalived.conf read into the store (what each instance should be), then the
// probes that check what keepalived itself does not (where the VIPs are bound, a second holder on
// the wire, whether nginx serves), one scheduler running them, and their collectors; and the
// failover outage measurement those probes time (agent/state/failoverOutage.ts). Its config
// slice is nginx, probes, vips, keepalived.config and rules.peer_timeout: a reload touching only
// those rebuilds this.
import type { Component, ModuleFactory, WiringCtx } from '../module';
import { KeepalivedConfSource } from '../keepalived/confSource';
import { ProbeScheduler, type ScheduledProbe, type CronScheduler } from '../probes/scheduler';
import { effectiveSchedule, RECHECK_ON_MASTER_CHANGE, type ProbeName } from '../probes/schedulePolicy';
import { VipProbe, type AddressReader, type SpawnFn } from '../probes/vipProbe';
import { ArpProbe } from '../probes/arpProbe';
import { createShellRunner } from '../probes/shellRunner';
import { NginxStatusProbe } from '../probes/nginxStatusProbe';
import { NginxHealthProbe } from '../probes/nginxHealthProbe';
import { NginxProcessProbe } from '../probes/nginxProcessProbe';
import { NginxConfigProbe } from '../probes/nginxConfigProbe';
import { StartHookProbe } from '../probes/startHookProbe';
import { createHttpGet, type HttpGet } from '../probes/httpGet';
import type { CommandRunner } from '../probes/runCommand';
import { sendJson } from '../http/server';
import { nginxCollector } from '../../exporters/nginx';
import { vipCollector } from '../../exporters/vip';
import { nginxHealthCollector } from '../../exporters/nginxHealth';
import { probesCollector } from '../../exporters/probes';
import { failoverCollector } from '../../exporters/failover';
import type { Collector } from '../../exporters/collector';
import { FailoverOutageTracker, type FailoverOutageOptions } from '../state/failoverOutage';
import { sharedPeerDirectory } from '../peers/peerDirectory';

/** What tests and the lab may swap; everything else comes from the config. */
export interface ProbesModuleOptions {
  http?: HttpGet;
  run?: CommandRunner;
  monitorCommand?: string[] | null;
  spawn?: SpawnFn;
  readAddresses?: AddressReader;
  arpingCommand?: (dev: string, vip: string) => string[];
  cron?: CronScheduler;
  procRoot?: string;
}

export function createProbesModule(o: ProbesModuleOptions = {}): ModuleFactory {
  return {
    name: 'probes',
    slice: (c) => ({ nginx: c.nginx, probes: c.probes, vips: c.vips, keepalived_config: c.keepalived.config, peer_timeout: c.rules.peer_timeout }),
    build(w: WiringCtx) {
      const log = w.log.child({ module: 'probes' });
      const conf = new KeepalivedConfSource({ path: w.config.keepalived.config, store: w.store, clock: w.clock, log: log.child({ source: 'keepalived_conf' }) });
      w.shared.set('keepalived.conf', conf);

      const ng = w.config.nginx;
      const ownHttp = o.http ? undefined : createHttpGet();
      const http = o.http ?? (ownHttp as HttpGet);
      let scheduler: ProbeScheduler | undefined;
      // arping runs every interval: started from a small long-lived shell, not forked from the agent.
      const arpShell = createShellRunner();
      const probes: Record<ProbeName, ScheduledProbe['probe']> = {
        vip: new VipProbe({ store: w.store, clock: w.clock, log: log.child({ probe: 'vip' }), overrides: w.config.vips, monitorCommand: o.monitorCommand, spawn: o.spawn, readAddresses: o.readAddresses }),
        arp: new ArpProbe({ store: w.store, clock: w.clock, log: log.child({ probe: 'arp' }), command: o.arpingCommand, run: o.run ?? arpShell.run }),
        nginx_status: new NginxStatusProbe({ url: ng.status_url, http, clock: w.clock }),
        nginx_health: new NginxHealthProbe({ url: ng.health_url, viaVip: ng.health_via_vip, store: w.store, http, clock: w.clock }),
        nginx_process: new NginxProcessProbe({
          pidFile: ng.pid_file,
          clock: w.clock,
          procRoot: o.procRoot,
          restartGraceMs: ng.restart_grace,
          onMasterChange: (why) => {
            log.info({ why }, 'nginx restarted or reloaded: checking it again');
            for (const p of RECHECK_ON_MASTER_CHANGE) scheduler?.trigger(p);
          },
        }),
        nginx_config: new NginxConfigProbe({ binary: ng.binary, config: ng.config, clock: w.clock, run: o.run }),
      };
      const scheduled: ScheduledProbe[] = [];
      for (const name of Object.keys(probes) as ProbeName[]) {
        const s = effectiveSchedule(name, w.config.probes[name]);
        if (!s.enabled) continue;
        scheduled.push({ probe: probes[name], intervalMs: s.intervalMs, schedule: s.schedule, timeoutMs: s.timeoutMs });
      }
      // Cold standby: the script that starts nginx on takeover must be there when it is needed.
      // Cheap (one stat), so a fixed 5 s interval rather than a `probes:` key of its own.
      if (ng.standby === 'cold' && ng.start_hook) {
        scheduled.push({ probe: new StartHookProbe({ path: ng.start_hook, clock: w.clock, conf: () => conf.current() }), intervalMs: 5_000, timeoutMs: 1_000 });
      } else if (ng.standby === 'cold') {
        log.warn('nginx.standby is cold but nginx.start_hook is not set: the script that starts nginx on takeover is not checked');
      }
      scheduler = new ProbeScheduler(scheduled, { clock: w.clock, log, emit: (ev) => void w.store.apply(ev), cron: o.cron });
      w.shared.set('probes.scheduler', scheduler);

      const failover = sharedFailoverOutage(w, {
        store: w.store,
        peers: sharedPeerDirectory(w.shared),
        clock: w.clock,
        log: log.child({ component: 'failover-outage' }),
        // The old master's agent reports its leaving within milliseconds; one that says nothing for
        // peer_timeout is taken for gone, and its last advert estimated.
        settleMs: w.config.rules.peer_timeout + 1000,
        viaVip: ng.health_via_vip,
      });
      const healthMetrics = nginxHealthCollector(w.store);
      const probeMetrics = probesCollector(w.store);
      const sched = scheduler;
      // A VIP just bound here: request the site through it now rather than at the next interval, so
      // the first good request after a takeover (keepwatch_failover_duration_seconds) is timed to
      // the request, not to the health probe's schedule.
      let held = boundVips(w.store);
      let unsubscribe: (() => void) | undefined;
      const probesComponent: Component = {
        name: 'probes',
        async start() {
          if (ng.health_via_vip) {
            unsubscribe = w.store.subscribe((c) => {
              if (c.event.kind !== 'vip' || !c.material) return;
              const now = boundVips(w.store);
              const added = [...now].some((v) => !held.has(v));
              held = now;
              if (added) sched.trigger('nginx_health');
            });
          }
          await sched.start();
        },
        async stop() {
          unsubscribe?.();
          await sched.stop();
          arpShell.close();
          ownHttp?.close();
          healthMetrics.close?.();
          probeMetrics.close?.();
        },
      };

      // Interface metadata for operators (MAC, state, speed): systeminformation fits here, on
      // demand and cached; the VIP probe itself uses os.networkInterfaces (microseconds, not ms).
      let ifCache: { at: number; data: unknown } | undefined;
      return {
        components: [conf, probesComponent, failover.tracker],
        collectors: [nginxCollector(w.store), vipCollector(w.store), healthMetrics, probeMetrics, failover.collector],
        routes: [
          {
            method: 'GET',
            path: '/api/v1/keepalived/config',
            auth: 'web',
            handler(_req, res) {
              // The parsed keepalived.conf: never holds auth_pass (the parser drops it).
              const c = conf.current();
              if (!c) return sendJson(res, 503, { error: 'keepalived.conf not read yet' });
              sendJson(res, 200, { path: w.config.keepalived.config, ...c });
            },
          },
          {
            method: 'GET',
            path: '/api/v1/interfaces',
            auth: 'web',
            async handler(_req, res) {
              const now = w.clock.now();
              if (!ifCache || now - ifCache.at > 10_000) {
                // Required on first use: systeminformation costs ~3 MiB of RSS, for this one endpoint.
                const si = require('systeminformation') as typeof import('systeminformation');
                const ifs = await si.networkInterfaces();
                const list = Array.isArray(ifs) ? ifs : [ifs];
                const vips = Object.values(w.store.state.vips);
                ifCache = {
                  at: now,
                  data: list.map((i) => ({
                    iface: i.iface,
                    mac: i.mac,
                    operstate: i.operstate,
                    speed: i.speed,
                    mtu: i.mtu,
                    type: i.type,
                    virtual: i.virtual,
                    ip4: i.ip4,
                    ip6: i.ip6,
                    vips: vips.filter((v) => v.intf === i.iface).map((v) => v.vip),
                  })),
                };
              }
              sendJson(res, 200, { at: ifCache.at, interfaces: ifCache.data });
            },
          },
        ],
      };
    },
  };
}

/** The failover outage measurement (fed by the VIP and health probes and the peers) and its
 *  histogram live for the agent's life: a reload must not lose a takeover being measured. */
function sharedFailoverOutage(w: WiringCtx, o: FailoverOutageOptions): { tracker: FailoverOutageTracker; collector: Collector } {
  const key = 'probes.failover_outage';
  let parts = w.shared.get(key) as { tracker: FailoverOutageTracker; collector: Collector } | undefined;
  if (parts) parts.tracker.configure(o);
  else w.shared.set(key, (parts = { tracker: new FailoverOutageTracker(o), collector: failoverCollector(w.store) }));
  return parts;
}

/** The VIPs bound on this node right now. */
function boundVips(store: WiringCtx['store']): Set<string> {
  return new Set(Object.values(store.state.vips).filter((v) => v.intf !== null).map((v) => v.vip));
}

export const probesModule = createProbesModule();
