// The real Keepalived + Nginx lab: N nodes, each a network namespace with its own keepalived,
// nginx and dbus-daemon, joined by a bridge in a "lan" namespace, plus a "client" namespace.
// Every e2e test, the demo and the benchmarks run on it, so it must be fast (parallel start, waits
// on D-Bus instead of sleeps), unique per id (helpers run labs side by side) and must always clean up.
// Plain node:child_process and node:fs: no test framework in here.
import { spawn as cpSpawn, spawnSync, execFile, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { waitFor as waitUntilValue } from '../helpers/wait';

export type LabState = 'MASTER' | 'BACKUP' | 'FAULT';

export interface LabOptions {
  /** Short unique id: namespaces kw-<id>-lan, kw-<id>-ka1.., kw-<id>-client; files under /run/kwlab/<id>/. */
  id: string;
  /** Number of keepalived nodes (default 2). */
  nodes?: number;
  /** Priority per node (default 150, 100, 50, ...). */
  priorities?: number[];
  /** vrrp_script chk_nginx (pgrep -F nginx pid) tracked by VI_1 (default true). */
  trackScript?: boolean;
  /** Path of a notify script keepalived runs for VI_1 (`notify <hook>`). */
  notifyHook?: string;
  /** Put `vrrp_notify_fifo <node.fifoPath>` in global_defs (default false). The lab does not create the FIFO. */
  fifo?: boolean;
  /** Extra text inside vrrp_instance VI_1. */
  keepalivedExtra?: (node: LabNode) => string;
  /** Extra text inside global_defs. */
  globalExtra?: (node: LabNode) => string;
  /** Extra environment of keepalived (a unit drop-in's Environment=, e.g. TMPDIR). */
  keepalivedEnv?: (node: LabNode) => Record<string, string>;
  /** Extra whole blocks appended after vrrp_instance VI_1 (vrrp_sync_group, a second instance...). */
  blocksExtra?: (node: LabNode) => string;
  /** Whole keepalived.conf replacement (for sync groups, IPv6, two VRIDs...). See defaultKeepalivedConf. */
  confOverride?: (node: LabNode) => string;
  /** The virtual IP (default 192.0.2.100). */
  vip?: string;
  /** VRRP advert_int in seconds (default 1, keepalived's default and what operators run). */
  advertInt?: number;
  /** `authentication { auth_type PASS auth_pass <authPass> }` when set (max 8 chars used by keepalived). */
  authPass?: string;
  /** Start nginx on every node (default true). */
  nginx?: boolean;
  /** Start keepalived on every node (default true). When false, startLab resolves without waiting for a MASTER. */
  keepalived?: boolean;
  /** A `track_file kw_weight` (file node.weightFile, weight 1) tracked by VI_1, so lab.setWeight()
   *  moves the effective priority at once (priority changes, preemption, flapping). Default false. */
  weightFile?: boolean;
  /** How long startLab waits for exactly one MASTER (default 20000 ms). */
  startTimeoutMs?: number;
}

export interface ExecResult { stdout: string; stderr: string; code: number }
export interface ExecOptions { env?: Record<string, string>; timeoutMs?: number; input?: string }
export interface SpawnOptions {
  env?: Record<string, string>;
  /** stdout+stderr appended to this file (default: <dir>/spawn-<n>.log). */
  logFile?: string;
  /** Give the caller stdout/stderr pipes instead of a log file (the caller must read them). */
  pipe?: boolean;
}

/** A namespace the lab made: a keepalived node or the client. */
export interface LabHost {
  name: string;
  ns: string;
  ip: string;
  dir: string;
  /** Runs a command inside the namespace; never throws for a non-zero exit (code -1 on timeout/spawn error). */
  exec(cmd: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Long-running process inside the namespace, in its own process group; killed by lab.stop(). */
  spawn(cmd: string[], opts?: SpawnOptions): ChildProcess;
}

export interface LabNode extends LabHost {
  index: number;
  priority: number;
  /** unix:path=<dir>/bus.sock: this node's own dbus-daemon (type system). */
  busAddress: string;
  busSocket: string;
  /** <dir>/notify.fifo, the vrrp_notify_fifo target when opts.fifo. Not created by the lab (the agent owns it). */
  fifoPath: string;
  /** keepalived's stdout/stderr (-l -D -n), appended across restarts. */
  logPath: string;
  confPath: string;
  keepalivedPidFile: string;
  vrrpPidFile: string;
  checkerPidFile: string;
  nginxPidFile: string;
  nginxConfPath: string;
  nginxLogDir: string;
  /** Host path bind-mounted on /tmp of this node's keepalived (its /tmp/keepalived.{data,stats,json} land here). */
  tmpDir: string;
  /** Network interface inside the namespace. */
  intf: string;
  /** File read by `track_file kw_weight` when opts.weightFile (see lab.setWeight). */
  weightFile: string;
  /** nginx with its output written as on a real host (see nginxAsOnAHost): the agents' nginx.binary. */
  nginxBinary: string;
}

export interface Lab {
  id: string;
  nodes: LabNode[];
  vip: string;
  clientNs: string;
  client: LabHost;
  dir: string;
  opts: LabOptions;
  startKeepalived(n: LabNode): Promise<void>;
  /** Sends the signal (default SIGTERM) and waits for exit. SIGKILL kills the whole process group (parent + vrrp child), like a crash. */
  killKeepalived(n: LabNode, signal?: NodeJS.Signals): Promise<void>;
  /** SIGHUP to the parent; resolves once the reload is logged and keepalived is back on D-Bus. */
  reloadKeepalived(n: LabNode): Promise<void>;
  keepalivedRunning(n: LabNode): boolean;
  /** The pid of keepalived's parent process (the one to signal), or undefined. */
  keepalivedPid(n: LabNode): number | undefined;
  startNginx(n: LabNode): Promise<void>;
  stopNginx(n: LabNode, signal?: NodeJS.Signals): Promise<void>;
  nginxRunning(n: LabNode): boolean;
  partition(n: LabNode): Promise<void>;
  heal(n: LabNode): Promise<void>;
  blockVrrp(n: LabNode): Promise<void>;
  unblockVrrp(n: LabNode): Promise<void>;
  startDbus(n: LabNode): Promise<void>;
  stopDbus(n: LabNode): Promise<void>;
  restartDbus(n: LabNode): Promise<void>;
  dbusState(n: LabNode, iname?: string): Promise<{ code: number; name: string } | undefined>;
  waitForState(n: LabNode, state: LabState, timeoutMs?: number): Promise<number>;
  /** Exposes n's 127.0.0.1:port on the host's 127.0.0.1:<returned port>. */
  forward(n: LabHost, port: number): Promise<number>;
  vipHolders(): Promise<string[]>;
  /** Creates n.fifoPath (mkfifo) and keeps it open read-write so keepalived's writes never fail; returns its lines as they come. */
  ensureFifo(n: LabNode): { lines: string[]; close(): void };
  /** Writes n.weightFile (opts.weightFile): effective priority = base priority + value; <= -254 means FAULT. */
  setWeight(n: LabNode, value: number): void;
  /** Asks n's keepalived for a dump (USR1 data, USR2 stats, JSON signal) and returns the file once written. */
  dump(n: LabNode, kind: 'data' | 'stats' | 'json'): Promise<string>;
  /** Snapshot of states of all nodes by name (undefined when not on D-Bus). */
  states(): Promise<Record<string, string | undefined>>;
  stop(): Promise<void>;
}

const RUN_ROOT = '/run/kwlab';
const NS_PREFIX = 'kw-';
const DBUS_NAME = 'org.keepalived.Vrrp1';
const INSTANCE_IFACE = 'org.keepalived.Vrrp1.Instance';

// ---------------------------------------------------------------------------------------------
// small process helpers

/** The path of an executable on PATH (or in /usr/sbin, /sbin), or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return undefined;
}

/** Runs a command, resolves with its output and exit code (never rejects). */
export function run(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd[0], cmd.slice(1), {
      env: { ...process.env, ...(opts.env ?? {}) },
      timeout: opts.timeoutMs ?? 20000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    }, (err, stdout, stderr) => {
      let code = 0;
      if (err) code = typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : -1;
      resolve({ stdout: String(stdout ?? ''), stderr: String(stderr ?? ''), code });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input); else child.stdin?.end();
  });
}

