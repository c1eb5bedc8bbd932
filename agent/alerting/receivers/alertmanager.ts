// Alertmanager: the alerts themselves go to <url>/api/v2/alerts, ungrouped (Alertmanager groups,
// routes, inhibits and silences them itself, so sites keep their own). Firing alerts carry an
// endsAt a few resend intervals ahead and are re-sent every resend_interval by the pipeline, so
// they stay firing while we say so and resolve by themselves if this agent dies; a resolved
// alert is sent with its real endsAt.
//
// An Alertmanager cluster is several members that gossip: like Prometheus, the agent sends every
// alert to each of them (they dedup by labels). Each member is a receiver of its own, with its own
// queue in the outbox, so a member that is down delays and loses nothing for the others, and gets
// what it missed when it comes back (pushing an alert twice is harmless). Credentials and
// certificates are read from their files at each send, so a rotated secret needs no restart.
import { readFileSync } from 'node:fs';
import type { AlertmanagerReceiverConfig } from '../../config/schema';
import { VERSION } from '../../version';
import { isoTime, type Notification } from '../notification';
import { httpPost, type HttpTls } from './httpPost';
import { ReceiverError, type Receiver, type ReceiverDeps } from './receiver';

/** A firing alert expires in Alertmanager this many resend intervals after each push (Prometheus uses 4). */
export const RESEND_EXPIRY_FACTOR = 4;

export function alertmanagerPayload(n: Notification, resendIntervalMs: number, now: number): object[] {
  return n.alerts.map((a) => ({
    labels: a.labels,
    annotations: a.annotations,
    startsAt: isoTime(a.startsAt),
    endsAt: isoTime(a.status === 'resolved' ? (a.endsAt ?? now) : now + RESEND_EXPIRY_FACTOR * resendIntervalMs),
    generatorURL: a.generatorURL ?? n.externalURL ?? '',
  }));
}

/** One member of an Alertmanager cluster: the outbox queue it has, and where it is. */
export interface AlertmanagerMember {
  /** The receiver name for one URL (as before clusters); `<name>@<host:port>` per member otherwise. */
  queue: string;
  url: string;
}

export function alertmanagerMembers(cfg: Pick<AlertmanagerReceiverConfig, 'name' | 'urls'>): AlertmanagerMember[] {
  if (cfg.urls.length === 1) return [{ queue: cfg.name, url: cfg.urls[0] }];
  const hosts = cfg.urls.map((u) => new URL(u).host);
  return cfg.urls.map((url, i) => {
    // Two members on one host:port (behind different paths) keep apart by their position.
    const unique = hosts.indexOf(hosts[i]) === hosts.lastIndexOf(hosts[i]);
    return { queue: unique ? `${cfg.name}@${hosts[i]}` : `${cfg.name}@${hosts[i]}#${i + 1}`, url };
  });
}

/** The queue names of every receiver: its name, or one per Alertmanager member. */
export function receiverQueues(cfg: { type: string; name: string } & Partial<Pick<AlertmanagerReceiverConfig, 'urls'>>): string[] {
  return cfg.type === 'alertmanager' && cfg.urls ? alertmanagerMembers({ name: cfg.name, urls: cfg.urls }).map((m) => m.queue) : [cfg.name];
}

/** Reads a credential or certificate file; the error names the file and why, never its content. */
function readSecret(receiver: string, what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    // Retryable: the operator may put the file back within max_age; nothing is lost meanwhile.
    throw new ReceiverError(`${receiver}: cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`, true);
  }
}

/** The Authorization header (basic auth or bearer token), when configured. */
export function alertmanagerAuthorization(cfg: AlertmanagerReceiverConfig, receiver = cfg.name): string | undefined {
  if (cfg.basic_auth) {
    const b = cfg.basic_auth;
    const password = b.password_file !== undefined ? readSecret(receiver, 'basic_auth.password_file', b.password_file).toString('utf8').trim() : (b.password ?? '');
    return `Basic ${Buffer.from(`${b.username}:${password}`).toString('base64')}`;
  }
  if (cfg.bearer_token_file !== undefined) return `Bearer ${readSecret(receiver, 'bearer_token_file', cfg.bearer_token_file).toString('utf8').trim()}`;
  if (cfg.bearer_token !== undefined) return `Bearer ${cfg.bearer_token}`;
  return undefined;
}

function clientTls(cfg: AlertmanagerReceiverConfig, receiver: string): HttpTls | undefined {
  const t = cfg.tls_config;
  if (!t) return undefined;
  return {
    ...(t.ca_file ? { ca: readSecret(receiver, 'tls_config.ca_file', t.ca_file) } : {}),
    ...(t.cert_file ? { cert: readSecret(receiver, 'tls_config.cert_file', t.cert_file) } : {}),
    ...(t.key_file ? { key: readSecret(receiver, 'tls_config.key_file', t.key_file) } : {}),
    ...(t.server_name ? { servername: t.server_name } : {}),
    rejectUnauthorized: !t.insecure_skip_verify,
  };
}

/** The receiver of one member. */
export function alertmanagerMemberReceiver(cfg: AlertmanagerReceiverConfig, member: AlertmanagerMember, { clock }: ReceiverDeps): Receiver {
  const url = `${member.url.replace(/\/+$/, '')}/api/v2/alerts`;
  return {
    name: member.queue,
    type: 'alertmanager',
    async send(n, signal) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': `keepwatch/${VERSION}`,
        'idempotency-key': n.idempotencyKey,
      };
      const authorization = alertmanagerAuthorization(cfg, member.queue);
      if (authorization) headers.authorization = authorization;
      const body = JSON.stringify(alertmanagerPayload(n, cfg.resend_interval, clock.now()));
      await httpPost({ receiver: member.queue, url, body, headers, timeoutMs: cfg.timeout, signal, clock, tls: clientTls(cfg, member.queue) });
    },
  };
}

/** One receiver per member (one outbox queue each). */
export function alertmanagerReceivers(cfg: AlertmanagerReceiverConfig, deps: ReceiverDeps): Receiver[] {
  return alertmanagerMembers(cfg).map((m) => alertmanagerMemberReceiver(cfg, m, deps));
}

/**
 * For senders without an outbox (the notify hook's deliverer): one receiver that sends to every
 * member at once and is accepted only when all accepted (a retry re-sends to all: harmless).
 */
export function alertmanagerFanOut(cfg: AlertmanagerReceiverConfig, deps: ReceiverDeps): Receiver {
  const members = alertmanagerReceivers(cfg, deps);
  return {
    name: cfg.name,
    type: 'alertmanager',
    async send(n, signal) {
      const results = await Promise.allSettled(members.map((m) => m.send({ ...n, receiver: m.name }, signal)));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof ReceiverError ? r.reason : new ReceiverError(`${cfg.name}: ${String(r.reason)}`, true)] : []));
      if (failed.length) throw new ReceiverError(failed.map((e) => e.message).join('; '), failed.some((e) => e.retryable));
    },
  };
}
