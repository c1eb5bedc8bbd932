// keepalived.conf to KeepalivedConf: the statement tree (keyword, args, optional block) built from
// the tokenizer's stream, then the parts keepwatch needs read out of it: global_defs, vrrp_script,
// vrrp_sync_group and vrrp_instance with VIPs, peers, preemption, tracking and notify hooks.
// Never throws: every problem is an issue with file:line. The authentication block's auth_pass is
// read past and never stored, logged or echoed in a message.
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { AddressFamily } from '../state/types';
import { tokenizeConf, tokenizeText, type Token, type TokenizerFs } from './confTokenizer';
import { CONTEXTS, type ContextName } from './confKeywords';
import type { ConfIssue, GlobalDefsConf, KeepalivedConf, SyncGroupConf, VipConf, VrrpInstanceConf, VrrpScriptConf } from './confTypes';

export interface Statement {
  keyword: string;
  args: string[];
  file: string;
  line: number;
  block?: Statement[];
}

export interface ParseConfOptions {
  fs?: TokenizerFs;
  /** keepalived -i <id>, for `@id` conditional lines. */
  configId?: string;
}

/** One line as keepalived reads it: its words, or a lone `{` or `}` (keepalived splits a line at each brace). */
interface Line {
  words: Token[];
}

function toLines(tokens: Token[]): Line[] {
  const out: Line[] = [];
  let cur: Token[] = [];
  const flush = () => {
    if (cur.length) out.push({ words: cur });
    cur = [];
  };
  for (const t of tokens) {
    if (t.type === 'word') cur.push(t);
    else if (t.type === 'eol') flush();
    else {
      flush();
      out.push({ words: [t] });
    }
  }
  flush();
  return out;
}

/**
 * Token stream to statements, read as keepalived's parser reads them: each line is a keyword of
 * the block it stands in (CONTEXTS), and how the lines after it are read depends on that keyword,
 * not on where the braces are. So an unknown keyword's `{` is ignored and its `}` closes the
 * enclosing block; a value block without `{` takes the following lines up to the next `}` as items
 * (`track_interface eth0` swallows an `authentication { ... }` after it); blocks of the checker and
 * BFD processes are skipped by counting braces. Never throws.
 */
