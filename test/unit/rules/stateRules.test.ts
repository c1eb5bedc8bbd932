import { healthyPair, SimCluster } from './harness';

describe('NginxDownOnVipHolder', () => {
  test('nginx dies on the master and keepalived keeps the VIP there (no track script)', () => {
    const c = healthyPair();
    c.nginx('ka1', false);
    c.advance(4900);
    expect(c.firing('NginxDownOnVipHolder')).toHaveLength(0);
    c.advance(200);
    const a = c.firing('NginxDownOnVipHolder');
    expect(a).toHaveLength(1);
    expect(a[0].labels).toEqual({ alertname: 'NginxDownOnVipHolder', severity: 'critical', vrid: '51', iname: 'VI_1', node: 'ka1', vip: '192.0.2.100' });
    expect(a[0].annotations.description).toMatch(/no track script/);
    // While the master does not serve, RedundancyLost is not the page.
    expect(c.firing('RedundancyLost')).toHaveLength(0);
    c.nginx('ka1', true);
    c.advance(100);
    expect(c.firing('NginxDownOnVipHolder')).toHaveLength(0);
  });

  test('a failure not yet confirmed (stub_status, one failed request) and a track script that moves the VIP in time: no page', () => {
    const c = healthyPair();
    c.nginx('ka1', false);
    c.advance(2000);
    c.transition('ka1', 'FAULT');
    c.transition('ka2', 'MASTER');
    c.advance(60_000);
    expect(c.events('NginxDownOnVipHolder')).toEqual([]);
  });

  test('nginx down on the backup is not this alert (it is RedundancyLost)', () => {
    const c = healthyPair();
    c.nginx('ka2', false);
    c.advance(6000);
    expect(c.names()).toEqual(['RedundancyLost']);
  });
});

describe('RedundancyLost', () => {
  test('hot standby: backup nginx down; cold standby: normal', () => {
    const hot = healthyPair();
    hot.nginx('ka2', false);
    hot.advance(6000);
    const r = hot.firing('RedundancyLost');
    expect(r).toHaveLength(1);
    expect(r[0].labels).toMatchObject({ vrid: '51', node: 'ka1', severity: 'warning' });
    expect(r[0].annotations.summary).toMatch(/ka2: nginx down/);
    const cold = healthyPair('ka1', { nginxStandby: 'cold' });
    cold.nginx('ka2', false);
    cold.advance(60_000);
    expect(cold.published).toEqual([]);
  });

  test('cold standby: a backup whose nginx config is invalid cannot take over', () => {
    const c = healthyPair('ka1', { nginxStandby: 'cold' });
    c.nginx('ka2', false);
    c.apply('ka2', { kind: 'nginx_config', valid: false, reason: 'unknown directive "sever"', source: 'nginx_probe' });
    c.advance(6000);
    expect(c.firing('RedundancyLost')[0].annotations.summary).toMatch(/nginx configuration invalid/);
  });

  test('backup keepalived down, FAULT, or its agent unreachable', () => {
    const a = healthyPair();
    a.apply('ka2', { kind: 'keepalived', up: false });
    a.advance(6000);
    expect(a.firing('RedundancyLost')[0].annotations.summary).toMatch(/keepalived not running/);
    const b = healthyPair();
    b.transition('ka2', 'FAULT');
    b.advance(6000);
    expect(b.firing('RedundancyLost')[0].annotations.summary).toMatch(/instance VI_1 is FAULT/);
  });

  test('only the backup\'s agent unreachable (killed; keepalived and nginx there unknown): RedundancyUnverified, never RedundancyLost', () => {
    const d = healthyPair();
    d.setPeerUp('ka2', false);
    d.advance(4900);
    expect(d.firing('RedundancyUnverified')).toHaveLength(0);
    d.advance(200);
    const [u, ...more] = d.firing('RedundancyUnverified');
    expect(more).toEqual([]);
    expect(u.labels).toEqual({ alertname: 'RedundancyUnverified', severity: 'warning', vrid: '51', iname: 'VI_1', node: 'ka1' });
    expect(u.annotations.summary).toBe('ka2\'s agent is unreachable: ka2\'s readiness to take over VRID 51 from ka1 is unverified');
    d.advance(60_000);
    expect(d.events('RedundancyLost')).toEqual([]);
    // Its agent is back and reports a healthy backup: resolved.
    d.setPeerUp('ka2', true);
    d.advance(100);
    expect(d.firing('RedundancyUnverified')).toEqual([]);
    expect(d.names()).toEqual([]);
  });

  test('a configured peer never reached, and one backup unable next to one unverified', () => {
    const c = new SimCluster(['ka1', 'ka2']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]); // ka2's agent never answered
    c.advance(5100);
    expect(c.firing('RedundancyUnverified')[0].annotations.summary).toBe('ka2\'s agent was never reached: ka2\'s readiness to take over VRID 51 from ka1 is unverified');
    const t = new SimCluster(['ka1', 'ka2', 'ka3']);
    t.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    t.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    t.boot('ka3', [{ state: 'BACKUP', priority: 50 }]);
    t.apply('ka2', { kind: 'keepalived', up: false, reason: 'stopped' });
    t.setPeerUp('ka3', false);
    t.advance(5100);
    expect(t.firing('RedundancyLost')).toEqual([]);
    const u = t.firing('RedundancyUnverified');
    expect(u).toHaveLength(1);
    expect(u[0].annotations.description).toMatch(/The other backups cannot take over: ka2: keepalived not running\./);
  });

  test('three nodes: one healthy backup left is enough', () => {
    const c = new SimCluster(['ka1', 'ka2', 'ka3']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    c.boot('ka3', [{ state: 'BACKUP', priority: 50 }]);
    c.transition('ka2', 'FAULT');
    c.advance(10_000);
    expect(c.firing('RedundancyLost')).toHaveLength(0);
    c.apply('ka3', { kind: 'keepalived', up: false });
    c.advance(6000);
    expect(c.firing('RedundancyLost')).toHaveLength(1);
  });
});

