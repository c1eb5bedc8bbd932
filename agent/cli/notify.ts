// keepwatch notify: the notify hook for humans (and scripts that can afford Node's start-up): the
// same record as agent/hook/keepwatch-notify, over the agent's socket or into the spool.
// keepwatch notify --deliver-spooled: what the sh hook starts, detached, when the agent is down.
// keepwatch hook check / hook install: the installed hook as keepalived's enable_script_security wants it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import pino from 'pino';
import type { Command } from 'commander';
import { ConfigError, loadConfigFile } from '../config/load';
import type { Config } from '../config/schema';
import { keepalivedSchema } from '../config/schema';
import { systemClock } from '../context';
import { REDACT_PATHS } from '../logger';
import { formatBadRecord, formatRecord, recordFromArgs } from '../hook/record';
import { agentAlive, secureHookDir, spoolFile, spoolPaths } from '../hook/spool';
import { loadDeliverConfig } from '../hook/deliverConfig';
import { recordDeliveryFailure } from '../hook/deliveryFailure';
import { errText } from '../errors';
import { deliverSpooled } from '../hook/deliver';
import { receiversTarget } from '../hook/deliverTarget';
import { checkHook } from '../hook/check';
import { setExitCode } from './main';

import { NOTIFY_USAGE as USAGE } from './commands';

/** Epoch ns: ms from the wall clock, sub-ms from the monotonic clock (ordering within a ms). */
function epochNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

/** Hands one line to the agent; resolves true only on its "ok <id>" (the event is in its store). */
export function sendOverSocket(sock: string, line: string, id: string, timeoutMs: number): Promise<{ ok: boolean; why?: string }> {
  try {
    // Root must not write to whatever socket a link the agent's user planted names.
    if (fs.lstatSync(sock).isSymbolicLink()) return Promise.resolve({ ok: false, why: `${sock} is a symbolic link: not following it` });
  } catch {
    /* missing: connect reports it */
  }
  return new Promise((resolve) => {
    let reply = '';
    let done = false;
    const finish = (r: { ok: boolean; why?: string }) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      c.destroy();
      resolve(r);
    };
    const c = net.connect(sock);
    const t = setTimeout(() => finish({ ok: false, why: `no answer within ${timeoutMs} ms` }), timeoutMs);
    c.setEncoding('utf8');
    c.on('connect', () => c.end(line));
    c.on('data', (d: string) => {
      reply += d;
      if (reply.includes('\n')) finish(reply.startsWith(`ok ${id}`) ? { ok: true } : { ok: false, why: `agent answered: ${reply.trim().slice(0, 200)}` });
    });
    c.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, why: e.code ?? e.message }));
    c.on('close', () => finish({ ok: false, why: 'connection closed without an answer' }));
  });
}

function loadOptionalConfig(file: string | undefined): Config | undefined {
  return file ? loadConfigFile(file) : undefined;
}

