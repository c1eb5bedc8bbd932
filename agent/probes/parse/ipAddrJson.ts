// `ip -json addr show` to the addresses bound on the node: an alternative address reader to
// os.networkInterfaces() (for another namespace, or to cross-check it). JSON.parse does the
// parsing; this only picks fields and never throws.
import type { AddressFamily } from '../../state/types';

export interface BoundAddress {
  address: string;
  prefix?: number;
  /** The device (never a label). */
  dev: string;
  label?: string;
  family: AddressFamily;
  /** tentative / dadfailed / deprecated ... as ip reports them. */
  flags: string[];
}

export function parseIpAddrJson(text: string): { ok: true; addresses: BoundAddress[] } | { ok: false; error: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `ip -json addr: not JSON (${(e as Error).message})` };
  }
  if (!Array.isArray(data)) return { ok: false, error: 'ip -json addr: not an array of links' };
  const out: BoundAddress[] = [];
  for (const link of data) {
    if (!link || typeof link !== 'object') continue;
    const l = link as { ifname?: unknown; addr_info?: unknown };
    if (typeof l.ifname !== 'string' || !Array.isArray(l.addr_info)) continue;
    for (const a of l.addr_info) {
      if (!a || typeof a !== 'object') continue;
      const ai = a as Record<string, unknown>;
      if (typeof ai.local !== 'string' || (ai.family !== 'inet' && ai.family !== 'inet6')) continue;
      const flags = ['tentative', 'dadfailed', 'deprecated', 'secondary', 'nodad'].filter((f) => ai[f] === true);
      out.push({
        address: ai.local,
        prefix: typeof ai.prefixlen === 'number' ? ai.prefixlen : undefined,
        dev: l.ifname,
        label: typeof ai.label === 'string' ? ai.label : undefined,
        family: ai.family === 'inet6' ? 'IPv6' : 'IPv4',
        flags,
      });
    }
  }
  return { ok: true, addresses: out };
}
