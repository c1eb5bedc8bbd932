// keepwatch_nginx_{health,process,config}_* from the nginx probes' results.
import { FakeClock } from '../../helpers/fakeClock';
import { NodeStore } from '../../../agent/state/store';
import { nginxHealthCollector } from '../../../exporters/nginxHealth';
import { exposition, samples } from './exposition';

describe('nginx health collector', () => {
  test('per target up/status, a histogram observing each result once, process, config validity and hash', async () => {
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    const c = nginxHealthCollector(store);
    const h = (target: string, up: boolean, statusCode: number | undefined, durationMs: number) =>
      store.apply({ kind: 'nginx_health', source: 'nginx_probe', at: clock.now(), target, up, statusCode, durationMs });
    h('local', true, 200, 3); // before the first scrape: observed all the same
    const render = exposition(c);
    store.apply({ kind: 'vip', source: 'vip_probe', at: 1, vips: [{ iname: 'VI_1', vip: '192.0.2.100', intf: 'eth0' }] });
    h('local', true, 200, 30);
    h('vip:192.0.2.100', false, undefined, 2000);
    h('vip:192.0.2.200', true, 200, 1); // a VIP not held here: not exported
    store.apply({ kind: 'nginx_process', source: 'nginx_probe', at: 1, up: true, pid: 10 });
    store.apply({ kind: 'nginx_config', source: 'nginx_probe', at: 1, valid: true, hash: 'ab12' });
    const text = await render();
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
    await render();
    c.close?.();
    h('local', true, 200, 1);
    expect(samples(await render(), 'keepwatch_nginx_health_duration_seconds_count{target="local"}')).toEqual(['keepwatch_nginx_health_duration_seconds_count{target="local"} 2']);
  });
});

test('nginx health collector: no process/config sample before the probes said anything', async () => {
  const store = new NodeStore('n1', new FakeClock());
  const c = nginxHealthCollector(store);
  const text = await exposition(c)();
  expect(samples(text, 'keepwatch_nginx_')).toEqual([]);
  c.close?.();
});

