// Generic webhook: Alertmanager's webhook JSON (version 4), so receivers written for Alertmanager
// understand it, plus our idempotencyKey (also in the Idempotency-Key header) for dedup, an
// HMAC-SHA256 of the exact body in X-Keepwatch-Signature when a secret is set, and custom headers.
import { createHmac } from 'node:crypto';
import { VERSION } from '../../version';
import type { WebhookReceiverConfig } from '../../config/schema';
import { webhookPayload } from '../notification';
import { httpPost } from './httpPost';
import type { Receiver, ReceiverDeps } from './receiver';

/** `sha256=<hex>` of the body: what a receiver recomputes with the shared secret to trust a request. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function webhookReceiver(cfg: WebhookReceiverConfig, { clock }: ReceiverDeps): Receiver {
  return {
    name: cfg.name,
    type: 'webhook',
    async send(n, signal) {
      const body = JSON.stringify(webhookPayload(n));
      const headers: Record<string, string> = {
        ...cfg.headers,
        'content-type': 'application/json',
        'user-agent': `keepwatch/${VERSION}`,
        'idempotency-key': n.idempotencyKey,
      };
      if (cfg.hmac_secret) headers['x-keepwatch-signature'] = webhookSignature(cfg.hmac_secret, body);
      await httpPost({ receiver: cfg.name, url: cfg.url, body, headers, timeoutMs: cfg.timeout, signal, clock });
    },
  };
}
