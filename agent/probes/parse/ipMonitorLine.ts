// One line of `ip -o monitor address` (iproute2 6.1 prints text even with -json):
//   "2: eth0    inet 192.0.2.77/24 scope global secondary eth0\       valid_lft forever ..."
//   "Deleted 2: eth0    inet6 2001:db8::100/64 scope global nodad \       valid_lft ..."
// Hand-rolled: a regular one-line format with no npm parser. The VIP probe re-reads every
// address on any line anyway; the parsed line says which address changed, for the log.
import type { AddressFamily } from '../../state/types';

export interface AddressChange {
  deleted: boolean;
  ifindex: number;
  dev: string;
  family: AddressFamily;
  address: string;
  prefix?: number;
  scope?: string;
  /** IPv4 label (eth0 or eth0:vip). */
  label?: string;
  flags: string[];
}

const LINE_RE = /^(Deleted\s+)?(\d+):\s+(\S+)\s+(inet6?)\s+([0-9A-Fa-f:.]+)(?:\/(\d{1,3}))?(.*)$/;
const VALUE_KEYS = new Set(['brd', 'scope', 'peer', 'metric', 'proto', 'any']);

/** Parses a line; undefined when it is not an address line. Never throws. */
export function parseIpMonitorLine(line: string): AddressChange | undefined {
  if (typeof line !== 'string') return undefined;
  const m = LINE_RE.exec(line.trimEnd());
  if (!m) return undefined;
  const family: AddressFamily = m[4] === 'inet6' ? 'IPv6' : 'IPv4';
  const out: AddressChange = {
    deleted: Boolean(m[1]),
    ifindex: Number(m[2]),
    dev: m[3].replace(/@.*$/, ''),
    family,
    address: m[5],
    flags: [],
  };
  if (m[6] !== undefined) out.prefix = Number(m[6]);
  // Everything after the first backslash is the folded second line (lifetimes).
  const words = m[7].split('\\')[0].trim().split(/\s+/).filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (VALUE_KEYS.has(w) && i + 1 < words.length) {
      if (w === 'scope') out.scope = words[i + 1];
      i++;
    } else if (family === 'IPv4' && i === words.length - 1 && (w === out.dev || w.startsWith(`${out.dev}:`))) {
      out.label = w;
    } else {
      out.flags.push(w);
    }
  }
  return out;
}
