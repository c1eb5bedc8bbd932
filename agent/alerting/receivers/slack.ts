// Slack incoming webhook: Block Kit blocks with a plain `text` fallback (notifications, screen
// readers), the colour bar by severity through an attachment, resolved messages in green. Slack
// answers 200 `ok`; over its ~1 message/s per hook it answers 429 with Retry-After, which the
// outbox honours. The webhook URL is the credential: it is never logged, only the receiver name.
import type { Alert } from '../alert';
import { firingCount, notificationTitle, type Notification } from '../notification';
import { httpPost, type Receiver } from './receiver';

export interface SlackReceiverConfig {
  name: string;
  webhook_url: string;
  channel?: string;
  username?: string;
  timeout: number;
}

const COLOURS: Record<string, string> = { critical: '#d00000', warning: '#e8a317', info: '#439fe0', resolved: '#2eb886' };
const SEVERITY_RANK: Record<string, number> = { critical: 3, warning: 2, info: 1 };
/** Slack allows 50 blocks a message; keep room for the header and the footer. */
const MAX_ALERT_BLOCKS = 20;

/** Slack mrkdwn needs only &, < and > escaped. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
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

/** The message body (exported for tests). */
export function slackPayload(n: Notification, cfg: Pick<SlackReceiverConfig, 'channel' | 'username'>): Record<string, unknown> {
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

export function slackReceiver(cfg: SlackReceiverConfig): Receiver {
  return {
    name: cfg.name,
    type: 'slack',
    async send(n, signal) {
      await httpPost({
        receiver: cfg.name,
        url: cfg.webhook_url,
        body: JSON.stringify(slackPayload(n, cfg)),
        headers: { 'content-type': 'application/json; charset=utf-8' },
        timeoutMs: cfg.timeout,
        signal,
      });
    },
  };
}
