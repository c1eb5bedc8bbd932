// Incident notifications at real receivers on loopback: what the words say (cause first, what is
// new, the end with timeline, duration and outage, a past incident's from/to/nodes), the webhook's
// Alertmanager shape plus the notice (signed as before), one email thread per incident (headers as
// smtp-server receives them), and Slack: bot mode threads an incident's notices under its first
// message, also after the receiver is re-created on the same outbox journal; webhook mode names the
// incident in each message. Notifications without an incident render as before (receivers.test.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { incidentPlainText, incidentTitle, incidentView, stepKey, type IncidentNotification } from '../../../agent/alerting/incidentText';
import { notificationTitle, webhookPayload, type Notification } from '../../../agent/alerting/notification';
import { Outbox } from '../../../agent/alerting/outbox';
import { emailReceiver, incidentEmailHtml } from '../../../agent/alerting/receivers/email';
import { createReceiver } from '../../../agent/alerting/receivers';
import { slackIncidentPayload, slackReceiver } from '../../../agent/alerting/receivers/slack';
import { memoryThreadStore, outboxThreadStore, type ThreadStore } from '../../../agent/alerting/receivers/threads';
import { webhookReceiver } from '../../../agent/alerting/receivers/webhook';
import { parseConfig } from '../../../agent/config/load';
import { redactConfig } from '../../../agent/config/redact';
import { SLACK_API_URL, type EmailReceiverConfig, type SlackReceiverConfig } from '../../../agent/config/schema';
import { silentLogger } from '../../../agent/logger';
import { FakeClock } from '../../helpers/fakeClock';
import { waitFor } from '../../helpers/wait';
import { rejection } from './helpers';
import { firstNotice, INC, OUTAGE, pastNotice, PAST_INC, resolvedNotice, updateNotice } from './incidentFixtures';
import { startSlack, startSlackApi, startWebhook, type SlackApiServer } from './servers';

jest.setTimeout(20_000);

const clock = new FakeClock();
const never = () => new AbortController().signal;
const inc = (n: Notification) => n as IncidentNotification;

