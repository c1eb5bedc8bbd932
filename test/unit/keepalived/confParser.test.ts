import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import fc from 'fast-check';
import { parseKeepalivedConf, parseKeepalivedConfText } from '../../../agent/keepalived/confParser';
import { expandBraces, segmentRegExp, globFiles } from '../../../agent/keepalived/confGlob';
import { instanceEventsFromConf, loadKeepalivedConf } from '../../../agent/keepalived/confSource';
import type { KeepalivedConf } from '../../../agent/keepalived/confTypes';
import { normalizeIp } from '../../../agent/probes/ipAddress';

const FIX = path.join(__dirname, '../../fixtures/keepalived-conf');
const issuesAt = (c: KeepalivedConf) => c.issues.map((i) => `${path.basename(i.file)}:${i.line} ${i.severity}: ${i.message}`);

describe('keepalived.conf parser: fixtures (each checked with keepalived -t)', () => {
  test('include with globs relative to the including file, brace alternatives, hidden files skipped', () => {
    const c = parseKeepalivedConf(path.join(FIX, 'includes/keepalived.conf'));
    expect(c.files.map((f) => path.relative(path.join(FIX, 'includes'), f))).toEqual([
      'keepalived.conf',
      'scripts/chk_haproxy.conf',
      'scripts/chk_nginx.conf',
      'conf.d/10-vi1.conf',
      'conf.d/20-vi6.conf',
      'conf.d/30-group.conf',
    ]);
    expect(c.issues).toEqual([]);
    expect(c.globalDefs).toEqual({
      routerId: 'ka1',
      enableDbus: true,
      enableScriptSecurity: true,
      scriptUser: 'root',
      vrrpNotifyFifo: '/run/keepwatch/notify.fifo',
      vrrpStrict: false,
    });
    expect(c.scripts.map((s) => [s.name, s.script, s.intervalS, s.weight])).toEqual([
      ['chk_haproxy', '/usr/bin/killall -0 haproxy', 1, undefined],
      ['chk_nginx', '/usr/bin/pgrep -F /run/nginx.pid', 2, -20],
    ]);
    const vi1 = c.instances.find((i) => i.name === 'VI_1')!;
    expect(vi1).toMatchObject({
      interface: 'eth0',
      virtualRouterId: 51,
      priority: 150,
      state: 'MASTER',
      advertIntS: 1,
      family: 'IPv4',
      authType: 'PASS',
      syncGroup: 'VG_1',
      nopreempt: false,
      notify: { notify: '/usr/local/bin/keepwatch-notify' },
      trackScripts: [{ name: 'chk_nginx' }, { name: 'chk_haproxy', weight: 10 }],
    });
    expect(vi1.vips.map((v) => [v.address, v.prefix, v.dev, v.label, v.scope])).toEqual([
      ['192.0.2.100', 24, 'eth0', 'eth0:vip', undefined],
      ['192.0.2.101', 32, 'eth0', undefined, 'global'],
    ]);
    expect(vi1.vips[0].file).toMatch(/conf\.d\/10-vi1\.conf$/);
    expect(vi1.vips[0].line).toBe(12);
    expect(vi1.excludedVips.map((v) => v.address)).toEqual(['192.0.2.200']);
    const vi6 = c.instances.find((i) => i.name === 'VI_6')!;
    expect(vi6).toMatchObject({ family: 'IPv6', advertIntS: 0.5, virtualRouterId: 52, syncGroup: 'VG_1' });
    expect(vi6.vips.map((v) => [v.address, v.prefix, v.family])).toEqual([
      ['2001:db8::100', 64, 'IPv6'],
      ['2001:DB8:0:0::101', undefined, 'IPv6'],
    ]);
    expect(c.syncGroups).toEqual([
      expect.objectContaining({ name: 'VG_1', instances: ['VI_1', 'VI_6'], notify: { master: '/usr/local/bin/keepwatch-notify --state MASTER' } }),
    ]);
    expect(c.instances.some((i) => i.name === 'HIDDEN')).toBe(false);
  });

  test('auth_pass is never kept: not in the result, not in any message', () => {
    for (const f of ['includes/keepalived.conf', 'unicast.conf', 'errors.conf']) {
      const text = JSON.stringify(parseKeepalivedConf(path.join(FIX, f)));
      expect(text).not.toMatch(/s3cr3t|pa ss#1|topsecret|auth_pass"?:/);
    }
  });

  test('comments (# and !), quoted strings, one-line blocks, brace on the next line', () => {
    const c = parseKeepalivedConf(path.join(FIX, 'comments-quotes.conf'));
    expect(c.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(c.globalDefs.routerId).toBe('node one');
    expect(c.scripts).toEqual([expect.objectContaining({ name: 'chk web', script: "/bin/sh -c 'curl -fs http://127.0.0.1/ # not a comment'", intervalS: 3 })]);
    const [vi] = c.instances;
    expect(vi).toMatchObject({ name: 'VI_1', interface: 'eth0', virtualRouterId: 51, priority: 120, nopreempt: true, trackScripts: [{ name: 'chk web' }] });
    expect(vi.notify.master).toBe('/usr/local/bin/on master.sh MASTER');
    expect(vi.vips.map((v) => v.address)).toEqual(['192.0.2.100']);
    expect(vi.excludedVips.map((v) => [v.address, v.family])).toEqual([['fe80::1', 'IPv6']]);
  });

  test('unicast peers, nopreempt, preempt_delay, AH, use_vmac, VIP options', () => {
    const c = parseKeepalivedConf(path.join(FIX, 'unicast.conf'));
    expect(c.issues).toEqual([]);
    const [vi] = c.instances;
    expect(vi).toMatchObject({
      name: 'VI_U',
      interface: 'ens3',
      virtualRouterId: 7,
      priority: 200,
      advertIntS: 2,
      nopreempt: true,
      preemptDelayS: 30,
      unicastSrcIp: '192.0.2.11',
      unicastPeers: ['192.0.2.12', '192.0.2.13'],
      authType: 'AH',
      useVmac: true,
      vmacName: 'vrrp.7',
      notify: { master: '/etc/keepalived/master.sh', backup: '/etc/keepalived/backup.sh', fault: '/etc/keepalived/fault.sh', stop: '/etc/keepalived/stop.sh' },
    });
    expect(vi.vips).toEqual([
      expect.objectContaining({ address: '192.0.2.77', prefix: 24, brd: '192.0.2.255', dev: 'ens3', scope: 'global', label: 'ens3:7', flags: ['no_track'] }),
    ]);
  });

  test('errors name file:line; parsing goes on after them', () => {
    const c = parseKeepalivedConf(path.join(FIX, 'errors.conf'));
    expect(issuesAt(c)).toEqual([
      'errors.conf:15 warning: include missing/*.conf: no file matches',
      'errors.conf:16 warning: include nothere.conf: no file matches',
      'errors.conf:24 error: unknown keyword "}" (a "}" without an open block)',
      'errors.conf:25 error: vrrp_instance block opened here is never closed (missing "}")',
      'errors.conf:3 error: virtual_router_id must be an integer 1-255, got "300"',
      'errors.conf:4 error: priority must be an integer 1-255, got "high"',
      'errors.conf:6 error: virtual_ipaddress: "192.0.2.300/24" is not an IP address',
      'errors.conf:7 error: virtual_ipaddress 192.0.2.50: prefix /40 too long for IPv4 (keepalived uses /32)',
      'errors.conf:8 error: virtual_ipaddress 192.0.2.51: dev needs a value',
      'errors.conf:11 error: auth_type must be PASS or AH (case matters; keepalived then runs without authentication)',
      "errors.conf:1 error: vrrp_instance VI_BAD: virtual_router_id missing or invalid (keepalived's VRRP process does not start)",
      "errors.conf:25 error: vrrp_instance VI_OPEN: virtual_router_id missing or invalid (keepalived's VRRP process does not start)",
    ]);
    expect(c.instances.map((i) => [i.name, i.virtualRouterId])).toEqual([
      ['VI_BAD', undefined],
      ['VI_OK', 9],
      ['VI_OPEN', undefined],
    ]);
    // Instances without a VRID cannot be keyed: no event for them.
    expect(instanceEventsFromConf(c, 1).map((e) => e.key.iname)).toEqual(['VI_OK']);
  });

  test('an include loop is an error naming the files, not a hang', () => {
    const c = parseKeepalivedConf(path.join(FIX, 'include-loop/a.conf'));
    const loop = c.issues.find((i) => i.message.startsWith('include loop'));
    expect(loop).toBeDefined();
    expect(path.basename(loop!.file)).toBe('b.conf');
    expect(loop!.line).toBe(1);
    expect(c.instances.map((i) => i.name)).toEqual(['VI_A']);
  });

  test('a missing main file: no throw, source down with the reason', () => {
    const r = loadKeepalivedConf('/nonexistent/keepalived.conf', 5);
    expect(r.conf.instances).toEqual([]);
    const src = r.events.find((e) => e.kind === 'source');
    expect(src).toMatchObject({ up: false, error: expect.stringContaining('cannot read /nonexistent/keepalived.conf: ENOENT') });
    expect(r.events.filter((e) => e.kind === 'parse_error')).toHaveLength(1);
  });

  test('instance events carry what other parts need', () => {
    const c = parseKeepalivedConf(path.join(FIX, 'unicast.conf'));
    expect(instanceEventsFromConf(c, 42)).toEqual([
      {
        kind: 'instance',
        source: 'keepalived_conf',
        at: 42,
        key: { iname: 'VI_U', intf: 'ens3', vrid: 7, family: 'IPv4' },
        priority: 200,
        vips: ['192.0.2.77'],
        vipEntries: [{ address: '192.0.2.77', prefix: 24, dev: 'ens3' }],
        excludedVips: [],
        advertIntervalMs: 2000,
        authType: 'AH',
        nopreempt: true,
        preemptDelayS: 30,
        unicastPeers: ['192.0.2.12', '192.0.2.13'],
        syncGroup: undefined,
      },
    ]);
  });
});

describe('keepalived.conf parser: details', () => {
  test('@conditional lines and $parameters', () => {
    const text = ['$IF=eth1', '$PRIO=${BASE}', 'vrrp_instance VI_1 {', '  interface $IF', '  virtual_router_id 5', '@ka1 priority 150', '@^ka1 priority 100', '}'].join('\n');
    expect(parseKeepalivedConfText(text, 'k.conf', { configId: 'ka1' }).instances[0]).toMatchObject({ interface: 'eth1', priority: 150 });
    expect(parseKeepalivedConfText(text, 'k.conf', { configId: 'ka2' }).instances[0]).toMatchObject({ priority: 100 });
    expect(parseKeepalivedConfText(text, 'k.conf').instances[0]).toMatchObject({ priority: 100 });
  });

  test('"#" and "!" start a comment anywhere outside quotes, even inside a word, as in keepalived 2.2.7; "\\#" keeps the character', () => {
    const c = parseKeepalivedConfText('vrrp_script s {\n script "a ! b"#c\n interval 2!x\n weight -5#\n}\nvrrp_script t\\#2 {\n script x\n}\n');
    expect(c.issues).toEqual([]);
    expect(c.scripts.map((s) => [s.name, s.script, s.intervalS, s.weight])).toEqual([
      ['s', 'a ! b', 2, -5],
      ['t#2', 'x', undefined, undefined],
    ]);
  });

  test('unterminated quote and a block without keyword are reported', () => {
    const c = parseKeepalivedConfText('vrrp_script x {\n script "abc\n}\n{ foo }\n', 'q.conf');
    // keepalived ignores a "{" without a keyword and reads what follows at the same level.
    expect(issuesAt(c)).toEqual([
      'q.conf:2 error: unterminated quoted string',
      'q.conf:4 error: unexpected "{" (keepalived ignores it and reads what follows as part of the enclosing block)',
      'q.conf:4 error: unknown keyword "foo" in the top level (keepalived ignores the line)',
      'q.conf:4 error: unknown keyword "}" (a "}" without an open block)',
    ]);
  });

  test('two sync groups claiming one instance, a group naming a missing instance', () => {
    const c = parseKeepalivedConfText(
      'vrrp_instance A {\n interface e\n virtual_router_id 1\n}\nvrrp_sync_group G1 { group { A B } }\nvrrp_sync_group G2 { group { A } }\n',
      's.conf',
    );
    expect(issuesAt(c)).toEqual(['s.conf:5 warning: vrrp_sync_group G1: no vrrp_instance B', 's.conf:6 error: vrrp_instance A is in two sync groups (G1, G2)']);
    expect(c.instances[0].syncGroup).toBe('G1');
  });

  test('glob helpers', () => {
    expect(expandBraces('a/{b,c{d,e}}/f')).toEqual(['a/b/f', 'a/cd/f', 'a/ce/f']);
    expect(expandBraces('x{y}z')).toEqual(['x{y}z']);
    expect(segmentRegExp('*.co?f').test('10-a.conf')).toBe(true);
    expect(segmentRegExp('[0-9]*').test('a1')).toBe(false);
    expect(segmentRegExp('[!a]x').test('bx')).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-glob-'));
    try {
      fs.mkdirSync(path.join(dir, 'd1'));
      fs.mkdirSync(path.join(dir, 'd2'));
      fs.writeFileSync(path.join(dir, 'd1', 'a.conf'), '');
      fs.writeFileSync(path.join(dir, 'd2', 'b.conf'), '');
      fs.writeFileSync(path.join(dir, 'd2', '.c.conf'), '');
      expect(globFiles('d*/*.conf', dir, fs).map((f) => path.relative(dir, f))).toEqual(['d1/a.conf', 'd2/b.conf']);
      expect(globFiles(path.join(dir, 'd2/.*.conf'), '/', fs).map((f) => path.basename(f))).toEqual(['.c.conf']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ------------------------------------------------------------------------------ property tests

const word = fc.stringMatching(/^[A-Za-z0-9_./:-]{1,12}$/);
const ipv4 = fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => `192.0.${a % 3}.${b}`);
const ipv6 = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 0xffff })).map(([a, b]) => `2001:db8:${a.toString(16)}::${b.toString(16)}`);

describe('keepalived.conf parser: properties', () => {
  test('no input throws (random text from the grammar\'s own characters)', () => {
    const piece = fc.oneof(
      fc.constantFrom('{', '}', '"', '#', '!', '\n', ' ', '\t', 'include', 'vrrp_instance', 'virtual_ipaddress', 'authentication', 'auth_pass', 'unicast_peer', 'vrrp_sync_group', 'group', '@x', '$A=', '$A', '${A}', '/24', 'dev', 'label'),
      word,
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 80 }), (parts) => {
        const c = parseKeepalivedConfText(parts.join(' '), '/nonexistent/p.conf');
        expect(Array.isArray(c.instances)).toBe(true);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        parseKeepalivedConfText(s, '/nonexistent/p.conf');
      }),
      { numRuns: 300 },
    );
  });

  test('round trip: an instance rendered as keepalived.conf parses back to the same fields', () => {
    const inst = fc.record({
      name: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,10}$/),
      intf: fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/),
      vrid: fc.integer({ min: 1, max: 255 }),
      priority: fc.integer({ min: 1, max: 255 }),
      advert: fc.integer({ min: 1, max: 10 }),
      v6: fc.boolean(),
      vips4: fc.uniqueArray(ipv4, { minLength: 1, maxLength: 4 }),
      vips6: fc.uniqueArray(ipv6, { minLength: 1, maxLength: 4 }),
      prefix: fc.option(fc.integer({ min: 8, max: 32 }), { nil: undefined }),
      peers: fc.uniqueArray(ipv4, { maxLength: 3 }),
      nopreempt: fc.boolean(),
      delay: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
      pass: fc.stringMatching(/^P[0-9]{7}$/),
      oneLine: fc.boolean(),
      comment: fc.constantFrom('', ' # c', ' ! c'),
    });
    fc.assert(
      fc.property(inst, (i) => {
        const vips = i.v6 ? i.vips6 : i.vips4;
        const nl = i.oneLine ? ' ' : '\n';
        const text = [
          `vrrp_instance ${i.name} {${i.comment}`,
          `interface ${i.intf}`,
          `virtual_router_id ${i.vrid}${i.comment}`,
          `priority ${i.priority}`,
          `advert_int ${i.advert}`,
          i.nopreempt ? 'nopreempt' : '',
          i.delay !== undefined ? `preempt_delay ${i.delay}` : '',
          `authentication {${nl}auth_type PASS${nl}auth_pass ${i.pass}${nl}}`,
          `virtual_ipaddress {${nl}${vips.map((v) => `${v}${i.prefix !== undefined && !i.v6 ? `/${i.prefix}` : ''} dev ${i.intf}`).join('\n')}\n}`,
          i.peers.length ? `unicast_peer {\n${i.peers.join('\n')}\n}` : '',
          '}',
        ]
          .filter(Boolean)
          .join('\n');
        const c = parseKeepalivedConfText(text, 'rt.conf');
        // keepalived clears nopreempt at priority 255 (the address owner always preempts), with a warning.
        const cleared = i.nopreempt && i.priority === 255;
        expect(c.issues.map((x) => x.severity)).toEqual(cleared ? ['warning'] : []);
        const [ev] = instanceEventsFromConf(c, 0);
        expect(ev.key).toEqual({ iname: i.name, intf: i.intf, vrid: i.vrid, family: i.v6 ? 'IPv6' : 'IPv4' });
        // The events carry one spelling per address (2001:db8:0::1 -> 2001:db8::1), as the kernel and the dumps do.
        expect(ev.vips).toEqual(vips.map((v) => normalizeIp(v)));
        expect(ev.priority).toBe(i.priority);
        expect(ev.advertIntervalMs).toBe(i.advert * 1000);
        expect(ev.nopreempt).toBe(i.nopreempt && !cleared);
        expect(ev.preemptDelayS).toBe(i.delay ?? 0);
        expect(ev.unicastPeers).toEqual(i.peers);
        expect(ev.authType).toBe('PASS');
        expect(JSON.stringify(c)).not.toContain(`"${i.pass}"`);
      }),
      { numRuns: 300 },
    );
  });
});
