// keepalived's JSON dump (keepalived --signum=JSON -> /tmp/keepalived.json) to instance and
// counters events. 2.2.7 writes an array of {data, stats}; 2.2.8+ (json_version 2) writes
// {"vrrp": [...], "track_process": [...]}. Only known fields are read, so auth_data never leaves.
import { stateFromCode, type CountersEvent, type InstanceInfoEvent, type NodeEvent, type VipEntry, type VrrpCounterName } from '../../state/types';
import { authTypeName, familyOf, finiteNumber, vipEntry, type DumpParseOptions, type DumpParseResult } from './dumpCommon';

/** keepalived's stats field names (vrrp_json.c) to the exporter's counter names. */
const JSON_STATS_TO_COUNTER: Readonly<Record<string, VrrpCounterName>> = {
  advert_rcvd: 'advertisements_received',
  advert_sent: 'advertisements_sent',
  become_master: 'become_master',
  release_master: 'release_master',
  packet_len_err: 'packet_length_errors',
  advert_interval_err: 'advertisements_interval_errors',
  ip_ttl_err: 'ip_ttl_errors',
  invalid_type_rcvd: 'invalid_type_received',
  addr_list_err: 'address_list_errors',
  invalid_authtype: 'authentication_invalid',
  authtype_mismatch: 'authentication_mismatch',
  auth_failure: 'authentication_failure',
  pri_zero_rcvd: 'priority_zero_received',
  pri_zero_sent: 'priority_zero_sent',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Where JSON.parse gave up, without its message (V8 quotes the input there, auth_data included). */
function jsonErrorPosition(text: string): string {
  try {
    JSON.parse(text);
    return 'unknown position';
  } catch (e) {
    const m = /position (\d+)/.exec(String((e as Error).message));
    return m ? `position ${m[1]}` : text.trim() === '' ? 'empty file' : 'end of input';
  }
}

export function parseDumpJson(text: string, opts: DumpParseOptions): DumpParseResult {
  const source = opts.source ?? 'dumps';
  const at = opts.at;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // Half-written (keepalived writes it in place, not atomically) or garbage: the caller retries
    // while the file is still changing and reports it only when it stays like this.
    return {
      complete: false,
      instances: 0,
      events: [{ kind: 'parse_error', at, source, reason: `keepalived.json: not valid JSON (${jsonErrorPosition(text)})` }],
    };
  }
  const list = Array.isArray(doc) ? doc : isObject(doc) && Array.isArray(doc.vrrp) ? doc.vrrp : undefined;
  if (!list) {
    return {
      complete: true,
      instances: 0,
      events: [{ kind: 'parse_error', at, source, reason: 'keepalived.json: neither an array (2.2.7) nor {"vrrp": [...]} (2.2.8+)' }],
    };
  }
  const events: NodeEvent[] = [];
  let instances = 0;
  list.forEach((entry: unknown, i: number) => {
    const data = isObject(entry) && isObject(entry.data) ? entry.data : undefined;
    const iname = data && typeof data.iname === 'string' && data.iname !== '' ? data.iname : undefined;
    if (!data || !iname) {
      events.push({ kind: 'parse_error', at, source, reason: `keepalived.json: entry ${i} has no data.iname` });
      return;
    }
    const vrid = finiteNumber(data.vrid);
    const intf = typeof data.ifp_ifname === 'string' ? data.ifp_ifname : '';
    const vipEntries = Array.isArray(data.vips) ? data.vips.filter((v): v is string => typeof v === 'string') : [];
    const entries = vipEntries.map(vipEntry).filter((v): v is VipEntry => v !== undefined);
    const vips = entries.map((e) => e.address);
    const excluded = (Array.isArray(data.evips) ? data.evips.filter((v): v is string => typeof v === 'string') : []).map(vipEntry).filter((v): v is VipEntry => v !== undefined);
    const familyHint = vips[0] ?? excluded[0]?.address;
    const ev: InstanceInfoEvent = {
      kind: 'instance',
      at,
      source,
      // The JSON dump has no family field: the VIPs tell (an instance's VIPs are all one family).
      key: { iname, intf, vrid: vrid ?? 0, family: familyHint ? familyOf(familyHint) : 'IPv4' },
      vips,
      vipEntries: entries,
      excludedVips: excluded,
    };
    const code = finiteNumber(data.state);
    if (opts.withState && code !== undefined) ev.state = stateFromCode(code);
    const base = finiteNumber(data.base_priority);
    if (base !== undefined) ev.priority = base;
    const eff = finiteNumber(data.effective_priority);
    if (eff !== undefined) ev.effectivePriority = eff;
    const adver = finiteNumber(data.adver_int);
    if (adver !== undefined) ev.advertIntervalMs = Math.round(adver * 1000);
    if ('auth_type' in data) {
      const t = authTypeName(data.auth_type);
      if (t) ev.authType = t;
    }
    if (typeof data.nopreempt === 'boolean') ev.nopreempt = data.nopreempt;
    else if (data.nopreempt === 0 || data.nopreempt === 1) ev.nopreempt = data.nopreempt === 1;
    const pd = finiteNumber(data.preempt_delay);
    if (pd !== undefined) ev.preemptDelayS = pd;
    events.push(ev);
    instances++;

    const counters: CountersEvent['counters'] = {};
    const stats = isObject(entry) && isObject(entry.stats) ? entry.stats : undefined;
    if (stats) {
      for (const [k, name] of Object.entries(JSON_STATS_TO_COUNTER)) {
        const v = finiteNumber(stats[k]);
        if (v !== undefined && v >= 0) counters[name] = v;
      }
    }
    // The keepalived exporter exposes garp_delay (a setting, in seconds) as this "counter"; kept
    // for drop-in compatibility.
    const garp = finiteNumber(data.garp_delay);
    if (garp !== undefined && garp >= 0) counters.gratuitous_arp_delay = garp;
    if (Object.keys(counters).length) events.push({ kind: 'counters', at, source, iname, counters });
  });
  return { complete: true, instances, events };
}
