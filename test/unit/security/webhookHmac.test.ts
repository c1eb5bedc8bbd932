// Issue 15, Low: the webhook HMAC covered the body alone, so a captured request could be replayed
// at any time. It now signs `<timestamp>.<body>` and sends the timestamp; a receiver that checks a
// replay window (as the README shows) refuses the same request replayed later.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { webhookReceiver } from '../../../agent/alerting/receivers/webhook';
import { mkAlert } from '../alerting/helpers';
import type { Notification } from '../../../agent/alerting/notification';
import { FakeClock } from '../../helpers/fakeClock';
import { startServer, type TestServer } from '../alerting/servers';

const SECRET = 'hmac-secret-0123456789';
const WINDOW_S = 300;

/** The verification the README documents for receivers. */
function verify(headers: Record<string, unknown>, body: string, nowS: number): boolean {
  const ts = String(headers['x-keepwatch-timestamp'] ?? '');
  const sig = String(headers['x-keepwatch-signature'] ?? '');
  if (!/^\d+$/.test(ts) || Math.abs(nowS - Number(ts)) > WINDOW_S) return false;
  const want = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`);
  return want.length === sig.length && timingSafeEqual(want, Buffer.from(sig));
}

test('a signed webhook verifies now and is refused when replayed outside the window', async () => {
  const clock = new FakeClock();
  const hook: TestServer = await startServer((_req, _body, res) => {
    res.writeHead(200);
    res.end();
  });
  try {
    const r = webhookReceiver({ type: 'webhook', name: 'hook', send_resolved: true, url: hook.url, headers: {}, timeout: 5_000, hmac_secret: SECRET }, { clock });
    const alert = mkAlert({ alertname: 'SplitBrain', vrid: '51' }, clock.now());
    const n: Notification = { seq: 1, idempotencyKey: 'k', receiver: 'hook', kind: 'group', groupKey: 'g', groupLabels: {}, status: 'firing', alerts: [alert], createdAt: clock.now(), triggeredAt: clock.now(), externalURL: '' };
    await r.send(n, new AbortController().signal);
    const req = hook.requests[0];
    expect(req.headers['x-keepwatch-timestamp']).toBe(String(Math.floor(clock.now() / 1000)));
    expect(verify(req.headers, req.body, clock.now() / 1000)).toBe(true);
    // The capture replayed ten minutes later, and a forged timestamp on the old signature.
    expect(verify(req.headers, req.body, clock.now() / 1000 + 600)).toBe(false);
    expect(verify({ ...req.headers, 'x-keepwatch-timestamp': String(Math.floor(clock.now() / 1000) + 600) }, req.body, clock.now() / 1000 + 600)).toBe(false);
  } finally {
    await hook.close();
  }
});
