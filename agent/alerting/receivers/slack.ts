// Slack, two ways. Incoming webhook (webhook_url): Block Kit blocks with a plain `text` fallback
// (notifications, screen readers), the colour bar by severity through an attachment, resolved
// messages in green; Slack answers 200 `ok`, over its ~1 message/s per hook 429 with Retry-After,
// which the outbox honours. A webhook cannot reply in a thread, so each incident notice is its own
// message naming the incident. Bot token (token + channel): chat.postMessage; an incident's first
// notice starts a thread and its later notices reply in it (the resolved one also broadcast to the
// channel), its ts kept in the ThreadStore so a restart does not start a second thread. The webhook
// URL and the token are credentials: never logged, never in an error, only the receiver name.
import { readFileSync } from 'node:fs';
import { secretFilePath } from '../../config/secretFiles';
import type { Clock } from '../../context';
import type { SlackReceiverConfig } from '../../config/schema';
import type { Alert } from '../alert';
import { firingCount, notificationTitle, type Notification } from '../notification';
import { clip, incidentTitle, incidentView, isIncidentNotification, type IncidentNotification } from '../incidentText';
import { headerValue, httpPost, httpPostResponse } from './httpPost';
import { ReceiverError, sanitize, type Receiver, type ReceiverDeps } from './receiver';
import { parseRetryAfter } from './retryAfter';
import { memoryThreadStore, recordSent } from './threads';

const COLOURS: Record<string, string> = { critical: '#d00000', warning: '#e8a317', info: '#439fe0', resolved: '#2eb886' };
const SEVERITY_RANK: Record<string, number> = { critical: 3, warning: 2, info: 1 };
/** Slack allows 50 blocks a message; keep room for the header and the footer. */
const MAX_ALERT_BLOCKS = 20;

/** Slack mrkdwn needs only &, < and > escaped. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackColour(n: Notification): string {
  if (n.status === 'resolved') return COLOURS.resolved;
  let best = 'info';
  for (const a of n.alerts) {
    const s = a.labels.severity;
    if (a.status === 'firing' && s && (SEVERITY_RANK[s] ?? 0) > (SEVERITY_RANK[best] ?? 0)) best = s;
  }
  return COLOURS[best] ?? COLOURS.warning;
}

function alertBlock(a: Alert): object {
  const icon = a.status === 'firing' ? ':red_circle:' : ':large_green_circle:';
  const labels = Object.keys(a.labels)
    .filter((k) => k !== 'alertname')
    .sort()
    .map((k) => `\`${esc(k)}=${esc(a.labels[k])}\``)
    .join(' ');
  const lines = [`${icon} *${esc(a.annotations.summary || a.labels.alertname || 'alert')}*`];
  if (a.annotations.description) lines.push(esc(a.annotations.description));
  if (labels) lines.push(labels);
  lines.push(`since <!date^${Math.floor(a.startsAt / 1000)}^{date_short_pretty} {time_secs}|${new Date(a.startsAt).toISOString()}>`);
  return { type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 3000) } };
}

/** An incident's colour: green when resolved, else its most severe alert's (a past one's too). */
function incidentColour(n: IncidentNotification): string {
  if (n.incident.phase === 'resolved') return COLOURS.resolved;
  const pick = n.incident.phase === 'past' ? n.alerts : n.alerts.filter((a) => a.status === 'firing');
  const best = pick.reduce((b, a) => ((SEVERITY_RANK[a.labels.severity] ?? 0) > (SEVERITY_RANK[b] ?? 0) ? a.labels.severity : b), 'info');
  return COLOURS[best] ?? COLOURS.warning;
}

const INCIDENT_ICON: Record<string, string> = { first: ':rotating_light:', update: ':rotating_light:', resolved: ':white_check_mark:', past: ':information_source:' };