describe('incident words (one place for every receiver)', () => {
  test('first: the title and the body lead with the cause; the incident id and its start are said', () => {
    const n = inc(firstNotice());
    expect(notificationTitle(n)).toBe('[FIRING] Failover of VRID 51 from ka1 to ka2: ka1 sent a priority 0 advert (its keepalived left)');
    const text = incidentPlainText(incidentView(n));
    expect(text.split('\n')[0]).toBe(n.incident.cause);
    expect(text).toContain('Since 2026-11-25T10:01:02.750Z · incident inc-0a1b2c3d4e5f');
  });

  test('update: the new cause leads, the title adds the first consequence, "new" lists only what the thread was not told', () => {
    const first = inc(firstNotice());
    const n = inc(updateNotice());
    expect(incidentTitle(n.incident)).toBe('[UPDATE] keepalived is not running on ka1 (stopped); Failover of VRID 51 from ka1 to ka2: ka1 sent a priority 0 advert (its keepalived left)');
    const v = incidentView(n, new Set(first.incident.steps.map(stepKey)));
    expect(v.lead).toBe('Update: keepalived is not running on ka1 (stopped)');
    const fresh = v.sections.find((s) => s.heading === 'New since the last notice')!;
    expect(fresh.lines).toEqual([
      '10:01:02.100 UTC (+0 ms)  KeepalivedDown fired: keepalived is not running on ka1 (stopped)',
      '10:01:07.800 UTC (+5.7 s)  RedundancyLost fired: No backup can take over VRID 51 from ka2: keepalived is not running on ka1',
    ]);
    expect(v.sections.find((s) => s.heading === 'Consequences so far')!.lines).toEqual(n.incident.consequences);
    // Without a thread's memory (the webhook's JSON consumer, a lost store) it shows the whole timeline so far.
    expect(incidentView(n).sections.map((s) => s.heading)).toEqual(['So far', 'Consequences so far']);
  });

  test('resolved: duration in the title, then outage lines and every step with its time', () => {
    const n = inc(resolvedNotice());
    expect(notificationTitle(n)).toMatch(/^\[RESOLVED\] keepalived is not running on ka1 \(stopped\); Failover .* \(lasted 1 min 4 s\)$/);
    const text = incidentPlainText(incidentView(n));
    expect(text).toContain('Lasted 1 min 4 s: from 2026-11-25T10:01:02.100Z to 2026-11-25T10:02:06.100Z');
    expect(text).toContain(`Client-visible outage:\n- ${OUTAGE[0]}`);
    const timeline = text.slice(text.indexOf('Timeline:')).split('\n').slice(1);
    expect(timeline).toEqual([
      '  10:01:02.100 UTC (+0 ms)  KeepalivedDown fired: keepalived is not running on ka1 (stopped)',
      '  10:01:02.750 UTC (+650 ms)  Failover fired: Failover of VRID 51 from ka1 to ka2: ka1 sent a priority 0 advert (its keepalived left)',
      '  10:01:07.800 UTC (+5.7 s)  RedundancyLost fired: No backup can take over VRID 51 from ka2: keepalived is not running on ka1',
      '  10:02:02.750 UTC (+1 min 1 s)  Failover resolved',
      '  10:02:05.100 UTC (+1 min 3 s)  KeepalivedDown resolved',
      '  10:02:06.100 UTC (+1 min 4 s)  RedundancyLost resolved',
    ]);
    // No outage measured: no outage section, nothing invented.
    expect(incidentPlainText(incidentView(inc(resolvedNotice(false))))).not.toContain('outage');
  });

  test('past: what happened, from, to, how long, which nodes; the duration is not said twice in the title', () => {
    const n = inc(pastNotice());
    expect(notificationTitle(n)).toBe(`[PAST] ${n.incident.cause}`);
    const v = incidentView(n);
    expect(v.lead).toBe(`Past incident, seen only after it ended: ${n.incident.cause}`);
    expect(v.facts).toBe('From 2026-11-25T10:03:02.100Z to 2026-11-25T10:03:10.500Z (8.4 s) · nodes ka1, ka2 · incident inc-99887766aabb');
    // A past incident whose cause does not say how long: the title does.
    expect(incidentTitle({ ...n.incident, cause: 'Split brain on VRID 51: ka1 and ka2 were both MASTER' })).toBe('[PAST] Split brain on VRID 51: ka1 and ka2 were both MASTER (lasted 8.4 s)');
  });

  test('a long cause is clipped in the title, the duration kept', () => {
    const n = inc(resolvedNotice());
    const t = incidentTitle({ ...n.incident, cause: 'x'.repeat(500) });
    expect(t.length).toBe(200);
    expect(t).toMatch(/…\(lasted 1 min 4 s\)$|… \(lasted 1 min 4 s\)$/);
  });
});

