import { Registry } from 'prom-client';
import { FakeClock } from '../../helpers/fakeClock';
import { NodeStore } from '../../../agent/state/store';
import { nginxCollector } from '../../../exporters/nginx';
import { vipCollector } from '../../../exporters/vip';
import { nginxHealthCollector } from '../../../exporters/nginxHealth';
import { probesCollector } from '../../../exporters/probes';
import type { Collector } from '../../../exporters/collector';

async function scrape(collectors: Collector[]): Promise<string> {
  const registry = new Registry();
  for (const c of collectors) c.register(registry);
  for (const c of collectors) c.update();
  return registry.metrics();
}

/** The sample lines only (no HELP/TYPE), sorted. */
const samples = (text: string, prefix: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .sort();

describe('nginx collector: the nginx exporter\'s names, types and help', () => {
  test('up with numbers; down: nginx_up 0 and no connection series', async () => {
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    store.apply({ kind: 'nginx_status', source: 'nginx_probe', at: 1, up: true, status: { active: 291, accepted: 16630948, handled: 16630948, requests: 31070465, reading: 6, writing: 179, waiting: 106 } });
    const c = nginxCollector(store);
    const registry = new Registry();
    c.register(registry);
    c.update();
    expect(await registry.metrics()).toBe(
      [
        '# HELP nginx_up Status of the last metric scrape',
        '# TYPE nginx_up gauge',
        'nginx_up 1',
        '',
        '# HELP nginx_connections_active Active client connections',
        '# TYPE nginx_connections_active gauge',
        'nginx_connections_active 291',
        '',
        '# HELP nginx_connections_accepted Accepted client connections',
        '# TYPE nginx_connections_accepted counter',
        'nginx_connections_accepted 16630948',
        '',
        '# HELP nginx_connections_handled Handled client connections',
        '# TYPE nginx_connections_handled counter',
        'nginx_connections_handled 16630948',
        '',
        '# HELP nginx_connections_reading Connections where NGINX is reading the request header',
        '# TYPE nginx_connections_reading gauge',
        'nginx_connections_reading 6',
        '',
        '# HELP nginx_connections_writing Connections where NGINX is writing the response back to the client',
        '# TYPE nginx_connections_writing gauge',
        'nginx_connections_writing 179',
        '',
        '# HELP nginx_connections_waiting Idle client connections',
        '# TYPE nginx_connections_waiting gauge',
        'nginx_connections_waiting 106',
        '',
        '# HELP nginx_http_requests_total Total http requests',
        '# TYPE nginx_http_requests_total counter',
        'nginx_http_requests_total 31070465',
        '',
      ].join('\n'),
    );
    store.apply({ kind: 'nginx_status', source: 'nginx_probe', at: 2, up: false, reason: 'connect ECONNREFUSED' });
    c.update();
    expect(samples(await registry.metrics(), 'nginx_')).toEqual(['nginx_up 0']);
  });

  test('no probe result yet: nginx_up 0', async () => {
    const store = new NodeStore('n1', new FakeClock());
    expect(samples(await scrape([nginxCollector(store)]), 'nginx_')).toEqual(['nginx_up 0']);
  });
});

describe('vip collector', () => {
  test('bound 0/1 with the interface, changes, duplicate only where known', async () => {
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    store.apply({ kind: 'instance', source: 'keepalived_conf', at: 1, key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100', '192.0.2.101'] });
    const vips = (a: string | null, b: string | null, c: string | null) => ({
      kind: 'vip' as const,
      source: 'vip_probe' as const,
      at: clock.now(),
      vips: [
        { iname: 'VI_1', vip: '192.0.2.100', intf: a },
        { iname: 'VI_1', vip: '192.0.2.101', intf: b },
        { iname: 'VI_6', vip: '2001:db8::100', intf: c },
      ],
    });
    store.apply(vips('eth0', null, null));
    clock.advance(1000);
    store.apply({ kind: 'vip_duplicate', source: 'arp_probe', at: clock.now(), vip: '192.0.2.100', duplicate: true, mac: 'a2:91:7f:ee:ba:bb' });
    const c = vipCollector(store);
    const registry = new Registry();
    c.register(registry);
    c.update();
    let text = await registry.metrics();
    expect(samples(text, 'keepwatch_vip_')).toEqual([
      'keepwatch_vip_bound{iname="VI_1",vip="192.0.2.100",intf="eth0"} 1',
      'keepwatch_vip_bound{iname="VI_1",vip="192.0.2.101",intf="eth0"} 0',
      'keepwatch_vip_bound{iname="VI_6",vip="2001:db8::100",intf=""} 0',
      'keepwatch_vip_changes_total 0',
      'keepwatch_vip_duplicate{vip="192.0.2.100"} 1',
      'keepwatch_vip_duplicate{vip="192.0.2.101"} 0',
    ]);
    // The VIP moves away and comes back: the old duplicate result no longer counts until probed again.
    clock.advance(1000);
    store.apply(vips(null, null, 'eth1'));
    clock.advance(1000);
    store.apply(vips('eth0', null, 'eth1'));
    c.update();
    text = await registry.metrics();
    expect(samples(text, 'keepwatch_vip_changes_total')).toEqual(['keepwatch_vip_changes_total 3']);
    expect(samples(text, 'keepwatch_vip_duplicate')).toEqual(['keepwatch_vip_duplicate{vip="192.0.2.101"} 0']);
    // Probing that could not run: no series (unknown is not 0).
    store.apply({ kind: 'vip_duplicate', source: 'arp_probe', at: clock.now(), vip: '192.0.2.100', duplicate: false, error: 'arping has no permission to send raw packets: it needs CAP_NET_RAW' });
    c.update();
    expect(samples(await registry.metrics(), 'keepwatch_vip_duplicate')).toEqual(['keepwatch_vip_duplicate{vip="192.0.2.101"} 0']);
    store.apply({ kind: 'vip_duplicate', source: 'arp_probe', at: clock.now(), vip: '192.0.2.100', duplicate: false });
    c.update();
    expect(samples(await registry.metrics(), 'keepwatch_vip_duplicate')).toEqual(['keepwatch_vip_duplicate{vip="192.0.2.100"} 0', 'keepwatch_vip_duplicate{vip="192.0.2.101"} 0']);
  });
});

describe('nginx health collector', () => {
  test('per target up/status, a histogram observing each result once, process, config validity and hash', async () => {
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    const c = nginxHealthCollector(store);
    const h = (target: string, up: boolean, statusCode: number | undefined, durationMs: number) =>
      store.apply({ kind: 'nginx_health', source: 'nginx_probe', at: clock.now(), target, up, statusCode, durationMs });
    h('local', true, 200, 3); // before register: kept and observed once registered
    const registry = new Registry();
    c.register(registry);
    store.apply({ kind: 'vip', source: 'vip_probe', at: 1, vips: [{ iname: 'VI_1', vip: '192.0.2.100', intf: 'eth0' }] });
    h('local', true, 200, 30);
    h('vip:192.0.2.100', false, undefined, 2000);
    h('vip:192.0.2.200', true, 200, 1); // a VIP not held here: not exported
    store.apply({ kind: 'nginx_process', source: 'nginx_probe', at: 1, up: true, pid: 10 });
    store.apply({ kind: 'nginx_config', source: 'nginx_probe', at: 1, valid: true, hash: 'ab12' });
    c.update();
    const text = await registry.metrics();
    expect(samples(text, 'keepwatch_nginx_health_up')).toEqual(['keepwatch_nginx_health_up{target="local"} 1', 'keepwatch_nginx_health_up{target="vip:192.0.2.100"} 0']);
    expect(samples(text, 'keepwatch_nginx_health_status_code')).toEqual(['keepwatch_nginx_health_status_code{target="local"} 200', 'keepwatch_nginx_health_status_code{target="vip:192.0.2.100"} 0']);
    expect(samples(text, 'keepwatch_nginx_health_duration_seconds_count')).toEqual([
      'keepwatch_nginx_health_duration_seconds_count{target="local"} 2',
      'keepwatch_nginx_health_duration_seconds_count{target="vip:192.0.2.100"} 1',
      'keepwatch_nginx_health_duration_seconds_count{target="vip:192.0.2.200"} 1',
    ]);
    expect(samples(text, 'keepwatch_nginx_health_duration_seconds_sum{target="local"}')).toEqual(['keepwatch_nginx_health_duration_seconds_sum{target="local"} 0.033']);
    expect(samples(text, 'keepwatch_nginx_health_duration_seconds_bucket{le="0.005",target="local"}')).toEqual(['keepwatch_nginx_health_duration_seconds_bucket{le="0.005",target="local"} 1']);
    expect(samples(text, 'keepwatch_nginx_process_up')).toEqual(['keepwatch_nginx_process_up 1']);
    expect(samples(text, 'keepwatch_nginx_config_')).toEqual(['keepwatch_nginx_config_info{hash="ab12"} 1', 'keepwatch_nginx_config_valid 1']);
    // Scraping again observes nothing new; after close() nothing more is observed.
    c.update();
    c.close();
    h('local', true, 200, 1);
    expect(samples(await registry.metrics(), 'keepwatch_nginx_health_duration_seconds_count{target="local"}')).toEqual(['keepwatch_nginx_health_duration_seconds_count{target="local"} 2']);
  });
});

test('nginx health collector: no process/config sample before the probes said anything', async () => {
  const store = new NodeStore('n1', new FakeClock());
  const c = nginxHealthCollector(store);
  const text = await scrape([c]);
  expect(samples(text, 'keepwatch_nginx_')).toEqual([]);
  c.close();
});

describe('probes collector', () => {
  test('duration histogram, success, CPU and skips from probe_run events', async () => {
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    const c = probesCollector(store);
    const registry = new Registry();
    c.register(registry);
    const run = (probe: string, ok: boolean, durationMs: number, cpuMs: number, overlapSkips: number) =>
      store.apply({ kind: 'probe_run', source: 'nginx_probe', at: clock.now(), probe, ok, durationMs, cpuMs, overlapSkips, reason: ok ? undefined : 'x' });
    run('nginx_status', true, 2, 0.3, 0);
    run('nginx_status', false, 4, 0.2, 1);
    run('vip', true, 0.1, 0.05, 0);
    c.update();
    const text = await registry.metrics();
    expect(samples(text, 'keepwatch_probe_success')).toEqual(['keepwatch_probe_success{probe="nginx_status"} 0', 'keepwatch_probe_success{probe="vip"} 1']);
    expect(samples(text, 'keepwatch_probe_duration_seconds_count')).toEqual(['keepwatch_probe_duration_seconds_count{probe="nginx_status"} 2', 'keepwatch_probe_duration_seconds_count{probe="vip"} 1']);
    expect(samples(text, 'keepwatch_probe_cpu_seconds_total')).toEqual(['keepwatch_probe_cpu_seconds_total{probe="nginx_status"} 0.0005', 'keepwatch_probe_cpu_seconds_total{probe="vip"} 0.00005']);
    expect(samples(text, 'keepwatch_probe_skipped_total')).toEqual(['keepwatch_probe_skipped_total{probe="nginx_status"} 1', 'keepwatch_probe_skipped_total{probe="vip"} 0']);
    expect(samples(text, 'keepwatch_probe_last_run_timestamp_seconds{probe="vip"}')).toEqual([`keepwatch_probe_last_run_timestamp_seconds{probe="vip"} ${clock.now() / 1000}`]);
    c.close();
  });
});
