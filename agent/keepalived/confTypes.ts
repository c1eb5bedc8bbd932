// What keepwatch knows of keepalived.conf: the parts that matter for monitoring (instances, VIPs,
// peers, preemption, sync groups, scripts, notify hooks). Secrets (auth_pass) are never kept.
import type { AddressFamily } from '../state/types';

/** A place in the configuration, for error messages and the API. */
export interface ConfLocation {
  file: string;
  line: number;
}

export interface ConfIssue extends ConfLocation {
  severity: 'error' | 'warning';
  /** Names the keyword and what is wrong; never echoes a secret's value. */
  message: string;
  /** The kinds other modules and tests tell apart; most issues have none. */
  code?: 'unknown-keyword' | 'block-without-brace' | 'missing-parameter';
  /** The keyword an unknown-keyword issue is about, as written. */
  keyword?: string;
}

/** One `virtual_ipaddress` entry: `<addr>[/<prefix>] [brd X] [dev X] [scope X] [label X] ...`. */
export interface VipConf extends ConfLocation {
  /** Address without prefix, as written (see normalizeIp for comparisons). */
  address: string;
  prefix?: number;
  family: AddressFamily;
  dev?: string;
  label?: string;
  scope?: string;
  brd?: string;
  peer?: string;
  /** Flags without a value (no_track, -nodad, home, noprefixroute, autojoin...). */
  flags: string[];
}

export interface VrrpInstanceConf extends ConfLocation {
  name: string;
  interface?: string;
  virtualRouterId?: number;
  /** As keepalived runs it: the configured value, else 255 for an initial MASTER and 100 otherwise. */
  priority: number;
  /** The initial state keepalived starts the instance in (BACKUP unless a valid `state MASTER` survives
   *  keepalived's corrections: AH authentication below priority 255 clears it). Not the current state. */
  state: 'MASTER' | 'BACKUP';
  /** advert_int in seconds as keepalived uses it: default 1, rounded to whole seconds for VRRPv2. */
  advertIntS: number;
  family: AddressFamily;
  /** PASS or AH; the password itself is never kept. */
  authType?: string;
  vips: VipConf[];
  /** VIPs keepalived ignores because their family differs from the instance's (the first address decides). */
  droppedVips: VipConf[];
  excludedVips: VipConf[];
  unicastSrcIp?: string;
  unicastPeers: string[];
  /** As keepalived runs it: cleared for an initial MASTER and for priority 255. */
  nopreempt: boolean;
  preemptDelayS?: number;
  trackScripts: Array<{ name: string; weight?: number }>;
  trackInterfaces: string[];
  notify: { notify?: string; master?: string; backup?: string; fault?: string; stop?: string };
  useVmac: boolean;
  vmacName?: string;
  /** The vrrp_sync_group this instance belongs to, if any. */
  syncGroup?: string;
  /** `version`, else global_defs' vrrp_version, else 2. */
  vrrpVersion: number;
  /** Why keepalived's VRRP process refuses to run with this instance (in keepalived's words), if it does. */
  fails?: string;
}

export interface SyncGroupConf extends ConfLocation {
  name: string;
  instances: string[];
  notify: { notify?: string; master?: string; backup?: string; fault?: string; stop?: string };
}

export interface VrrpScriptConf extends ConfLocation {
  name: string;
  script?: string;
  intervalS?: number;
  timeoutS?: number;
  weight?: number;
  rise?: number;
  fall?: number;
  user?: string;
}

export interface GlobalDefsConf {
  routerId?: string;
  enableDbus: boolean;
  /** vrrp_notify_fifo (or notify_fifo, which covers VRRP too). */
  vrrpNotifyFifo?: string;
  notifyFifo?: string;
  enableScriptSecurity: boolean;
  scriptUser?: string;
  scriptGroup?: string;
  vrrpVersion?: number;
  vrrpStrict: boolean;
}

export interface KeepalivedConf {
  /** Every file read, the main one first, in read order. */
  files: string[];
  globalDefs: GlobalDefsConf;
  instances: VrrpInstanceConf[];
  syncGroups: SyncGroupConf[];
  scripts: VrrpScriptConf[];
  /** Errors (keepalived would refuse or ignore the item) and warnings, each with file:line. */
  issues: ConfIssue[];
  /** The first error on which keepalived exits before running anything (a keyword missing its value). */
  fatal?: ConfIssue;
}
