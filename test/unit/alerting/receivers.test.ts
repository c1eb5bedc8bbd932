// The receivers against real servers on loopback: a Slack-like HTTP server (200 ok, 429 with
// Retry-After, 500, 400, hang), smtp-server with STARTTLS (a self-signed certificate made here with
// openssl) and auth, one that rejects with 550, one that never answers; the webhook's errors.
// The receivers' deadlines and the outbox's Retry-After run on a fake clock: a test moves it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { fingerprint, type Alert } from '../../../agent/alerting/alert';
import type { Notification } from '../../../agent/alerting/notification';
import { slackReceiver } from '../../../agent/alerting/receivers/slack';
import { emailReceiver } from '../../../agent/alerting/receivers/email';
import { webhookReceiver } from '../../../agent/alerting/receivers/webhook';
import { Outbox } from '../../../agent/alerting/outbox';
import { SLACK_API_URL, type EmailReceiverConfig, type WebhookReceiverConfig } from '../../../agent/config/schema';
import { silentLogger } from '../../../agent/logger';
import { FakeClock } from '../../helpers/fakeClock';
import { waitFor } from '../../helpers/wait';
import { rejection } from './helpers';
import { startServer, startSlack, startWebhook, type TestServer } from './servers';

jest.setTimeout(20_000);

let clock: FakeClock;
beforeEach(() => {
  clock = new FakeClock();
});

function alert(labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing'): Alert {
  return {
    labels,
    annotations: { summary: `${labels.alertname} on vrid ${labels.vrid}`, description: 'Both nodes are MASTER <for> VI_1 & hold the VIP.' },
    fingerprint: fingerprint(labels),
    status,
    startsAt: Date.UTC(2026, 10, 25, 12, 0, 0),
    ...(status === 'resolved' ? { endsAt: Date.UTC(2026, 10, 25, 12, 5, 0) } : {}),
  };
}

function notification(alerts: Alert[], over: Partial<Notification> = {}): Notification {
  return {
    seq: 7,
    idempotencyKey: '0123456789abcdef0123456789abcdef',
    receiver: 'r',
    kind: 'group',
    groupKey: '{}/{}/r:{alertname="SplitBrain", vrid="51"}',
    groupLabels: { alertname: 'SplitBrain', vrid: '51' },
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    alerts,
    createdAt: clock.now(),
    triggeredAt: clock.now(),
    externalURL: 'http://ka1:9723/',
    ...over,
  };
}

const sb = (node: string, status: 'firing' | 'resolved' = 'firing', severity = 'critical') => alert({ alertname: 'SplitBrain', vrid: '51', node, severity }, status);

