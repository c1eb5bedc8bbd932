// The golden /metrics of the whole agent (node_exporter's collector/fixtures/e2e-output.txt): a
// real in-process agent with every default module, on a fake clock, brought into one fixed state
// (keepalived and its instances, the notify FIFO, VIPs and a duplicate, nginx, every probe's runs,
// failovers, two peers, the alerts the rules raise from that), scraped over HTTP, the exposition
// compared byte for byte. Timings, versions, the process's own figures are normalised.
// Regenerate with UPDATE_GOLDEN=1 after an intended change, and review the diff: names, labels
// and help of the keepalived_* and nginx_* families are a compatibility promise.
//
// A second check lists the metric families the agent's sources define (exporters/ and any agent
// or rules file that uses prom-client) and fails when one is missing from the golden: a new
// family is pinned here or the test says which.
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeEvent, NodeState } from '../../../agent/state/types';
import { VRRP_COUNTER_NAMES } from '../../../agent/state/types';
import { NodeStore } from '../../../agent/state/store';
import { FakeClock } from '../../helpers/fakeClock';
import { processCollector } from '../../../exporters/process';
import { startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';
import { waitFor } from '../../helpers/wait';

const ROOT = join(__dirname, '../../..');
const GOLDEN = join(ROOT, 'test/fixtures/golden/agent-metrics.prom');
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

/** What varies from run to run or machine to machine: collector timings, the rule evaluation's
 *  wall time (its count stays), the Node.js and keepwatch versions, the build's revision and
 *  branch, the process's own figures and the event loop's delay. */
function normalise(text: string): string {
  return text
    .replace(/^(keepwatch_scrape_collector_duration_seconds\{[^}]*\}) .*$/gm, '$1 <duration>')
    .replace(/^(keepwatch_rule_evaluation_duration_seconds_(?:bucket\{[^}]*\}|sum)) .*$/gm, '$1 <duration>')
    .replace(/nodejs="[^"]*"/g, 'nodejs="<nodejs>"')
    .replace(/(keepwatch_build_info\{version=)"[^"]*",revision="[^"]*",branch="[^"]*"/, '$1"<version>",revision="<revision>",branch="<branch>"')
    .replace(/^((?:process_\w+|keepwatch_event_loop_delay_seconds(?:_sum|_count)?)(?:\{[^}]*\})?) .*$/gm, '$1 <value>');
}

/** The other node's state as its agent streams it: ka2 also MASTER of VRID 51 (a split brain). */
function peerKa2(clock: FakeClock): NodeState {
  const store = new NodeStore('ka2', clock);
  const at = clock.now();
  store.apply({ kind: 'keepalived', up: true, pid: 5151, at, source: 'dbus' });
  store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100', '192.0.2.101'], state: 'MASTER', priority: 100, at, source: 'dbus' });
  return structuredClone(store.state);
}