describe('webhook: Alertmanager v4 shape plus the notice', () => {
  test('alerts carry the incident label, groupLabels {incident}, a top-level incident object; the HMAC still verifies', async () => {
    const hook = await startWebhook('hmac-secret');
    try {
      const r = webhookReceiver({ type: 'webhook', name: 'hook', send_resolved: true, url: hook.url, hmac_secret: 'hmac-secret', headers: {}, timeout: 1000 }, { clock });
      await r.send(resolvedNotice(), never());
      await r.send(pastNotice(), never());
      expect(hook.badSignatures).toBe(0);
      const [p, past] = hook.accepted;
      expect(p).toMatchObject({ version: '4', status: 'resolved', groupLabels: { incident: INC }, commonLabels: { incident: INC }, truncatedAlerts: 0 });
      for (const a of p.alerts) expect(a.labels.incident).toBe(INC);
      expect(p.incident).toEqual({
        id: INC,
        phase: 'resolved',
        title: notificationTitle(resolvedNotice()),
        cause: 'keepalived is not running on ka1 (stopped)',
        consequences: resolvedNotice().incident!.consequences,
        openedAt: '2026-11-25T10:01:02.100Z',
        resolvedAt: '2026-11-25T10:02:06.100Z',
        durationSeconds: 64,
        steps: expect.arrayContaining([{ at: '2026-11-25T10:01:07.800Z', fingerprint: expect.any(String), alertname: 'RedundancyLost', status: 'firing', summary: expect.stringMatching(/^No backup/) }]),
        outage: OUTAGE,
      });
      expect(p.incident.steps).toHaveLength(6);
      expect(past.incident).toMatchObject({ id: PAST_INC, phase: 'past', durationSeconds: 8.4, outage: [] });
    } finally {
      await hook.close();
    }
  });

  test('a notification without an incident has no incident key (operators\' own group_by)', () => {
    const n = { ...firstNotice(), incident: undefined, groupLabels: { alertname: 'Failover', vrid: '51' } };
    expect('incident' in webhookPayload(n)).toBe(false);
    expect(notificationTitle(n)).toBe('[FIRING:1] Failover vrid=51');
  });
});