/** An incident notice: the cause first, then the facts and sections of incidentView; the incident id in the footer. */
export function slackIncidentPayload(n: IncidentNotification, cfg: Pick<SlackReceiverConfig, 'channel' | 'username'>, told?: ReadonlySet<string>): Record<string, unknown> {
  const v = incidentView(n, told);
  const blocks: object[] = [{ type: 'section', text: { type: 'mrkdwn', text: clip(`*${esc(v.lead)}*\n${esc(v.facts)}`, 3000) } }];
  for (const sec of v.sections) {
    const body = sec.timeline ? sec.lines.map(esc).join('\n') : sec.lines.map((l) => `• ${esc(l)}`).join('\n');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*${esc(sec.heading)}*\n${body}`, 3000) } });
  }
  const footer = [`keepwatch`, `incident ${esc(n.incident.id)}`, n.externalURL ? `<${n.externalURL}|status page>` : '', `key ${n.idempotencyKey}`].filter(Boolean).join(' · ');
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: footer }] });
  // `text` is mrkdwn (a summary's `<!channel>` would ping everyone): escaped; header and fallback are plain text.
  const text = clip(`${v.title} (incident ${n.incident.id})`, 3000);
  const icon = INCIDENT_ICON[n.incident.phase];
  return {
    ...(cfg.channel ? { channel: cfg.channel } : {}),
    ...(cfg.username ? { username: cfg.username } : {}),
    text: esc(text),
    // Slack's header holds 150 characters: the title is clipped to fit, keeping its duration.
    blocks: [{ type: 'header', text: { type: 'plain_text', text: `${icon} ${incidentTitle(n.incident, 150 - icon.length - 1)}`, emoji: true } }],
    attachments: [{ color: incidentColour(n), fallback: text, blocks }],
  };
}

/** The message body (exported for tests). `told`: steps the incident's thread has already told. */
export function slackPayload(n: Notification, cfg: Pick<SlackReceiverConfig, 'channel' | 'username'>, told?: ReadonlySet<string>): Record<string, unknown> {
  if (isIncidentNotification(n)) return slackIncidentPayload(n, cfg, told);
  const title = notificationTitle(n);
  const first = n.alerts.find((a) => a.status === 'firing') ?? n.alerts[0];
  const text = clip(`${title}${first?.annotations.summary ? `: ${first.annotations.summary}` : ''}`, 3000);
  const shown = n.alerts.slice(0, MAX_ALERT_BLOCKS);
  const blocks: object[] = shown.map(alertBlock);
  if (n.alerts.length > shown.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${n.alerts.length - shown.length} more` }] });
  const footer = [`keepwatch`, n.externalURL ? `<${n.externalURL}|status page>` : '', `key ${n.idempotencyKey}`].filter(Boolean).join(' · ');
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: footer }] });
  const icon = n.status === 'firing' ? (firingCount(n) ? ':rotating_light:' : '') : ':white_check_mark:';
  return {
    ...(cfg.channel ? { channel: cfg.channel } : {}),
    ...(cfg.username ? { username: cfg.username } : {}),
    text,
    blocks: [{ type: 'header', text: { type: 'plain_text', text: clip(`${icon ? `${icon} ` : ''}${title}`, 150), emoji: true } }],
    attachments: [{ color: slackColour(n), fallback: text, blocks }],
  };
}

/** Web API errors worth retrying (Slack's side, or its rate limit); every other one is about the request or the credentials. */
const RETRYABLE_API_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);
/** The thread's first message is gone: start a new thread. */
const THREAD_GONE = new Set(['thread_not_found', 'invalid_thread_ts', 'message_not_found']);

export class SlackApiError extends ReceiverError {
  constructor(receiver: string, readonly code: string, retryAfterMs?: number) {
    super(`${receiver}: Slack API: ${code}`, RETRYABLE_API_ERRORS.has(code), retryAfterMs);
  }
}

