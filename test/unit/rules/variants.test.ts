// Rules on the deployments that are not the textbook pair (issue 9), on a fake clock: cold
// standby (a stopped nginx on the backup is normal; what would make a takeover fail is not), and
// whose alert is whose (scope) for "one pager per alert".
import { healthyPair, SimCluster } from './harness';

describe('cold standby', () => {
  test('nginx stopped on the backup: no alert at all, for as long as it lasts', () => {
    const c = healthyPair('ka1', { nginxStandby: 'cold' });
    c.apply('ka2', { kind: 'nginx_process', up: false, reason: 'no pid file', source: 'nginx_probe' });
    c.nginx('ka2', false);
    c.apply('ka2', { kind: 'nginx_config', valid: true, hash: 'h1', source: 'nginx_probe' });
    c.apply('ka1', { kind: 'nginx_config', valid: true, hash: 'h1', source: 'nginx_probe' });
    c.apply('ka2', { kind: 'nginx_start_hook', path: '/usr/local/sbin/start-nginx', ok: true, referenced: true, source: 'nginx_probe' });
    c.advance(120_000, 1000);
    expect(c.published).toEqual([]);
  });

  test('the same in hot standby is RedundancyLost', () => {
    const c = healthyPair('ka1', { nginxStandby: 'hot' });
    c.nginx('ka2', false);
    c.advance(6000);
    expect(c.names()).toEqual(['RedundancyLost']);
  });

  test('start hook missing on the backup: NginxStartHookMissing (warning, that node) after condition_for; fixed: resolved', () => {
    const c = healthyPair('ka1', { nginxStandby: 'cold' });
    c.nginx('ka2', false);
    c.apply('ka2', { kind: 'nginx_start_hook', path: '/usr/local/sbin/start-nginx', ok: false, reason: '/usr/local/sbin/start-nginx is not executable (mode 0644)', referenced: false, source: 'nginx_probe' });
    c.advance(4900);
    expect(c.published).toEqual([]);
    c.advance(200);
    const [a] = c.firing();
    expect(c.names()).toEqual(['NginxStartHookMissing']);
    expect(a.labels).toEqual({ alertname: 'NginxStartHookMissing', severity: 'warning', node: 'ka2' });
    expect(a.scope).toBe('node');
    expect(a.annotations.summary).toBe('The nginx start hook on ka2 would fail a takeover: /usr/local/sbin/start-nginx is not executable (mode 0644)');
    expect(a.annotations.description).toMatch(/does not name it in any notify/);
    c.apply('ka2', { kind: 'nginx_start_hook', path: '/usr/local/sbin/start-nginx', ok: true, referenced: true, source: 'nginx_probe' });
    c.advance(100);
    expect(c.firing()).toEqual([]);
    expect(c.events('NginxStartHookMissing', 'resolved')).toHaveLength(1);
  });

  test('a takeover whose hook did not start nginx: NginxNotStartedOnTakeover besides the takeover\'s own Failover and PriorityChanged', () => {
    const c = healthyPair('ka1', { nginxStandby: 'cold', takeoverGraceMs: 4000 });
    c.nginx('ka2', false);
    c.advance(10_000);
    // ka1 priority drops (a track weight), ka2 takes over; ka1 keeps serving as a BACKUP.
    c.apply('ka1', { kind: 'priority', iname: 'VI_1', priority: 50 });
    c.transition('ka2', 'MASTER');
    c.transition('ka1', 'BACKUP');
    c.advance(4100);
    expect(c.names()).toEqual(['Failover', 'NginxNotStartedOnTakeover', 'PriorityChanged']);
    expect(c.firing('Failover')[0].annotations.cause).toMatch(/priority change: ka1's priority fell to 50/);
  });
});

describe('scope: whose alert it is', () => {
  test('cluster conditions are cluster-scoped, node conditions node-scoped', () => {
    const c = new SimCluster(['ka1', 'ka2', 'ka3']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    c.boot('ka3', [{ state: 'BACKUP', priority: 50 }]);
    c.advance(10_000);
    c.transition('ka3', 'MASTER');
    c.apply('ka2', { kind: 'keepalived', up: false, reason: 'stopped' });
    c.advance(6000);
    const scopes = Object.fromEntries(c.firing().map((a) => [a.labels.alertname, a.scope]));
    expect(scopes).toEqual({ SplitBrain: 'cluster', KeepalivedDown: 'node' });
    expect(c.firing('SplitBrain')[0].annotations.nodes).toBe('ka1,ka3');
    // The resolved notice keeps the scope (its delivery follows the same owner).
    c.transition('ka3', 'BACKUP');
    c.advance(200);
    expect(c.events('SplitBrain', 'resolved').map((a) => a.scope)).toEqual(['cluster']);
  });
});

describe('scope of a failover', () => {
  test('paged by the new master\'s agent (node-scoped, labels.node = the new master)', () => {
    const c = healthyPair();
    c.transition('ka1', 'STOP');
    c.transition('ka2', 'MASTER');
    c.advance(100);
    const [f] = c.firing('Failover');
    expect(f.labels.node).toBe('ka2');
    expect(f.scope).toBe('node');
  });
});

describe('SplitBrain from duplicate-address probing, on a pair that preempts back and forth', () => {
  test('an answer heard by a probe that straddled a VIP move is not a second holder; one heard 3 s after taking the VIP, with the peer out of sight, is', () => {
    const c = healthyPair();
    // ka1 took the VIP back 1 s ago; its arping (up to 2 s) still heard ka2 answer before ka2 let go.
    c.transition('ka2', 'BACKUP');
    c.transition('ka1', 'BACKUP');
    c.advance(500);
    c.transition('ka1', 'MASTER');
    c.advance(1000);
    c.apply('ka1', { kind: 'vip_duplicate', vip: '192.0.2.100', duplicate: true, mac: '02:00:00:00:00:02', source: 'arp_probe' });
    c.advance(5000);
    expect(c.events('SplitBrain')).toEqual([]);
    // The next probe, well after the move, still hears another holder while ka2 is out of sight:
    // the other side of a split brain.
    c.setPeerUp('ka2', false);
    c.apply('ka1', { kind: 'vip_duplicate', vip: '192.0.2.100', duplicate: true, mac: '02:00:00:00:00:02', source: 'arp_probe' });
    c.advance(1500);
    expect(c.firing('SplitBrain')).toHaveLength(1);
  });
});
