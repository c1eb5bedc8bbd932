// The probes module: the probes that check what keepalived itself does not (where the VIPs are
// bound, a second holder on the wire, whether nginx serves), one scheduler running them, and their
// collectors; and the failover outage measurement those probes time (agent/state/failoverOutage.ts).
// Its config slice is nginx, probes, vips and rules.peer_timeout: a reload touching only those
// rebuilds this. keepalived.conf is the keepalived_conf module's (wiring/keepalivedConf.ts).
import type { Component, ModuleFactory, WiringCtx } from '../module';
import { ProbeScheduler, type ScheduledProbe, type CronScheduler } from '../probes/scheduler';
import { effectiveSchedule, RECHECK_ON_MASTER_CHANGE, type ProbeName } from '../probes/schedulePolicy';
import { VipProbe, type AddressReader, type SpawnFn } from '../probes/vipProbe';
import { ArpProbe } from '../probes/arpProbe';
import { createInterfaceInfo, workerInterfaceReader, type InterfaceReader } from '../probes/interfaceInfo';
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
import { failoverOutageOptions } from './shared';

/** What tests and the lab may swap; everything else comes from the config. */
export interface ProbesModuleOptions {
  http?: HttpGet;
  run?: CommandRunner;
  monitorCommand?: string[] | null;
  spawn?: SpawnFn;
  readAddresses?: AddressReader;
  /** Interface metadata for /api/v1/interfaces (default: systeminformation in a worker thread). */
  readInterfaces?: InterfaceReader;
  arpingCommand?: (dev: string, vip: string) => string[];
  cron?: CronScheduler;
  procRoot?: string;
}

export function createProbesModule(o: ProbesModuleOptions = {}): ModuleFactory {
  return {
    name: 'probes',
    slice: (c) => ({ nginx: c.nginx, probes: c.probes, vips: c.vips, peer_timeout: c.rules.peer_timeout }),
    build(w: WiringCtx) {
      const log = w.log.child({ module: 'probes' });
      const ng = w.config.nginx;
      const ownHttp = o.http ? undefined : createHttpGet();
      const http = o.http ?? (ownHttp as HttpGet);
      let scheduler: ProbeScheduler | undefined;
      // Interface metadata for operators (MAC, state, speed): systeminformation fits here, on
      // demand, cached and in a thread of its own (interfaceInfo.ts); the VIP probe, which runs
      // often, uses the far cheaper os.networkInterfaces.
      const ownInterfaces = o.readInterfaces ? undefined : workerInterfaceReader();
      const interfaceInfo = createInterfaceInfo({ clock: w.clock, read: o.readInterfaces ?? (ownInterfaces as NonNullable<typeof ownInterfaces>).read });
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
        scheduled.push({ probe: new StartHookProbe({ path: ng.start_hook, clock: w.clock, conf: () => w.shared.keepalivedConf.current() }), intervalMs: 5_000, timeoutMs: 1_000 });
      } else if (ng.standby === 'cold') {
        log.warn('nginx.standby is cold but nginx.start_hook is not set: the script that starts nginx on takeover is not checked');
      }
      scheduler = new ProbeScheduler(scheduled, { clock: w.clock, log, emit: (ev) => void w.store.apply(ev), cron: o.cron });

      // The failover measurement lives for the agent's life (a reload must not lose a takeover
      // being measured): this build starts it with its settings.
      const failover = w.shared.failover;
      failover.tracker.configure(failoverOutageOptions(w.config, { store: w.store, peers: w.shared.peers, clock: w.clock, log: w.log }));
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
          await ownInterfaces?.close();
          healthMetrics.close?.();
          probeMetrics.close?.();
        },
      };
      return {
        components: [probesComponent, failover.tracker],
        collectors: [nginxCollector(w.store), vipCollector(w.store), healthMetrics, probeMetrics, failover.collector],
        routes: [
          {
            method: 'GET',
            path: '/api/v1/interfaces',
            auth: 'web',
            async handler(_req, res) {
              const { at, interfaces } = await interfaceInfo.get();
              // Where the VIPs are bound now, not when the metadata was read.
              const vips = Object.values(w.store.state.vips);
              sendJson(res, 200, { at, interfaces: interfaces.map((i) => ({ ...i, vips: vips.filter((v) => v.intf === i.iface).map((v) => v.vip) })) });
            },
          },
        ],
      };
    },
  };
}

/** The VIPs bound on this node right now. */
function boundVips(store: WiringCtx['store']): Set<string> {
  return new Set(Object.values(store.state.vips).filter((v) => v.intf !== null).map((v) => v.vip));
}

export const probesModule = createProbesModule();
