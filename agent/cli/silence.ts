// keepwatch silence add|list|expire: amtool's silence commands against the local agent's API
// (POST/GET /api/v1/silences, DELETE /api/v1/silences/<id>, bearer token). The agent's address,
// TLS and token come from its config (agentTarget.ts); the token from --api.token-file or env
// KEEPWATCH_API_TOKEN wins. Exit 0 on success, 1 when the agent refuses or cannot be reached or
// the config is bad, 2 on usage errors. Flags are defined in commands.ts.
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { readFileSync } from 'node:fs';
import { parseDuration } from '../config/duration';
import { ConfigError } from '../config/load';
import { parseMatchers } from '../alerting/matchers';
import { setExitCode } from './main';
import { agentRequest } from './agentClient';
import { resolveAgentTarget, type AgentTarget } from './agentTarget';

export interface SilenceOptions {
  'agent.url'?: string;
  'api.tokenFile'?: string;
  'config.file'?: string;
  'web.config.file'?: string;
  'http.config.file'?: string;
}

export interface SilenceIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo = (): SilenceIo => ({ out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env });

class UsageError extends Error {}

function readTokenFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new UsageError(`cannot read --api.token-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function target(cmd: Command, opts: SilenceOptions, io: SilenceIo): AgentTarget {
  try {
    return resolveAgentTarget({ agentUrl: opts['agent.url'], configFile: opts['config.file'], configFileGiven: cmd.getOptionValueSource('config.file') === 'cli', webConfigFile: opts['web.config.file'], httpConfigFile: opts['http.config.file'], env: io.env });
  } catch (e) {
    if (e instanceof ConfigError) throw new Error(e.message);
    throw e;
  }
}

async function call(cmd: Command, opts: SilenceOptions, io: SilenceIo, method: string, path: string, body?: unknown): Promise<unknown> {
  if (opts['agent.url'] !== undefined && /^[a-z]+:\/\/[^/?#]*@/i.test(opts['agent.url'])) throw new UsageError('no credentials in --agent.url (every local user can read a command line)');
  const t = target(cmd, opts, io);
  // From a file, the environment or the agent's config, never a flag: a command line is readable by every local user.
  const token = opts['api.tokenFile'] ? readTokenFile(opts['api.tokenFile']) : (io.env.KEEPWATCH_API_TOKEN ?? t.apiToken);
  if (!token) {
    const why = t.apiTokenProblem ? ` (alerting.api_token of ${t.configFile}: ${t.apiTokenProblem})` : t.configFile ? ` (${t.configFile} sets no alerting.api_token)` : '';
    throw new UsageError(`no API token${why}: set alerting.api_token in the agent's config (--config.file), KEEPWATCH_API_TOKEN, or --api.token-file FILE`);
  }
  let res;
  let text: string;
  try {
    res = await agentRequest(t, method, path, {
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      timeoutMs: 10_000,
    });
    text = await res.text();
  } catch (e) {
    throw new Error(`cannot reach the agent at ${t.base}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (res.status === 401) throw new Error('the agent refused the API token (401)');
  if (res.status < 200 || res.status > 299) throw new Error(`the agent answered ${res.status}: ${(json as { error?: string } | undefined)?.error ?? text.slice(0, 200)}`);
  return json;
}

async function run(cmd: Command, io: SilenceIo, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    setExitCode(cmd, 0);
  } catch (e) {
    io.err(`keepwatch silence: ${(e as Error).message}\n`);
    setExitCode(cmd, e instanceof UsageError ? 2 : 1);
  }
}

interface SilenceJson {
  id: string;
  matchers: Array<{ name: string; value: string; isRegex: boolean; isEqual: boolean }>;
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  status: { state: string };
}

function matcherText(m: SilenceJson['matchers'][number]): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

export function formatSilences(list: SilenceJson[]): string {
  const rows = [['ID', 'STATE', 'ENDS AT', 'CREATED BY', 'COMMENT', 'MATCHERS']];
  for (const s of list) rows.push([s.id, s.status.state, s.endsAt, s.createdBy, s.comment, s.matchers.map(matcherText).join(' ')]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

/** keepwatch silence add MATCHERS... */
export async function silenceAddAction(this: Command, matchers: string[], opts: SilenceOptions & Record<string, string | boolean | undefined>, io: SilenceIo = defaultIo()): Promise<void> {
  await run(this, io, async () => {
    let parsed: string[];
    try {
      parsed = matchers.flatMap((m) => parseMatchers(m)).map(String);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (!parsed.length) throw new UsageError('at least one matcher is required');
    const length = (opts.for ?? opts.duration) as string | undefined;
    if (opts.for !== undefined && opts.duration !== undefined) throw new UsageError('--for and --duration are the same option: give one');
    if (length === undefined) throw new UsageError('--for is required: how long the silence lasts, e.g. 30m, 2h');
    let ms = 0;
    try {
      ms = parseDuration(String(length));
    } catch {
      /* reported below */
    }
    if (ms <= 0) throw new UsageError(`--for: not a positive duration: ${length} (use e.g. 30m, 2h)`);
    let author = opts.author as string | undefined;
    if (!author) {
      try {
        author = io.env.USER || userInfo().username;
      } catch {
        author = 'unknown';
      }
    }
    const pair = opts.pair !== false;
    const res = (await call(this, opts, io, 'POST', '/api/v1/silences', { matchers: parsed, duration: length, startsAt: opts.start, createdBy: author, comment: opts.comment, pair })) as { silenceID: string };
    io.out(`${res.silenceID}\n`);
  });
}

/** keepwatch silence list */
export async function silenceListAction(this: Command, opts: SilenceOptions & { all?: boolean; json?: boolean }, io: SilenceIo = defaultIo()): Promise<void> {
  await run(this, io, async () => {
    const list = ((await call(this, opts, io, 'GET', '/api/v1/silences')) as SilenceJson[]).filter((s) => opts.all || s.status.state !== 'expired');
    io.out(opts.json ? `${JSON.stringify(list, null, 2)}\n` : formatSilences(list));
  });
}

/** keepwatch silence expire IDS... */
export async function silenceExpireAction(this: Command, ids: string[], opts: SilenceOptions, io: SilenceIo = defaultIo()): Promise<void> {
  await run(this, io, async () => {
    for (const id of ids) {
      await call(this, opts, io, 'DELETE', `/api/v1/silences/${encodeURIComponent(id)}`);
      io.out(`expired ${id}\n`);
    }
  });
}
