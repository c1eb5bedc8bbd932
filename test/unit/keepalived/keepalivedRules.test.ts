// keepalived 2.2.7's own rules for reading keepalived.conf, one per test, each checked against the
// daemon with `keepalived -t` (the messages quoted are its own). The corpus test shows them on real
// files; these name the rule.
import { parseKeepalivedConfText } from '../../../agent/keepalived/confParser';

const parse = (body: string, head = '') => parseKeepalivedConfText(`${head}vrrp_instance V {\n interface eth0\n virtual_router_id 5\n${body}}\n`, 'k.conf');
const inst = (body: string, head = '') => parse(body, head).instances[0];

describe('defaults and corrections', () => {
  test('nopreempt with initial state MASTER is cleared ("nopreempt will not work with initial state MASTER - clearing")', () => {
    const c = parse(' state MASTER\n priority 100\n nopreempt\n');
    expect(c.instances[0]).toMatchObject({ state: 'MASTER', nopreempt: false });
    expect(c.issues.map((i) => i.severity)).toEqual(['warning']);
    expect(inst(' state BACKUP\n priority 100\n nopreempt\n')).toMatchObject({ state: 'BACKUP', nopreempt: true });
  });

  test('a MASTER without priority runs at 255, where nopreempt is cleared too; a BACKUP defaults to 100', () => {
    expect(inst(' state MASTER\n')).toMatchObject({ priority: 255 });
    expect(inst(' state BACKUP\n nopreempt\n')).toMatchObject({ priority: 100, nopreempt: true });
    expect(inst(' priority 255\n nopreempt\n')).toMatchObject({ state: 'BACKUP', nopreempt: false });
  });

  test('AH authentication below priority 255 cannot start as MASTER: BACKUP, and nopreempt then stays', () => {
    const auth = ' authentication {\n  auth_type AH\n  auth_pass x\n }\n';
    expect(inst(` state MASTER\n priority 100\n nopreempt\n${auth}`)).toMatchObject({ state: 'BACKUP', nopreempt: true, authType: 'AH' });
    expect(inst(` state MASTER\n${auth}`)).toMatchObject({ state: 'MASTER', priority: 255 });
  });

  test('state and auth_type compare case-sensitively; an unknown state is BACKUP; MASTER then BACKUP stays MASTER', () => {
    expect(inst(' state master\n')).toMatchObject({ state: 'BACKUP' });
    expect(inst(' authentication {\n  auth_type pass\n }\n').authType).toBeUndefined();
    expect(inst(' state MASTER\n state BACKUP\n')).toMatchObject({ state: 'MASTER' });
  });

  test('an invalid priority is 100; an invalid advert_int is ignored; VRRPv2 rounds a fractional one, VRRPv3 keeps it', () => {
    expect(inst(' state MASTER\n priority 0\n')).toMatchObject({ priority: 100 });
    expect(inst(' advert_int 0\n')).toMatchObject({ advertIntS: 1 });
    expect(inst(' advert_int 1.5\n')).toMatchObject({ advertIntS: 2, vrrpVersion: 2 });
    expect(inst(' advert_int 0.5\n', 'global_defs {\n vrrp_version 3\n}\n')).toMatchObject({ advertIntS: 0.5, vrrpVersion: 3 });
  });

  test('the first address decides the family; the other family is dropped with an error; IPv6 runs VRRPv3', () => {
    const c = parse(' virtual_ipaddress {\n  10.0.0.1/24\n  fd00::1/64\n  10.0.0.2/24\n }\n');
    expect(c.instances[0].vips.map((v) => v.address)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(c.instances[0].droppedVips.map((v) => v.address)).toEqual(['fd00::1']);
    expect(c.issues.map((i) => `${i.line} ${i.severity}`)).toEqual(['6 error']);
    expect(inst(' virtual_ipaddress {\n  fd00::1/64\n }\n')).toMatchObject({ family: 'IPv6', vrrpVersion: 3 });
  });

  test('an interface name over 15 characters is ignored; no interface and no peer, or no VRID, stops the VRRP process', () => {
    const c = parseKeepalivedConfText('vrrp_instance V {\n interface abcdefghijklmnop\n virtual_router_id 5\n}\nvrrp_instance W {\n interface eth0\n virtual_router_id 0\n}\n');
    expect(c.instances.map((i) => [i.interface, i.fails])).toEqual([
      [undefined, 'Unknown interface! (no interface and no unicast peer)'],
      ['eth0', 'the virtual router id must be set'],
    ]);
  });

  test('a keyword without its value is fatal: keepalived refuses the configuration', () => {
    const c = parse(' interface\n');
    expect(c.fatal).toMatchObject({ line: 4, message: 'keyword interface missing a parameter', code: 'missing-parameter' });
    expect(parse(' priority 100\n').fatal).toBeUndefined();
  });
});

describe('block structure as keepalived reads it', () => {
  test('track_interface without "{" takes the following lines up to the next "}" as interfaces: the authentication after it is lost', () => {
    const c = parse(' track_interface eth0\n authentication {\n  auth_type PASS\n  auth_pass s3cr3t\n }\n priority 50\n');
    const v = c.instances[0];
    expect(v.authType).toBeUndefined();
    expect(v.trackInterfaces).toEqual(['authentication', '{', 'auth_type', 'auth_pass']);
    expect(v.priority).toBe(50);
    expect(c.issues.filter((i) => i.code === 'block-without-brace').map((i) => i.line)).toEqual([5]);
    expect(JSON.stringify(c)).not.toContain('s3cr3t');
  });

  test('an unknown keyword is reported; its "{" is ignored and its "}" closes the enclosing block', () => {
    const c = parse(' foo {\n  bar\n }\n priority 50\n');
    expect(c.issues.filter((i) => i.code === 'unknown-keyword').map((i) => [i.line, i.keyword])).toEqual([
      [4, 'foo'],
      [5, 'bar'],
      [7, 'priority'],
      [8, '}'],
    ]);
    expect(c.instances[0].priority).toBe(100);
  });

  test('keywords are case-sensitive; checker blocks are skipped unchecked; global_defs is not checked', () => {
    const c = parseKeepalivedConfText(
      'global_defs {\n made_up_option 1\n}\nvirtual_server 10.0.0.1 80 {\n anything {\n  at all\n }\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 5\n State MASTER\n}\n',
    );
    expect(c.issues.map((i) => [i.line, i.keyword])).toEqual([[12, 'State']]);
    expect(c.instances[0].state).toBe('BACKUP');
  });

  test('a sync group without "group { }" has no members; its instance names are unknown keywords', () => {
    const c = parseKeepalivedConfText('vrrp_sync_group G {\n V\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 5\n}\n');
    expect(c.syncGroups.map((g) => [g.name, g.instances])).toEqual([['G', []]]);
    expect(c.instances[0].syncGroup).toBeUndefined();
    expect(c.issues.filter((i) => i.code === 'unknown-keyword').map((i) => i.keyword)).toEqual(['V']);
  });
});