export function buildTree(tokens: Token[], issues: ConfIssue[]): Statement[] {
  const lines = toLines(tokens);
  let pos = 0;
  const isOpen = (l: Line | undefined) => l !== undefined && l.words[0].type === 'open';
  const isClose = (l: Line | undefined) => l !== undefined && l.words[0].type === 'close';
  const at = (l: Line) => ({ file: l.words[0].file, line: l.words[0].line });
  const issue = (l: Line, severity: ConfIssue['severity'], message: string, extra: Partial<ConfIssue> = {}) => issues.push({ ...at(l), severity, message, ...extra });
  const statement = (l: Line): Statement => ({ keyword: l.words[0].text, args: l.words.slice(1).map((w) => w.text), ...at(l) });

  /** A block keepwatch does not read: `{` on the next line, then up to its matching `}`. */
  const skipBlock = () => {
    if (!isOpen(lines[pos])) return;
    let depth = 0;
    while (pos < lines.length) {
      const l = lines[pos++];
      if (isOpen(l)) depth++;
      else if (isClose(l) && --depth === 0) return;
    }
  };

  /** Contents of an unchecked block (global_defs), nested blocks kept as they stand. */
  const readAnyBlock = (): Statement[] | undefined => {
    if (!isOpen(lines[pos])) return undefined;
    const open = lines[pos++];
    const out: Statement[] = [];
    while (pos < lines.length) {
      const l = lines[pos++];
      if (isClose(l)) return out;
      if (isOpen(l)) continue;
      const s = statement(l);
      s.block = readAnyBlock();
      out.push(s);
    }
    issue(open, 'error', 'block opened here is never closed (missing "}")');
    return out;
  };

  /** keepalived's alloc_value_block: every line up to the next `}` is an item. */
  const readValues = (owner: Statement, ownerLine: Line): Statement[] => {
    if (owner.args.length) {
      issue(ownerLine, 'error', `${owner.keyword}: "${owner.args.join(' ')}" on the keyword's line is ignored (keepalived reads its items from a { } block)`);
      owner.args = [];
    }
    const out: Statement[] = [];
    let first = true;
    while (pos < lines.length) {
      const l = lines[pos++];
      if (first) {
        first = false;
        if (isOpen(l)) continue;
        issue(l, 'error', `${owner.keyword} has no "{": keepalived takes every line up to the next "}" as one of its items`, { code: 'block-without-brace' });
      }
      if (isClose(l)) return out;
      out.push(statement(l));
    }
    issue(ownerLine, 'error', `${owner.keyword} block is never closed (missing "}")`);
    return out;
  };

  const readBlock = (context: ContextName, opener?: { statement: Statement; line: Line }): Statement[] => {
    const known = CONTEXTS[context].keywords;
    const out: Statement[] = [];
    let needOpen = opener !== undefined;
    while (pos < lines.length) {
      const l = lines[pos++];
      if (needOpen) {
        needOpen = false;
        if (isOpen(l)) continue;
        issue(l, 'error', `${opener?.statement.keyword} has no "{": keepalived reads the following lines as its contents`);
      } else if (isOpen(l)) {
        issue(l, 'error', 'unexpected "{" (keepalived ignores it and reads what follows as part of the enclosing block)');
        continue;
      }
      if (isClose(l)) {
        if (opener) return out;
        issue(l, 'error', 'unknown keyword "}" (a "}" without an open block)', { code: 'unknown-keyword', keyword: '}' });
        continue;
      }
      const s = statement(l);
      if (!known) {
        s.block = readAnyBlock();
        out.push(s);
        continue;
      }
      const kw = known.get(s.keyword);
      if (!kw) {
        issue(l, 'error', `unknown keyword "${s.keyword}" in ${context === 'top' ? 'the top level' : context} (keepalived ignores the line)`, { code: 'unknown-keyword', keyword: s.keyword });
        continue;
      }
      if (kw.kind === 'skip') {
        skipBlock();
        continue;
      }
      if (kw.kind === 'values') s.block = readValues(s, l);
      else if (kw.kind === 'block') s.block = readBlock(kw.context as ContextName, { statement: s, line: l });
      out.push(s);
    }
    if (opener) issue(opener.line, 'error', `${opener.statement.keyword} block opened here is never closed (missing "}")`);
    return out;
  };

  return readBlock('top');
}

const defaultFs: TokenizerFs = {
  readFileSync: (p, enc) => fs.readFileSync(p, enc),
  realpathSync: (p) => fs.realpathSync(p),
  readdirSync: (d) => fs.readdirSync(d),
  statSync: (p) => fs.statSync(p),
};

/** Parses keepalived.conf and everything it includes. Never throws. */
export function parseKeepalivedConf(file: string, opts: ParseConfOptions = {}): KeepalivedConf {
  const tk = tokenizeConf(file, { fs: opts.fs ?? defaultFs, configId: opts.configId });
  const issues = [...tk.issues];
  const tree = buildTree(tk.tokens, issues);
  return interpret(tree, tk.files, issues);
}

/** Parses a configuration given as text (tests, `keepwatch check-config`); includes are read from fs relative to `file`. */
export function parseKeepalivedConfText(text: string, file = 'keepalived.conf', opts: ParseConfOptions = {}): KeepalivedConf {
  const tk = tokenizeText(text, file, { fs: opts.fs ?? defaultFs, configId: opts.configId });
  const issues = [...tk.issues];
  const tree = buildTree(tk.tokens, issues);
  return interpret(tree, tk.files, issues);
}

// ------------------------------------------------------------------------------ interpretation

class Reader {
  /** The first missing value: keepalived exits on it (null_strvec) before running anything. */
  fatal?: ConfIssue;

  constructor(readonly issues: ConfIssue[]) {}

  error(s: Statement, message: string): void {
    this.issues.push({ file: s.file, line: s.line, severity: 'error', message });
  }

  warn(s: Statement, message: string): void {
    this.issues.push({ file: s.file, line: s.line, severity: 'warning', message });
  }

  /** The single argument of a keyword, or undefined (and an issue) when missing. */
  arg(s: Statement): string | undefined {
    if (s.args.length === 0) {
      this.missing(s);
      return undefined;
    }
    return s.args[0];
  }

