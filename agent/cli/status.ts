// keepwatch status: the status page as a terminal table, for people and for scripts.
// Exit code 0 healthy, 1 degraded, 2 critical (3 when the agent cannot be asked), so
// `keepwatch status && do-maintenance` is safe. --watch redraws on every change (SSE).
// Data: GET /api/v1/status (cluster, alerts and the verdict, computed by the agent); from an
// agent without it, /api/v1/cluster or /api/v1/state plus /api/v1/alerts, judged here the same way.
// The agent's address, TLS and token come from its config (agentTarget.ts); flags in commands.ts.
import type { Command } from 'commander';
import { setExitCode } from './main';
import { ConfigError } from '../config/load';
import { agentRequest, readAuthorization } from './agentClient';
import { DEFAULT_AGENT_URL, resolveAgentTarget, targetFromUrl, type AgentTarget } from './agentTarget';
import { exitCodeOf, statusHealth, type HealthLevel, type StatusSnapshot, type StatusVrid, type StatusNode } from '../status/snapshot';
import type { Alert } from '../alerting/alert';
import type { NodeState } from '../state/types';

export const EXIT_UNREACHABLE = 3;

export interface StatusIo {
  write(s: string): void;
  /** Colours and screen redraws only on a terminal. */
  tty: boolean;
  /** Stops --watch. */
  signal?: AbortSignal;
  /** The clock "since" and "ago" are counted on; default the wall clock. */
  now?: () => number;
}

export interface StatusOptions {
  /** The agent (agentTarget.ts); or `url`, with credentials in it (tests). */
  target?: AgentTarget;
  url?: string;
  json?: boolean;
  watch?: boolean;
  timeoutMs?: number;
}

// ------------------------------------------------------------------------------ fetching

async function getJson(t: AgentTarget, path: string, timeoutMs: number): Promise<{ status: number; body?: unknown }> {
  const res = await agentRequest(t, 'GET', path, { headers: { accept: 'application/json', ...readAuthorization(t) }, timeoutMs });
  const text = await res.text();
  if (res.status === 404) return { status: 404 };
  if (res.status === 401) throw new Error(`${path}: HTTP 401 (${unauthorizedHint(t)})`);
  if (res.status < 200 || res.status > 299) throw new Error(`${path}: HTTP ${res.status}`);
  return { status: res.status, body: JSON.parse(text) as unknown };
}

/** What to do about a 401, from what the config said (never a credential). */
function unauthorizedHint(t: AgentTarget): string {
  if (t.basic) return 'the agent refused the user and password of KEEPWATCH_AGENT_URL';
  if (t.apiToken) return `the agent refused alerting.api_token of ${t.configFile}`;
  const why = t.apiTokenProblem ? `alerting.api_token of ${t.configFile} could not be read: ${t.apiTokenProblem}; ` : '';
  return `${why}the agent asks for basic auth: give alerting.api_token in ${t.configFile ?? `the config (--config.file)`}, or KEEPWATCH_AGENT_URL=https://user:password@host:port`;
}

