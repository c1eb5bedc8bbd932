// Email through nodemailer: one mail per group notification, subject like Alertmanager's
// `[FIRING:2] SplitBrain vrid=51`, plain text and HTML bodies, STARTTLS required unless
// require_tls is false (implicit TLS on port 465), SMTP auth. The Message-ID is derived from the
// idempotency key, so a mail sent again after a crash is recognisable as the same mail.
import { readFileSync } from 'node:fs';
import type { Alert } from '../alert';
import { commonLabels, notificationTitle, type Notification } from '../notification';
import { deadline, ReceiverError, sanitize, type Receiver } from './receiver';

export interface EmailReceiverConfig {
  name: string;
  to: string[];
  from: string;
  smarthost: string;
  auth_username?: string;
  auth_password?: string;
  require_tls: boolean;
  tls_insecure_skip_verify: boolean;
  ca_file?: string;
  timeout: number;
}

function escHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function labelList(a: Alert): string[] {
  return Object.keys(a.labels)
    .sort()
    .map((k) => `${k}=${a.labels[k]}`);
}

export function emailText(n: Notification): string {
  const out: string[] = [notificationTitle(n), ''];
  const common = commonLabels(n.alerts);
  if (Object.keys(common).length) out.push(`Common labels: ${Object.keys(common).sort().map((k) => `${k}=${common[k]}`).join(' ')}`, '');
  for (const status of ['firing', 'resolved'] as const) {
    const list = n.alerts.filter((a) => a.status === status);
    if (!list.length) continue;
    out.push(`${status === 'firing' ? 'Firing' : 'Resolved'} (${list.length}):`);
    for (const a of list) {
      out.push(`- ${a.annotations.summary || a.labels.alertname}`);
      if (a.annotations.description) out.push(`  ${a.annotations.description}`);
      out.push(`  Labels: ${labelList(a).join(' ')}`);
      out.push(`  Since: ${new Date(a.startsAt).toISOString()}${a.status === 'resolved' && a.endsAt ? `  Resolved: ${new Date(a.endsAt).toISOString()}` : ''}`);
    }
    out.push('');
  }
  if (n.externalURL) out.push(`Status page: ${n.externalURL}`);
  out.push(`Idempotency key: ${n.idempotencyKey}`);
  return `${out.join('\n')}\n`;
}

export function emailHtml(n: Notification): string {
  const colour = n.status === 'resolved' ? '#2eb886' : '#d00000';
  const rows = n.alerts
    .map(
      (a) => `<tr><td style="padding:6px;border-bottom:1px solid #ddd;color:${a.status === 'firing' ? '#d00000' : '#2eb886'}"><b>${a.status.toUpperCase()}</b></td>` +
        `<td style="padding:6px;border-bottom:1px solid #ddd"><b>${escHtml(a.annotations.summary || a.labels.alertname || '')}</b>` +
        `${a.annotations.description ? `<br>${escHtml(a.annotations.description)}` : ''}` +
        `<br><code>${escHtml(labelList(a).join(' '))}</code><br><small>since ${escHtml(new Date(a.startsAt).toISOString())}</small></td></tr>`,
    )
    .join('');
  return (
    `<!DOCTYPE html><html><body style="font-family:sans-serif">` +
    `<h2 style="color:${colour}">${escHtml(notificationTitle(n))}</h2>` +
    `<table style="border-collapse:collapse">${rows}</table>` +
    (n.externalURL ? `<p><a href="${escHtml(n.externalURL)}">Status page</a></p>` : '') +
    `<p style="color:#888"><small>keepwatch · key ${escHtml(n.idempotencyKey)}</small></p></body></html>`
  );
}

/** SMTP reply codes that are about our credentials or the session, which the operator can fix: retried. */
const RETRYABLE_5XX = new Set([503, 530, 534, 535, 538]);

export function classifySmtpError(receiver: string, e: unknown): ReceiverError {
  const err = e as Error & { code?: string; responseCode?: number; response?: string };
  const code = err.responseCode;
  const what = sanitize(err.response ?? err.message ?? String(e));
  if (typeof code === 'number' && code >= 500 && code < 600 && !RETRYABLE_5XX.has(code)) {
    return new ReceiverError(`${receiver}: SMTP rejected the mail: ${what}`, false);
  }
  const kind = err.code ? `${err.code}: ` : '';
  return new ReceiverError(`${receiver}: SMTP ${kind}${what}`, true);
}

export function emailReceiver(cfg: EmailReceiverConfig): Receiver {
  const colon = cfg.smarthost.lastIndexOf(':');
  const host = cfg.smarthost.slice(0, colon);
  const port = Number(cfg.smarthost.slice(colon + 1));
  const implicitTls = port === 465;
  // Required here, not at the top: nodemailer costs ~5 MiB of RSS, paid only where email is configured.
  const nodemailer = require('nodemailer') as typeof import('nodemailer');
  const transport = nodemailer.createTransport({
    host,
    port,
    secure: implicitTls,
    requireTLS: cfg.require_tls && !implicitTls,
    auth: cfg.auth_username ? { user: cfg.auth_username, pass: cfg.auth_password ?? '' } : undefined,
    tls: {
      rejectUnauthorized: !cfg.tls_insecure_skip_verify,
      ...(cfg.ca_file ? { ca: readFileSync(cfg.ca_file) } : {}),
    },
    connectionTimeout: cfg.timeout,
    greetingTimeout: cfg.timeout,
    socketTimeout: cfg.timeout,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });
  return {
    name: cfg.name,
    type: 'email',
    async send(n, signal) {
      const dl = deadline(signal, cfg.timeout * 3); // connect + greeting + data, each bounded by cfg.timeout
      const both = dl.signal;
      try {
        await transport.sendMail({
          from: cfg.from,
          to: cfg.to,
          subject: notificationTitle(n),
          text: emailText(n),
          html: emailHtml(n),
          messageId: `<${n.idempotencyKey}@keepwatch>`,
          headers: { 'X-Keepwatch-Idempotency-Key': n.idempotencyKey, 'X-Keepwatch-Group-Key': n.groupKey },
          signal: both,
        });
      } catch (e) {
        if (both.aborted && !signal.aborted) throw new ReceiverError(`${cfg.name}: SMTP: no answer within ${cfg.timeout * 3} ms`, true);
        throw classifySmtpError(cfg.name, e);
      } finally {
        dl.clear();
      }
    },
    async close() {
      transport.close();
    },
  };
}