describe('email: one thread per incident (smtp-server)', () => {
  interface Mail {
    headers: Record<string, string>;
    raw: string;
  }
  let server: SMTPServer;
  let port: number;
  let mails: Mail[];

  beforeEach(async () => {
    mails = [];
    server = new SMTPServer({
      hideSTARTTLS: true,
      authOptional: true,
      logger: false,
      onData(stream, _session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          // Header block, unfolded (long subjects are folded over lines).
          const head = raw.slice(0, raw.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' ');
          const headers: Record<string, string> = {};
          for (const line of head.split(/\r?\n/)) {
            const i = line.indexOf(':');
            headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
          }
          mails.push({ headers, raw });
          cb();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.server.address() as AddressInfo).port;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  const cfg = (): EmailReceiverConfig => ({ type: 'email', name: 'oncall-mail', send_resolved: true, to: ['oncall@example.org'], from: 'keepwatch@ka1.example.org', smarthost: `127.0.0.1:${port}`, require_tls: false, tls_insecure_skip_verify: false, timeout: 2000 });

  test('first mail is <incident@keepwatch>; the update and the end reply to it under the same subject, also from a re-created receiver', async () => {
    const threads = memoryThreadStore();
    const r1 = emailReceiver(cfg(), { clock, threads });
    await r1.send(firstNotice(), never());
    await r1.send(updateNotice(), never());
    await r1.close?.();
    // A new receiver (reload) on the same store: the thread goes on.
    const r2 = emailReceiver(cfg(), { clock, threads });
    await r2.send(resolvedNotice(), never());
    await r2.close?.();
    expect(mails).toHaveLength(3);
    const [first, update, end] = mails.map((m) => m.headers);
    const root = `<${INC}@keepwatch>`;
    const subject = notificationTitle(firstNotice());
    expect(first['message-id']).toBe(root);
    expect(first['in-reply-to']).toBeUndefined();
    expect(first.subject).toBe(subject);
    for (const h of [update, end]) {
      expect(h['in-reply-to']).toBe(root);
      expect(h.references).toBe(root);
      // The cause changed (KeepalivedDown took the lead): the subject stays the thread's.
      expect(h.subject).toBe(`Re: ${subject}`);
      expect(h['message-id']).toMatch(new RegExp(`^<${INC}\\.(update|resolved)\\.key[23]0+@keepwatch>$`));
      expect(h['x-keepwatch-incident']).toBe(INC);
    }
    // The body says which notice it is, the cause first.
    expect(mails[1].raw).toContain('[UPDATE] keepalived is not running on ka1 (stopped)');
    expect(mails[1].raw).toContain('New since the last notice:');
    expect(mails[1].raw).not.toMatch(/New since the last notice:[^]*Failover fired[^]*Consequences so far/);
    expect(mails[2].raw).toContain('Client-visible outage:');
    expect(mails[2].raw).toContain('KeepalivedDown resolved');
  });

  test('a past incident is one mail of its own; a plain group notification keeps its old Message-ID and subject', async () => {
    const r = emailReceiver(cfg(), { clock });
    await r.send(pastNotice(), never());
    const plain = { ...firstNotice(), incident: undefined, groupLabels: { alertname: 'Failover', vrid: '51' } };
    await r.send(plain, never());
    await r.close?.();
    expect(mails[0].headers['message-id']).toBe(`<${PAST_INC}@keepwatch>`);
    expect(mails[0].headers['in-reply-to']).toBeUndefined();
    expect(mails[0].raw).toContain('nodes ka1, ka2');
    expect(mails[1].headers['message-id']).toBe(`<${plain.idempotencyKey}@keepwatch>`);
    expect(mails[1].headers.subject).toBe('[FIRING:1] Failover vrid=51');
    expect(mails[1].headers['x-keepwatch-incident']).toBeUndefined();
  });
});

describe('Slack bot mode: chat.postMessage, one thread per incident (a real HTTP server playing the Web API)', () => {
  const TOKEN = 'xoxb-1111-2222-SECRETSECRET';
  let api: SlackApiServer;
  beforeEach(async () => {
    api = await startSlackApi(TOKEN);
  });
  afterEach(() => api.close());
  const bot = (over: Partial<SlackReceiverConfig> = {}): SlackReceiverConfig => ({ type: 'slack', name: 'ops-slack', send_resolved: true, token: TOKEN, api_url: api.apiUrl, channel: '#ops', timeout: 1000, ...over });

  test('through the outbox: the 2nd and 3rd notices reply in the first one\'s thread, also after the outbox and receiver are re-created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-slackbot-'));
    const open = async () => {
      const box = new Outbox({ dir, maxEntries: 100, maxBytes: 1 << 20, retry: { initial: 10, max: 50, maxAge: 3_600_000 }, clock, log: silentLogger() });
      await box.open();
      box.setReceivers([slackReceiver(bot(), { clock, threads: outboxThreadStore(box, 'ops-slack', clock) })]);
      return box;
    };
    const stamp = (n: Notification) => ({ ...n, receiver: 'ops-slack', createdAt: clock.now() });
    let box = await open();
    box.enqueue(stamp(firstNotice()));
    box.enqueue(stamp(updateNotice()));
    await waitFor(() => api.posts.length === 2, { what: 'two posts' });
    await waitFor(() => box.status()[0].depth === 0, { what: 'queue drained' });
    await box.close();
    // The agent restarts: a new outbox on the same journal, a new receiver.
    box = await open();
    box.enqueue(stamp(resolvedNotice()));
    await waitFor(() => api.posts.length === 3, { what: 'third post' });
    await box.close();

    const [p1, p2, p3] = api.posts;
    expect(p1.auth).toBe(`Bearer ${TOKEN}`);
    expect(p1.body.thread_ts).toBeUndefined();
    expect(p1.body.channel).toBe('#ops');
    expect(p1.body.text).toBe(`${notificationTitle(firstNotice())} (incident ${INC})`);
    expect(p2.body).toMatchObject({ thread_ts: p1.ts, channel: 'C0OPS' });
    expect(p2.body.reply_broadcast).toBeUndefined();
    expect(p3.body).toMatchObject({ thread_ts: p1.ts, channel: 'C0OPS', reply_broadcast: true });
    expect(p3.body.blocks[0].text.text).toMatch(/^:white_check_mark: \[RESOLVED\] .*\(lasted 1 min 4 s\)$/);
    expect(p3.body.attachments[0].color).toBe('#2eb886');
    const p3text = JSON.stringify(p3.body.attachments[0].blocks);
    expect(p3text).toContain('Client-visible outage');
    expect(p3text).toContain(`incident ${INC}`);
    // The update told only what the first had not: the failover is not "new".
    const p2new = p2.body.attachments[0].blocks.find((b: { text?: { text: string } }) => b.text?.text.startsWith('*New since the last notice*'));
    expect(p2new.text.text).toContain('KeepalivedDown fired');
    expect(p2new.text.text).not.toContain('Failover fired');
  });

  test('a past incident is a message of its own; a plain notification is posted as before; token_file is read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-slacktok-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    const r = slackReceiver(bot({ token: undefined, token_file: join(dir, 'token') }), { clock });
    await r.send(pastNotice(), never());
    await r.send({ ...firstNotice(), incident: undefined, groupLabels: { alertname: 'Failover', vrid: '51' } }, never());
    expect(api.posts).toHaveLength(2);
    expect(api.posts[0].body.thread_ts).toBeUndefined();
    expect(api.posts[0].body.blocks[0].text.text).toMatch(/^:information_source: \[PAST\] Split brain/);
    expect(api.posts[1].body.text).toMatch(/^\[FIRING:1\] Failover vrid=51: /);
    expect(api.posts[1].body.thread_ts).toBeUndefined();
    expect(() => slackReceiver(bot({ token: undefined, token_file: join(dir, 'missing') }), { clock })).toThrow(`ops-slack: cannot read token_file ${join(dir, 'missing')}: ENOENT`);
  });

  test('{ok:false}: ratelimited is retried after Retry-After, invalid_auth and channel_not_found are final; HTTP 429/500 retried; the token never in an error', async () => {
    const r = slackReceiver(bot(), { clock });
    api.apiError = 'ratelimited';
    const limited = await rejection(r.send(firstNotice(), never()));
    expect(limited).toMatchObject({ retryable: true, retryAfterMs: 3000, message: 'ops-slack: Slack API: ratelimited' });
    api.apiError = 'channel_not_found';
    expect(await rejection(r.send(firstNotice(), never()))).toMatchObject({ retryable: false, message: 'ops-slack: Slack API: channel_not_found' });
    api.apiError = undefined;
    const badAuth = await rejection(slackReceiver(bot({ token: 'xoxb-wrong-SECRET2' }), { clock }).send(firstNotice(), never()));
    expect(badAuth).toMatchObject({ retryable: false, message: 'ops-slack: Slack API: invalid_auth' });
    api.mode = '429';
    expect(await rejection(r.send(firstNotice(), never()))).toMatchObject({ retryable: true, retryAfterMs: 2000 });
    api.mode = '500';
    const e500 = await rejection(r.send(firstNotice(), never()));
    expect(e500.retryable).toBe(true);
    for (const e of [limited, badAuth, e500]) expect(e.message).not.toMatch(/SECRET|xoxb/);
    expect(api.posts).toHaveLength(0);
  });

  test('the thread\'s first message is gone (thread_not_found): the notice starts a new thread, later ones reply there', async () => {
    const threads: ThreadStore = memoryThreadStore();
    threads.put(INC, { ts: '1700000000.000001', channel: 'C0OPS', told: [], at: clock.now() });
    const r = slackReceiver(bot(), { clock, threads });
    await r.send(updateNotice(), never());
    await r.send(resolvedNotice(), never());
    expect(api.posts).toHaveLength(2);
    expect(api.posts[0].body.thread_ts).toBeUndefined();
    expect(api.posts[1].body.thread_ts).toBe(api.posts[0].ts);
  });
});