/** From an agent without /api/v1/status: this node's state (and cluster when served) and alerts, judged here. */
function snapshotFromParts(state: NodeState, cluster: { nodes?: Array<Record<string, unknown>>; vrids?: Array<Record<string, unknown>>; problems?: string[] } | undefined, alerts: Alert[], now: number): StatusSnapshot {
  const vrids: StatusVrid[] = [];
  const nodes: StatusNode[] = [];
  if (cluster?.vrids && cluster.nodes) {
    for (const v of cluster.vrids as unknown as Array<StatusVrid & { members: Array<StatusVrid['members'][number]> }>) {
      vrids.push({ ...v, inames: [...new Set(v.members.map((m) => m.iname))], vips: [...new Set(v.members.flatMap((m) => m.vips ?? []))], disagreements: ((v.disagreements ?? []) as unknown as Array<{ field: string; detail: string }>).map((d) => `${d.field} (${d.detail})`) });
    }
    for (const n of cluster.nodes as unknown as StatusNode[]) nodes.push({ ...n, nginx: n.nginx ?? {} });
  } else {
    const byVrid = new Map<string, StatusVrid>();
    for (const i of Object.values(state.instances)) {
      const key = String(i.vrid || `?${i.iname}`);
      let v = byVrid.get(key);
      if (!v) byVrid.set(key, (v = { key, vrid: i.vrid, family: i.family, inames: [], vips: [], members: [], masters: [], staleMasters: [], vipHolders: {}, disagreements: [] }));
      const bound = Object.values(state.vips).filter((x) => x.iname === i.iname);
      v.inames.push(i.iname);
      v.vips.push(...i.vips);
      v.members.push({ node: state.node, iname: i.iname, state: i.state, since: i.since, priority: i.priority, effectivePriority: i.effectivePriority, vips: i.vips, vipsBound: bound.length ? bound.filter((x) => x.intf).map((x) => x.vip) : undefined, fresh: true, via: 'self' });
      if (i.state === 'MASTER') v.masters.push(state.node);
      for (const vip of i.vips) v.vipHolders[vip] = bound.some((x) => x.vip === vip && x.intf) ? [state.node] : [];
    }
    vrids.push(...byVrid.values());
    const n = state.nginx;
    const down = (n.process && !n.process.up) || (n.status && !n.status.up) || (n.health.local && !n.health.local.up);
    nodes.push({ node: state.node, self: true, up: true, fresh: true, keepalivedUp: state.keepalived.up, nginx: { up: n.process || n.status || n.health.local ? !down : undefined } });
  }
  const problems = cluster?.problems ?? [];
  const active = alerts.filter((a) => a.status === 'firing');
  return { node: state.node, at: now, revision: state.revision, health: statusHealth({ vrids, nodes, problems }, active), vrids, nodes, problems, alerts: { active }, timeline: [] };
}

export async function fetchStatus(t: AgentTarget, timeoutMs = 5000, now: () => number = Date.now): Promise<StatusSnapshot> {
  const s = await getJson(t, '/api/v1/status', timeoutMs);
  if (s.status !== 404) return s.body as StatusSnapshot;
  const [state, cluster, alerts] = await Promise.all([getJson(t, '/api/v1/state', timeoutMs), getJson(t, '/api/v1/cluster', timeoutMs), getJson(t, '/api/v1/alerts', timeoutMs)]);
  if (state.status === 404) throw new Error(`${t.base} is not a keepwatch agent (no /api/v1/state)`);
  const list = alerts.body === undefined ? [] : Array.isArray(alerts.body) ? alerts.body : ((alerts.body as { alerts?: unknown[]; active?: unknown[] }).alerts ?? (alerts.body as { active?: unknown[] }).active ?? []);
  return snapshotFromParts(state.body as NodeState, cluster.body as Parameters<typeof snapshotFromParts>[1], list as Alert[], now());
}

// ------------------------------------------------------------------------------ rendering

const ANSI = { reset: '\x1b[0m', bold: '\x1b[1m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', blue: '\x1b[34m' };
type Colour = keyof typeof ANSI;

function painter(tty: boolean) {
  return (text: string, ...c: Colour[]) => (tty && c.length ? `${c.map((x) => ANSI[x]).join('')}${text}${ANSI.reset}` : text);
}

// Visible width: ANSI sequences take no columns.
const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - visible(s)));

