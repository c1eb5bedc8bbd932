// One spelling per address, so "2001:DB8:0:0::101" from keepalived.conf and "2001:db8::101" from
// the kernel compare equal: IPv4 as is, IPv6 in the WHATWG URL canonical form (lower case,
// longest zero run compressed). Prefix (/24) and zone (%eth0) are dropped.
import * as net from 'node:net';

export function normalizeIp(addr: string): string | undefined {
  if (typeof addr !== 'string') return undefined;
  const bare = addr.trim().replace(/\/\d{1,3}$/, '').replace(/%.*$/, '');
  const v = net.isIP(bare);
  if (v === 4) return bare;
  if (v === 6) {
    try {
      return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function isIpv6(addr: string): boolean {
  return net.isIPv6(addr.replace(/\/\d{1,3}$/, '').replace(/%.*$/, ''));
}

/** Device of an address label: "eth0:vip" -> "eth0" (Linux device names cannot contain ':'). */
export function deviceOfLabel(label: string): string {
  const i = label.indexOf(':');
  return i < 0 ? label : label.slice(0, i);
}