describe('Slack webhook mode: no threads possible', () => {
  test('each notice is its own message naming the incident', async () => {
    const slack = await startSlack();
    try {
      const r = slackReceiver({ type: 'slack', name: 'ops-slack', send_resolved: true, webhook_url: slack.url, api_url: SLACK_API_URL, timeout: 1000 }, { clock });
      await r.send(firstNotice(), never());
      await r.send(updateNotice(), never());
      const bodies = slack.requests.map((q) => JSON.parse(q.body));
      for (const b of bodies) {
        expect(b.thread_ts).toBeUndefined();
        expect(b.text).toContain(`(incident ${INC})`);
        expect(JSON.stringify(b.attachments[0].blocks)).toContain(`incident ${INC}`);
      }
      expect(bodies[0].attachments[0].color).toBe('#e8a317'); // the failover alone: a warning
      expect(bodies[1].attachments[0].color).toBe('#d00000'); // keepalived down: critical
    } finally {
      await slack.close();
    }
  });
});

describe('markup: data is text in every receiver', () => {
  test('Slack mrkdwn and email HTML escape the cause, consequences and steps', () => {
    const evil = '<!channel> & <http://evil.example|click> <script>';
    const base = inc(updateNotice());
    const n = inc({ ...base, incident: { ...base.incident, cause: evil, consequences: [evil], steps: base.incident.steps.map((s) => ({ ...s, summary: evil })) } });
    const p = slackIncidentPayload(n, {}) as { text: string; attachments: Array<{ blocks: Array<{ text?: { type: string; text: string }; elements?: Array<{ text: string }> }> }> };
    // Everything Slack parses as mrkdwn (the top-level text, sections, the footer); plain_text (header, fallback) is shown as is.
    const mrkdwn = [p.text, ...p.attachments[0].blocks.flatMap((b) => (b.text ? [b.text.text] : (b.elements ?? []).map((e) => e.text)))];
    expect(mrkdwn.length).toBeGreaterThanOrEqual(5);
    for (const t of mrkdwn) {
      expect(t).not.toContain('<!channel>');
      expect(t).not.toContain('<http://evil');
    }
    expect(p.text).toContain('&lt;!channel&gt; &amp; &lt;http://evil.example|click&gt;');
    const html = incidentEmailHtml(n, incidentView(n));
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<!channel>');
    expect(html).toContain('&lt;!channel&gt; &amp; &lt;http://evil.example|click&gt; &lt;script&gt;');
  });
});

