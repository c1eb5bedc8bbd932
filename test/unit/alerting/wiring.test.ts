// The alerting module inside a real daemon: hub -> pipeline -> outbox -> a real webhook over
// loopback; the silences and alerts API with its auth; metrics; reload keeps the outbox.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../../agent/daemon';
import { silentLogger } from '../../../agent/logger';
import { coreModule } from '../../../agent/wiring/core';
import { alertingModule } from '../../../agent/wiring/alerting';
import { redactConfig } from '../../../agent/config/redact';
import { mkAlert } from './helpers';
import { startSlack, startWebhook, waitFor, type TestServer, type WebhookServer } from './servers';

const TOKEN = 'api-token-0123456789';
const HMAC = 'hmac-secret-abcdef';

jest.setTimeout(20_000);

describe('alerting module in the daemon', () => {
  let dir: string;
  let file: string;
  let hook: WebhookServer;
  let slack: TestServer;
  let daemon: Daemon;
  let base: string;

  const config = (extraReceivers = '') => `node: ka1
web: {listen_address: "127.0.0.1:0"}
alerting:
  api_token: ${TOKEN}
  external_url: http://ka1.example:9723/
  silences_file: ${dir}/silences.json
  outbox: {path: ${dir}/outbox}
  retry: {initial: 50ms, max: 200ms}
  receivers:
    - {name: hook, type: webhook, url: "${hook.url}", hmac_secret: ${HMAC}, headers: {X-Team: ops}}
${extraReceivers}`;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-wiring-'));
    file = join(dir, 'keepwatch.yml');
    hook = await startWebhook(HMAC);
    slack = await startSlack();
    writeFileSync(file, config());
    daemon = new Daemon({ configFile: file, log: silentLogger(), modules: [coreModule, alertingModule] });
    await daemon.start();
    base = `http://127.0.0.1:${daemon.http.address()!.port}`;
  });
  afterEach(async () => {
    await daemon.stop();
    await hook.close();
    await slack.close();
  });

  const api = (path: string, init: RequestInit = {}, token: string | null = TOKEN) =>
    fetch(`${base}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) } });

  test('a published alert reaches the webhook in Alertmanager shape, signed, with an idempotency key', async () => {
    const a = mkAlert({ alertname: 'SplitBrain', vrid: '51', severity: 'critical', node: 'ka1' }, Date.now());
    daemon.hubs.alerts.publish(a);
    await waitFor(() => hook.accepted.length === 1, { timeoutMs: 5000, what: 'webhook' });
    const p = hook.accepted[0];
    // The default grouping is by incident; the API lists it.
    const incidents = (await (await fetch(`${base}/api/v1/incidents`)).json()) as { open: Array<Record<string, any>>; recent: unknown[] };
    expect(incidents.recent).toEqual([]);
    expect(incidents.open).toEqual([
      {
        id: expect.stringMatching(/^inc-[0-9a-f]{12}$/),
        status: 'open',
        past: false,
        openedAt: new Date(a.startsAt).toISOString(),
        resolvedAt: null,
        cause: 'SplitBrain summary',
        causeAlert: 'SplitBrain',
        alerts: [{ alertname: 'SplitBrain', status: 'firing', severity: 'critical', summary: 'SplitBrain summary', fingerprint: a.fingerprint }],
        steps: [{ at: new Date(a.startsAt).toISOString(), alertname: 'SplitBrain', status: 'firing', summary: 'SplitBrain summary' }],
      },
    ]);
    const id = incidents.open[0].id as string;
    const alerts = (await (await fetch(`${base}/api/v1/alerts`)).json()) as Array<Record<string, unknown>>;
    expect(alerts).toEqual([expect.objectContaining({ fingerprint: a.fingerprint, incident: id, deliveredBy: null })]);
    expect(p).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'hook',
      groupKey: `{}/{}/hook:{incident="${id}"}`,
      groupLabels: { incident: id },
      commonLabels: { ...a.labels, incident: id },
      externalURL: 'http://ka1.example:9723/',
      truncatedAlerts: 0,
      alerts: [{ status: 'firing', labels: { ...a.labels, incident: id }, fingerprint: a.fingerprint, endsAt: '0001-01-01T00:00:00Z', startsAt: new Date(a.startsAt).toISOString() }],
    });
    expect(p.idempotencyKey).toBe(hook.requests[0].headers['idempotency-key']);
    expect(hook.requests[0].headers['x-team']).toBe('ops');
    expect(hook.badSignatures).toBe(0);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^keepwatch_notifications_sent_total\{receiver="hook"\} 1$/m);
    expect(metrics).toMatch(/^keepwatch_notifications_queue_depth\{receiver="hook"\} 0$/m);
    expect(metrics).toMatch(/^keepwatch_alerts\{alertname="SplitBrain",severity="critical"\} 1$/m);
    expect(metrics).toMatch(/^keepwatch_notifications_latency_seconds_count\{receiver="hook"\} 1$/m);
    expect(metrics).toMatch(/^keepwatch_outbox_write_errors_total 0$/m);
    expect(metrics).not.toContain(HMAC);
    expect(metrics).not.toContain('querysecret');
  });

  test('silences API: token required, add mutes, list shows, delete expires', async () => {
    expect((await api('/api/v1/silences', {}, null)).status).toBe(401);
    expect((await api('/api/v1/silences', {}, 'wrong-token-xxxxxxxx')).status).toBe(401);
    const bad = await api('/api/v1/silences', { method: 'POST', body: JSON.stringify({ matchers: ['nope'], duration: '1h', createdBy: 'me', comment: 'x' }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/matchers.0: bad matcher "nope"/);
    const res = await api('/api/v1/silences', { method: 'POST', body: JSON.stringify({ matchers: ['alertname="Failover"', 'vrid=51'], duration: '1h', createdBy: 'me', comment: 'planned switchover' }) });
    expect(res.status).toBe(200);
    const { silenceID } = (await res.json()) as { silenceID: string };
    const list = (await (await api('/api/v1/silences')).json()) as Array<Record<string, any>>;
    expect(list).toEqual([expect.objectContaining({ id: silenceID, createdBy: 'me', status: { state: 'active' }, matchers: [{ name: 'alertname', value: 'Failover', isRegex: false, isEqual: true }, { name: 'vrid', value: '51', isRegex: false, isEqual: true }] })]);
    daemon.hubs.alerts.publish(mkAlert({ alertname: 'Failover', vrid: '51' }, Date.now()));
    daemon.hubs.alerts.publish(mkAlert({ alertname: 'Failover', vrid: '52' }, Date.now()));
    await waitFor(() => hook.accepted.length === 1, { timeoutMs: 5000, what: 'the unsilenced one' });
    await new Promise((r) => setTimeout(r, 200));
    expect(hook.accepted.map((p) => p.alerts.map((x: { labels: Record<string, string> }) => x.labels.vrid))).toEqual([['52']]);
    const alerts = (await (await fetch(`${base}/api/v1/alerts`)).json()) as Array<Record<string, any>>;
    expect(alerts.find((a) => a.labels.vrid === '51')!.status).toEqual({ state: 'suppressed', silencedBy: [silenceID], inhibitedBy: [] });
    expect(alerts.find((a) => a.labels.vrid === '52')!.status.state).toBe('active');
    expect((await api(`/api/v1/silences/${silenceID}`)).status).toBe(200);
    expect((await api(`/api/v1/silences/${silenceID}`, { method: 'DELETE' })).status).toBe(200);
    expect((await api('/api/v1/silences/unknown', { method: 'DELETE' })).status).toBe(404);
    expect(((await (await api(`/api/v1/silences/${silenceID}`)).json()) as Record<string, any>).status.state).toBe('expired');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^keepwatch_silences\{state="expired"\} 1$/m);
  });

  test('reload: pending notifications survive in the same outbox and go out to the new config; counters carry on', async () => {
    hook.mode = '500';
    daemon.hubs.alerts.publish(mkAlert({ alertname: 'A' }, Date.now()));
    await waitFor(() => hook.requests.length >= 3, { timeoutMs: 5000, what: 'retries' });
    writeFileSync(file, config(`    - {name: slack, type: slack, webhook_url: "${slack.url}"}`));
    await daemon.reload();
    hook.mode = 'ok';
    await waitFor(() => hook.accepted.length === 1, { timeoutMs: 5000, what: 'A after the reload' });
    // The new receiver never heard of the incident: it is told; the old one is not told twice
    // (the new pipeline takes the same incident from the journal, and the same notification log).
    await waitFor(() => slack.requests.length === 1, { timeoutMs: 5000, what: 'slack' });
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0].body).toContain('A summary');
    expect(hook.accepted).toHaveLength(1);
    expect(hook.accepted[0].groupLabels).toEqual({ incident: expect.stringMatching(/^inc-/) });
    expect(hook.duplicates).toBe(0);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^keepwatch_notifications_sent_total\{receiver="hook"\} 1$/m);
    expect(metrics).toMatch(/^keepwatch_notifications_failed_total\{receiver="hook"\} [1-9]/m);
    expect(metrics).not.toContain('XXXXsecretXXXX');
    const st = (await (await fetch(`${base}/api/v1/notifications`)).json()) as Record<string, any>;
    expect(st.receivers).toEqual([{ name: 'hook', type: 'webhook' }, { name: 'slack', type: 'slack' }]);
  });

  test('restart: the open incident goes on from the outbox journal (same id, no second page)', async () => {
    daemon.hubs.alerts.publish(mkAlert({ alertname: 'KeepalivedDown', node: 'ka1' }, Date.now(), 'firing', Date.now(), { rank: 10 }));
    await waitFor(() => hook.accepted.length === 1, { timeoutMs: 5000, what: 'first' });
    const id = hook.accepted[0].groupLabels.incident;
    await daemon.stop();
    daemon = new Daemon({ configFile: file, log: silentLogger(), modules: [coreModule, alertingModule] });
    await daemon.start();
    base = `http://127.0.0.1:${daemon.http.address()!.port}`;
    // The engine raises what is still true again, with a new start.
    daemon.hubs.alerts.publish(mkAlert({ alertname: 'KeepalivedDown', node: 'ka1' }, Date.now(), 'firing', Date.now(), { rank: 10 }));
    const incidents = (await (await fetch(`${base}/api/v1/incidents`)).json()) as { open: Array<{ id: string; steps: unknown[] }> };
    expect(incidents.open.map((i) => i.id)).toEqual([id]);
    expect(incidents.open[0].steps).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.accepted).toHaveLength(1);
  });

  test('redactConfig hides every secret of the alerting config', () => {
    const shown = JSON.stringify(redactConfig(daemon.currentConfig));
    expect(shown).not.toContain(HMAC);
    expect(shown).not.toContain(TOKEN);
    expect(shown).not.toContain('querysecret');
    expect(shown).toContain(`http://127.0.0.1:${hook.port}/<secret>`);
  });
});