describe('Slack receiver (real HTTP server playing Slack)', () => {
  let slack: TestServer;
  beforeEach(async () => {
    slack = await startSlack();
  });
  afterEach(() => slack.close());
  const rcv = () => slackReceiver({ type: 'slack', name: 'ops-slack', send_resolved: true, webhook_url: slack.url, api_url: SLACK_API_URL, channel: '#ops', timeout: 300 }, { clock });

  test('200 ok: Block Kit + text fallback, red for critical, green when resolved, key in the footer', async () => {
    await rcv().send(notification([sb('ka1'), sb('ka2')]), new AbortController().signal);
    const body = JSON.parse(slack.requests[0].body);
    expect(body.text).toBe('[FIRING:2] SplitBrain vrid=51: SplitBrain on vrid 51');
    expect(body.channel).toBe('#ops');
    expect(body.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    expect(body.attachments[0].color).toBe('#d00000');
    expect(body.attachments[0].blocks).toHaveLength(3);
    expect(body.attachments[0].blocks[0].text.text).toContain('&lt;for&gt; VI_1 &amp; hold');
    expect(JSON.stringify(body)).toContain('0123456789abcdef0123456789abcdef');
    await rcv().send(notification([sb('ka1', 'resolved')]), new AbortController().signal);
    const resolved = JSON.parse(slack.requests[1].body);
    expect(resolved.text).toMatch(/^\[RESOLVED\] SplitBrain vrid=51/);
    expect(resolved.attachments[0].color).toBe('#2eb886');
    const warn = JSON.parse(JSON.stringify(notification([sb('ka1', 'firing', 'warning')])));
    await rcv().send(warn, new AbortController().signal);
    expect(JSON.parse(slack.requests[2].body).attachments[0].color).toBe('#e8a317');
  });

  test('429: retryable with the Retry-After delay; 500 retryable; 400 not; no secret in any error', async () => {
    slack.mode = '429';
    const e429 = await rejection(rcv().send(notification([sb('ka1')]), new AbortController().signal));
    expect(e429).toMatchObject({ retryable: true, retryAfterMs: 1000 });
    slack.mode = '500';
    const e500 = await rejection(rcv().send(notification([sb('ka1')]), new AbortController().signal));
    expect(e500).toMatchObject({ retryable: true, message: 'ops-slack: HTTP 500 internal_error' });
    slack.mode = '400';
    const e400 = await rejection(rcv().send(notification([sb('ka1')]), new AbortController().signal));
    expect(e400.retryable).toBe(false);
    for (const e of [e429, e500, e400]) expect(e.message).not.toContain('XXXXsecretXXXX');
  });

  test('hang: times out when the timeout has passed, retryable; connection refused: retryable; URL never in the message', async () => {
    slack.mode = 'hang';
    const sending = rejection(rcv().send(notification([sb('ka1')]), new AbortController().signal));
    await waitFor(() => slack.requests.length === 1, { what: 'the request' });
    clock.advance(300);
    const hang = await sending;
    expect(hang).toMatchObject({ retryable: true, message: 'ops-slack: no answer within 300 ms' });
    await slack.down();
    const refused = await rejection(rcv().send(notification([sb('ka1')]), new AbortController().signal));
    expect(refused).toMatchObject({ retryable: true, message: 'ops-slack: connection failed: ECONNREFUSED' });
    await slack.up();
  });

  test('through the outbox: a 429 is waited out (Retry-After: 1), then delivered once', async () => {
    const box = new Outbox({ dir: mkdtempSync(join(tmpdir(), 'kw-slack-')), maxEntries: 100, maxBytes: 1 << 20, retry: { initial: 10, max: 50, maxAge: 60_000 }, clock, log: silentLogger() });
    await box.open();
    try {
      box.setReceivers([rcv()]);
      slack.mode = '429';
      const n = notification([sb('ka1')]);
      box.enqueue({ ...n, receiver: 'ops-slack' });
      await waitFor(() => box.status()[0].attempts === 1, { what: 'the first attempt refused' });
      expect(box.status()[0].nextAttemptAt).toBe(clock.now() + 1000);
      slack.mode = 'ok';
      clock.advance(999);
      expect(slack.requests).toHaveLength(1);
      clock.advance(1);
      await waitFor(() => box.status()[0].depth === 0, { what: 'delivery' });
      expect(slack.requests).toHaveLength(2);
    } finally {
      await box.close();
    }
  });
});

const hookCfg = (url: string, timeout: number): WebhookReceiverConfig => ({ type: 'webhook', name: 'hook', send_resolved: true, url, headers: {}, timeout });

describe('webhook receiver errors', () => {
  test('400 is final, 500 and hang are retryable', async () => {
    const hook = await startWebhook();
    try {
      const r = webhookReceiver(hookCfg(hook.url, 300), { clock });
      hook.mode = '500';
      expect((await rejection(r.send(notification([sb('ka1')]), new AbortController().signal))).retryable).toBe(true);
      hook.mode = 'hang';
      const hanging = rejection(r.send(notification([sb('ka1')]), new AbortController().signal));
      await waitFor(() => hook.requests.length === 2, { what: 'the request' });
      clock.advance(300);
      expect((await hanging).message).toBe('hook: no answer within 300 ms');
      hook.mode = 'ok';
      await r.send(notification([sb('ka1')]), new AbortController().signal);
      expect(hook.accepted).toHaveLength(1);
      expect(hook.requests.at(-1)!.headers['x-keepwatch-signature']).toBeUndefined();
    } finally {
      await hook.close();
    }
  });

  test('a redirect is not followed; a huge error body is cut; https with an untrusted certificate fails, retryable', async () => {
    const target = await startServer((_req, _body, res) => res.end('ok'));
    const redirecting = await startServer((_req, _body, res) => {
      res.writeHead(307, { location: target.url });
      res.end();
    });
    const huge = await startServer((_req, _body, res) => {
      res.writeHead(500);
      res.end('x'.repeat(1 << 20));
    });
    const dir = mkdtempSync(join(tmpdir(), 'kw-https-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 10_000 });
    const tls = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    try {
      const send = (url: string) => rejection(webhookReceiver(hookCfg(url, 2000), { clock }).send(notification([sb('ka1')]), new AbortController().signal));
      const moved = await send(redirecting.url);
      expect(moved).toMatchObject({ retryable: true, message: 'hook: HTTP 307' });
      expect(target.requests).toHaveLength(0);
      const big = await send(huge.url);
      expect(big.message).toBe(`hook: HTTP 500 ${'x'.repeat(200)}`);
      const untrusted = await send(`https://127.0.0.1:${(tls.address() as AddressInfo).port}/`);
      expect(untrusted).toMatchObject({ retryable: true });
      expect(untrusted.message).toMatch(/^hook: connection failed: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|ERR_TLS_CERT_ALTNAME_INVALID)/);
    } finally {
      await Promise.all([target.close(), redirecting.close(), huge.close(), new Promise((r) => tls.close(r))]);
    }
  });
});

describe('email receiver (smtp-server with STARTTLS and auth)', () => {
  let dir: string;
  let certFile: string;
  let key: Buffer;
  let cert: Buffer;
  const servers: Array<{ close(cb: () => void): void }> = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-smtp-'));
    certFile = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore', timeout: 10_000 });
    key = readFileSync(join(dir, 'key.pem'));
    cert = readFileSync(certFile);
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  interface Received {
    from?: string;
    to: string[];
    raw: string;
    secure: boolean;
    user?: string;
  }

  async function smtp(opts: { rejectRcpt?: boolean; tls?: boolean } = {}): Promise<{ port: number; mails: Received[] }> {
    const mails: Received[] = [];
    const server = new SMTPServer({
      ...(opts.tls === false ? { hideSTARTTLS: true } : { key, cert }),
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: opts.tls === false,
      logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === 'keepwatch' && auth.password === 's3cret-pass') cb(null, { user: 'keepwatch' });
        else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onRcptTo(_addr, _session, cb) {
        if (opts.rejectRcpt) cb(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
        else cb();
      },
      onData(stream, session: SMTPServerSession, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
            secure: session.secure,
            user: session.user as string | undefined,
          });
          cb();
        });
      },
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return { port: (server.server.address() as AddressInfo).port, mails };
  }

  const cfg = (port: number, over: Partial<EmailReceiverConfig> = {}): EmailReceiverConfig => ({
    type: 'email',
    name: 'oncall-mail',
    send_resolved: true,
    to: ['oncall@example.org'],
    from: 'keepwatch@ka1.example.org',
    smarthost: `127.0.0.1:${port}`,
    auth_username: 'keepwatch',
    auth_password: 's3cret-pass',
    require_tls: true,
    tls_insecure_skip_verify: false,
    ca_file: certFile,
    timeout: 1000,
    ...over,
  });

  const mail = (c: EmailReceiverConfig) => emailReceiver(c, { clock });

  test('STARTTLS (certificate verified against ca_file) + auth; one mail per group; subject, text and HTML bodies', async () => {
    const s = await smtp();
    const r = mail(cfg(s.port));
    await r.send(notification([sb('ka1'), sb('ka2')]), new AbortController().signal);
    await r.close?.();
    expect(s.mails).toHaveLength(1);
    const m = s.mails[0];
    expect(m).toMatchObject({ from: 'keepwatch@ka1.example.org', to: ['oncall@example.org'], secure: true, user: 'keepwatch' });
    expect(m.raw).toMatch(/^Subject: \[FIRING:2\] SplitBrain vrid=51\r?$/m);
    expect(m.raw).toMatch(/Content-Type: text\/plain/);
    expect(m.raw).toMatch(/Content-Type: text\/html/);
    expect(m.raw).toMatch(/^Message-ID: <0123456789abcdef0123456789abcdef@keepwatch>\r?$/m);
    expect(m.raw).toMatch(/^X-Keepwatch-Idempotency-Key: 0123456789abcdef0123456789abcdef\r?$/m);
    expect(m.raw).toContain('&lt;for&gt; VI_1 &amp; hold');
  });

  test('a wrong password fails (retryable: the operator fixes the config) and the password is not in the error', async () => {
    const s = await smtp();
    const e = await rejection(mail(cfg(s.port, { auth_password: 'wrong-pass-123' })).send(notification([sb('ka1')]), new AbortController().signal));
    expect(e.retryable).toBe(true);
    expect(e.message).toMatch(/^oncall-mail: SMTP EAUTH/);
    expect(e.message).not.toContain('wrong-pass-123');
    expect(s.mails).toHaveLength(0);
  });

  test('a server that rejects the recipient with 550: final, not retried', async () => {
    const s = await smtp({ rejectRcpt: true });
    const e = await rejection(mail(cfg(s.port)).send(notification([sb('ka1')]), new AbortController().signal));
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/^oncall-mail: SMTP rejected the mail: .*550/);
  });

  test('require_tls against a server without STARTTLS: refused before any credentials go out', async () => {
    const s = await smtp({ tls: false });
    const e = await rejection(mail(cfg(s.port)).send(notification([sb('ka1')]), new AbortController().signal));
    expect(e.retryable).toBe(true);
    expect(s.mails).toHaveLength(0);
  });

  test('an unverifiable certificate is refused unless tls_insecure_skip_verify', async () => {
    const s = await smtp();
    const e = await rejection(mail(cfg(s.port, { ca_file: undefined })).send(notification([sb('ka1')]), new AbortController().signal));
    expect(e.retryable).toBe(true);
    await mail(cfg(s.port, { ca_file: undefined, tls_insecure_skip_verify: true })).send(notification([sb('ka1')]), new AbortController().signal);
    expect(s.mails).toHaveLength(1);
  });

  test('a server that never answers: given up once connect, greeting and data have had their timeout each, retryable', async () => {
    const sockets = new Set<Socket>();
    const silent: NetServer = createNetServer((sock) => sockets.add(sock)); // accepts, never greets
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (silent.address() as AddressInfo).port;
      // nodemailer's own per-step timeouts run on the wall clock: long enough not to fire first.
      const sending = rejection(mail(cfg(port, { timeout: 60_000 })).send(notification([sb('ka1')]), new AbortController().signal));
      await waitFor(() => sockets.size === 1, { what: 'the connection' });
      clock.advance(3 * 60_000);
      const e = await sending;
      expect(e).toMatchObject({ retryable: true, message: 'oncall-mail: SMTP: no answer within 180000 ms' });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
