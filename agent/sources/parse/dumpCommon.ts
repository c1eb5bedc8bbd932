// What the three dump parsers (JSON, text data, text stats) share: the result shape, and the
// small normalisations that make their events agree with each other and with D-Bus.
import type { AddressFamily, NodeEvent, SourceName, VipEntry } from '../../state/types';

export interface DumpParseOptions {
  /** Event time (ms since epoch): the dump file's mtime, or now. */
  at: number;
  source?: SourceName;
  /**
   * Put the instance's VRRP state into instance events. Off by default: a dump is a snapshot that
   * can be older than what D-Bus/FIFO already pushed, and would then look like a transition back.
   */
  withState?: boolean;
}

export interface DumpParseResult {
  /** False when the input looks cut short (keepalived still writing it): retry, do not report. */
  complete: boolean;
  /** Events, including parse_error events for records that could not be read. */
  events: NodeEvent[];
  /** How many instances were read. */
  instances: number;
}

/** "192.0.2.100/24 dev eth0 scope global set" -> "192.0.2.100"; undefined when not an address. */
export function vipAddress(entry: string): string | undefined {
  const first = entry.trim().split(/\s+/)[0] ?? '';
  const addr = first.split('/')[0];
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) return addr;
  if (/^[0-9a-fA-F:.]+$/.test(addr) && addr.includes(':')) return addr.toLowerCase();
  return undefined;
}

/** keepalived's prefix length for an address written without one (vrrp_parser: /32, /128). */
export function defaultPrefix(address: string): number {
  return familyOf(address) === 'IPv6' ? 128 : 32;
}

/** A VIP line of the dumps ("192.0.2.100/24 dev eth0 scope global set") as keepalived wrote it:
 *  address, prefix, device; undefined when it does not start with an address. */
export function vipEntry(entry: string): VipEntry | undefined {
  const words = entry.trim().split(/\s+/);
  const address = vipAddress(words[0] ?? '');
  if (!address) return undefined;
  const written = /\/(\d{1,3})$/.exec(words[0])?.[1];
  const dev = words.indexOf('dev');
  const out: VipEntry = { address, prefix: written !== undefined ? Number(written) : defaultPrefix(address) };
  if (dev >= 0 && words[dev + 1]) out.dev = words[dev + 1];
  return out;
}

export function familyOf(address: string): AddressFamily {
  return address.includes(':') ? 'IPv6' : 'IPv4';
}

/** keepalived.conf's words for auth_type, whatever the dump printed (numeric JSON code or text). */
export function authTypeName(v: unknown): string | undefined {
  if (v === 0 || v === '0') return 'none';
  if (v === 1 || v === '1' || v === 'SIMPLE_PASSWORD' || v === 'PASS') return 'PASS';
  if (v === 2 || v === '2' || v === 'IPSEC_AH' || v === 'AH') return 'AH';
  return undefined;
}

const SECRET_HINT = /pass|auth|secret|key/i;

/** A bounded, secret-free excerpt of bad input for a parse_error event (none when it may hold a secret). */
export function safeExcerpt(input: string, max = 120): string | undefined {
  if (SECRET_HINT.test(input)) return undefined;
  return input.length > max ? `${input.slice(0, max)}…` : input;
}

export function finiteNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
