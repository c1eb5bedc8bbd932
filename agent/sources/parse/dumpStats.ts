// keepalived's text stats dump (SIGUSR2 or D-Bus PrintStats -> /tmp/keepalived.stats) to counters
// events. Hand-rolled: keepalived's indented "Key: value" dump is no standard format a library reads.
import type { CountersEvent, NodeEvent, VrrpCounterName } from '../../state/types';
import { safeExcerpt, type DumpParseOptions, type DumpParseResult } from './dumpCommon';

/** "<section>/<key>" (section empty for top-level keys) as printed by vrrp_print_stats(). */
const TEXT_STATS_TO_COUNTER: Readonly<Record<string, VrrpCounterName>> = {
  'Advertisements/Received': 'advertisements_received',
  'Advertisements/Sent': 'advertisements_sent',
  '/Became master': 'become_master',
  '/Released master': 'release_master',
  'Packet Errors/Length': 'packet_length_errors',
  'Packet Errors/TTL': 'ip_ttl_errors',
  'Packet Errors/Invalid Type': 'invalid_type_received',
  'Packet Errors/Advertisement Interval': 'advertisements_interval_errors',
  'Packet Errors/Address List': 'address_list_errors',
  'Authentication Errors/Invalid Type': 'authentication_invalid',
  'Authentication Errors/Type Mismatch': 'authentication_mismatch',
  'Authentication Errors/Failure': 'authentication_failure',
  'Priority Zero/Received': 'priority_zero_received',
  'Priority Zero/Sent': 'priority_zero_sent',
};

export function parseDumpStats(text: string, opts: DumpParseOptions): DumpParseResult {
  const source = opts.source ?? 'dumps';
  const at = opts.at;
  const events: NodeEvent[] = [];
  const blocks: Array<{ iname: string; counters: CountersEvent['counters']; sawLast: boolean }> = [];
  let cur: (typeof blocks)[number] | undefined;
  let section = '';
  let badLines = 0;
  let firstBad: string | undefined;

  const lines = text.split('\n');
  // The last element is what follows the final newline: "" for a complete file.
  const trailing = lines.pop() ?? '';
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    let m = /^VRRP Instance:\s*(.+?)\s*$/.exec(line);
    if (m) {
      cur = { iname: m[1], counters: {}, sawLast: false };
      blocks.push(cur);
      section = '';
      continue;
    }
    m = /^ {2}(\S[^:]*?):\s*$/.exec(line);
    if (m && cur) {
      section = m[1];
      continue;
    }
    m = /^( {2}| {4})(\S[^:]*?):\s*(\S+)\s*$/.exec(line);
    if (m && cur) {
      const topLevel = m[1].length === 2;
      if (topLevel) section = '';
      const name = TEXT_STATS_TO_COUNTER[`${topLevel ? '' : section}/${m[2]}`];
      const value = /^\d+$/.test(m[3]) ? Number(m[3]) : undefined;
      if (value === undefined) {
        badLines++;
        firstBad ??= line;
        continue;
      }
      if (name) cur.counters[name] = value;
      if (name === 'priority_zero_sent') cur.sawLast = true;
      continue;
    }
    badLines++;
    firstBad ??= line;
  }

  // vrrp_print_stats() writes "Priority Zero: Sent" last in every block; a file that ends before
  // it (or mid-line) is still being written.
  const complete = blocks.length > 0 && trailing === '' && blocks[blocks.length - 1].sawLast;
  if (!complete) {
    return {
      complete: false,
      instances: 0,
      events: [{ kind: 'parse_error', at, source, reason: blocks.length ? 'keepalived.stats: cut short (last instance block incomplete)' : 'keepalived.stats: no "VRRP Instance:" block' }],
    };
  }
  for (const b of blocks) events.push({ kind: 'counters', at, source, iname: b.iname, counters: b.counters });
  if (badLines) {
    events.push({
      kind: 'parse_error',
      at,
      source,
      reason: `keepalived.stats: ${badLines} unrecognised line(s)`,
      input: firstBad !== undefined ? safeExcerpt(firstBad) : undefined,
    });
  }
  return { complete: true, instances: blocks.length, events };
}
