// keepalived's text data dump (SIGUSR1 or D-Bus PrintData -> /tmp/keepalived.data) to instance,
// script and group events: what the JSON dump lacks (address family, unicast peers, sync group,
// vrrp_script status). Hand-rolled: keepalived's indented "Key = value" dump has no library.
// "Password = ..." lines are skipped, never stored: the dump prints auth_pass in clear text.
import {
  stateFromName,
  type AddressFamily,
  type GroupEvent,
  type InstanceInfoEvent,
  type NodeEvent,
  type ScriptEvent,
  type VipEntry,
} from '../../state/types';
import { authTypeName, familyOf, safeExcerpt, vipAddress, vipEntry, type DumpParseOptions, type DumpParseResult } from './dumpCommon';

interface InstanceDraft {
  iname: string;
  intf?: string;
  vrid?: number;
  ipv6?: boolean;
  state?: string;
  priority?: number;
  effectivePriority?: number;
  advertIntervalMs?: number;
  authType?: string;
  nopreempt?: boolean;
  preemptDelayS?: number;
  garpDelayS?: number;
  syncGroup?: string;
  vips: string[];
  vipEntries: VipEntry[];
  excludedVips: VipEntry[];
  unicastPeers: string[];
}

interface ScriptDraft {
  name: string;
  status?: string;
  state?: string;
}

interface GroupDraft {
  name: string;
  state?: string;
  members: string[];
}

const SCRIPT_STATE_CODE: Readonly<Record<string, number>> = {
  idle: 0,
  running: 1,
  'requested termination': 2,
  'forcing termination': 3,
};

function intOf(v: string): number | undefined {
  const m = /^-?\d+/.exec(v.trim());
  return m ? Number(m[0]) : undefined;
}

/** "1 sec", "1000 milli-sec", "1.5 sec" -> ms. */
function intervalMs(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(sec|secs|milli-sec|ms|usecs?)?\b/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2] === 'milli-sec' || m[2] === 'ms') return Math.round(n);
  if (m[2]?.startsWith('usec')) return Math.round(n / 1000);
  return Math.round(n * 1000);
}