  /** keepalived reads the value unchecked and exits when it is missing: the whole configuration is refused. */
  missing(s: Statement): void {
    const issue: ConfIssue = { file: s.file, line: s.line, severity: 'error', message: `keyword ${s.keyword} missing a parameter`, code: 'missing-parameter' };
    this.issues.push(issue);
    this.fatal ??= issue;
  }

  int(s: Statement, min: number, max: number): number | undefined {
    const v = this.arg(s);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      this.error(s, `${s.keyword} must be an integer ${min}-${max}, got "${v}"`);
      return undefined;
    }
    return Number(v);
  }

  num(s: Statement, min: number, max: number): number | undefined {
    const v = this.arg(s);
    if (v === undefined) return undefined;
    if (!/^\d+(\.\d+)?$/.test(v) || Number(v) < min || Number(v) > max) {
      this.error(s, `${s.keyword} must be a number ${min}-${max}, got "${v}"`);
      return undefined;
    }
    return Number(v);
  }

  /** Script paths may be given in quotes with arguments ("/bin/x a b") or as several words. */
  script(s: Statement): string | undefined {
    if (s.args.length === 0) {
      this.missing(s);
      return undefined;
    }
    return s.args.join(' ');
  }
}

function interpret(tree: Statement[], files: string[], issues: ConfIssue[]): KeepalivedConf {
  const r = new Reader(issues);
  const conf: KeepalivedConf = {
    files,
    globalDefs: { enableDbus: false, enableScriptSecurity: false, vrrpStrict: false },
    instances: [],
    syncGroups: [],
    scripts: [],
    issues,
  };
  for (const s of tree) {
    switch (s.keyword) {
      case 'global_defs':
        readGlobalDefs(r, s, conf.globalDefs);
        break;
      case 'vrrp_instance': {
        const inst = readInstance(r, s, conf.globalDefs);
        if (!inst) break;
        if (conf.instances.some((i) => i.name === inst.name)) r.error(s, `vrrp_instance ${inst.name} defined twice`);
        else conf.instances.push(inst);
        break;
      }
      case 'vrrp_sync_group': {
        const g = readSyncGroup(r, s);
        if (g) conf.syncGroups.push(g);
        break;
      }
      case 'vrrp_script': {
        const sc = readScript(r, s);
        if (sc) conf.scripts.push(sc);
        break;
      }
      default:
        // virtual_server, static_ipaddress, vrrp_track_file...: not what keepwatch watches.
        break;
    }
  }
  for (const g of conf.syncGroups) {
    for (const name of g.instances) {
      const inst = conf.instances.find((i) => i.name === name);
      if (!inst) issues.push({ file: g.file, line: g.line, severity: 'warning', message: `vrrp_sync_group ${g.name}: no vrrp_instance ${name}` });
      else if (inst.syncGroup && inst.syncGroup !== g.name) issues.push({ file: g.file, line: g.line, severity: 'error', message: `vrrp_instance ${name} is in two sync groups (${inst.syncGroup}, ${g.name})` });
      else inst.syncGroup = g.name;
    }
  }
  if (r.fatal) conf.fatal = r.fatal;
  return conf;
}

function needBlock(r: Reader, s: Statement): Statement[] | undefined {
  if (!s.block) {
    r.error(s, `${s.keyword} needs a { ... } block`);
    return undefined;
  }
  return s.block;
}

function readGlobalDefs(r: Reader, s: Statement, g: GlobalDefsConf): void {
  for (const c of needBlock(r, s) ?? []) {
    switch (c.keyword) {
      case 'router_id':
        g.routerId = r.arg(c);
        break;
      case 'enable_dbus':
        g.enableDbus = true;
        break;
      case 'vrrp_notify_fifo':
        g.vrrpNotifyFifo = r.arg(c);
        break;
      case 'notify_fifo':
        g.notifyFifo = r.arg(c);
        break;
      case 'enable_script_security':
        g.enableScriptSecurity = true;
        break;
      case 'script_user':
        g.scriptUser = r.arg(c);
        if (c.args[1] !== undefined) g.scriptGroup = c.args[1];
        break;
      case 'vrrp_version':
        g.vrrpVersion = r.int(c, 2, 3);
        break;
      case 'vrrp_strict':
        g.vrrpStrict = true;
        break;
      default:
        break;
    }
  }
}

