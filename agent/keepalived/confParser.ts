// keepalived.conf to KeepalivedConf: the statement tree (keyword, args, optional block) built from
// the tokenizer's stream, then the parts keepwatch needs read out of it: global_defs, vrrp_script,
// vrrp_sync_group and vrrp_instance with VIPs, peers, preemption, tracking and notify hooks.
// Never throws: every problem is an issue with file:line. The authentication block's auth_pass is
// read past and never stored, logged or echoed in a message.
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { AddressFamily } from '../state/types';
import { tokenizeConf, tokenizeText, type Token, type TokenizerFs } from './confTokenizer';
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

/** Token stream to statements. Unbalanced braces are issues; parsing goes on. */
export function buildTree(tokens: Token[], issues: ConfIssue[]): Statement[] {
  let pos = 0;
  const parseBlock = (opener?: Token): Statement[] => {
    const out: Statement[] = [];
    for (;;) {
      while (pos < tokens.length && tokens[pos].type === 'eol') pos++;
      if (pos >= tokens.length) {
        if (opener) issues.push({ file: opener.file, line: opener.line, severity: 'error', message: 'block opened here is never closed (missing "}")' });
        return out;
      }
      const t = tokens[pos];
      if (t.type === 'close') {
        pos++;
        if (opener) return out;
        issues.push({ file: t.file, line: t.line, severity: 'error', message: 'unexpected "}" without an open block' });
        continue;
      }
      if (t.type === 'open') {
        pos++;
        issues.push({ file: t.file, line: t.line, severity: 'error', message: 'block "{" without a keyword before it' });
        parseBlock(t);
        continue;
      }
      const st: Statement = { keyword: t.text, args: [], file: t.file, line: t.line };
      pos++;
      while (pos < tokens.length && tokens[pos].type === 'word') st.args.push(tokens[pos++].text);
      // The block may open on the same line or on the next one(s).
      let look = pos;
      while (look < tokens.length && tokens[look].type === 'eol') look++;
      if (look < tokens.length && tokens[look].type === 'open') {
        const open = tokens[look];
        pos = look + 1;
        st.block = parseBlock(open);
      }
      out.push(st);
    }
  };
  return parseBlock();
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
      this.error(s, `${s.keyword} needs a value`);
      return undefined;
    }
    return s.args[0];
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
      this.error(s, `${s.keyword} needs a script`);
      return undefined;
    }
    return s.args.join(' ');
  }
}

function interpret(tree: Statement[], files: string[], issues: ConfIssue[]): KeepalivedConf {
  const r = new Reader(issues);
  const conf: KeepalivedConf = {
    files,
    globalDefs: { enableDbus: false, enableScriptSecurity: false },
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
  for (const c of needBlock(r, s) ?? []) {
    if (c.keyword === 'group') {
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
    if (p > (family === 'IPv4' ? 32 : 128)) {
      r.error(s, `virtual_ipaddress ${address}: prefix /${p} too long for ${family}`);
      return undefined;
    }
    vip.prefix = p;
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
    vips: [],
    excludedVips: [],
    unicastPeers: [],
    nopreempt: false,
    trackScripts: [],
    trackInterfaces: [],
    notify: {},
    useVmac: false,
  };
  let nativeIpv6 = false;
  let sawVrid = false;
  for (const c of needBlock(r, s) ?? []) {
    switch (c.keyword) {
      case 'interface':
        inst.interface = r.arg(c);
        break;
      case 'virtual_router_id':
        sawVrid = true;
        inst.virtualRouterId = r.int(c, 1, 255);
        break;
      case 'priority':
        inst.priority = r.int(c, 1, 255);
        break;
      case 'state': {
        const v = r.arg(c)?.toUpperCase();
        if (v === 'MASTER' || v === 'BACKUP') inst.state = v;
        else if (v !== undefined) r.error(c, `state must be MASTER or BACKUP, got "${c.args[0]}"`);
        break;
      }
      case 'advert_int':
        inst.advertIntS = r.num(c, 0.01, 255);
        break;
      case 'authentication':
        // Only the type is kept; auth_pass is a secret and is dropped here, value unread.
        for (const a of needBlock(r, c) ?? []) {
          if (a.keyword === 'auth_type') {
            const t = r.arg(a)?.toUpperCase();
            if (t === 'PASS' || t === 'AH') inst.authType = t;
            else if (t !== undefined) r.error(a, 'auth_type must be PASS or AH');
          } else if (a.keyword === 'auth_pass' && a.args.length === 0) {
            r.error(a, 'auth_pass needs a value');
          }
        }
        break;
      case 'virtual_ipaddress':
        inst.vips.push(...readAddressList(r, c));
        break;
      case 'virtual_ipaddress_excluded':
        inst.excludedVips.push(...readAddressList(r, c));
        break;
      case 'unicast_src_ip': {
        const v = r.arg(c);
        if (v !== undefined && !familyOf(v)) r.error(c, `unicast_src_ip: "${v}" is not an IP address`);
        else inst.unicastSrcIp = v;
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
        nativeIpv6 = true;
        break;
      case 'version':
        inst.vrrpVersion = r.int(c, 2, 3);
        break;
      default:
        if (c.keyword in NOTIFY_KEYS) inst.notify[NOTIFY_KEYS[c.keyword]] = r.script(c);
        break;
    }
  }
  if (!sawVrid) r.error(s, `vrrp_instance ${name}: virtual_router_id missing`);
  if (!inst.interface) r.warn(s, `vrrp_instance ${name}: interface missing (keepalived then uses the default interface)`);
  // keepalived takes the family from the first VIP (or native_ipv6); the others must match.
  inst.family = nativeIpv6 ? 'IPv6' : inst.vips[0]?.family ?? 'IPv4';
  for (const v of inst.vips) {
    if (v.family !== inst.family) r.warn({ keyword: '', args: [], file: v.file, line: v.line }, `vrrp_instance ${name}: ${v.family} address ${v.address} in an ${inst.family} instance (keepalived moves it to the excluded list)`);
  }
  if (inst.vrrpVersion === undefined && g.vrrpVersion !== undefined) inst.vrrpVersion = g.vrrpVersion;
  return inst;
}
