// Email through nodemailer: one mail per group notification, subject like Alertmanager's
// `[FIRING:2] SplitBrain vrid=51`, plain text and HTML bodies, STARTTLS required unless
// require_tls is false (implicit TLS on port 465), SMTP auth. The Message-ID is derived from the
// idempotency key, so a mail sent again after a crash is recognisable as the same mail.
// An incident is one thread: its first mail is <incident-id@keepwatch>, every later one replies to
// it (In-Reply-To, References) under the first mail's subject, which mail clients thread by.
import { readFileSync } from 'node:fs';
import type { EmailReceiverConfig } from '../../config/schema';
import type { Alert } from '../alert';
import { commonLabels, notificationTitle, type Notification } from '../notification';
import { incidentPlainText, incidentTitle, incidentView, isIncidentNotification, type IncidentNotification, type IncidentView } from '../incidentText';
import { deadline } from './deadline';
import { ReceiverError, sanitize, type Receiver, type ReceiverDeps } from './receiver';
import { memoryThreadStore, recordSent, type ThreadStore } from './threads';

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

/** The plain-text body of an incident mail: the phase's title first (the subject stays the thread's). */
export function incidentEmailText(n: Notification, v: IncidentView): string {
  const out = [v.title, '', incidentPlainText(v), ''];
  if (n.externalURL) out.push(`Status page: ${n.externalURL}`);
  out.push(`Idempotency key: ${n.idempotencyKey}`);
  return `${out.join('\n')}\n`;
}

export function incidentEmailHtml(n: IncidentNotification, v: IncidentView): string {
  const colour = n.incident.phase === 'resolved' ? '#2eb886' : n.incident.phase === 'past' ? '#e8a317' : '#d00000';
  const sections = v.sections
    .map((s) => {
      const items = s.lines.map((l) => `<li${s.timeline ? ' style="font-family:monospace;list-style:none"' : ''}>${escHtml(l)}</li>`).join('');
      return `<h3 style="margin:16px 0 4px">${escHtml(s.heading)}</h3><ul style="margin:0;padding-left:${s.timeline ? 0 : 20}px">${items}</ul>`;
    })
    .join('');
  return (
    `<!DOCTYPE html><html><body style="font-family:sans-serif">` +
    `<h2 style="color:${colour}">${escHtml(v.title)}</h2>` +
    `<p><b>${escHtml(v.lead)}</b><br>${escHtml(v.facts)}</p>${sections}` +
    (n.externalURL ? `<p><a href="${escHtml(n.externalURL)}">Status page</a></p>` : '') +
    `<p style="color:#888"><small>keepwatch · key ${escHtml(n.idempotencyKey)}</small></p></body></html>`
  );
}

/** The thread's root Message-ID: the incident's first mail (or its only one, for a past incident). */
export function incidentMessageId(incidentId: string): string {
  return `<${incidentId}@keepwatch>`;
}

/** Subject, ids and bodies of an incident mail, given what the thread already holds. */
export function incidentMail(n: IncidentNotification, threads: ThreadStore): { subject: string; messageId: string; inReplyTo?: string; text: string; html: string } {
  const inc = n.incident;
  const mark = threads.get(inc.id);
  const view = incidentView(n, new Set(mark?.told ?? []));
  const root = incidentMessageId(inc.id);
  const text = incidentEmailText(n, view);
  const html = incidentEmailHtml(n, view);
  if (inc.phase === 'first' || inc.phase === 'past') return { subject: view.title, messageId: root, text, html };
  // The first mail's subject when it was sent from here, else what it would have been (same cause).
  const subject = `Re: ${mark?.subject ?? incidentTitle({ ...inc, phase: 'first' })}`;
  return { subject, messageId: `<${inc.id}.${inc.phase}.${n.idempotencyKey}@keepwatch>`, inReplyTo: root, text, html };
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

export function emailReceiver(cfg: EmailReceiverConfig, { clock, threads = memoryThreadStore() }: ReceiverDeps): Receiver {
  const colon = cfg.smarthost.lastIndexOf(':');
  const host = cfg.smarthost.slice(0, colon);
  const port = Number(cfg.smarthost.slice(colon + 1));
  const implicitTls = port === 465;
  // Required here, not at the top: nodemailer's memory is paid only where email is configured (bench/RESULTS.md).
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
      const dl = deadline(signal, cfg.timeout * 3, clock); // connect + greeting + data, each bounded by cfg.timeout
      const both = dl.signal;
      const headers: Record<string, string> = { 'X-Keepwatch-Idempotency-Key': n.idempotencyKey, 'X-Keepwatch-Group-Key': n.groupKey };
      const inc = isIncidentNotification(n) ? incidentMail(n, threads) : undefined;
      if (inc && n.incident) headers['X-Keepwatch-Incident'] = n.incident.id;
      try {
        await transport.sendMail({
          from: cfg.from,
          to: cfg.to,
          subject: inc ? inc.subject : notificationTitle(n),
          text: inc ? inc.text : emailText(n),
          html: inc ? inc.html : emailHtml(n),
          messageId: inc ? inc.messageId : `<${n.idempotencyKey}@keepwatch>`,
          ...(inc?.inReplyTo ? { inReplyTo: inc.inReplyTo, references: [inc.inReplyTo] } : {}),
          headers,
          signal: both,
        });
      } catch (e) {
        if (both.aborted && !signal.aborted) throw new ReceiverError(`${cfg.name}: SMTP: no answer within ${cfg.timeout * 3} ms`, true);
        throw classifySmtpError(cfg.name, e);
      } finally {
        dl.clear();
      }
      // The root mail's subject is the thread's; a reply's is not.
      if (inc && n.incident) recordSent(threads, n.incident, clock.now(), inc.inReplyTo ? {} : { subject: inc.subject });
    },
    async close() {
      transport.close();
    },
  };
}