function readScript(r: Reader, s: Statement): VrrpScriptConf | undefined {
  const name = s.args[0];
  if (!name) {
    r.error(s, 'vrrp_script needs a name');
    return undefined;
  }
  const sc: VrrpScriptConf = { name, file: s.file, line: s.line };
  for (const c of needBlock(r, s) ?? []) {
    switch (c.keyword) {
      case 'script':
        sc.script = r.script(c);
        break;
      case 'interval':
        sc.intervalS = r.num(c, 0, 86_400);
        break;
      case 'timeout':
        sc.timeoutS = r.num(c, 0, 86_400);
        break;
      case 'weight':
        sc.weight = r.int(c, -254, 254);
        break;
      case 'rise':
        sc.rise = r.int(c, 1, 1_000_000);
        break;
      case 'fall':
        sc.fall = r.int(c, 1, 1_000_000);
        break;
      case 'user':
        sc.user = r.arg(c);
        break;
      default:
        break;
    }
  }
  return sc;
}

const NOTIFY_KEYS: Record<string, 'notify' | 'master' | 'backup' | 'fault' | 'stop'> = {
  notify: 'notify',
  notify_master: 'master',
  notify_backup: 'backup',
  notify_fault: 'fault',
  notify_stop: 'stop',
};

function readSyncGroup(r: Reader, s: Statement): SyncGroupConf | undefined {
  const name = s.args[0];
  if (!name) {
    r.error(s, 'vrrp_sync_group needs a name');
    return undefined;
  }
  const g: SyncGroupConf = { name, instances: [], notify: {}, file: s.file, line: s.line };
  let sawGroup = false;
  for (const c of needBlock(r, s) ?? []) {
    if (c.keyword === 'group') {
      if (sawGroup) {
        r.warn(c, `vrrp_sync_group ${name}: group already given (keepalived ignores this one)`);
        continue;
      }
      sawGroup = true;
      for (const m of needBlock(r, c) ?? []) {
        g.instances.push(m.keyword, ...m.args);
      }
    } else if (c.keyword in NOTIFY_KEYS) {
      g.notify[NOTIFY_KEYS[c.keyword]] = r.script(c);
    }
  }
  return g;
}

function familyOf(addr: string): AddressFamily | undefined {
  const v = net.isIP(addr);
  return v === 4 ? 'IPv4' : v === 6 ? 'IPv6' : undefined;
}

const VIP_VALUE_KEYS = new Set(['brd', 'broadcast', 'dev', 'scope', 'label', 'peer', 'metric', 'preferred_lft', 'track_group']);

/** One virtual_ipaddress line: `<addr>[/prefix] [brd X] [dev X] [scope X] [label X] [flags...]`. */
function readVip(r: Reader, s: Statement): VipConf | undefined {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(s.keyword);
  const address = m?.[1] ?? s.keyword;
  const family = familyOf(address);
  if (!m || !family) {
    r.error(s, `virtual_ipaddress: "${s.keyword}" is not an IP address`);
    return undefined;
  }
  const vip: VipConf = { address, family, flags: [], file: s.file, line: s.line };
  if (m[2] !== undefined) {
    const p = Number(m[2]);
    const max = family === 'IPv4' ? 32 : 128;
    // keepalived keeps the address and uses the full-length prefix.
    if (p > max) r.error(s, `virtual_ipaddress ${address}: prefix /${p} too long for ${family} (keepalived uses /${max})`);
    vip.prefix = Math.min(p, max);
  }
  for (let i = 0; i < s.args.length; i++) {
    const k = s.args[i];
    if (VIP_VALUE_KEYS.has(k)) {
      const v = s.args[i + 1];
      if (v === undefined) {
        r.error(s, `virtual_ipaddress ${address}: ${k} needs a value`);
        break;
      }
      i++;
      if (k === 'dev') vip.dev = v;
      else if (k === 'label') vip.label = v;
      else if (k === 'scope') vip.scope = v;
      else if (k === 'brd' || k === 'broadcast') vip.brd = v;
      else if (k === 'peer') vip.peer = v;
    } else {
      vip.flags.push(k);
    }
  }
  return vip;
}