describe('config: the Slack receiver\'s two modes', () => {
  const cfg = (receiver: string) => `node: ka1\nalerting:\n  receivers:\n    - ${receiver}\n`;
  const problems = (receiver: string): string[] => {
    try {
      parseConfig(cfg(receiver));
      return [];
    } catch (e) {
      return (e as { problems: string[] }).problems;
    }
  };

  test('bot mode: token or token_file with channel; api_url defaults to Slack; the token is redacted', () => {
    const c = parseConfig(cfg('{name: s, type: slack, token: "xoxb-1-2-SECRET", channel: "#ops"}'));
    expect(c.alerting.receivers[0]).toMatchObject({ type: 'slack', api_url: 'https://slack.com/api', channel: '#ops' });
    expect(JSON.stringify(redactConfig(c))).not.toContain('SECRET');
    expect(createReceiver(c.alerting.receivers[0], { clock }).type).toBe('slack');
  });

  test('clear errors: neither mode, both modes, token and token_file, bot without channel', () => {
    expect(problems('{name: s, type: slack}')).toEqual(['alerting.receivers.0.webhook_url: a Slack receiver needs webhook_url (incoming webhook), or token or token_file and channel (bot, threads per incident)']);
    expect(problems('{name: s, type: slack, webhook_url: "https://hooks.slack.com/x", token: t, channel: "#o"}')).toEqual(['alerting.receivers.0.webhook_url: set webhook_url (incoming webhook) or token/token_file and channel (bot), not both']);
    expect(problems('{name: s, type: slack, token: t, token_file: /etc/t, channel: "#o"}')).toEqual(['alerting.receivers.0.token_file: set token or token_file, not both']);
    expect(problems('{name: s, type: slack, token: t}')).toEqual(['alerting.receivers.0.channel: required with a bot token: the channel to post to (#name or its ID)']);
  });
});
