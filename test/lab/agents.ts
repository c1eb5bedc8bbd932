// Runs the real keepwatch agent (bin/keepwatch run, the built dist/, with the agent's V8 flags) inside each lab node's
// namespace, wired to that node's keepalived (its D-Bus, FIFO, log, pid file, conf) and nginx, with
// the other nodes as peers over the lab network. The host reaches each agent through lab.forward.
// Used by the e2e tests, the demo and the benchmarks.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { DAEMON_V8_FLAGS } from '../../agent/cli/daemonFlags';
import { keepalivedSchema } from '../../agent/config/schema';
import type { Lab, LabNode } from './lab';
import { waitFor } from '../helpers/wait';

/** The agent waitHealthy waits for has exited: waiting longer cannot help. */
class AgentExited extends Error {}

export const AGENT_PORT = 9723;
export const LAB_PEER_TOKEN = 'lab-peer-token-0123456789';
const REPO = resolve(__dirname, '../..');

export interface LabAgent {
  node: LabNode;
  /** http://127.0.0.1:<forwarded port> on the host. */
  url: string;
  configFile: string;
  logFile: string;
  dataDir: string;
  proc: ChildProcess;
  /** GET a path with the peer token; parsed JSON for /api paths, text otherwise. */
  get(path: string): Promise<string>;
  getJson<T = unknown>(path: string): Promise<T>;
  metrics(): Promise<string>;
  /** Stops the agent (SIGTERM, or the given signal) and waits for exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same config (stopping it first if it runs). wipe: as a fresh
   *  install, its data dir emptied but for the config and the log (outbox, history, positions). */
  restart(opts?: { wipe?: boolean }): Promise<void>;
  running(): boolean;
}

export interface StartAgentsOptions {
  /** Deep-merged over the generated config of each node (e.g. alerting receivers, rules). */
  config?: (node: LabNode) => Record<string, unknown>;
  /** Run agents only on these nodes (default all). */
  only?: string[];
  /** Wire the agent-owned FIFO (the lab must be started with fifo: true). Default: lab.opts.fifo. */
  fifo?: boolean;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Runs the agent through this command prefix (another user, capabilities, mounts), e.g.
   *  ['setpriv', '--reuid=990', ...]: the prefix must exec the rest of the command line. */
  wrap?: (node: LabNode) => string[];
  /** Run `node <nodeArgs> bin/keepwatch` (V8 flags to compare); default: the agent's V8 flags,
   *  given here as `run` gives them itself on a node with process.execve (agent/cli/daemonFlags.ts). */
  nodeArgs?: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** The config an agent gets on a lab node (before opts.config is merged over it). */
export function labAgentConfig(lab: Lab, node: LabNode, fifo: boolean): Record<string, unknown> {
  const dataDir = join(node.dir, 'keepwatch');
  return {
    node: node.name,
    log: { level: 'info', format: 'json' },
    keepalived: {
      dbus: node.busAddress,
      ...(fifo ? { notify_fifo: node.fifoPath } : {}),
      log: node.logPath,
      config: node.confPath,
      pid_file: node.keepalivedPidFile,
      dumps: { interval: '5s', method: 'dbus', dir: node.tmpDir },
      hook_socket: join(dataDir, 'hook.sock'),
      hook_spool: join(dataDir, 'spool'),
      state_dir: join(dataDir, 'state'),
    },
    web: { listen_address: `0.0.0.0:${AGENT_PORT}` },
    nginx: {
      status_url: 'http://127.0.0.1/nginx_status',
      health_url: 'http://127.0.0.1/health',
      pid_file: node.nginxPidFile,
      config: node.nginxConfPath,
      binary: node.nginxBinary,
    },
    peers: lab.nodes.filter((n) => n !== node).map((n) => ({ name: n.name, url: `http://${n.ip}:${AGENT_PORT}` })),
    peer_token: LAB_PEER_TOKEN,
    alerting: {
      outbox: { path: join(dataDir, 'outbox') },
      silences_file: join(dataDir, 'silences.json'),
    },
  };
}

async function waitHealthy(url: string, proc: ChildProcess, logFile: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new AgentExited(`agent exited with ${proc.exitCode}; see ${logFile}`);
      return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(500) })).ok;
    },
    { timeoutMs, stepMs: 50, what: `agent at ${url} healthy (see ${logFile})`, stopOn: (e) => e instanceof AgentExited },
  );
}

