// Generic webhook: Alertmanager's webhook JSON (version 4), so receivers written for Alertmanager
// understand it, plus our idempotencyKey (also in the Idempotency-Key header) for dedup, an
// HMAC-SHA256 of `<timestamp>.<body>` in X-Keepwatch-Signature with the Unix timestamp in
// X-Keepwatch-Timestamp when a secret is set (a receiver refuses stale timestamps, so a captured
// request cannot be replayed later), and custom headers.
import { createHmac } from 'node:crypto';
import { VERSION } from '../../version';
import type { WebhookReceiverConfig } from '../../config/schema';
import { webhookPayload } from '../notification';
import { httpPost } from './httpPost';
import type { Receiver, ReceiverDeps } from './receiver';

/** `sha256=<hex>` of `<timestamp>.<body>`: what a receiver recomputes with the shared secret to trust a request. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
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
      if (cfg.hmac_secret) {
        // Signed at each attempt: a retry carries a fresh timestamp and passes a receiver's replay window.
        const timestamp = String(Math.floor(clock.now() / 1000));
        headers['x-keepwatch-timestamp'] = timestamp;
        headers['x-keepwatch-signature'] = webhookSignature(cfg.hmac_secret, timestamp, body);
      }
      await httpPost({ receiver: cfg.name, url: cfg.url, body, headers, timeoutMs: cfg.timeout, signal, clock });
    },
  };
}
