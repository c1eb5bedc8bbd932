// A real agent in the test process: the Daemon with every default module, on 127.0.0.1:<random>,
// with a config that keeps it off the host (no D-Bus, no dumps, no probes, every path in a temp
// dir). Tests feed its store with events, as the sources would, and read it over HTTP.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../agent/daemon';
import { silentLogger } from '../../agent/logger';
import type { Clock } from '../../agent/context';
import type { ModuleFactory } from '../../agent/module';
import type { Logger } from 'pino';
import type { NodeEvent } from '../../agent/state/types';
import { fingerprint, type Alert } from '../../agent/alerting/alert';
import { NodeStore } from '../../agent/state/store';
import { systemClock } from '../../agent/context';
import type { NodeState } from '../../agent/state/types';

export interface InProcessAgent {
  daemon: Daemon;
  /** http://127.0.0.1:<port> (or https:// with TLS). */
  url: string;
  dir: string;
  configFile: string;
  apply(ev: NodeEvent): void;
  stop(): Promise<void>;
}

export interface InProcessAgentOptions {
  node?: string;
  /** Extra top-level YAML appended to the base config (keys must not repeat the base's). */
  extraYaml?: string;
  /** Lines (indented two spaces) added to the keepalived: block. */
  keepalivedYaml?: string;
  /** Replaces the `web:` block (default: listen on 127.0.0.1:0). */
  webYaml?: string;
  /** Replaces the `alerting:` block's body (default: outbox and silences file in the agent's dir). */
  alertingYaml?: (dir: string) => string;
  modules?: ModuleFactory[];
  clock?: Clock;
  log?: Logger;
  /** `keepwatch run --web.config.file` and `--web.telemetry-path`. */
  webConfigFile?: string;
  telemetryPath?: string;
}

/** The base config: everything that would touch the host is off or points into dir. */
export function isolatedConfigYaml(dir: string, node = 'ka1', webYaml = 'web: {listen_address: "127.0.0.1:0"}', alertingYaml?: string, keepalivedYaml?: string): string {
  const off = '{enabled: false}';
  return [
    `node: ${node}`,
    webYaml,
    'keepalived:',
    '  dbus_enabled: false',
    `  config: ${dir}/keepalived.conf`,
    `  pid_file: ${dir}/keepalived.pid`,
    '  dumps: {method: "off"}',
    `  hook_socket: ${dir}/hook.sock`,
    `  hook_spool: ${dir}/spool`,
    `  state_dir: ${dir}/state`,
    ...(keepalivedYaml ? [keepalivedYaml] : []),
    'nginx:',
    // Port 1 on loopback: nothing listens, so an accidental probe fails fast and stays local.
    '  status_url: http://127.0.0.1:1/nginx_status',
    '  health_url: http://127.0.0.1:1/',
    '  health_via_vip: false',
    `  pid_file: ${dir}/nginx.pid`,
    `probes: {vip: ${off}, arp: ${off}, nginx_status: ${off}, nginx_health: ${off}, nginx_process: ${off}, nginx_config: ${off}}`,
    'alerting:',
    alertingYaml ?? `  outbox: {path: ${dir}/outbox}\n  silences_file: ${dir}/silences.json`,
    '',
  ].join('\n');
}