function ago(ms: number | undefined, now: number): string {
  if (!ms) return '';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d`;
}

/** Removes terminal control characters from data before it reaches the screen. */
const clean = (s: unknown) => String(s ?? '').replace(/[\x00-\x1f\x7f-\x9f]/g, '?');

export function renderStatus(s: StatusSnapshot, tty: boolean, now: number): string {
  const p = painter(tty);
  const levelColour: Record<HealthLevel, Colour> = { healthy: 'green', degraded: 'yellow', critical: 'red' };
  const roleColour = (r: string): Colour[] => (r === 'MASTER' ? ['green', 'bold'] : r === 'BACKUP' ? ['blue'] : r === 'FAULT' || r === 'STOP' ? ['red'] : ['dim']);
  const out: string[] = [];
  const pair = s.externalLabels && Object.keys(s.externalLabels).length ? `pair ${Object.entries(s.externalLabels).map(([k, v]) => `${clean(k)}=${clean(v)}`).join(' ')}; ` : '';
  out.push(`keepwatch status: ${p(s.health.level.toUpperCase(), levelColour[s.health.level], 'bold')}  (${pair}asked ${clean(s.node)}; ${s.nodes.length} node${s.nodes.length === 1 ? '' : 's'}; ${new Date(s.at).toISOString()})`);
  for (const r of s.health.reasons) out.push(`  ${p('!', levelColour[s.health.level])} ${clean(r)}`);
  out.push('');

  const byNode = new Map(s.nodes.map((n) => [n.node, n]));
  const alertsOf = (node: string) => s.alerts.active.filter((a) => a.labels.node === node);
  const rows: string[][] = [['NODE', 'VRID', 'INSTANCE', 'ROLE', 'PRIO', 'VIP', 'NGINX', 'PEER', 'ALERTS', 'SINCE']];
  for (const v of s.vrids) {
    for (const m of v.members) {
      const n = byNode.get(m.node);
      const vip = m.vipsBound === undefined ? '?' : m.vipsBound.length ? m.vipsBound.join(',') : '-';
      const nginx = n?.nginx.up === undefined ? p('?', 'dim') : n.nginx.up ? p('up', 'green') : p('DOWN', 'red', 'bold');
      const peer = !n ? '?' : n.self ? p('self', 'dim') : n.up ? p('up', 'green') : p('UNREACHABLE', 'red');
      const al = alertsOf(m.node);
      const alerts = al.length ? p(String(al.length), al.some((a) => a.labels.severity === 'critical') ? 'red' : 'yellow') : p('0', 'dim');
      const prio = m.effectivePriority ?? m.priority;
      rows.push([clean(m.node) + (m.fresh ? '' : p(' (stale)', 'dim')), clean(v.key), clean(m.iname), p(m.state, ...roleColour(m.state)), prio === undefined ? '' : String(prio), clean(vip), nginx, peer, alerts, ago(m.since, now)]);
    }
  }
  // Nodes that report no instance (e.g. a peer that is down and never sent a state).
  for (const n of s.nodes) {
    if (s.vrids.some((v) => v.members.some((m) => m.node === n.node))) continue;
    rows.push([clean(n.node), '-', '-', p('UNKNOWN', 'dim'), '', '', n.nginx.up === undefined ? p('?', 'dim') : n.nginx.up ? p('up', 'green') : p('DOWN', 'red'), n.self ? p('self', 'dim') : n.up ? p('up', 'green') : p('UNREACHABLE', 'red'), String(alertsOf(n.node).length), '']);
  }
  if (rows.length === 1) out.push('No VRRP instance known yet: no source has reported keepalived\'s state.');
  else {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => visible(r[i]))));
    rows.forEach((r, i) => out.push(r.map((c, j) => pad(i === 0 ? p(c, 'bold') : c, widths[j])).join('  ').trimEnd()));
  }

  const holders = s.vrids.flatMap((v) => Object.entries(v.vipHolders).map(([vip, h]) => `${clean(vip)} → ${h.length ? h.map(clean).join(', ') : 'nobody'}${h.length > 1 ? ' ' + p('(SPLIT BRAIN)', 'red', 'bold') : ''}`));
  if (holders.length) out.push('', `VIP holders: ${holders.join('; ')}`);

  out.push('', s.alerts.active.length ? p(`ALERTS (${s.alerts.active.length})`, 'bold') : 'No alerts firing.');
  for (const a of s.alerts.active) {
    const sev = a.labels.severity ?? 'info';
    const labels = Object.entries(a.labels).filter(([k]) => k !== 'alertname' && k !== 'severity').map(([k, v]) => `${clean(k)}=${clean(v)}`).join(' ');
    out.push(`  ${pad(p(sev.toUpperCase(), sev === 'critical' ? 'red' : sev === 'warning' ? 'yellow' : 'blue', 'bold'), 8)}  ${p(clean(a.labels.alertname), 'bold')}  ${clean(a.annotations.summary)}  ${p(`${labels}  for ${ago(a.startsAt, now)}`, 'dim')}`);
  }
  return out.join('\n') + '\n';
}

// ------------------------------------------------------------------------------ the command

/** Reads server-sent events from a fetch body; calls onSnapshot for each `snapshot` event. */
async function followEvents(t: AgentTarget, onSnapshot: (s: StatusSnapshot) => void, signal: AbortSignal): Promise<void> {
  const res = await agentRequest(t, 'GET', '/api/v1/events', { headers: { ...readAuthorization(t), accept: 'text/event-stream' }, signal, stream: true, timeoutMs: 10_000 });
  if (res.status !== 200) {
    res.body.resume();
    throw new Error(`/api/v1/events: HTTP ${res.status}`);
  }
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    if (buf.length > 16 * 1024 * 1024) throw new Error('/api/v1/events: event larger than 16 MiB');
    let end: number;
    while ((end = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (event === 'snapshot' && data.length) onSnapshot(JSON.parse(data.join('\n')) as StatusSnapshot);
    }
  }
}

/** Runs the command; resolves with the exit code (for --watch: the last snapshot's, when stopped). */
export async function runStatus(opts: StatusOptions, io: StatusIo): Promise<number> {
  const now = io.now ?? Date.now;
  const show = (s: StatusSnapshot) => {
    if (opts.json) io.write(`${JSON.stringify(s)}\n`);
    else io.write((opts.watch && io.tty ? '\x1b[2J\x1b[H' : opts.watch ? '\n' : '') + renderStatus(s, io.tty, now()));
    return exitCodeOf(s.health.level);
  };
  const t = opts.target ?? targetFromUrl(opts.url ?? DEFAULT_AGENT_URL);
  let code: number;
  try {
    code = show(await fetchStatus(t, opts.timeoutMs, now));
  } catch (e) {
    io.write(`keepwatch status: cannot ask the agent at ${t.base}: ${(e as Error).message}\n`);
    return EXIT_UNREACHABLE;
  }
  if (!opts.watch) return code;
  const signal = io.signal ?? new AbortController().signal;
  while (!signal.aborted) {
    try {
      await followEvents(t, (s) => (code = show(s)), signal);
    } catch (e) {
      if (signal.aborted) break;
      io.write(`keepwatch status: stream lost (${(e as Error).message}); reconnecting\n`);
      code = EXIT_UNREACHABLE;
    }
    if (!signal.aborted) await new Promise((r) => setTimeout(r, 1000));
  }
  return code;
}

/** `keepwatch status` (flags in commands.ts). */
export async function statusAction(this: Command, opts: Record<string, string | boolean | undefined>): Promise<void> {
  // A command line is readable by every local user: credentials come from the environment only.
  if (opts['agent.url'] !== undefined && /^[a-z]+:\/\/[^/?#]*@/i.test(String(opts['agent.url']))) {
    process.stderr.write('keepwatch status: no credentials in --agent.url (every local user can read a command line); set KEEPWATCH_AGENT_URL instead\n');
    setExitCode(this, 2);
    return;
  }
  let target: AgentTarget;
  try {
    target = resolveAgentTarget({
      agentUrl: opts['agent.url'] as string | undefined,
      configFile: opts['config.file'] as string | undefined,
      configFileGiven: this.getOptionValueSource('config.file') === 'cli',
      webConfigFile: opts['web.config.file'] as string | undefined,
      httpConfigFile: opts['http.config.file'] as string | undefined,
      env: process.env,
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`keepwatch status: ${e.message}\n`);
    setExitCode(this, EXIT_UNREACHABLE);
    return;
  }
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const code = await runStatus(
      { target, json: Boolean(opts.json), watch: Boolean(opts.watch) },
      { write: (s) => process.stdout.write(s), tty: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR, signal: ac.signal },
    );
    setExitCode(this, code);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