/** The fixed state, in order; the clock moves between the steps. */
async function bringIntoState(agent: InProcessAgent, clock: FakeClock): Promise<void> {
  const at = () => clock.now();
  const apply = (...evs: NodeEvent[]) => evs.forEach((ev) => agent.apply(ev));
  const scrape = () => fetch(`${agent.url}/metrics`).then((r) => r.text());

  // The notify FIFO joins by a reload (the base config has none): three lines keepalived would
  // write, one of them garbage, read by the real FIFO source. So does a per-VIP check script, a
  // real one, failing for 192.0.2.101/24.
  const fifo = join(agent.dir, 'notify.fifo');
  const check = join(agent.dir, 'check-vip.sh');
  writeFileSync(check, '#!/bin/sh\n[ "$1" != "192.0.2.101/24" ]\n', { mode: 0o755 });
  writeFileSync(
    agent.configFile,
    readFileSync(agent.configFile, 'utf8').replace('keepalived:\n', `keepalived:\n  notify_fifo: ${fifo}\n  check_script: {command: [${check}]}\n`),
  );
  await agent.daemon.reload();
  appendFileSync(fifo, 'INSTANCE "VI_1" BACKUP 150\nGROUP "G1" BACKUP 0\nno such line\n');
  await waitFor(async () => /^keepwatch_fifo_lines_total 3$/m.test(await scrape()), { what: 'the FIFO lines read' });

  apply(
    { kind: 'keepalived', up: true, pid: 4242, at: at(), source: 'dbus' },
    { kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100', '192.0.2.101'], syncGroup: 'G1', state: 'BACKUP', priority: 150, at: at(), source: 'dbus' },
    {
      kind: 'instance',
      key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' },
      vips: ['192.0.2.100', '192.0.2.101'],
      vipEntries: [{ address: '192.0.2.100', prefix: 24, dev: 'eth0' }, { address: '192.0.2.101', prefix: 24, dev: 'eth1' }],
      excludedVips: [{ address: '198.51.100.7', prefix: 32, dev: 'eth0' }],
      at: at(),
      source: 'dumps',
    },
    { kind: 'instance', key: { iname: 'VI_6', intf: 'eth0.100', vrid: 52, family: 'IPv6' }, vips: ['2001:db8::100'], state: 'BACKUP', at: at(), source: 'dumps' },
    { kind: 'instance', key: { iname: 'VI_3', intf: 'eth1', vrid: 53, family: 'IPv4' }, vips: ['192.0.2.102'], syncGroup: 'G2', at: at(), source: 'keepalived_conf' },
  );
  clock.advance(3_500);
  apply(
    { kind: 'transition', iname: 'VI_1', state: 'MASTER', at: at(), source: 'dbus' },
    { kind: 'transition', iname: 'VI_1', state: 'MASTER', at: at(), source: 'fifo' },
    { kind: 'group', group: 'G1', state: 'MASTER', at: at(), source: 'fifo' },
    { kind: 'counters', iname: 'VI_1', counters: { advertisements_received: 12, advertisements_sent: 40, become_master: 1, release_master: 0, gratuitous_arp_delay: 5 }, at: at(), source: 'dumps' },
    { kind: 'script', name: 'chk_nginx', good: true, state: 0, at: at(), source: 'dumps' },
    { kind: 'source', up: false, error: 'no such file', at: at(), source: 'log' },
    { kind: 'vip', at: at(), source: 'vip_probe', vips: [
      { iname: 'VI_1', vip: '192.0.2.100', intf: 'eth0', prefix: 24 },
      { iname: 'VI_1', vip: '192.0.2.101', intf: 'eth0', prefix: 24 },
      { iname: 'VI_6', vip: '2001:db8::100', intf: null },
      { iname: 'VI_3', vip: '192.0.2.102', intf: null },
    ] },
  );
  clock.advance(1_000);
  apply(
    { kind: 'vip_duplicate', at: at(), source: 'arp_probe', vip: '192.0.2.100', duplicate: false },
    { kind: 'vip_duplicate', at: at(), source: 'arp_probe', vip: '192.0.2.101', duplicate: true, mac: 'a2:91:7f:ee:ba:bb' },
    { kind: 'nginx_status', at: at(), source: 'nginx_probe', up: true, status: { active: 291, accepted: 16630948, handled: 16630948, requests: 31070465, reading: 6, writing: 179, waiting: 106 } },
    { kind: 'nginx_health', at: at(), source: 'nginx_probe', target: 'local', up: true, statusCode: 200, durationMs: 2 },
    { kind: 'nginx_health', at: at(), source: 'nginx_probe', target: 'vip:192.0.2.100', up: true, statusCode: 200, durationMs: 3 },
    { kind: 'nginx_health', at: at(), source: 'nginx_probe', target: 'vip:192.0.2.101', up: false, statusCode: 502, durationMs: 40, reason: 'answered 502' },
    { kind: 'nginx_process', at: at(), source: 'nginx_probe', up: true, pid: 777 },
    { kind: 'nginx_config', at: at(), source: 'nginx_probe', valid: true, hash: 'ab'.repeat(32) },
    { kind: 'probe_run', at: at(), source: 'vip_probe', probe: 'vip', ok: true, durationMs: 0.2, cpuMs: 0.1, overlapSkips: 0 },
    { kind: 'probe_run', at: at(), source: 'arp_probe', probe: 'arp', ok: true, durationMs: 2004, cpuMs: 5, overlapSkips: 2 },
    { kind: 'probe_run', at: at(), source: 'nginx_probe', probe: 'nginx_status', ok: true, durationMs: 1.5, cpuMs: 0.4, overlapSkips: 0 },
    { kind: 'probe_run', at: at(), source: 'nginx_probe', probe: 'nginx_health', ok: false, durationMs: 40, cpuMs: 0.6, overlapSkips: 0, reason: 'vip:192.0.2.101: answered 502' },
    { kind: 'probe_run', at: at(), source: 'nginx_probe', probe: 'nginx_process', ok: true, durationMs: 0.1, cpuMs: 0.05, overlapSkips: 0 },
    { kind: 'probe_run', at: at(), source: 'nginx_probe', probe: 'nginx_config', ok: true, durationMs: 120, cpuMs: 8, overlapSkips: 0 },
  );
  // Takeovers measured on this node: a SIGTERM'd master (0.61 s / 0.7 s) in two steps, the
  // second repeated (observed once per stage); a kill -9'd one on the IPv6 VRID; one with no
  // request through the VIP.
  const t = at();
  const outage = (id: string, vrid: string, vipBoundAt?: number, firstGoodAt?: number): NodeEvent => ({
    kind: 'failover_outage',
    source: 'derived',
    at: at(),
    outage: { id, vrid, iname: 'VI_1', node: 'ka1', from: 'ka2', masterAt: t + 600, loss: { at: t, kind: 'keepalived_left' }, vipBoundAt, firstGoodAt, done: firstGoodAt !== undefined },
  });
  apply(
    outage('51@1', '51', t + 610),
    outage('51@1', '51', t + 610, t + 700),
    outage('51@1', '51', t + 610, t + 700),
    outage('51/IPv6@2', '51/IPv6', t + 3609, t + 4210),
    outage('52@3', '52', t + 12_000),
  );

  // The peers: ka2 streams (and is MASTER of VRID 51 too), ka3 was never reached.
  const peers = agent.daemon.hubs.shared.peers;
  peers.ensure('ka2', 'http://192.0.2.12:9723', at());
  peers.setUp('ka2', true, at());
  peers.setState('ka2', peerKa2(clock), at() - 25, at());
  peers.ensure('ka3', 'http://192.0.2.13:9723', at());
  peers.countError('ka3', 'connect', 'ECONNREFUSED');
  peers.countError('ka3', 'connect', 'ECONNREFUSED');
  peers.countError('ka3', 'timeout', 'no answer in 5 s');
  peers.reject('ka3', 'node_mismatch', 'peer ka3 reports node "aaa" but is configured as node "ka3"', at());

  // The rules evaluate what they see; the alerts wait for their group (an hour: nothing is sent).
  clock.advance(10_000);
}

const alertingYaml = (dir: string) =>
  [
    `  outbox: {path: ${dir}/outbox}`,
    `  silences_file: ${dir}/silences.json`,
    '  route: {receiver: ops, group_wait: 1h, group_interval: 1h}',
    '  receivers:',
    '    - {name: ops, type: webhook, url: "http://127.0.0.1:1/hook"}',
  ].join('\n');

test('the whole agent: one golden /metrics', async () => {
  const clock = new FakeClock(T0);
  const agent = await startInProcessAgent({ clock, alertingYaml });
  try {
    await bringIntoState(agent, clock);
    const res = await fetch(`${agent.url}/metrics`);
    expect(res.status).toBe(200);
    const text = normalise(await res.text());
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  } finally {
    await agent.stop();
  }
});

// ---------------------------------------------------------------- every family the sources define

const METRIC_NAME = /['"`]((?:keepwatch|keepalived|nginx)_[a-z0-9_${}]+)['"`]/g;

/** Files that define metrics: every exporter, and any other agent or rules file using prom-client. */
function metricSourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (rel.endsWith('.ts') && (dir === 'exporters' || readFileSync(join(ROOT, rel), 'utf8').includes("from 'prom-client'"))) files.push(rel);
    }
  };
  for (const d of ['exporters', 'agent', 'rules']) walk(d);
  return files;
}

