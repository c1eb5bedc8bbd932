// `keepwatch hook check`: is the notify hook installed the way keepalived's enable_script_security
// accepts it, and does keepalived.conf call it? keepalived refuses (and with script_security, marks
// insecure) a script that a non-root user could change: the file or any directory on its path
// writable by group/other or owned by a non-root user. A hook that keepalived never runs is the
// silent failure this catches. The fallback pager the hook starts (--deliver-config) is loaded as
// keepalived would run it, without the agent's environment: a deliverer that cannot page is the
// other silent failure.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseKeepalivedConf } from '../keepalived/confParser';
import type { KeepalivedConf } from '../keepalived/confTypes';
import { ConfigError } from '../config/load';
import { KEEPALIVED_SCRIPT_ENV, loadDeliverConfig } from './deliverConfig';
import { receiversTarget } from './deliverTarget';
import { alertForRecord } from './deliver';
import { parseRecord } from './record';

export interface CheckFinding {
  level: 'ok' | 'warn' | 'error';
  message: string;
}

export interface HookCheckOptions {
  /** The installed hook. */
  hookPath: string;
  /** keepalived.conf; undefined skips the reference check. */
  keepalivedConf?: string;
  /** Injectable for tests: lstat/stat/realpath. */
  fs?: Pick<typeof fs, 'lstatSync' | 'statSync' | 'realpathSync' | 'readFileSync'>;
  parseConf?: (file: string) => KeepalivedConf;
  /** Deliverer configs to check besides those keepalived.conf passes with --deliver-config. */
  deliverConfigs?: string[];
  /** Checks one deliverer config (default checkDeliverer). */
  checkDeliverer?: (file: string) => CheckFinding[];
}