/** One Web API call: 2xx with {ok:true} resolves; {ok:false, error} throws a SlackApiError; HTTP errors as httpPost. */
export async function slackApiCall(
  cfg: Pick<SlackReceiverConfig, 'name' | 'token' | 'api_url' | 'timeout'>,
  method: string,
  body: Record<string, unknown>,
  signal: AbortSignal,
  clock: Clock,
): Promise<Record<string, unknown>> {
  const res = await httpPostResponse({
    receiver: cfg.name,
    url: `${cfg.api_url.replace(/\/+$/, '')}/${method}`,
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${cfg.token ?? ''}` },
    timeoutMs: cfg.timeout,
    signal,
    clock,
  });
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    throw new ReceiverError(`${cfg.name}: Slack API answered without JSON: ${sanitize(res.text)}`, true);
  }
  if (answer && answer.ok === true) return answer;
  const code = typeof answer?.error === 'string' ? sanitize(answer.error) : 'unknown_error';
  throw new SlackApiError(cfg.name, code, parseRetryAfter(headerValue(res.headers['retry-after']), clock.now()));
}

/**
 * The bot token: `token`, or token_file's content, read as every `<key>_file` is (systemd's
 * credential copy when $CREDENTIALS_DIRECTORY holds one). An error names the file and why, never its content.
 */
export function slackToken(cfg: Pick<SlackReceiverConfig, 'name' | 'token' | 'token_file'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (cfg.token || !cfg.token_file) return cfg.token;
  const from = secretFilePath(cfg.token_file, env);
  let token: string;
  try {
    token = readFileSync(from, 'utf8').trim();
  } catch (e) {
    throw new Error(`${cfg.name}: cannot read token_file ${from}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if (!token) throw new Error(`${cfg.name}: token_file ${from} is empty`);
  return token;
}

export function slackReceiver(config: SlackReceiverConfig, { clock, threads = memoryThreadStore(), env }: ReceiverDeps): Receiver {
  const bot = !config.webhook_url;
  const cfg = bot ? { ...config, token: slackToken(config, env) } : config;
  if (bot && (!cfg.token || !cfg.channel)) throw new Error(`${cfg.name}: a Slack receiver needs webhook_url, or token (or token_file) and channel`);

  async function post(payload: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown> | undefined> {
    if (!bot) {
      await httpPost({ receiver: cfg.name, url: cfg.webhook_url!, body: JSON.stringify(payload), headers: { 'content-type': 'application/json; charset=utf-8' }, timeoutMs: cfg.timeout, signal, clock });
      return undefined;
    }
    return slackApiCall(cfg, 'chat.postMessage', payload, signal, clock);
  }

  return {
    name: cfg.name,
    type: 'slack',
    async send(n, signal) {
      if (!isIncidentNotification(n)) {
        await post(slackPayload(n, cfg), signal);
        return;
      }
      const id = n.incident.id;
      const mark = threads.get(id);
      const payload = slackIncidentPayload(n, cfg, new Set(mark?.told ?? []));
      // A past incident is told once, on its own; the others reply in the thread their first notice started.
      const reply = bot && mark?.ts && n.incident.phase !== 'past' ? { thread_ts: mark.ts, ...(mark.channel ? { channel: mark.channel } : {}) } : undefined;
      let answer: Record<string, unknown> | undefined;
      try {
        answer = await post(reply ? { ...payload, ...reply, ...(n.incident.phase === 'resolved' ? { reply_broadcast: true } : {}) } : payload, signal);
      } catch (e) {
        if (!(reply && e instanceof SlackApiError && THREAD_GONE.has(e.code))) throw e;
        answer = await post(payload, signal);
        recordSent(threads, n.incident, clock.now(), threadStart(answer));
        return;
      }
      recordSent(threads, n.incident, clock.now(), reply ? {} : threadStart(answer));
    },
  };
}

/** The ts and channel of a new top-level message, which later notices reply to. */
function threadStart(answer: Record<string, unknown> | undefined): { ts?: string; channel?: string } {
  if (!answer || typeof answer.ts !== 'string') return {};
  return { ts: answer.ts, ...(typeof answer.channel === 'string' ? { channel: answer.channel } : {}) };
}