/** Metric families named in those files: quoted names, the one template expanded the way its
 *  exporter expands it. Collector names (`collector` label values) look alike and are left out. */
function familiesInSources(collectorNames: Set<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of metricSourceFiles()) {
    for (const [, name] of readFileSync(join(ROOT, file), 'utf8').matchAll(METRIC_NAME)) {
      if (collectorNames.has(name)) continue;
      if (name === 'keepalived_${n}_total') for (const n of VRRP_COUNTER_NAMES) out.set(`keepalived_${n}_total`, file);
      else if (name.includes('${')) throw new Error(`${file}: metric name template ${name}: expand it in familiesInSources`);
      else out.set(name, file);
    }
  }
  return out;
}

test('the golden pins every metric family the agent defines, and every collector', () => {
  const golden = readFileSync(GOLDEN, 'utf8');
  const inGolden = new Set([...golden.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  const collectors = new Set([...golden.matchAll(/^keepwatch_scrape_collector_success\{collector="([^"]+)"\}/gm)].map((m) => m[1]));
  const defined = familiesInSources(collectors);
  // process_* are prom-client's (collectDefaultMetrics), named in no source of ours.
  for (const m of processCollector(new FakeClock()).metrics) defined.set((m as unknown as { name: string }).name, 'exporters/process.ts');
  const missing = [...defined].filter(([name]) => !inGolden.has(name)).map(([name, file]) => `${name} (${file})`);
  expect(missing).toEqual([]);
  // And nothing in the golden that no source defines (a stale golden).
  expect([...inGolden].filter((n) => !defined.has(n))).toEqual([]);
  // Every collector factory of exporters/ has its collector in the scrape.
  const factories = readdirSync(join(ROOT, 'exporters')).filter((f) => /export function \w+Collector\(/.test(readFileSync(join(ROOT, 'exporters', f), 'utf8')));
  expect(collectors.size).toBe(factories.length);
  expect(inGolden.size).toBe(defined.size);
});