export async function startAgent(lab: Lab, node: LabNode, opts: StartAgentsOptions = {}): Promise<LabAgent> {
  if (!existsSync(join(REPO, 'dist/agent/cli/main.js'))) throw new Error('dist/ missing: run `npm run build` first');
  const fifo = opts.fifo ?? Boolean(lab.opts.fifo);
  const dataDir = join(node.dir, 'keepwatch');
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(dataDir, 'keepwatch.yml');
  const cfg = deepMerge(labAgentConfig(lab, node, fifo), opts.config?.(node) ?? {});
  writeFileSync(configFile, stringify(cfg));
  const logFile = join(dataDir, 'agent.log');
  const bin = join(REPO, 'bin/keepwatch');
  const argv = [process.execPath, ...(opts.nodeArgs ?? DAEMON_V8_FLAGS), bin];
  const spawnIt = () => node.spawn([...(opts.wrap?.(node) ?? []), ...argv, 'run', '--config.file', configFile], { env: opts.env, logFile });
  const port = await lab.forward(node, AGENT_PORT);
  const url = `http://127.0.0.1:${port}`;
  const agent: LabAgent = {
    node,
    url,
    configFile,
    logFile,
    dataDir,
    proc: spawnIt(),
    async get(path) {
      const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${LAB_PEER_TOKEN}` }, signal: AbortSignal.timeout(5000) });
      if (!r.ok) throw new Error(`GET ${path} on ${node.name}: ${r.status}`);
      return r.text();
    },
    async getJson<T>(path: string) {
      return JSON.parse(await agent.get(path)) as T;
    },
    metrics: () => agent.get('/metrics'),
    async stop(signal = 'SIGTERM') {
      const p = agent.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((res) => {
        p.once('exit', () => res());
        p.kill(signal);
      });
    },
    running: () => agent.proc.exitCode === null && agent.proc.signalCode === null,
    async restart(o = {}) {
      await agent.stop();
      if (o.wipe) {
        const keep = new Set([basename(configFile), basename(logFile)]);
        for (const f of readdirSync(dataDir)) if (!keep.has(f)) rmSync(join(dataDir, f), { recursive: true, force: true });
      }
      agent.proc = spawnIt();
      await waitHealthy(url, agent.proc, logFile);
    },
  };
  await waitHealthy(url, agent.proc, logFile);
  return agent;
}

/**
 * A new user's config: the lab's wiring (paths, addresses, peers, peer_token) and one webhook
 * receiver per agent, every behaviour at its shipped default (labAgentConfig's faster dumps put
 * back to the schema's default). For startAgents' `config`.
 */
export function shippedDefaults(webhookUrl: (node: LabNode) => string): (node: LabNode) => Record<string, unknown> {
  const dumpsEvery = keepalivedSchema.parse({}).dumps.interval;
  return (node) => ({
    keepalived: { dumps: { interval: `${dumpsEvery}ms` } },
    alerting: { receivers: [{ name: 'inbox', type: 'webhook', url: webhookUrl(node) }] },
  });
}

/** Starts one agent per lab node (or opts.only), in parallel. lab.stop() kills them. */
export async function startAgents(lab: Lab, opts: StartAgentsOptions = {}): Promise<LabAgent[]> {
  const nodes = lab.nodes.filter((n) => !opts.only || opts.only.includes(n.name));
  return Promise.all(nodes.map((n) => startAgent(lab, n, opts)));
}

/** One exposition line as name, labels and value, or undefined for comments and blank lines. */
function parseSample(line: string): { name: string; labels: Record<string, string>; value: number } | undefined {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
  if (!m) return undefined;
  const labels: Record<string, string> = {};
  for (const lm of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
  return { name: m[1], labels, value: Number(m[4]) };
}

const hasLabels = (got: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => got[k] === v);

/** The value of the first sample of `name` whose labels include `labels`, or undefined. */
export function sample(metrics: string, name: string, labels?: Record<string, string>): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(name)) continue;
    const s = parseSample(line);
    if (s && s.name === name && hasLabels(s.labels, labels ?? {})) return s.value;
  }
  return undefined;
}

/** The sum of every sample of `name` whose labels include `labels` (e.g. transitions to MASTER from any state). */
export function sampleSum(metrics: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    const s = line.startsWith(name) ? parseSample(line) : undefined;
    if (s && s.name === name && hasLabels(s.labels, labels)) sum += s.value;
  }
  return sum;
}

/** Polls fn until it returns a truthy value or the time runs out (waitFor of test/helpers/wait.ts); resolves with Date.now() when it did. */
export async function waitUntil(fn: () => Promise<unknown> | unknown, timeoutMs: number, stepMs = 25, what = 'condition'): Promise<number> {
  return waitFor(async () => ((await fn()) ? Date.now() : false), { timeoutMs, stepMs, what });
}

/**
 * Starts an agent on every node (or opts.only) and waits until they see each other and `masters`
 * MASTER (`'ka1'` of every VRID, or by VRID key): the start of most lab tests.
 */
export async function startPeered(lab: Lab, opts: StartAgentsOptions = {}, masters: string | Record<string, string> = 'ka1', timeoutMs?: number): Promise<LabAgent[]> {
  const agents = await startAgents(lab, opts);
  await waitPeered(agents, masters, timeoutMs);
  return agents;
}

/**
 * Restarts every agent at once (their rule memory is lost, as after a reboot) and waits until they
 * are peered again with `masters` MASTER, as startPeered does. For a test whose scenario must not
 * count together with an earlier test's, e.g. the MASTER changes within rules.flapping.window (5m)
 * that would make its failover the third. wipe: as a fresh install, data dirs emptied (no outbox,
 * history, read positions), for a test that must not inherit an earlier test's pages either.
 */
export async function restartPeered(agents: LabAgent[], masters: string | Record<string, string> = 'ka1', opts: { wipe?: boolean } = {}): Promise<void> {
  await Promise.all(agents.map((a) => a.restart({ wipe: opts.wipe })));
  await waitPeered(agents, masters);
}

/**
 * Waits until every agent sees every agent's node up and the expected MASTER of each VRID: `'ka1'`
 * (of every VRID) or `{ '51': 'ka1', '52': 'ka2' }` by VRID key. The start of most lab tests.
 */
export async function waitPeered(agents: LabAgent[], masters: string | Record<string, string>, timeoutMs = 20_000): Promise<void> {
  const expected = typeof masters === 'string' ? undefined : masters;
  await waitUntil(
    async () => {
      const views = await Promise.all(agents.map((a) => a.getJson<{ nodes: Array<{ up: boolean }>; vrids: Array<{ key: string; masters: string[] }> }>('/api/v1/cluster')));
      return views.every((v) => {
        if (v.nodes.length !== agents.length || !v.nodes.every((n) => n.up) || v.vrids.length === 0) return false;
        const got = Object.fromEntries(v.vrids.map((x) => [x.key, x.masters.join()]));
        return expected ? Object.entries(expected).every(([k, m]) => got[k] === m) : Object.values(got).every((m) => m === masters);
      });
    },
    timeoutMs,
    100,
    `${agents.length} agents peered, MASTER ${typeof masters === 'string' ? masters : JSON.stringify(masters)}`,
  );
}