async function must(cmd: string[], opts?: ExecOptions): Promise<string> {
  const r = await run(cmd, opts);
  if (r.code !== 0) throw new Error(`lab: '${cmd.join(' ')}' exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

function readPid(file: string): number | undefined {
  try {
    const n = parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch { return undefined; }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => { child.off('exit', onExit); resolve(false); }, timeoutMs);
    const onExit = () => { clearTimeout(t); resolve(true); };
    child.once('exit', onExit);
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || exited(child)) return;
  try { process.kill(-child.pid, signal); } catch { try { process.kill(child.pid, signal); } catch { /* gone */ } }
}

/** waitFor of test/helpers/wait.ts in the lab's argument order. */
function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 20): Promise<T> {
  return waitUntilValue(fn, { what: `lab: ${what}`, timeoutMs, stepMs: everyMs });
}

function tail(file: string, lines = 15): string {
  try { return fs.readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n'); } catch { return '(no log)'; }
}

// ---------------------------------------------------------------------------------------------
// availability

export function labSupported(): { ok: boolean; why?: string } {
  if (process.platform !== 'linux') return { ok: false, why: 'not Linux' };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, why: 'not root (network namespaces need root)' };
  const missing = ['ip', 'keepalived', 'nginx', 'dbus-daemon', 'dbus-send', 'nft', 'unshare', 'socat', 'pgrep', 'mkfifo']
    .filter((c) => !which(c));
  if (missing.length) return { ok: false, why: `missing commands: ${missing.join(', ')} (run ensureLabPackages() or test/run-all.sh as root)` };
  return { ok: true };
}

export const LAB_PACKAGES = ['keepalived', 'nginx-light', 'dbus', 'iproute2', 'iputils-arping', 'nftables', 'socat', 'procps', 'curl'];

/** apt-get update + install of the lab's packages, only when some are missing. */
export async function ensureLabPackages(): Promise<void> {
  const missing: string[] = [];
  for (const p of LAB_PACKAGES) {
    const r = await run(['dpkg-query', '-W', '-f=${Status}', p]);
    if (r.code !== 0 || !r.stdout.includes('install ok installed')) missing.push(p);
  }
  if (!missing.length) return;
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await must(['apt-get', 'update'], { env, timeoutMs: 600000 });
  await must(['apt-get', 'install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 1200000 });
}

// ---------------------------------------------------------------------------------------------
// config text

export function defaultKeepalivedConf(node: LabNode, opts: LabOptions): string {
  const vip = opts.vip ?? '192.0.2.100';
  const track = opts.trackScript ?? true;
  const g = [
    `  router_id ${node.name}`,
    '  enable_dbus',
    '  script_user root',
    opts.fifo ? `  vrrp_notify_fifo ${node.fifoPath}` : '',
    opts.fifo ? '  vrrp_notify_priority_changes' : '',
    opts.globalExtra ? opts.globalExtra(node) : '',
  ].filter(Boolean).join('\n');
  const script = track ? `vrrp_script chk_nginx {
  script "/usr/bin/pgrep -F ${node.nginxPidFile}"
  interval 1
  fall 2
  rise 2
}
` : '';
  const weight = opts.weightFile ? `track_file kw_weight {
  file "${node.weightFile}"
}
` : '';
  const inst = [
    '  state BACKUP',
    `  interface ${node.intf}`,
    '  virtual_router_id 51',
    `  priority ${node.priority}`,
    `  advert_int ${opts.advertInt ?? 1}`,
    opts.authPass ? `  authentication {\n    auth_type PASS\n    auth_pass ${opts.authPass}\n  }` : '',
    `  virtual_ipaddress {\n    ${vip}/24 dev ${node.intf}\n  }`,
    track ? '  track_script {\n    chk_nginx\n  }' : '',
    opts.weightFile ? '  track_file {\n    kw_weight weight 1\n  }' : '',
    opts.notifyHook ? `  notify ${opts.notifyHook}` : '',
    opts.fifo ? '  notify_priority_changes' : '',
    opts.keepalivedExtra ? opts.keepalivedExtra(node) : '',
  ].filter(Boolean).join('\n');
  return `# keepwatch lab node ${node.name} (generated by test/lab/lab.ts)
global_defs {
${g}
}
${script}${weight}vrrp_instance VI_1 {
${inst}
}
${opts.blocksExtra ? opts.blocksExtra(node) + '\n' : ''}`;
}

function dbusConf(node: LabNode): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- keepwatch lab bus of ${node.name}: a private "system" bus keepalived and the agent share -->
<busconfig>
  <type>system</type>
  <listen>unix:path=${node.busSocket}</listen>
  <auth>EXTERNAL</auth>
  <policy user="root">
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
  <policy context="default">
    <!-- As on a system bus: any user may connect and receive replies and signals (an agent run
         as the unit's user, not root). -->
    <allow user="*"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow own="org.keepalived.Vrrp1"/>
    <allow send_destination="org.keepalived.Vrrp1"/>
    <allow receive_sender="org.keepalived.Vrrp1"/>
    <allow send_destination="org.freedesktop.DBus"/>
  </policy>
</busconfig>
`;
}

function nginxConf(node: LabNode): string {
  const d = node.dir;
  return `# keepwatch lab nginx of ${node.name}
daemon off;
master_process on;
worker_processes 1;
user root;
pid ${node.nginxPidFile};
error_log ${node.nginxLogDir}/error.log warn;
events { worker_connections 512; }
http {
  access_log ${node.nginxLogDir}/access.log;
  client_body_temp_path ${d}/nginx-tmp/body;
  proxy_temp_path ${d}/nginx-tmp/proxy;
  fastcgi_temp_path ${d}/nginx-tmp/fastcgi;
  uwsgi_temp_path ${d}/nginx-tmp/uwsgi;
  scgi_temp_path ${d}/nginx-tmp/scgi;
  server {
    listen 80 default_server;
    server_name _;
    location = /nginx_status { stub_status; allow 127.0.0.1; allow 192.0.2.0/24; deny all; }
    location = /health { default_type text/plain; return 200 "${node.name}\\n"; }
    location / { default_type text/html; add_header X-Lab-Node ${node.name}; return 200 "<!doctype html><title>${node.name}</title><h1>served by ${node.name}</h1>\\n"; }
  }
}
`;
}

/**
 * nginx, its stdout with the lab's per-node paths and node names written as on real hosts (the
 * same paths on every node). The lab's two nginx.conf differ in those only; real pairs deploy one
 * config to both nodes, so the agents' `nginx -T` hashes must agree until a test makes the
 * configs differ (otherwise every lab pair has a ConfigDrift after drift_for).
 */
function nginxAsOnAHost(labDir: string): string {
  return `#!/bin/bash
# keepwatch lab: nginx -T as on a real host (generated by test/lab/lab.ts)
set -o pipefail
nginx "$@" | sed -e 's#${labDir}/ka[0-9]#/etc/nginx-node#g' -e 's/ka[0-9]/NODE/g'
`;
}

// ---------------------------------------------------------------------------------------------
// global teardown on exit/signals (registered once)

const liveLabs = new Set<LabImpl>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => { for (const l of liveLabs) l.stopSync(); });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const l of liveLabs) l.stopSync();
      // Re-raise so the process still dies of the signal when nobody else handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