function readAddressList(r: Reader, s: Statement): VipConf[] {
  const out: VipConf[] = [];
  for (const e of needBlock(r, s) ?? []) {
    const v = readVip(r, e);
    if (v) out.push(v);
  }
  return out;
}

/** keepalived's interface names are at most IFNAMSIZ-1 characters; a longer one is ignored. */
const MAX_IFNAME = 15;

function readInstance(r: Reader, s: Statement, g: GlobalDefsConf): VrrpInstanceConf | undefined {
  const name = s.args[0];
  if (!name) {
    r.error(s, 'vrrp_instance needs a name');
    return undefined;
  }
  const inst: VrrpInstanceConf = {
    name,
    file: s.file,
    line: s.line,
    family: 'IPv4',
    priority: 100,
    state: 'BACKUP',
    advertIntS: 1,
    vips: [],
    droppedVips: [],
    excludedVips: [],
    unicastPeers: [],
    nopreempt: false,
    trackScripts: [],
    trackInterfaces: [],
    notify: {},
    useVmac: false,
    vrrpVersion: 2,
  };
  // keepalived fixes the instance's family at the first address it reads (a VIP or unicast_src_ip)
  // or at native_ipv6; an address of the other family is then ignored with an error.
  let family: AddressFamily | undefined;
  let wantMaster = false;
  let prioritySet = false;
  let instanceVersion: number | undefined;
  for (const c of needBlock(r, s) ?? []) {
    switch (c.keyword) {
      case 'interface': {
        const v = r.arg(c);
        if (v !== undefined && v.length > MAX_IFNAME) r.error(c, `interface name "${v}" is longer than ${MAX_IFNAME} characters (keepalived ignores it)`);
        else if (v !== undefined) inst.interface = v;
        break;
      }
      case 'virtual_router_id': {
        const v = r.int(c, 1, 255);
        if (v !== undefined) inst.virtualRouterId = v;
        break;
      }
      case 'priority': {
        if (r.arg(c) === undefined) break;
        prioritySet = true;
        // keepalived replaces an invalid priority by its default, 100.
        inst.priority = r.int(c, 1, 255) ?? 100;
        break;
      }
      case 'state': {
        // Compared case-sensitively, as keepalived does: `master` is unknown and means BACKUP.
        const v = r.arg(c);
        if (v === 'MASTER') wantMaster = true;
        else if (v === 'BACKUP') {
          if (wantMaster) r.warn(c, `vrrp_instance ${name}: state already set to MASTER (keepalived ignores BACKUP)`);
        } else if (v !== undefined) {
          r.error(c, `state must be MASTER or BACKUP, got "${v}" (keepalived starts the instance as BACKUP)`);
          wantMaster = false;
        }
        break;
      }
      case 'advert_int': {
        const v = r.num(c, 0.01, 255);
        if (v !== undefined) inst.advertIntS = v;
        break;
      }
      case 'authentication':
        // Only the type is kept; auth_pass is a secret and is dropped here, value unread.
        for (const a of needBlock(r, c) ?? []) {
          if (a.keyword === 'auth_type') {
            const t = r.arg(a);
            if (t === 'PASS' || t === 'AH') inst.authType = t;
            else if (t !== undefined) r.error(a, 'auth_type must be PASS or AH (case matters; keepalived then runs without authentication)');
          } else if (a.keyword === 'auth_pass' && a.args.length === 0) {
            r.missing(a);
          }
        }
        break;
      case 'virtual_ipaddress':
        for (const v of readAddressList(r, c)) {
          family ??= v.family;
          if (v.family === family) inst.vips.push(v);
          else {
            inst.droppedVips.push(v);
            r.error({ keyword: '', args: [], file: v.file, line: v.line }, `vrrp_instance ${name}: ${v.family} address ${v.address} in an ${family} instance (keepalived ignores it: the first address decides the family)`);
          }
        }
        break;
      case 'virtual_ipaddress_excluded':
        inst.excludedVips.push(...readAddressList(r, c));
        break;
      case 'unicast_src_ip': {
        const v = r.arg(c);
        if (v === undefined) break;
        const f = familyOf(v);
        if (!f) r.error(c, `unicast_src_ip: "${v}" is not an IP address`);
        else if (family && f !== family) r.error(c, `unicast_src_ip ${v} is ${f} in an ${family} instance (keepalived ignores it)`);
        else {
          family ??= f;
          inst.unicastSrcIp = v;
        }
        break;
      }
      case 'unicast_peer':
        for (const p of needBlock(r, c) ?? []) {
          if (familyOf(p.keyword)) inst.unicastPeers.push(p.keyword);
          else r.error(p, `unicast_peer: "${p.keyword}" is not an IP address`);
        }
        break;
      case 'nopreempt':
        inst.nopreempt = true;
        break;
      case 'preempt':
        inst.nopreempt = false;
        break;
      case 'preempt_delay':
        inst.preemptDelayS = r.num(c, 0, 1000);
        break;
      case 'track_script':
        for (const t of needBlock(r, c) ?? []) {
          const wi = t.args.indexOf('weight');
          const w = wi >= 0 ? Number(t.args[wi + 1]) : undefined;
          inst.trackScripts.push(w !== undefined && Number.isInteger(w) ? { name: t.keyword, weight: w } : { name: t.keyword });
        }
        break;
      case 'track_interface':
        for (const t of needBlock(r, c) ?? []) inst.trackInterfaces.push(t.keyword);
        break;
      case 'use_vmac':
        inst.useVmac = true;
        if (c.args[0] !== undefined) inst.vmacName = c.args[0];
        break;
      case 'native_ipv6':
        if (family === 'IPv4') r.error(c, `vrrp_instance ${name}: native_ipv6 with IPv4 addresses (keepalived ignores it)`);
        else family = 'IPv6';
        break;
      case 'version':
        instanceVersion = r.int(c, 2, 3);
        break;
      default:
        if (c.keyword in NOTIFY_KEYS) inst.notify[NOTIFY_KEYS[c.keyword]] = r.script(c);
        break;
    }
  }
  inst.family = family ?? 'IPv4';
  // VRRPv2 is IPv4 only: keepalived runs an IPv6 instance as VRRPv3 whatever the configuration says.
  inst.vrrpVersion = inst.family === 'IPv6' ? 3 : instanceVersion ?? g.vrrpVersion ?? 2;
  if (inst.vrrpVersion === 2 && !Number.isInteger(inst.advertIntS)) {
    const rounded = Math.max(1, Math.round(inst.advertIntS));
    r.warn(s, `vrrp_instance ${name}: VRRPv2 advert_int ${inst.advertIntS}s is not a whole number of seconds (keepalived rounds it to ${rounded})`);
    inst.advertIntS = rounded;
  }
  // keepalived's corrections, in its order: an unset priority is 255 (address owner) for an initial
  // MASTER and 100 otherwise; AH below 255 cannot start as MASTER; nopreempt means nothing at 255
  // or for an initial MASTER, so keepalived clears it.
  if (!prioritySet) inst.priority = wantMaster ? 255 : 100;
  if (wantMaster && inst.authType === 'AH' && inst.priority !== 255) {
    r.warn(s, `vrrp_instance ${name}: initial state MASTER is incompatible with AH authentication (keepalived starts it as BACKUP)`);
    wantMaster = false;
  }
  inst.state = wantMaster ? 'MASTER' : 'BACKUP';
  if (inst.nopreempt && inst.priority === 255) {
    r.warn(s, `vrrp_instance ${name}: nopreempt is incompatible with priority 255 (keepalived clears it)`);
    inst.nopreempt = false;
  } else if (inst.nopreempt && inst.state === 'MASTER') {
    r.warn(s, `vrrp_instance ${name}: nopreempt does not work with initial state MASTER (keepalived clears it)`);
    inst.nopreempt = false;
  }
  if (inst.virtualRouterId === undefined) {
    r.error(s, `vrrp_instance ${name}: virtual_router_id missing or invalid (keepalived's VRRP process does not start)`);
    inst.fails = 'the virtual router id must be set';
  } else if (!inst.interface && inst.unicastPeers.length === 0) {
    r.error(s, `vrrp_instance ${name}: no interface and no unicast peer (keepalived's VRRP process does not start)`);
    inst.fails = 'Unknown interface! (no interface and no unicast peer)';
  } else if (!inst.interface) {
    r.warn(s, `vrrp_instance ${name}: interface missing (keepalived then uses the default interface)`);
  }
  return inst;
}