/** Starts the deliverer detached, as the sh hook does (keepwatch's own entry point and this Node). */
function startDetachedDeliverer(spool: string, configFile: string): void {
  const entry = process.argv[1];
  const child = spawn(process.execPath, [entry, 'notify', '--deliver-spooled', '--spool', spool, '--config.file', configFile], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}

export async function notifyAction(this: Command, args: string[], opts: Record<string, string | boolean | undefined>): Promise<void> {
  if (opts.deliverSpooled) {
    setExitCode(this, await runDeliverer(opts['config.file'] as string | undefined, opts.spool as string | undefined, opts.socket));
    return;
  }
  let config: Config | undefined;
  try {
    config = loadOptionalConfig(opts['config.file'] as string | undefined);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    setExitCode(this, 1);
    return;
  }
  const k = config?.keepalived ?? keepalivedSchema.parse({});
  const spool = (opts.spool as string | undefined) ?? k.hook_spool;
  const sock = opts.socket === false ? undefined : typeof opts.socket === 'string' ? opts.socket : k.hook_socket;

  const ns = epochNs();
  // What was given after `notify` (unknown options land in this.args), kept for inspection when bad.
  const rawArgs = [...(opts.state !== undefined ? ['--state', String(opts.state)] : []), ...this.args];
  const unknown = args.find((a) => a.startsWith('-'));
  const built = unknown ? { ok: false as const, reason: `unknown option: ${unknown}` } : recordFromArgs(args, { state: opts.state as string | undefined, ns, seq: process.pid });
  if (!built.ok) {
    process.stderr.write(`keepwatch notify: ${built.reason}\n${USAGE}`);
    try {
      spoolFile(spool, `${ns}-${process.pid}.bad`, formatBadRecord(ns, process.pid, rawArgs));
    } catch (e) {
      process.stderr.write(`keepwatch notify: could not spool the bad arguments in ${spool}: ${(e as Error).message}\n`);
    }
    setExitCode(this, 2);
    return;
  }
  const r = built.record;
  const line = formatRecord(r);
  let why = 'socket disabled';
  if (sock) {
    const sent = await sendOverSocket(sock, line, r.id, Number(opts.timeout) || 1000);
    if (sent.ok) {
      process.stdout.write(`${r.type} ${r.name} ${r.state}: handed to the agent over ${sock}\n`);
      setExitCode(this, 0);
      return;
    }
    why = sent.why ?? 'no answer';
  }
  let file: string;
  try {
    file = spoolFile(spool, `${r.id}.rec`, line);
  } catch (e) {
    process.stderr.write(`keepwatch notify: agent not reachable (${why}) and spool ${spool} not writable: ${(e as Error).message}\n`);
    setExitCode(this, 1);
    return;
  }
  process.stdout.write(`${r.type} ${r.name} ${r.state}: agent not reachable over the socket (${why}); spooled as ${file}, applied when the agent picks it up\n`);
  // Down: no fresh heartbeat, or it did not answer on its socket (the deliverer checks again).
  if (config && config.alerting.receivers.length > 0 && (sock !== undefined || !agentAlive(spoolPaths(spool), Date.now()))) {
    startDetachedDeliverer(spool, opts['config.file'] as string);
    process.stdout.write('the agent is down: paging directly from a detached `keepwatch notify --deliver-spooled`\n');
  }
  setExitCode(this, 0);
}

export function hookCheckAction(this: Command, opts: Record<string, string | boolean | string[] | undefined>): void {
  let conf: string | undefined;
  if (opts.conf !== false) {
    try {
      conf = (opts.keepalivedConf as string | undefined) ?? loadOptionalConfig(opts['config.file'] as string | undefined)?.keepalived.config ?? keepalivedSchema.parse({}).config;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      process.stderr.write(`${e.message}\n`);
      setExitCode(this, 1);
      return;
    }
  }
  const findings = checkHook({ hookPath: opts.path as string, keepalivedConf: conf, deliverConfigs: opts.deliverConfig as string[] | undefined });
  for (const f of findings) {
    const line = `${f.level === 'ok' ? 'OK   ' : f.level === 'warn' ? 'WARN ' : 'ERROR'} ${f.message}\n`;
    (f.level === 'error' ? process.stderr : process.stdout).write(line);
  }
  const errors = findings.filter((f) => f.level === 'error').length;
  process.stdout.write(errors ? `hook check: ${errors} problem(s)\n` : 'hook check: OK\n');
  setExitCode(this, errors ? 1 : 0);
}

export function hookInstallAction(this: Command, opts: { path: string }): void {
  try {
    const src = shippedHookPath();
    installHook(src, opts.path);
    process.stdout.write(`installed ${src} as ${opts.path} (root:root 0755)\nthen: keepwatch hook check --path ${opts.path}\n`);
    setExitCode(this, 0);
  } catch (e) {
    process.stderr.write(`keepwatch hook install: ${(e as Error).message}\n`);
    setExitCode(this, 1);
  }
}

/** The hook file shipped in the package (source tree or installed package, from src or dist). */
export function shippedHookPath(): string {
  for (const c of [path.resolve(__dirname, '../hook/keepwatch-notify'), path.resolve(__dirname, '../../../agent/hook/keepwatch-notify')]) {
    if (fs.existsSync(c)) return c;
  }
  throw new Error('the shipped hook agent/hook/keepwatch-notify was not found next to this keepwatch');
}

/** Copies the hook into place atomically, root:root 0755. */
export function installHook(src: string, dest: string): void {
  fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
  const tmp = `${dest}.${process.pid}.tmp`;
  fs.copyFileSync(src, tmp);
  try {
    fs.chmodSync(tmp, 0o755);
    fs.chownSync(tmp, 0, 0);
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * The detached deliverer: its output goes nowhere (the hook redirects it), so its log goes to
 * <spool>-hook/deliver.log and anything that keeps it from paging leaves a failure record in the
 * spool for the agent to alert on.
 */
async function runDeliverer(configFile: string | undefined, spoolOpt: string | undefined, socketOpt: string | boolean | undefined): Promise<number> {
  const fail = (spool: string, why: string, code: number): number => {
    process.stderr.write(`keepwatch notify --deliver-spooled: ${why}\n`);
    recordDeliveryFailure(spool, why, Date.now());
    return code;
  };
  const defaults = keepalivedSchema.parse({});
  if (!configFile) return fail(spoolOpt ?? defaults.hook_spool, 'needs --config.file (node name and receivers)', 2);
  let config: Config;
  try {
    config = loadDeliverConfig(configFile);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return fail(spoolOpt ?? defaults.hook_spool, `cannot page: ${e.message.replace(/\n\s*/g, '; ')}`, 1);
  }
  const spool = spoolOpt ?? config.keepalived.hook_spool;
  const socketPath = socketOpt === false ? undefined : typeof socketOpt === 'string' ? socketOpt : config.keepalived.hook_socket;
  let dest: pino.DestinationStream;
  try {
    const h = secureHookDir(spool);
    dest = process.stderr.isTTY ? pino.destination(2) : pino.destination({ dest: h.log, append: true, sync: true, mode: 0o600 });
  } catch (e) {
    return fail(spool, `cannot page: ${errText(e)}`, 1);
  }
  const log = pino({ level: 'info', redact: { paths: REDACT_PATHS, censor: '<secret>' }, base: { pid: process.pid, node: config.node } }, dest);
  if (config.alerting.receivers.length === 0) {
    log.warn('no receivers configured: nothing to deliver');
    return fail(spool, `cannot page: no receivers in ${configFile} (alerting.receivers)`, 1);
  }
  let target;
  try {
    target = receiversTarget(config, systemClock);
  } catch (e) {
    log.error({ err: errText(e) }, 'cannot build the receivers');
    return fail(spool, `cannot page: ${errText(e)}`, 1);
  }
  const res = await deliverSpooled({ spoolDir: spool, node: config.node, target, clock: systemClock, log, socketPath });
  log.info(res, 'deliverer finished');
  if (res.skipped) process.stdout.write(`${res.skipped}\n`);
  else process.stdout.write(`delivered ${res.delivered}, failed ${res.failed}${res.agentBack ? ' (agent is back: it took over)' : ''}${res.undelivered ? `, ${res.undelivered} record(s) not paged (failure record left for the agent)` : ''}\n`);
  return res.undelivered || (res.failed > 0 && res.delivered === 0) ? 1 : 0;
}
