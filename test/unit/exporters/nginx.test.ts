// nginx_* from the nginx_status probe's results: the nginx exporter's names, types and help.
import { FakeClock } from '../../helpers/fakeClock';
import { NodeStore } from '../../../agent/state/store';
import { nginxCollector } from '../../../exporters/nginx';
import { exposition, samples } from './exposition';

describe('nginx collector: the nginx exporter\'s names, types and help', () => {
  test('up with numbers; down: nginx_up 0 and no connection series', async () => {
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    store.apply({ kind: 'nginx_status', source: 'nginx_probe', at: 1, up: true, status: { active: 291, accepted: 16630948, handled: 16630948, requests: 31070465, reading: 6, writing: 179, waiting: 106 } });
    const render = exposition(nginxCollector(store));
    expect(await render()).toBe(
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
    expect(samples(await render(), 'nginx_')).toEqual(['nginx_up 0']);
  });

  test('no probe result yet: nginx_up 0', async () => {
    const store = new NodeStore('n1', new FakeClock());
    expect(samples(await exposition(nginxCollector(store))(), 'nginx_')).toEqual(['nginx_up 0']);
  });
});