describe('NoMaster', () => {
  test('every node FAULT for longer than no_master_for', () => {
    const c = healthyPair();
    c.transition('ka1', 'FAULT');
    c.transition('ka2', 'FAULT');
    c.advance(4900);
    expect(c.firing('NoMaster')).toHaveLength(0);
    c.advance(200);
    expect(c.firing('NoMaster')).toHaveLength(1);
    expect(c.firing('NoMaster')[0].annotations.summary).toMatch(/ka1 FAULT, ka2 FAULT/);
    c.transition('ka2', 'MASTER');
    c.advance(100);
    expect(c.firing('NoMaster')).toHaveLength(0);
  });

  test('not when a node is BACKUP (it hears a master) or an unreachable node was last MASTER', () => {
    const c = healthyPair('ka2');
    c.setPeerUp('ka1', false);
    c.transition('ka2', 'FAULT');
    c.advance(30_000);
    expect(c.events('NoMaster')).toEqual([]);
    const d = new SimCluster(['ka1']);
    d.boot('ka1', [{ state: 'BACKUP', priority: 100 }]);
    d.advance(30_000);
    expect(d.published).toEqual([]);
  });

  test('three nodes, all stopped', () => {
    const c = new SimCluster(['ka1', 'ka2', 'ka3']);
    for (const [n, s] of [['ka1', 'MASTER'], ['ka2', 'BACKUP'], ['ka3', 'BACKUP']] as const) c.boot(n, [{ state: s, priority: 100 }]);
    c.advance(1000);
    for (const n of ['ka1', 'ka2', 'ka3']) c.apply(n, { kind: 'keepalived', up: false });
    c.advance(6000);
    expect(c.firing('NoMaster')).toHaveLength(1);
    expect(c.firing('KeepalivedDown').map((a) => a.labels.node).sort()).toEqual(['ka1', 'ka2', 'ka3']);
  });
});