// ---------------------------------------------------------------------------------------------

class LabImpl implements Lab {
  id: string;
  nodes: LabNode[] = [];
  vip: string;
  clientNs: string;
  client: LabHost;
  dir: string;
  opts: LabOptions;
  private lanNs: string;
  private children = new Set<ChildProcess>();
  private keepalived = new Map<string, ChildProcess>();
  private nginx = new Map<string, ChildProcess>();
  private dbus = new Map<string, ChildProcess>();
  private servers = new Set<net.Server>();
  private sockets = new Set<net.Socket>();
  private pathCache = new Map<string, string>();
  private spawnSeq = 0;
  private stopped = false;
  private createdNs: string[] = [];

  constructor(opts: LabOptions) {
    if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(opts.id)) throw new Error(`lab: id '${opts.id}' must be 1-16 chars of [a-z0-9-]`);
    this.opts = opts;
    this.id = opts.id;
    this.vip = opts.vip ?? '192.0.2.100';
    this.dir = path.join(RUN_ROOT, opts.id);
    this.lanNs = `${NS_PREFIX}${opts.id}-lan`;
    this.clientNs = `${NS_PREFIX}${opts.id}-client`;
    const count = opts.nodes ?? 2;
    if (count < 1 || count > 9) throw new Error('lab: nodes must be 1..9');
    for (let i = 1; i <= count; i++) {
      const name = `ka${i}`;
      const dir = path.join(this.dir, name);
      const host = this.host(name, `${NS_PREFIX}${opts.id}-${name}`, `192.0.2.1${i}`, dir);
      const node: LabNode = Object.assign(host, {
        index: i,
        priority: opts.priorities?.[i - 1] ?? Math.max(1, 200 - 50 * i),
        busSocket: path.join(dir, 'bus.sock'),
        busAddress: `unix:path=${path.join(dir, 'bus.sock')}`,
        fifoPath: path.join(dir, 'notify.fifo'),
        logPath: path.join(dir, 'keepalived.log'),
        confPath: path.join(dir, 'keepalived.conf'),
        keepalivedPidFile: path.join(dir, 'keepalived.pid'),
        vrrpPidFile: path.join(dir, 'vrrp.pid'),
        checkerPidFile: path.join(dir, 'checker.pid'),
        nginxPidFile: path.join(dir, 'nginx.pid'),
        nginxConfPath: path.join(dir, 'nginx.conf'),
        nginxLogDir: path.join(dir, 'nginx-log'),
        tmpDir: path.join(dir, 'tmp'),
        intf: 'eth0',
        weightFile: path.join(dir, 'weight'),
        nginxBinary: path.join(dir, 'nginx-as-on-a-host'),
      });
      this.nodes.push(node);
    }
    this.client = this.host('client', this.clientNs, '192.0.2.50', path.join(this.dir, 'client'));
  }

  private host(name: string, ns: string, ip: string, dir: string): LabHost {
    return {
      name, ns, ip, dir,
      exec: (cmd, o) => run(['ip', 'netns', 'exec', ns, ...cmd], o),
      spawn: (cmd, o) => this.spawnIn(ns, dir, cmd, o),
    };
  }

  private spawnIn(ns: string, dir: string, cmd: string[], o: SpawnOptions = {}): ChildProcess {
    if (this.stopped) throw new Error('lab: stopped');
    let stdio: ('ignore' | 'pipe' | number)[];
    let fd: number | undefined;
    if (o.pipe) stdio = ['ignore', 'pipe', 'pipe'];
    else {
      const file = o.logFile ?? path.join(dir, `spawn-${++this.spawnSeq}.log`);
      fd = fs.openSync(file, 'a');
      stdio = ['ignore', fd, fd];
    }
    const child = cpSpawn('ip', ['netns', 'exec', ns, ...cmd], {
      env: { ...process.env, ...(o.env ?? {}) },
      stdio,
      detached: true, // own process group: a SIGKILL reaches keepalived's children too
    });
    if (fd !== undefined) fs.closeSync(fd);
    child.on('error', () => { /* reported through exit */ });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  // -------------------------------------------------------------------------------------------
  // build / teardown

  async build(): Promise<void> {
    const o = this.opts;
    // A leftover lab of the same id (crashed run) would make every step fail: clear it first.
    cleanupIdSync(this.id);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    // cleanup.sh leaves a lab alone while this process lives.
    fs.writeFileSync(path.join(this.dir, 'owner.pid'), `${process.pid}\n`);
    for (const n of this.nodes) {
      for (const d of [n.dir, n.tmpDir, n.nginxLogDir, path.join(n.dir, 'nginx-tmp')]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
      fs.chmodSync(n.tmpDir, 0o1777);
    }
    fs.mkdirSync(this.client.dir, { recursive: true });

    const hosts: LabHost[] = [...this.nodes, this.client];
    await must(['ip', 'netns', 'add', this.lanNs]); this.createdNs.push(this.lanNs);
    await Promise.all(hosts.map(async (h) => { await must(['ip', 'netns', 'add', h.ns]); this.createdNs.push(h.ns); }));
    const batch: string[] = [
      'link add br0 type bridge',
      // No STP/forward delay: ports forward at once, so the lab converges in milliseconds.
      'link set br0 type bridge forward_delay 0 stp_state 0',
      'link set br0 up',
      'link set lo up',
    ];
    for (const h of hosts) {
      const v = `v-${h.name}`;
      batch.push(`link add ${v} type veth peer name eth0 netns ${h.ns}`);
      batch.push(`link set ${v} master br0`, `link set ${v} up`);
    }
    await must(['ip', '-n', this.lanNs, '-batch', '-'], { input: batch.join('\n') + '\n' });
    await Promise.all(hosts.map((h) => must(['ip', '-n', h.ns, '-batch', '-'], {
      input: [`addr add ${h.ip}/24 dev eth0`, 'link set eth0 up', 'link set lo up'].join('\n') + '\n',
    })));

    for (const n of this.nodes) {
      fs.writeFileSync(n.confPath, o.confOverride ? o.confOverride(n) : defaultKeepalivedConf(n, o));
      fs.writeFileSync(n.nginxConfPath, nginxConf(n));
      fs.writeFileSync(n.weightFile, '0\n');
      fs.writeFileSync(path.join(n.dir, 'dbus.conf'), dbusConf(n));
      fs.writeFileSync(n.nginxBinary, nginxAsOnAHost(this.dir), { mode: 0o755 });
    }
    await Promise.all(this.nodes.map(async (n) => {
      await this.startDbus(n);
      if (o.nginx ?? true) await this.startNginx(n);
      if (o.keepalived ?? true) await this.startKeepalived(n);
    }));
    if (o.keepalived ?? true) await this.waitOneMaster(o.startTimeoutMs ?? 20000);
  }

  private async waitOneMaster(timeoutMs: number): Promise<void> {
    let last: Record<string, string | undefined> = {};
    try {
      await waitFor('exactly one MASTER', async () => {
        last = await this.states();
        const vals = Object.values(last);
        const masters = vals.filter((s) => s === 'MASTER').length;
        return masters === 1 && vals.every((s) => s === 'MASTER' || s === 'BACKUP' || s === 'FAULT') ? true : undefined;
      }, timeoutMs, 20);
    } catch (e) {
      throw new Error(`${(e as Error).message}; states ${JSON.stringify(last)}\n${this.nodes.map((n) => `--- ${n.name} log:\n${tail(n.logPath)}`).join('\n')}`);
    }
  }

  async states(): Promise<Record<string, string | undefined>> {
    const out: Record<string, string | undefined> = {};
    await Promise.all(this.nodes.map(async (n) => { out[n.name] = (await this.dbusState(n))?.name.toUpperCase(); }));
    return out;
  }

  /** Synchronous best-effort teardown for process exit handlers. */
  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    liveLabs.delete(this);
    for (const s of this.sockets) s.destroy();
    for (const s of this.servers) s.close();
    for (const c of this.children) killGroup(c, 'SIGKILL');
    cleanupIdSync(this.id, keepFiles());
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    liveLabs.delete(this);
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.servers].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.clear();
    const kids = [...this.children];
    // SIGKILL for all: the namespaces go away with their VIPs and rules, and keepalived's graceful
    // SIGTERM shutdown alone takes about a second. Tests wanting SIGTERM call killKeepalived first.
    for (const c of kids) killGroup(c, 'SIGKILL');
    await Promise.all(kids.map(async (c) => { if (!(await waitExit(c, 3000))) { killGroup(c, 'SIGKILL'); await waitExit(c, 2000); } }));
    await Promise.all(this.createdNs.map((ns) => run(['ip', 'netns', 'del', ns])));
    cleanupIdSync(this.id, keepFiles());
  }

  // -------------------------------------------------------------------------------------------
  // dbus

  async startDbus(n: LabNode): Promise<void> {
    const old = this.dbus.get(n.name);
    if (old && !exited(old)) return;
    try { fs.unlinkSync(n.busSocket); } catch { /* none */ }
    const child = this.spawnIn(n.ns, n.dir, ['dbus-daemon', '--nofork', '--nopidfile', `--config-file=${path.join(n.dir, 'dbus.conf')}`, '--print-address=1'], { pipe: true });
    this.dbus.set(n.name, child);
    const addr = await new Promise<string>((resolve, reject) => {
      let buf = ''; let err = '';
      const t = setTimeout(() => reject(new Error(`lab: dbus-daemon of ${n.name} did not start: ${err}`)), 10000);
      child.stdout!.on('data', (d: Buffer) => { buf += d.toString(); if (buf.includes('\n')) { clearTimeout(t); resolve(buf.trim()); } });
      child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      child.once('exit', (c) => { clearTimeout(t); reject(new Error(`lab: dbus-daemon of ${n.name} exited ${c}: ${err}`)); });
    });
    child.stdout!.resume(); child.stderr!.resume();
    if (!addr.startsWith(`unix:path=${n.busSocket}`)) throw new Error(`lab: dbus-daemon of ${n.name} listens on ${addr}`);
  }

  async stopDbus(n: LabNode): Promise<void> {
    const c = this.dbus.get(n.name);
    if (!c) return;
    killGroup(c, 'SIGTERM');
    if (!(await waitExit(c, 3000))) { killGroup(c, 'SIGKILL'); await waitExit(c, 2000); }
    this.dbus.delete(n.name);
    this.pathCache.clear();
  }

  async restartDbus(n: LabNode): Promise<void> {
    await this.stopDbus(n);
    await this.startDbus(n);
  }

  // dbus-send (package dbus) rather than busctl, which needs the whole systemd package on a fresh machine.
  private dbusCall(n: LabNode, objPath: string, method: string, args: string[] = []): Promise<ExecResult> {
    return run(['dbus-send', `--bus=${n.busAddress}`, '--print-reply', '--reply-timeout=1000', `--dest=${DBUS_NAME}`, objPath, method, ...args],
      { timeoutMs: 2000 });
  }

  private async getProperty(n: LabNode, objPath: string, prop: string): Promise<string | undefined> {
    const r = await this.dbusCall(n, objPath, 'org.freedesktop.DBus.Properties.Get', [`string:${INSTANCE_IFACE}`, `string:${prop}`]);
    return r.code === 0 ? r.stdout : undefined;
  }

  private async childPaths(n: LabNode, objPath: string): Promise<string[] | undefined> {
    const r = await this.dbusCall(n, objPath, 'org.freedesktop.DBus.Introspectable.Introspect');
    if (r.code !== 0) return undefined;
    return [...r.stdout.matchAll(/<node name="([^"]+)"/g)].map((m) => `${objPath}/${m[1]}`);
  }

  /** D-Bus object path of instance iname (default: the first instance) on n, enumerated once and cached. */
  private async instancePath(n: LabNode, iname?: string): Promise<string | undefined> {
    const key = `${n.name}/${iname ?? ''}`;
    const hit = this.pathCache.get(key);
    if (hit) return hit;
    // /org/keepalived/Vrrp1/Instance/<intf>/<vrid>/<IPv4|IPv6>
    let level = ['/org/keepalived/Vrrp1/Instance'];
    for (let depth = 0; depth < 3; depth++) {
      const next: string[] = [];
      for (const p of level) next.push(...((await this.childPaths(n, p)) ?? []));
      level = next;
    }
    for (const p of level) {
      if (iname !== undefined) {
        // 2.2.7 may return Name as a bare 's' (introspection says '(s)'): match the string either way.
        const nm = await this.getProperty(n, p, 'Name');
        if (!nm || !nm.includes(`string "${iname}"`)) continue;
      }
      this.pathCache.set(key, p);
      return p;
    }
    return undefined;
  }

  async dbusState(n: LabNode, iname?: string): Promise<{ code: number; name: string } | undefined> {
    const p = await this.instancePath(n, iname);
    if (!p) return undefined;
    const out = await this.getProperty(n, p, 'State');
    const m = out ? /uint32 (\d+)\s+string "([^"]*)"/.exec(out) : null;
    if (!m) {
      this.pathCache.delete(`${n.name}/${iname ?? ''}`); // instance may have gone away on reload
      return undefined;
    }
    return { code: Number(m[1]), name: m[2] };
  }

  async waitForState(n: LabNode, state: LabState, timeoutMs = 15000): Promise<number> {
    let last: string | undefined;
    try {
      return await waitFor(`${n.name} ${state}`, async () => {
        const s = await this.dbusState(n);
        last = s?.name;
        return s && s.name.toUpperCase() === state ? Date.now() : undefined;
      }, timeoutMs, 20);
    } catch (e) {
      throw new Error(`${(e as Error).message} (last seen: ${last ?? 'not on D-Bus'})\n--- ${n.name} log:\n${tail(n.logPath)}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // keepalived

  keepalivedPid(n: LabNode): number | undefined {
    const c = this.keepalived.get(n.name);
    return c && !exited(c) ? c.pid : undefined;
  }

  keepalivedRunning(n: LabNode): boolean {
    return this.keepalivedPid(n) !== undefined;
  }

  async startKeepalived(n: LabNode): Promise<void> {
    if (this.keepalivedRunning(n)) return;
    for (const f of [n.keepalivedPidFile, n.vrrpPidFile, n.checkerPidFile]) { try { fs.unlinkSync(f); } catch { /* none */ } }
    fs.appendFileSync(n.logPath, `# lab: starting keepalived on ${n.name} at ${new Date().toISOString()}\n`);
    // ip netns exec already gives a fresh mount namespace; unshare -m makes it explicit and private,
    // then n.tmpDir is bound on /tmp so /tmp/keepalived.* of two nodes never collide.
    const child = this.spawnIn(n.ns, n.dir, [
      'unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /tmp && exec "$@"', n.tmpDir,
      'env', `DBUS_SYSTEM_BUS_ADDRESS=${n.busAddress}`,
      ...Object.entries(this.opts.keepalivedEnv?.(n) ?? {}).map(([k, v]) => `${k}=${v}`),
      'keepalived', '-f', n.confPath, '-p', n.keepalivedPidFile, '-r', n.vrrpPidFile, '-c', n.checkerPidFile,
      '--vrrp', '-l', '-D', '-n',
    ], { logFile: n.logPath });
    this.keepalived.set(n.name, child);
    const conf = fs.readFileSync(n.confPath, 'utf8');
    const usesDbus = /^\s*enable_dbus\b/m.test(conf) && /vrrp_instance/.test(conf);
    try {
      await waitFor(`keepalived on ${n.name} up`, async () => {
        if (exited(child)) throw new Error(`lab: keepalived on ${n.name} exited ${child.exitCode ?? child.signalCode}`);
        const vrrp = readPid(n.vrrpPidFile);
        if (!vrrp || !pidAlive(vrrp)) return undefined;
        if (!usesDbus) return true;
        return (await this.dbusState(n)) ? true : undefined;
      }, 10000, 20);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- ${n.name} log:\n${tail(n.logPath)}`);
    }
  }

  async killKeepalived(n: LabNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.keepalived.get(n.name);
    if (!c || exited(c)) return;
    const vrrp = readPid(n.vrrpPidFile);
    if (signal === 'SIGKILL') killGroup(c, 'SIGKILL'); // a crash: no priority-0 advert, VIP left bound
    else c.kill(signal);
    if (!(await waitExit(c, 10000))) throw new Error(`lab: keepalived on ${n.name} did not exit on ${signal}`);
    if (vrrp) await waitFor(`vrrp child of ${n.name} gone`, () => (pidAlive(vrrp) ? undefined : true), 5000).catch(() => { try { process.kill(vrrp, 'SIGKILL'); } catch { /* gone */ } });
    this.pathCache.clear();
  }

  async reloadKeepalived(n: LabNode): Promise<void> {
    const c = this.keepalived.get(n.name);
    if (!c || exited(c)) throw new Error(`lab: keepalived not running on ${n.name}`);
    const marker = /Reload complete|Reload finished/g; // 2.2.7 logs "Reloading ..." first, "Reload complete" when done
    const before = (fs.readFileSync(n.logPath, 'utf8').match(marker) ?? []).length;
    c.kill('SIGHUP');
    this.pathCache.clear();
    await waitFor(`keepalived on ${n.name} reloaded`, async () => {
      const now = (fs.readFileSync(n.logPath, 'utf8').match(marker) ?? []).length;
      if (now <= before) return undefined;
      return (await this.dbusState(n)) ? true : undefined;
    }, 10000, 20);
  }

  setWeight(n: LabNode, value: number): void {
    // Write-then-rename: keepalived watches the directory with inotify and must never read a half file.
    const tmp = `${n.weightFile}.new`;
    fs.writeFileSync(tmp, `${Math.trunc(value)}\n`);
    fs.renameSync(tmp, n.weightFile);
  }

  async dump(n: LabNode, kind: 'data' | 'stats' | 'json'): Promise<string> {
    const pid = this.keepalivedPid(n);
    if (!pid) throw new Error(`lab: keepalived not running on ${n.name}`);
    const file = path.join(n.tmpDir, `keepalived.${kind}`);
    try { fs.unlinkSync(file); } catch { /* none */ }
    const sig = kind === 'data' ? 'SIGUSR1' : kind === 'stats' ? 'SIGUSR2' : await jsonSignal();
    process.kill(pid, sig);
    // Written asynchronously and not atomically: wait until it exists and its size holds still.
    let lastSize = -1;
    return waitFor(`${kind} dump of ${n.name}`, () => {
      let size: number;
      try { size = fs.statSync(file).size; } catch { return undefined; }
      if (size > 0 && size === lastSize) return fs.readFileSync(file, 'utf8');
      lastSize = size;
      return undefined;
    }, 5000, 50);
  }

  // -------------------------------------------------------------------------------------------
  // nginx

  nginxRunning(n: LabNode): boolean {
    const c = this.nginx.get(n.name);
    return !!c && !exited(c);
  }

  async startNginx(n: LabNode): Promise<void> {
    if (this.nginxRunning(n)) return;
    const child = this.spawnIn(n.ns, n.dir, ['nginx', '-e', path.join(n.nginxLogDir, 'error.log'), '-p', n.dir, '-c', n.nginxConfPath],
      { logFile: path.join(n.nginxLogDir, 'stderr.log') });
    this.nginx.set(n.name, child);
    await waitFor(`nginx on ${n.name}`, () => {
      if (exited(child)) throw new Error(`lab: nginx on ${n.name} exited: ${tail(path.join(n.nginxLogDir, 'error.log'), 5)}`);
      const pid = readPid(n.nginxPidFile);
      return pid === child.pid ? true : undefined;
    }, 10000, 10);
  }

  async stopNginx(n: LabNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.nginx.get(n.name);
    if (!c || exited(c)) return;
    if (signal === 'SIGKILL') killGroup(c, 'SIGKILL'); else c.kill(signal);
    if (!(await waitExit(c, 10000))) { killGroup(c, 'SIGKILL'); await waitExit(c, 2000); }
  }

  // -------------------------------------------------------------------------------------------
  // network faults

  async partition(n: LabNode): Promise<void> {
    await must(['ip', '-n', this.lanNs, 'link', 'set', `v-${n.name}`, 'nomaster']);
  }

  async heal(n: LabNode): Promise<void> {
    await must(['ip', '-n', this.lanNs, 'link', 'set', `v-${n.name}`, 'master', 'br0']);
  }

  async blockVrrp(n: LabNode): Promise<void> {
    await run(['ip', 'netns', 'exec', n.ns, 'nft', 'delete', 'table', 'inet', 'kwlab']);
    await must(['ip', 'netns', 'exec', n.ns, 'nft', '-f', '-'], {
      input: 'table inet kwlab {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ip protocol vrrp drop\n }\n}\n',
    });
  }

  async unblockVrrp(n: LabNode): Promise<void> {
    await run(['ip', 'netns', 'exec', n.ns, 'nft', 'delete', 'table', 'inet', 'kwlab']);
  }

  async vipHolders(): Promise<string[]> {
    const out: string[] = [];
    await Promise.all(this.nodes.map(async (n) => {
      const r = await run(['ip', '-n', n.ns, '-j', 'addr', 'show']);
      if (r.code !== 0) return;
      const links = JSON.parse(r.stdout) as { addr_info?: { local?: string }[] }[];
      if (links.some((l) => (l.addr_info ?? []).some((a) => a.local === this.vip))) out.push(n.name);
    }));
    return this.nodes.map((n) => n.name).filter((nm) => out.includes(nm));
  }

  // -------------------------------------------------------------------------------------------
  // forwarding and FIFO

  async forward(n: LabHost, port: number): Promise<number> {
    // Inside the namespace socat serves a unix socket; on the host a Node server (port 0: no race
    // for a free port) pipes each TCP connection into that socket.
    const sock = path.join(n.dir, `fwd-${port}.sock`);
    try { fs.unlinkSync(sock); } catch { /* none */ }
    const relay = this.spawnIn(n.ns, n.dir, ['socat', `UNIX-LISTEN:${sock},fork,unlink-early`, `TCP:127.0.0.1:${port}`],
      { logFile: path.join(n.dir, `fwd-${port}.log`) });
    await waitFor(`forward socket for ${n.name}:${port}`, () => {
      if (exited(relay)) throw new Error(`lab: socat for ${n.name}:${port} exited`);
      return fs.existsSync(sock) ? true : undefined;
    }, 5000, 10);
    const server = net.createServer((c) => {
      const up = net.connect(sock);
      this.sockets.add(c); this.sockets.add(up);
      const done = () => { c.destroy(); up.destroy(); this.sockets.delete(c); this.sockets.delete(up); };
      c.on('error', done); up.on('error', done); c.on('close', done); up.on('close', done);
      c.pipe(up); up.pipe(c);
    });
    this.servers.add(server);
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
    server.unref();
    return (server.address() as net.AddressInfo).port;
  }

  ensureFifo(n: LabNode): { lines: string[]; close(): void } {
    if (!fs.existsSync(n.fifoPath)) {
      const r = spawnSync('mkfifo', ['-m', '0600', n.fifoPath]);
      if (r.status !== 0) throw new Error(`lab: mkfifo ${n.fifoPath} failed: ${r.stderr}`);
    }
    // O_RDWR: the open never blocks and the reader never sees EOF when keepalived restarts.
    // A net.Socket over the fd reads the pipe through epoll (an fs stream would hit EAGAIN or hold a pool thread).
    const fd = fs.openSync(n.fifoPath, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const lines: string[] = [];
    const sock = new net.Socket({ fd, readable: true, writable: false });
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
    });
    sock.on('error', () => { /* closed */ });
    sock.unref();
    this.sockets.add(sock);
    return {
      lines,
      close: () => { this.sockets.delete(sock); sock.destroy(); }, // the socket owns and closes fd
    };
  }
}

let jsonSig: number | undefined;
/** The JSON dump signal number is chosen at build time (36 on Debian's 2.2.7): ask keepalived. */
async function jsonSignal(): Promise<number> {
  if (jsonSig === undefined) {
    const r = await must(['keepalived', '--signum=JSON']);
    jsonSig = parseInt(r.trim(), 10);
    if (!Number.isFinite(jsonSig)) throw new Error(`lab: keepalived --signum=JSON printed '${r.trim()}'`);
  }
  return jsonSig;
}

/** Removes a lab's namespaces, processes and files by id, synchronously (crash leftovers, exit handler). */
/** KW_LAB_KEEP=1 keeps /run/kwlab/<id>/ (logs, confs, dumps) after stop() for a post-mortem. */
function keepFiles(): boolean { return process.env.KW_LAB_KEEP === '1'; }

export function cleanupIdSync(id: string, keepDir = false): void {
  const prefix = `${NS_PREFIX}${id}-`;
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  const names = (list.stdout ?? '').split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(prefix));
  for (const ns of names) {
    // Every process inside the namespace (keepalived, nginx, socat, scripts).
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    for (const p of (pids.stdout ?? '').split('\n').map(Number).filter((x) => x > 0)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  }
  // dbus-daemons run in the node namespace too, but match leftovers by their config path as well.
  const dir = path.join(RUN_ROOT, id);
  const pg = spawnSync('pgrep', ['-f', `${dir}/`], { encoding: 'utf8' });
  for (const p of (pg.stdout ?? '').split('\n').map(Number).filter((x) => x > 0 && x !== process.pid)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  for (const ns of names) spawnSync('ip', ['netns', 'del', ns]);
  if (keepDir) { try { fs.unlinkSync(path.join(dir, 'owner.pid')); } catch { /* none */ } } else fs.rmSync(dir, { recursive: true, force: true });
}

export async function startLab(opts: LabOptions): Promise<Lab> {
  const sup = labSupported();
  if (!sup.ok) throw new Error(`lab: not supported here: ${sup.why}`);
  hookExit();
  const lab = new LabImpl(opts);
  liveLabs.add(lab);
  try {
    await lab.build();
  } catch (e) {
    await lab.stop();
    throw e;
  }
  return lab;
}
