// Alertmanager: the alerts themselves go to <url>/api/v2/alerts, ungrouped (Alertmanager groups,
// routes, inhibits and silences them itself, so sites keep their own). Firing alerts carry an
// endsAt a few resend intervals ahead and are re-sent every resend_interval by the pipeline, so
// they stay firing while we say so and resolve by themselves if this agent dies; a resolved
// alert is sent with its real endsAt.
import type { AlertmanagerReceiverConfig } from '../../config/schema';
import { VERSION } from '../../version';
import { isoTime, type Notification } from '../notification';
import { httpPost } from './httpPost';
import type { Receiver, ReceiverDeps } from './receiver';

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

export function alertmanagerReceiver(cfg: AlertmanagerReceiverConfig, { clock }: ReceiverDeps): Receiver {
  const url = `${cfg.url.replace(/\/+$/, '')}/api/v2/alerts`;
  return {
    name: cfg.name,
    type: 'alertmanager',
    async send(n, signal) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': `keepwatch/${VERSION}`,
        'idempotency-key': n.idempotencyKey,
      };
      if (cfg.basic_auth) headers.authorization = `Basic ${Buffer.from(`${cfg.basic_auth.username}:${cfg.basic_auth.password}`).toString('base64')}`;
      await httpPost({ receiver: cfg.name, url, body: JSON.stringify(alertmanagerPayload(n, cfg.resend_interval, clock.now())), headers, timeoutMs: cfg.timeout, signal, clock });
    },
  };
}