describe('VipMismatch', () => {
  test('MASTER without its VIP', () => {
    const c = healthyPair();
    c.vipsFromState('ka1', { '192.0.2.100': false });
    c.advance(6000);
    const v = c.firing('VipMismatch');
    expect(v).toHaveLength(1);
    expect(v[0].labels).toMatchObject({ node: 'ka1', vip: '192.0.2.100', vrid: '51' });
    expect(v[0].annotations.summary).toMatch(/MASTER but VIP 192\.0\.2\.100 is not bound/);
  });

  test('keepalived killed with SIGKILL leaves the VIP behind: that is VipLeftBound (and no split brain), not VipMismatch', () => {
    const c = healthyPair('ka2');
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'process gone' }); // VIP stays bound on ka1
    c.advance(3600);
    c.transition('ka2', 'MASTER');
    c.advance(6000);
    expect(c.firing('VipMismatch')).toEqual([]);
    expect(c.firing('VipLeftBound').map((a) => a.labels.node)).toEqual(['ka1']);
    expect(c.firing('SplitBrain')).toEqual([]);
  });

  test('an instance INIT with the VIP bound', () => {
    const c = healthyPair();
    c.transition('ka2', 'INIT', 'VI_1', { moveVip: false });
    c.vipsFromState('ka2', { '192.0.2.100': true });
    c.advance(5100);
    expect(c.firing('VipMismatch')[0].annotations.summary).toBe('VIP mismatch on VRID 51: ka2\'s VI_1 is INIT but VIP 192.0.2.100 is bound there on eth0');
    expect(c.firing('VipLeftBound')).toEqual([]);
  });
});

describe('KeepalivedDown and InstanceFault', () => {
  test('keepalived down on a node fires after condition_for; back up resolves', () => {
    const c = healthyPair();
    c.apply('ka2', { kind: 'keepalived', up: false, reason: 'stopped' });
    c.advance(4900);
    expect(c.firing('KeepalivedDown')).toHaveLength(0);
    c.advance(200);
    expect(c.firing('KeepalivedDown').map((a) => a.labels)).toEqual([{ alertname: 'KeepalivedDown', severity: 'critical', node: 'ka2' }]);
    c.apply('ka2', { kind: 'keepalived', up: true });
    c.transition('ka2', 'BACKUP');
    c.advance(100);
    expect(c.firing('KeepalivedDown')).toHaveLength(0);
  });

  test('instance FAULT names the failing track script', () => {
    const c = healthyPair();
    c.apply('ka2', { kind: 'script', name: 'chk_nginx', good: false, source: 'dumps' });
    c.transition('ka2', 'FAULT');
    c.advance(6000);
    const f = c.firing('InstanceFault');
    expect(f).toHaveLength(1);
    expect(f[0].labels).toMatchObject({ node: 'ka2', vrid: '51', iname: 'VI_1' });
    expect(f[0].annotations.summary).toMatch(/chk_nginx/);
  });
});

