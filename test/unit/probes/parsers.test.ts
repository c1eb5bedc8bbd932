import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { formatStubStatus, parseStubStatus } from '../../../agent/probes/parse/stubStatus';
import { parseIpMonitorLine } from '../../../agent/probes/parse/ipMonitorLine';
import { parseArpingOutput } from '../../../agent/probes/parse/arpingOutput';
import { parseIpAddrJson } from '../../../agent/probes/parse/ipAddrJson';
import { addressesOf, parseProcNetArp } from '../../../agent/probes/parse/neighbourTable';
import { deviceOfLabel, normalizeIp } from '../../../agent/probes/ipAddress';

const FIX = path.join(__dirname, '../../fixtures/probes');
const read = (f: string) => fs.readFileSync(path.join(FIX, f), 'utf8');

/** Fixture files of arping end with the exit code line the capture appended ("exit N"). */
function arpingFixture(f: string) {
  const lines = read(f).trimEnd().split('\n');
  const code = Number(/^exit (\d+)$/.exec(lines.pop() as string)![1]);
  const text = lines.join('\n');
  // The captures merged stdout and stderr; arping writes its errors ("arping: ...") to stderr.
  const isErr = (l: string) => l.startsWith('arping:') || l.startsWith('setpriv:');
  return { stdout: lines.filter((l) => !isErr(l)).join('\n'), stderr: lines.filter(isErr).join('\n'), code, text };
}

describe('stub_status parser', () => {
  test('real nginx 1.22 page, the facts sample, CRLF, odd spacing', () => {
    expect(parseStubStatus(read('stub-status-nginx-1.22.txt'))).toEqual({ ok: true, status: { active: 1, accepted: 4, handled: 4, requests: 4, reading: 0, writing: 1, waiting: 0 } });
    expect(parseStubStatus(read('stub-status-facts.txt'))).toEqual({
      ok: true,
      status: { active: 291, accepted: 16630948, handled: 16630948, requests: 31070465, reading: 6, writing: 179, waiting: 106 },
    });
    expect(parseStubStatus(read('stub-status-crlf.txt'))).toEqual({ ok: true, status: { active: 3, accepted: 10, handled: 9, requests: 25, reading: 0, writing: 1, waiting: 2 } });
    expect(parseStubStatus(read('stub-status-odd-spacing.txt'))).toEqual({
      ok: true,
      status: { active: 7, accepted: 1e12, handled: 1e12, requests: 9007199254740991, reading: 0, writing: 2, waiting: 5 },
    });
  });

  test('truncated page and an HTML error page are errors naming what came', () => {
    expect(parseStubStatus(read('stub-status-truncated.txt'))).toEqual({ ok: false, error: expect.stringContaining('not a stub_status page (starts "Active connections: 291') });
    expect(parseStubStatus(read('stub-status-html-404.txt'))).toEqual({ ok: false, error: expect.stringContaining('<html> <head><title>404') });
  });

  test('property: never throws; round trip of what nginx writes', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => void parseStubStatus(s)), { numRuns: 1000 });
    const n = fc.nat({ max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(fc.record({ active: n, accepted: n, handled: n, requests: n, reading: n, writing: n, waiting: n }), (s) => {
        expect(parseStubStatus(formatStubStatus(s))).toEqual({ ok: true, status: s });
      }),
    );
  });
});

describe('ip -o monitor address line parser (lines captured in a namespace, iproute2 6.1)', () => {
  test('every captured line parses; adds and deletes, labels, IPv6 flags', () => {
    const lines = read('ip-o-monitor-address.txt').trimEnd().split('\n');
    const parsed = lines.map(parseIpMonitorLine);
    expect(parsed.every(Boolean)).toBe(true);
    expect(parsed[0]).toEqual({ deleted: false, ifindex: 2, dev: 'eth0', family: 'IPv4', address: '192.0.2.100', prefix: 24, scope: 'global', label: 'eth0', flags: ['secondary'] });
    expect(parsed[1]).toMatchObject({ address: '192.0.2.101', prefix: 32, label: 'eth0:vip', flags: [] });
    expect(parsed[2]).toMatchObject({ family: 'IPv6', address: '2001:db8::100', prefix: 64, flags: ['nodad'] });
    expect(parsed[2]!.label).toBeUndefined();
    expect(parsed[3]).toMatchObject({ dev: 'lo', scope: 'host', label: 'lo' });
    expect(parsed[4]).toMatchObject({ deleted: true, address: '192.0.2.100' });
    expect(parsed.filter((p) => p!.deleted)).toHaveLength(6);
    expect(parsed.find((p) => p!.flags.includes('tentative'))).toMatchObject({ address: '2001:db8::5' });
    expect(parsed.find((p) => p!.scope === 'link')).toMatchObject({ address: 'fe80::7444:a9ff:fec0:fba9' });
  });

  test('-json monitor still prints text (two physical lines per change): the first parses, the second is ignored', () => {
    const lines = read('ip-json-monitor-address.txt').trimEnd().split('\n');
    expect(parseIpMonitorLine(lines[0])).toMatchObject({ address: '2001:db8::5', flags: ['tentative'] });
    expect(parseIpMonitorLine(lines[1])).toBeUndefined();
  });

  test('property: never throws; rendered lines parse back', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => void parseIpMonitorLine(s)), { numRuns: 1000 });
    const v4 = fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `192.0.${a}.${b}`);
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 1, max: 9999 }), fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), v4, fc.integer({ min: 0, max: 32 }), fc.boolean(), (del, idx, dev, addr, prefix, secondary) => {
        const line = `${del ? 'Deleted ' : ''}${idx}: ${dev}    inet ${addr}/${prefix} scope global ${secondary ? 'secondary ' : ''}${dev}\\       valid_lft forever preferred_lft forever`;
        expect(parseIpMonitorLine(line)).toEqual({ deleted: del, ifindex: idx, dev, family: 'IPv4', address: addr, prefix, scope: 'global', label: dev, flags: secondary ? ['secondary'] : [] });
      }),
    );
  });
});

