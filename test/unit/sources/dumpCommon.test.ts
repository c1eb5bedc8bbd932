// What the three dump parsers share: addresses out of a VIP entry, the family, keepalived.conf's
// auth_type words, and excerpts of bad input that never carry a secret.
import { authTypeName, familyOf, finiteNumber, safeExcerpt, vipAddress } from '../../../agent/sources/parse/dumpCommon';

test.each([
  ['192.0.2.100/24 dev eth0 scope global set', '192.0.2.100'],
  ['192.0.2.100', '192.0.2.100'],
  ['2001:DB8::100/64 dev eth0', '2001:db8::100'],
  ['eth0', undefined],
  ['', undefined],
])('vipAddress(%j) is %p', (entry, addr) => {
  expect(vipAddress(entry)).toBe(addr);
});

test('familyOf', () => {
  expect(familyOf('192.0.2.1')).toBe('IPv4');
  expect(familyOf('2001:db8::1')).toBe('IPv6');
});

test.each([
  [0, 'none'],
  ['0', 'none'],
  [1, 'PASS'],
  ['SIMPLE_PASSWORD', 'PASS'],
  [2, 'AH'],
  ['IPSEC_AH', 'AH'],
  [3, undefined],
  [null, undefined],
])('authTypeName(%p) is %p', (v, name) => {
  expect(authTypeName(v)).toBe(name);
});

test('safeExcerpt: bounded, and nothing at all when the input may hold a secret', () => {
  expect(safeExcerpt('state = MASTER')).toBe('state = MASTER');
  expect(safeExcerpt('x'.repeat(130))).toBe(`${'x'.repeat(120)}…`);
  expect(safeExcerpt('auth_pass = s3cret')).toBeUndefined();
  expect(safeExcerpt('Password: hunter2')).toBeUndefined();
});

test('finiteNumber', () => {
  expect(finiteNumber(3)).toBe(3);
  expect(finiteNumber(Number.NaN)).toBeUndefined();
  expect(finiteNumber(Infinity)).toBeUndefined();
  expect(finiteNumber('3')).toBeUndefined();
});