/** Whether the fallback pager can page with this config as keepalived runs it (its environment, not ours). */
export function checkDeliverer(file: string, env: NodeJS.ProcessEnv = KEEPALIVED_SCRIPT_ENV): CheckFinding[] {
  let config;
  try {
    config = loadDeliverConfig(file, env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return [{ level: 'error', message: `deliverer config ${file} does not load as keepalived runs it (without the agent's environment): ${e.problems.join('; ')}; give secrets as *_file keys, not \${ENV}` }];
  }
  if (config.alerting.receivers.length === 0) return [{ level: 'error', message: `deliverer config ${file}: no alerting.receivers: the hook cannot page when the agent is down` }];
  try {
    const target = receiversTarget(config);
    const sample = parseRecord('v1 1000000000000000000 1 INSTANCE VI_1 FAULT 100');
    const to = sample.ok ? target.receiversFor(alertForRecord(config.node, sample.record)) : [];
    void target.close?.();
    if (to.length === 0) return [{ level: 'error', message: `deliverer config ${file}: no route sends the hook's pages (alertname KeepalivedStateChange) to a receiver` }];
    return [{ level: 'ok', message: `deliverer config ${file} loads as keepalived runs it; a FAULT would page ${to.join(', ')}` }];
  } catch (e) {
    return [{ level: 'error', message: `deliverer config ${file}: the receivers cannot be built: ${(e as Error).message}` }];
  }
}

/** The --deliver-config files of a hook command line. */
function deliverConfigsOf(cmd: string): string[] {
  const words = cmd.trim().split(/\s+/);
  const out: string[] = [];
  words.forEach((w, i) => {
    if (w === '--deliver-config' && words[i + 1]) out.push(words[i + 1]);
    else if (w.startsWith('--deliver-config=')) out.push(w.slice('--deliver-config='.length));
  });
  return out;
}

function modeStr(m: number): string {
  return (m & 0o7777).toString(8).padStart(4, '0');
}

/** Ownership and permission problems of one path, as keepalived's script security sees them. */
function securityOf(p: string, st: fs.Stats): string[] {
  const out: string[] = [];
  if (st.uid !== 0) out.push(`${p} is owned by uid ${st.uid}, not root`);
  if (st.mode & 0o002) out.push(`${p} is world-writable (mode ${modeStr(st.mode)})`);
  if (st.mode & 0o020 && st.gid !== 0) out.push(`${p} is group-writable by gid ${st.gid} (mode ${modeStr(st.mode)})`);
  return out;
}

export function checkHook(o: HookCheckOptions): CheckFinding[] {
  const f = o.fs ?? fs;
  const out: CheckFinding[] = [];
  const hook = path.resolve(o.hookPath);
  let real: string;
  try {
    real = f.realpathSync(hook);
  } catch (e) {
    return [{ level: 'error', message: `${hook}: not found (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); install it with \`keepwatch hook install\`` }];
  }
  const st = f.statSync(real);
  if (!st.isFile()) return [{ level: 'error', message: `${real}: not a regular file` }];
  if ((st.mode & 0o100) === 0) out.push({ level: 'error', message: `${real}: not executable by its owner (mode ${modeStr(st.mode)}); chmod 0755` });
  const problems = securityOf(real, st);
  // Every directory up to / (of the path keepalived runs and of the file it resolves to).
  const dirs = new Set<string>();
  for (const start of new Set([path.dirname(hook), path.dirname(real)])) {
    for (let d = start; ; d = path.dirname(d)) {
      dirs.add(d);
      if (d === path.dirname(d)) break;
    }
  }
  for (const d of dirs) {
    try {
      problems.push(...securityOf(d, f.statSync(d)));
    } catch (e) {
      problems.push(`${d}: ${(e as Error).message}`);
    }
  }
  if (hook !== real) {
    // keepalived resolves symlinks; the link itself must not be replaceable either (its directory is checked above).
    out.push({ level: 'ok', message: `${hook} -> ${real}` });
  }
  if (problems.length) {
    for (const p of problems) out.push({ level: 'error', message: `${p}: enable_script_security would refuse the hook (fix: chown root:root, chmod go-w)` });
  } else {
    out.push({ level: 'ok', message: `${real}: root-owned, mode ${modeStr(st.mode)}, no directory on its path writable by non-root` });
  }
  try {
    const head = f.readFileSync(real, 'utf8').slice(0, 200);
    if (!head.startsWith('#!')) out.push({ level: 'warn', message: `${real}: no #! line; keepalived needs an interpreter line to run a script` });
  } catch (e) {
    out.push({ level: 'error', message: `${real}: cannot be read (${(e as Error).message})` });
  }

  const deliverConfigs = new Set(o.deliverConfigs ?? []);
  if (o.keepalivedConf) out.push(...checkConfReferences(o.keepalivedConf, [hook, real], o.parseConf ?? ((file) => parseKeepalivedConf(file)), deliverConfigs, o.deliverConfigs === undefined));
  for (const file of deliverConfigs) out.push(...(o.checkDeliverer ?? checkDeliverer)(file));
  return out;
}

function checkConfReferences(confFile: string, hookPaths: string[], parse: (f: string) => KeepalivedConf, deliverConfigs: Set<string>, wantDeliverer: boolean): CheckFinding[] {
  const out: CheckFinding[] = [];
  let conf: KeepalivedConf;
  try {
    conf = parse(confFile);
  } catch (e) {
    return [{ level: 'error', message: `${confFile}: ${(e as Error).message}` }];
  }
  if (conf.files.length === 0) return [{ level: 'error', message: `${confFile}: cannot be read` }];
  const isHook = (cmd?: string) => {
    if (!cmd) return false;
    const exe = cmd.trim().split(/\s+/)[0];
    return hookPaths.includes(exe) || hookPaths.includes(path.resolve(exe));
  };
  const holders = [
    ...conf.instances.map((i) => ({ what: `vrrp_instance ${i.name}`, notify: i.notify, at: `${i.file}:${i.line}` })),
    ...conf.syncGroups.map((g) => ({ what: `vrrp_sync_group ${g.name}`, notify: g.notify, at: `${g.file}:${g.line}` })),
  ];
  const grouped = new Set(conf.syncGroups.flatMap((g) => g.instances));
  let referenced = 0;
  for (const h of holders) {
    const keys = (Object.keys(h.notify) as Array<keyof typeof h.notify>).filter((k) => isHook(h.notify[k]));
    if (keys.length) {
      referenced++;
      for (const k of keys) for (const f of deliverConfigsOf(h.notify[k] ?? '')) deliverConfigs.add(f);
      const kinds = keys.map((k) => (k === 'notify' ? 'notify' : `notify_${k}`)).join(', ');
      out.push({ level: 'ok', message: `${h.what} (${h.at}) runs the hook from ${kinds}` });
      const generic = keys.includes('notify');
      const specific = keys.filter((k) => k !== 'notify');
      if (!generic && specific.length < 4) {
        const missing = (['master', 'backup', 'fault', 'stop'] as const).filter((k) => !keys.includes(k)).map((k) => `notify_${k}`);
        out.push({ level: 'warn', message: `${h.what}: the hook is not run for ${missing.join(', ')}; prefer one \`notify\` line (it covers every state)` });
      }
    } else if (h.what.startsWith('vrrp_instance') && !grouped.has(h.what.slice('vrrp_instance '.length))) {
      out.push({ level: 'warn', message: `${h.what} (${h.at}) does not run the hook: its transitions reach keepwatch only through D-Bus/FIFO/log` });
    }
  }
  if (referenced === 0) out.push({ level: 'error', message: `${confFile}: no notify line runs ${hookPaths[0]} (add \`notify ${hookPaths[0]}\` to each vrrp_instance)` });
  else if (wantDeliverer && deliverConfigs.size === 0) out.push({ level: 'warn', message: `${confFile}: the hook runs without --deliver-config: while the agent is down, nothing pages` });
  if (!conf.globalDefs.enableScriptSecurity) out.push({ level: 'warn', message: `${confFile}: enable_script_security is not set in global_defs (recommended: keepalived then refuses scripts non-root users can change)` });
  const user = conf.globalDefs.scriptUser;
  if (user && user !== 'root') out.push({ level: 'warn', message: `${confFile}: script_user ${user}: the hook runs as ${user}, which must be able to write the spool directory` });
  return out;
}