export function parseDumpData(text: string, opts: DumpParseOptions): DumpParseResult {
  const source = opts.source ?? 'dumps';
  const at = opts.at;
  const instances: InstanceDraft[] = [];
  const scripts: ScriptDraft[] = [];
  const groups: GroupDraft[] = [];
  const sectionsSeen: string[] = [];
  let section = '';
  let inst: InstanceDraft | undefined;
  let script: ScriptDraft | undefined;
  let group: GroupDraft | undefined;
  let list = '';
  let badLines = 0;
  let firstBad: string | undefined;
  const bad = (line: string) => {
    badLines++;
    firstBad ??= line;
  };

  const lines = text.split('\n');
  const trailing = lines.pop() ?? '';
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const header = /^-+<\s*(.+?)\s*>-+\s*$/.exec(line);
    if (header) {
      section = header[1];
      sectionsSeen.push(section);
      inst = undefined;
      script = undefined;
      group = undefined;
      list = '';
      continue;
    }
    if (section === 'VRRP Topology') {
      const start = /^ VRRP Instance = (.+?)\s*$/.exec(line);
      if (start) {
        inst = { iname: start[1], vips: [], vipEntries: [], excludedVips: [], unicastPeers: [] };
        instances.push(inst);
        list = '';
        continue;
      }
      if (!inst) {
        bad(line);
        continue;
      }
      const item = /^ {5,}(\S.*?)\s*$/.exec(line);
      if (item) {
        if (list === 'Virtual IP') {
          const e = vipEntry(item[1]);
          if (e) {
            inst.vips.push(e.address);
            inst.vipEntries.push(e);
          }
        } else if (list === 'Virtual IP Excluded') {
          const e = vipEntry(item[1]);
          if (e) inst.excludedVips.push(e);
        } else if (list === 'Unicast Peer') {
          const a = vipAddress(item[1]);
          if (a) inst.unicastPeers.push(a);
        }
        continue;
      }
      const kv = /^ {3}(\S.*?) = (.*?)\s*$/.exec(line);
      if (kv) {
        list = '';
        const [, key, value] = kv;
        switch (key) {
          case 'Password':
            break; // auth_pass in clear text: never kept
          case 'State':
            inst.state = value;
            break;
          case 'Interface':
          case 'Listening device':
          case 'Running on device':
            inst.intf = value;
            break;
          case 'Virtual Router ID':
            inst.vrid = intOf(value);
            break;
          case 'Priority':
            inst.priority = intOf(value);
            break;
          case 'Effective priority':
            inst.effectivePriority = intOf(value);
            break;
          case 'Advert interval':
            inst.advertIntervalMs = intervalMs(value);
            break;
          case 'Preempt':
            inst.nopreempt = value === 'disabled';
            break;
          case 'Preempt delay':
            inst.preemptDelayS = intOf(value);
            break;
          case 'Authentication type':
            inst.authType = authTypeName(value) ?? value.split(/\s/)[0];
            break;
          case 'Sync group':
            inst.syncGroup = value;
            break;
          case 'Gratuitous ARP delay':
            inst.garpDelayS = intOf(value);
            break;
          // Older dumps: "Virtual IP = 1" then the list.
          case 'Virtual IP':
          case 'Unicast Peer':
            list = key;
            break;
          default:
            break;
        }
        continue;
      }
      const listHead = /^ {3}(\S.*?)\s*(?:\(\d+\))?\s*:\s*(.*)$/.exec(line);
      if (listHead) {
        list = listHead[1];
        continue;
      }
      // Flag lines ("Using Native IPv6", "Preempt disabled", "Multicast address ...").
      const flag = line.trim();
      if (flag === 'Using Native IPv6') inst.ipv6 = true;
      else if (flag === 'Preempt disabled') inst.nopreempt = true;
      list = '';
      continue;
    }
    if (section === 'VRRP Scripts') {
      const start = /^ VRRP Script = (.+?)\s*$/.exec(line);
      if (start) {
        script = { name: start[1] };
        scripts.push(script);
        continue;
      }
      const kv = /^ {3}(Status|State) = (.*?)\s*$/.exec(line);
      if (kv && script) {
        if (kv[1] === 'Status') script.status = kv[2];
        else script.state = kv[2];
      }
      continue;
    }
    if (section === 'VRRP Sync groups') {
      const start = /^ VRRP Sync Group = ([^,]+?)\s*(?:,\s*(\S+))?\s*$/.exec(line);
      if (start) {
        group = { name: start[1], state: start[2], members: [] };
        groups.push(group);
        list = '';
        continue;
      }
      if (!group) continue;
      if (/^ {3}VRRP member instances/.test(line)) {
        list = 'members';
        continue;
      }
      const item = /^ {5,}(\S+)\s*$/.exec(line);
      if (item && list === 'members') group.members.push(item[1]);
      else if (/^ {3}\S/.test(line)) list = '';
      continue;
    }
  }

  // vrrp_print_data() writes the topology, then more sections (sockpool, ..., interfaces): a file
  // that ends inside the topology, or mid-line, is still being written.
  const topo = sectionsSeen.indexOf('VRRP Topology');
  const complete = trailing === '' && topo >= 0 && sectionsSeen.length > topo + 1;
  if (!complete) {
    return {
      complete: false,
      instances: 0,
      events: [{ kind: 'parse_error', at, source, reason: topo < 0 ? 'keepalived.data: no "VRRP Topology" section' : 'keepalived.data: cut short (ends inside the topology)' }],
    };
  }

  const events: NodeEvent[] = [];
  const memberOf = new Map<string, string>();
  for (const g of groups) for (const m of g.members) memberOf.set(m, g.name);
  for (const d of instances) {
    const vrid = d.vrid;
    if (!d.intf || vrid === undefined) {
      events.push({ kind: 'parse_error', at, source, reason: `keepalived.data: instance ${d.iname} lacks ${d.intf ? 'Virtual Router ID' : 'Interface'}` });
      continue;
    }
    const family: AddressFamily = d.ipv6 ? 'IPv6' : d.vips[0] ? familyOf(d.vips[0]) : 'IPv4';
    const ev: InstanceInfoEvent = { kind: 'instance', at, source, key: { iname: d.iname, intf: d.intf, vrid, family }, vips: d.vips, vipEntries: d.vipEntries, excludedVips: d.excludedVips };
    if (opts.withState && d.state) {
      const s = stateFromName(d.state);
      if (s) ev.state = s;
    }
    if (d.priority !== undefined) ev.priority = d.priority;
    if (d.effectivePriority !== undefined) ev.effectivePriority = d.effectivePriority;
    if (d.advertIntervalMs !== undefined) ev.advertIntervalMs = d.advertIntervalMs;
    ev.authType = d.authType ?? 'none';
    if (d.nopreempt !== undefined) ev.nopreempt = d.nopreempt;
    if (d.preemptDelayS !== undefined) ev.preemptDelayS = d.preemptDelayS;
    ev.unicastPeers = d.unicastPeers;
    const sg = d.syncGroup ?? memberOf.get(d.iname);
    if (sg) ev.syncGroup = sg;
    events.push(ev);
    // The keepalived exporter's keepalived_gratuitous_arp_delay_total comes from this setting.
    if (d.garpDelayS !== undefined) events.push({ kind: 'counters', at, source, iname: d.iname, counters: { gratuitous_arp_delay: d.garpDelayS } });
  }
  for (const s of scripts) {
    if (!s.status) continue;
    const ev: ScriptEvent = { kind: 'script', at, source, name: s.name, good: s.status === 'GOOD' };
    const code = s.state !== undefined ? SCRIPT_STATE_CODE[s.state] : undefined;
    if (code !== undefined) ev.state = code;
    events.push(ev);
  }
  if (opts.withState) {
    for (const g of groups) {
      const s = g.state ? stateFromName(g.state) : undefined;
      if (s) events.push({ kind: 'group', at, source, group: g.name, state: s } satisfies GroupEvent);
    }
  }
  if (badLines) {
    events.push({
      kind: 'parse_error',
      at,
      source,
      reason: `keepalived.data: ${badLines} line(s) outside any instance in the topology`,
      input: firstBad !== undefined ? safeExcerpt(firstBad) : undefined,
    });
  }
  return { complete: true, instances: instances.length, events };
}
