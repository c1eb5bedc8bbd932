// keepwatch silence add|list|expire: amtool's silence commands against the local agent's API
// (POST/GET /api/v1/silences, DELETE /api/v1/silences/<id>, bearer token). Exit 0 on success,
// 1 when the agent refuses or cannot be reached, 2 on usage errors.
import { Command } from 'commander';
import { userInfo } from 'node:os';
import { duration } from '../config/schema';
import { parseMatchers } from '../alerting/matchers';
import { setExitCode } from './main';

const DEFAULT_URL = 'http://127.0.0.1:9723';

interface Common {
  'agent.url'?: string;
  'api.token'?: string;
}

export interface SilenceIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo = (): SilenceIo => ({ out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), env: process.env });

class UsageError extends Error {}

async function call(opts: Common, io: SilenceIo, method: string, path: string, body?: unknown): Promise<unknown> {
  const token = opts['api.token'] ?? io.env.KEEPWATCH_API_TOKEN;
  if (!token) throw new UsageError('no API token: pass --api.token or set KEEPWATCH_API_TOKEN (the agent\'s alerting.api_token or peer_token)');
  const base = (opts['agent.url'] ?? DEFAULT_URL).replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    const cause = (e as Error & { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach the agent at ${base}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (res.status === 401) throw new Error('the agent refused the API token (401)');
  if (!res.ok) throw new Error(`the agent answered ${res.status}: ${(json as { error?: string } | undefined)?.error ?? text.slice(0, 200)}`);
  return json;
}

function common(cmd: Command): Command {
  return cmd
    .option('--agent.url <url>', `the local agent (default ${DEFAULT_URL})`)
    .option('--api.token <token>', 'API token (default: env KEEPWATCH_API_TOKEN)');
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

export function registerSilence(program: Command, io: SilenceIo = defaultIo()): void {
  const silence = program.command('silence').description('add, list and expire silences on the local agent (like amtool silence)');

  common(
    silence
      .command('add')
      .description(
        'silence alerts of this pair matching all the matchers, e.g. keepwatch silence add alertname=Failover vrid=51 --for 2h --comment "planned switchover"; ' +
          'the agent adds a matcher per external label (cluster=...), so the silence holds for this pair only, also where the pair\'s alerts meet others\'',
      )
      .argument('<matchers...>', 'Alertmanager matchers: name=value, name!=value, name=~regex, name!~regex (or one {a="b",c="d"})')
      .option('--for <duration>', 'how long, e.g. 30m, 2h (from --start or now)')
      .option('--duration <duration>', 'the same as --for')
      .option('--no-pair', 'do not add the pair\'s external labels as matchers')
      .requiredOption('--comment <text>', 'why (shown to whoever wonders why they were not paged)')
      .option('--author <name>', 'who (default: your user name)')
      .option('--start <time>', 'start later, RFC 3339 (default now)'),
  ).action(async function (this: Command, matchers: string[], opts: Common & Record<string, string | undefined>) {
    await run(this, io, async () => {
      let parsed: string[];
      try {
        parsed = matchers.flatMap((m) => parseMatchers(m)).map(String);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (!parsed.length) throw new UsageError('at least one matcher is required');
      const length = opts.for ?? opts.duration;
      if (opts.for !== undefined && opts.duration !== undefined) throw new UsageError('--for and --duration are the same option: give one');
      if (length === undefined) throw new UsageError('--for is required: how long the silence lasts, e.g. 30m, 2h');
      const d = duration.safeParse(length);
      if (!d.success || d.data <= 0) throw new UsageError(`--for: not a positive duration: ${length} (use e.g. 30m, 2h)`);
      let author = opts.author;
      if (!author) {
        try {
          author = io.env.USER || userInfo().username;
        } catch {
          author = 'unknown';
        }
      }
      const pair = (opts as { pair?: boolean }).pair !== false;
      const res = (await call(opts, io, 'POST', '/api/v1/silences', { matchers: parsed, duration: length, startsAt: opts.start, createdBy: author, comment: opts.comment, pair })) as { silenceID: string };
      io.out(`${res.silenceID}\n`);
    });
  });

  common(
    silence
      .command('list')
      .alias('query')
      .description('list silences (active and pending; --all for expired too)')
      .option('--all', 'include expired silences')
      .option('--json', 'print the API JSON'),
  ).action(async function (this: Command, opts: Common & { all?: boolean; json?: boolean }) {
    await run(this, io, async () => {
      const list = ((await call(opts, io, 'GET', '/api/v1/silences')) as SilenceJson[]).filter((s) => opts.all || s.status.state !== 'expired');
      io.out(opts.json ? `${JSON.stringify(list, null, 2)}\n` : formatSilences(list));
    });
  });

  common(silence.command('expire').description('end silences now').argument('<ids...>', 'silence ids (from add or list)')).action(async function (this: Command, ids: string[], opts: Common) {
    await run(this, io, async () => {
      for (const id of ids) {
        await call(opts, io, 'DELETE', `/api/v1/silences/${encodeURIComponent(id)}`);
        io.out(`expired ${id}\n`);
      }
    });
  });
}