describe('arping output parser (captured with iputils-arping in a namespace)', () => {
  test('answered: duplicate with the MAC; unanswered: clean', () => {
    const a = arpingFixture('arping-answered.txt');
    expect(parseArpingOutput(a.stdout, a.stderr, a.code)).toEqual({ duplicate: true, macs: ['a2:91:7f:ee:ba:bb'] });
    const u = arpingFixture('arping-unanswered.txt');
    expect(parseArpingOutput(u.stdout, u.stderr, u.code)).toEqual({ duplicate: false, macs: [] });
  });

  test('no CAP_NET_RAW, exec refused, no such device, IPv6: errors that say so', () => {
    const np = arpingFixture('arping-no-permission.txt');
    expect(parseArpingOutput(np.stdout, np.stderr, np.code).error).toBe('arping has no permission to send raw packets: it needs CAP_NET_RAW (arping: socket: Operation not permitted)');
    const ep = arpingFixture('arping-exec-eperm.txt');
    expect(parseArpingOutput(ep.stdout, ep.stderr, ep.code).error).toMatch(/needs CAP_NET_RAW/);
    const nd = arpingFixture('arping-no-such-device.txt');
    expect(parseArpingOutput(nd.stdout, nd.stderr, nd.code)).toEqual({ duplicate: false, macs: [], error: 'arping failed (exit 2): arping: Device eth9 not available.' });
    const v6 = arpingFixture('arping-ipv6.txt');
    expect(parseArpingOutput(v6.stdout, v6.stderr, v6.code).error).toMatch(/Address family for hostname not supported/);
  });

  test('property: never throws', () => {
    fc.assert(fc.property(fc.string(), fc.string(), fc.option(fc.integer({ min: -1, max: 255 }), { nil: null }), (o, e, c) => void parseArpingOutput(o, e, c)), { numRuns: 1000 });
  });
});

describe('/proc/net/arp parser (the kernel\'s format; an incomplete entry and a permanent one)', () => {
  test('complete entries only, MACs in lower case; the addresses a MAC is known by', () => {
    const table = parseProcNetArp(read('proc-net-arp.txt'));
    expect(table).toEqual([
      { ip: '192.0.2.11', mac: 'fa:5a:d9:6f:36:45', dev: 'eth0' },
      { ip: '192.0.2.50', mac: '5e:1b:03:44:9a:10', dev: 'eth0' },
      { ip: '198.51.100.11', mac: 'fa:5a:d9:6f:36:45', dev: 'eth1' },
    ]);
    expect(addressesOf(table, 'FA:5A:D9:6F:36:45')).toEqual(['192.0.2.11', '198.51.100.11']);
    expect(addressesOf(table, '02:00:00:00:00:01')).toEqual([]);
    expect(parseProcNetArp('')).toEqual([]);
  });
});

describe('ip -json addr parser', () => {
  test('the captured namespace: VIPs with labels, IPv6, flags', () => {
    const r = parseIpAddrJson(read('ip-json-addr.json'));
    if (!r.ok) throw new Error(r.error);
    expect(r.addresses.map((a) => [a.dev, a.address, a.prefix, a.label, a.flags])).toEqual([
      ['lo', '127.0.0.1', 8, 'lo', []],
      ['lo', '::1', 128, undefined, []],
      ['eth0', '192.0.2.11', 24, 'eth0', []],
      ['eth0', '192.0.2.101', 32, 'eth0:vip', []],
      ['eth0', '192.0.2.100', 24, 'eth0', ['secondary']],
      ['eth0', '2001:db8::100', 64, undefined, ['nodad']],
      ['eth0', 'fe80::7444:a9ff:fec0:fba9', 64, undefined, []],
    ]);
  });

  test('property: never throws on any text or JSON', () => {
    fc.assert(fc.property(fc.string(), (s) => void parseIpAddrJson(s)), { numRuns: 500 });
    fc.assert(fc.property(fc.jsonValue(), (v) => void parseIpAddrJson(JSON.stringify(v))), { numRuns: 500 });
  });
});

describe('addresses', () => {
  test('normalizeIp gives one spelling per address', () => {
    expect(normalizeIp('2001:DB8:0:0::101')).toBe('2001:db8::101');
    expect(normalizeIp('2001:db8::101/64')).toBe('2001:db8::101');
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeIp('192.0.2.100/24')).toBe('192.0.2.100');
    expect(normalizeIp('192.0.2.300')).toBeUndefined();
    expect(normalizeIp('eth0')).toBeUndefined();
    expect(deviceOfLabel('eth0:vip')).toBe('eth0');
    fc.assert(fc.property(fc.ipV6(), (a) => {
      const n = normalizeIp(a);
      expect(n).toBeDefined();
      expect(normalizeIp(n!)).toBe(n);
    }));
    fc.assert(fc.property(fc.string(), (s) => void normalizeIp(s)));
  });
});