describe('ConfigDrift', () => {
  test('advert interval, auth type, VIPs, nginx config hash; only after drift_for', () => {
    const c = new SimCluster(['ka1', 'ka2'], 'ka1', { driftForMs: 60_000 });
    c.boot('ka1', [{ state: 'MASTER', priority: 150, advertIntervalMs: 1000, authType: 'PASS' }]);
    c.boot('ka2', [{ state: 'BACKUP', priority: 100, advertIntervalMs: 2000, authType: 'AH', vips: ['192.0.2.100', '192.0.2.101'] }]);
    c.apply('ka1', { kind: 'nginx_config', valid: true, hash: 'a'.repeat(64), source: 'nginx_probe' });
    c.apply('ka2', { kind: 'nginx_config', valid: true, hash: 'b'.repeat(64), source: 'nginx_probe' });
    c.advance(59_000);
    expect(c.firing('ConfigDrift')).toHaveLength(0);
    c.advance(2000);
    const fields = c.firing('ConfigDrift').map((a) => a.labels.field).sort();
    expect(fields).toEqual(['advert_interval', 'auth_type', 'nginx_config', 'vips']);
    const text = JSON.stringify(c.firing('ConfigDrift'));
    expect(text).not.toMatch(/auth_pass/);
  });

  test('one instance under different VRIDs on the two nodes', () => {
    const c = new SimCluster(['ka1', 'ka2'], 'ka1', { driftForMs: 1000 });
    c.boot('ka1', [{ state: 'MASTER', priority: 150, vrid: 51 }]);
    c.boot('ka2', [{ state: 'MASTER', priority: 100, vrid: 52 }]);
    c.advance(3000);
    const d = c.firing('ConfigDrift').map((a) => a.annotations.summary).join('\n');
    expect(d).toMatch(/instance VI_1 has different VRIDs: VRID 51 on ka1; VRID 52 on ka2/);
    // Not one election, but one VIP bound on both nodes: still a split brain, under each VRID.
    expect(c.firing('SplitBrain').map((a) => a.labels.vrid).sort()).toEqual(['51', '52']);
    expect(c.firing('VipMismatch')).toHaveLength(0);
  });
});

describe('SyncGroupInconsistent', () => {
  test('instances of one group disagree on one node for longer than sync_group_for', () => {
    const c = new SimCluster(['ka1']);
    c.boot('ka1', [
      { iname: 'VI_EXT', vrid: 51, state: 'MASTER', priority: 150, vips: ['192.0.2.100'], syncGroup: 'G1' },
      { iname: 'VI_INT', vrid: 52, state: 'MASTER', priority: 150, vips: ['192.0.2.101'], syncGroup: 'G1' },
    ]);
    c.advance(5000);
    c.transition('ka1', 'BACKUP', 'VI_INT');
    c.advance(2000);
    expect(c.firing('SyncGroupInconsistent')).toHaveLength(0);
    c.advance(1100);
    const s = c.firing('SyncGroupInconsistent');
    expect(s.map((a) => a.labels)).toEqual([{ alertname: 'SyncGroupInconsistent', severity: 'critical', node: 'ka1', group: 'G1' }]);
  });
});

describe('NginxNotStartedOnTakeover (cold standby)', () => {
  test('the new master\'s nginx must serve within takeover_grace', () => {
    const c = healthyPair('ka1', { nginxStandby: 'cold', takeoverGraceMs: 10_000 });
    c.nginx('ka2', false); // cold: stopped on the backup, normal
    c.advance(10_000);
    c.transition('ka1', 'STOP');
    c.transition('ka2', 'MASTER');
    c.advance(9_000);
    expect(c.firing('NginxNotStartedOnTakeover')).toHaveLength(0);
    expect(c.firing('NginxDownOnVipHolder')).toHaveLength(0);
    c.advance(1_100);
    const a = c.firing('NginxNotStartedOnTakeover');
    expect(a).toHaveLength(1);
    expect(a[0].labels).toMatchObject({ node: 'ka2', vrid: '51', severity: 'critical' });
    expect(c.firing('NginxDownOnVipHolder')).toHaveLength(0); // one page for one problem
    c.nginx('ka2', true);
    c.advance(100);
    expect(c.firing('NginxNotStartedOnTakeover')).toHaveLength(0);
  });

  test('started in time: no alert; a later crash is NginxDownOnVipHolder', () => {
    const c = healthyPair('ka1', { nginxStandby: 'cold' });
    c.nginx('ka2', false);
    c.transition('ka1', 'STOP');
    c.transition('ka2', 'MASTER');
    c.advance(3000);
    c.nginx('ka2', true);
    c.advance(30_000);
    expect(c.events('NginxNotStartedOnTakeover')).toEqual([]);
    c.nginx('ka2', false);
    c.advance(6000);
    expect(c.firing('NginxDownOnVipHolder').map((a) => a.labels.node)).toEqual(['ka2']);
  });
});