export async function startInProcessAgent(opts: InProcessAgentOptions = {}): Promise<InProcessAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'kw-agent-'));
  const configFile = join(dir, 'keepwatch.yml');
  writeFileSync(configFile, isolatedConfigYaml(dir, opts.node, opts.webYaml, opts.alertingYaml?.(dir), opts.keepalivedYaml) + (opts.extraYaml ?? ''));
  const daemon = new Daemon({ configFile, log: opts.log ?? silentLogger(), clock: opts.clock, modules: opts.modules, webConfigFile: opts.webConfigFile, telemetryPath: opts.telemetryPath, env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${dir}/no-bus.sock` } });
  try {
    await daemon.start();
  } catch (e) {
    await daemon.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const addr = daemon.http.address()!;
  const tls = Boolean(daemon.web.tls);
  return {
    daemon,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${addr.port}`,
    dir,
    configFile,
    apply: (ev) => void daemon.hubs.store.apply(ev),
    async stop() {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A healthy MASTER node with one VIP, as the sources and probes would report it at time `at`. */
export function healthyMasterEvents(at: number, opts: { iname?: string; vrid?: number; vip?: string; state?: 'MASTER' | 'BACKUP' } = {}): NodeEvent[] {
  const iname = opts.iname ?? 'VI_1';
  const vrid = opts.vrid ?? 51;
  const vip = opts.vip ?? '192.0.2.100';
  const state = opts.state ?? 'MASTER';
  return [
    { kind: 'keepalived', at, source: 'dbus', up: true, pid: 4242 },
    { kind: 'instance', at, source: 'dbus', key: { iname, intf: 'eth0', vrid, family: 'IPv4' }, vips: [vip], priority: 150, advertIntervalMs: 1000 },
    { kind: 'transition', at, source: 'dbus', iname, state, priority: 150 },
    { kind: 'vip', at, source: 'vip_probe', vips: [{ iname, vip, intf: state === 'MASTER' ? 'eth0' : null }] },
    { kind: 'nginx_status', at, source: 'nginx_probe', up: true, status: { active: 3, accepted: 120, handled: 120, requests: 480, reading: 0, writing: 1, waiting: 2 } },
    { kind: 'nginx_health', at, source: 'nginx_probe', target: 'local', up: true, statusCode: 200, durationMs: 2 },
    { kind: 'nginx_process', at, source: 'nginx_probe', up: true, pid: 777 },
    { kind: 'nginx_config', at, source: 'nginx_probe', valid: true, hash: 'abc123' },
  ];
}

/** Every kind of event at least once, so every metric family has series to show. */
export function everyKindOfEvent(at: number): NodeEvent[] {
  return [
    ...healthyMasterEvents(at),
    { kind: 'instance', at, source: 'keepalived_conf', key: { iname: 'VI_2', intf: 'eth0', vrid: 52, family: 'IPv4' }, vips: ['192.0.2.102'], state: 'BACKUP', priority: 100 },
    { kind: 'transition', at: at + 1, source: 'fifo', iname: 'VI_1', state: 'BACKUP', cause: 'received higher priority advert' },
    { kind: 'transition', at: at + 2, source: 'fifo', iname: 'VI_1', state: 'MASTER' },
    { kind: 'priority', at, source: 'fifo', iname: 'VI_1', priority: 150 },
    { kind: 'group', at, source: 'fifo', group: 'G1', state: 'MASTER' },
    { kind: 'evidence', at, source: 'log', iname: 'VI_1', type: 'MASTER_RX_LOWER_PRI', peer: '192.0.2.12', peerPriority: 100, ourPriority: 150 },
    { kind: 'counters', at, source: 'dumps', iname: 'VI_1', counters: { advertisements_received: 10, advertisements_sent: 20, become_master: 2, release_master: 1 } },
    { kind: 'script', at, source: 'dumps', name: 'chk_nginx', good: true, state: 0 },
    { kind: 'checker', at, source: 'fifo', target: '[192.0.2.100]:tcp:80', up: true },
    { kind: 'source', at, source: 'hook', up: true },
    { kind: 'parse_error', at, source: 'log', reason: 'unrecognised line', input: 'garbage' },
    { kind: 'vip_duplicate', at, source: 'arp_probe', vip: '192.0.2.100', duplicate: false },
    { kind: 'nginx_health', at, source: 'nginx_probe', target: 'vip:192.0.2.100', up: true, statusCode: 200, durationMs: 3 },
    { kind: 'probe_run', at, source: 'nginx_probe', probe: 'nginx_status', ok: true, durationMs: 1.5 },
    { kind: 'failover_outage', at, source: 'derived', outage: { id: `51@${at}`, vrid: '51', iname: 'VI_1', node: 'ka1', from: 'ka2', masterAt: at, loss: { at: at - 600, kind: 'keepalived_left' }, vipBoundAt: at + 5, firstGoodAt: at + 40, done: true } },
  ];
}

/** A peer node's state, as its agent would stream it: a store of its own fed with events. */
export function peerState(node: string, events: NodeEvent[]): NodeState {
  const store = new NodeStore(node, systemClock);
  for (const ev of events) store.apply(ev);
  return structuredClone(store.state);
}

/** Puts a peer into the agent's peer directory, as the peer client does when its stream delivers. */
export function setPeer(agent: InProcessAgent, state: NodeState, up = true, url = 'http://192.0.2.12:9723'): void {
  const dir = agent.daemon.hubs.shared.peers;
  const now = Date.now();
  dir.ensure(state.node, url, now);
  dir.setState(state.node, state, now, now);
  dir.setUp(state.node, up, now, up ? undefined : 'connect: ECONNREFUSED');
}

/** An alert as a rule would publish it. */
export function testAlert(name: string, severity: 'critical' | 'warning' | 'info', labels: Record<string, string> = {}, at = Date.now()): Alert {
  const l = { alertname: name, severity, node: 'ka1', ...labels };
  return {
    fingerprint: fingerprint(l),
    labels: l,
    annotations: { summary: `${name} on ${l.node}`, description: `${name}: what to check first` },
    status: 'firing',
    startsAt: at,
  };
}

/** Metric names a /metrics text declares: every `# TYPE` family, with the series names it implies. */
export function metricNamesFromExposition(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)/.exec(line);
    if (m) {
      const [, name, type] = m;
      names.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
      continue;
    }
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (s) names.add(s[1]);
  }
  return names;
}

/**
 * The metric names a real agent exports now: an in-process agent with every default module, fed
 * with every kind of event and a firing alert, scraped over HTTP. Families with no series still
 * print their TYPE line in prom-client, so this is the full list whatever the state.
 */
export async function exportedMetricNames(): Promise<Set<string>> {
  // With a check script, so that keepalived_check_script_status (exported only then) is there too.
  const agent = await startInProcessAgent({ keepalivedYaml: '  check_script: {command: [/bin/true]}' });
  try {
    for (const ev of everyKindOfEvent(Date.now())) agent.apply(ev);
    agent.daemon.hubs.alerts.publish(testAlert('SplitBrain', 'critical', { vrid: '51' }));
    const res = await fetch(`${agent.url}/metrics`);
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    return metricNamesFromExposition(await res.text());
  } finally {
    await agent.stop();
  }
}

/** Series Prometheus itself adds to every target. */
export const PROMETHEUS_SYNTHETIC = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'];
