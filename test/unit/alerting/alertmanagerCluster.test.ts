// The Alertmanager receiver against real HTTP(S) servers on loopback playing the members of an
// Alertmanager cluster: every alert goes to every member, each member has its own queue in the real
// outbox (one that is down gets everything once it is back, and delays nobody), the pair's
// external labels are on every alert, the Watchdog goes out at start and with every resend, and
// the credentials (bearer token, basic auth, from files read at each send) and TLS (CA file,
// client certificate) are what the members see.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAlertHub } from '../../../agent/alerting/hub';
import { IncidentBook } from '../../../agent/alerting/incidents';
import { Inhibitor } from '../../../agent/alerting/inhibit';
import { NotificationLog } from '../../../agent/alerting/nflog';
import { Outbox } from '../../../agent/alerting/outbox';
import { AlertPipeline } from '../../../agent/alerting/pipeline';
import { createReceivers } from '../../../agent/alerting/receivers';
import { alertmanagerMembers } from '../../../agent/alerting/receivers/alertmanager';
import { buildRouteTree } from '../../../agent/alerting/route';
import { Silences } from '../../../agent/alerting/silences';
import { parseConfig } from '../../../agent/config/load';
import type { AlertmanagerReceiverConfig, Config } from '../../../agent/config/schema';
import { systemClock } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import { mkAlert, rejection } from './helpers';
import { startServer, waitFor, type TestServer } from './servers';

jest.setTimeout(30_000);

interface PushedAlert {
  labels: Record<string, string>;
  endsAt: string;
}

/** An Alertmanager member: accepts POST /api/v2/alerts and keeps what it got. */
async function startMember(): Promise<TestServer & { alerts: () => PushedAlert[] }> {
  const s = await startServer((_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('');
  });
  return Object.assign(s, { alerts: () => s.requests.filter((r) => r.path === '/api/v2/alerts').flatMap((r) => JSON.parse(r.body) as PushedAlert[]) });
}

function config(yaml: string): Config {
  return parseConfig(`node: ka1\nalerting:\n  external_labels: {cluster: lb-paris-1, site: paris}\n${yaml}`);
}

/** The agent's alerting as the wiring builds it (real outbox on disk, real receivers), on the system clock. */
async function agentAlerting(cfg: Config) {
  const clock = systemClock;
  const log = silentLogger();
  const dir = mkdtempSync(join(tmpdir(), 'kw-amc-'));
  const a = cfg.alerting;
  const outbox = new Outbox({ dir, maxEntries: 1000, maxBytes: 1 << 22, retry: { initial: 20, max: 100, maxAge: 3_600_000 }, clock, log });
  await outbox.open();
  outbox.setReceivers(a.receivers.flatMap((r) => createReceivers(r, { clock })));
  const hub = createAlertHub();
  const route = buildRouteTree(a.route, a.receivers.map((r) => r.name));
  const pipeline = new AlertPipeline({
    hub,
    clock,
    log,
    route,
    receivers: a.receivers,
    inhibitor: new Inhibitor(a.inhibit_rules),
    silences: new Silences({ file: join(dir, 'silences.json'), clock, log }),
    nflog: new NotificationLog({ clock }),
    outbox,
    incidents: new IncidentBook({ clock, settleMs: route.groupInterval }),
    externalLabels: a.external_labels,
    node: cfg.node,
  });
  pipeline.start();
  return {
    hub,
    outbox,
    async stop() {
      pipeline.stop();
      await outbox.close();
    },
  };
}

describe('an Alertmanager cluster of two members', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  test('every alert reaches both; a member that is down gets everything, in order, once back, and holds up nobody', async () => {
    const m1 = await startMember();
    const m2 = await startMember();
    servers.push(m1, m2);
    await m2.down();
    const agent = await agentAlerting(config(`  receivers: [{name: am, type: alertmanager, urls: ["http://127.0.0.1:${m1.port}", "http://127.0.0.1:${m2.port}/"], resend_interval: 1h}]\n`));
    try {
      const sb = { alertname: 'SplitBrain', severity: 'critical', vrid: '51', iname: 'VI_1' };
      agent.hub.publish(mkAlert(sb, Date.now()));
      // Member 1 gets the Watchdog (at start) and the split brain, labelled with the pair.
      await waitFor(() => m1.alerts().some((a) => a.labels.alertname === 'SplitBrain'), { what: 'the split brain at member 1' });
      const got = m1.alerts().find((a) => a.labels.alertname === 'SplitBrain')!;
      expect(got.labels).toMatchObject({ ...sb, cluster: 'lb-paris-1', site: 'paris' });
      expect(got.labels.incident).toMatch(/^inc-/);
      expect(m1.alerts().find((a) => a.labels.alertname === 'Watchdog')?.labels).toEqual({ alertname: 'Watchdog', severity: 'none', node: 'ka1', cluster: 'lb-paris-1', site: 'paris' });
      // The resolve reaches member 1 while member 2 is still down: nothing waits for it.
      agent.hub.publish(mkAlert(sb, Date.now(), 'resolved', agent.hub.active().find((a) => a.labels.alertname === 'SplitBrain')!.startsAt));
      const resolvedAt = (m: typeof m1) => m.alerts().some((a) => a.labels.alertname === 'SplitBrain' && Date.parse(a.endsAt) <= Date.now());
      await waitFor(() => resolvedAt(m1), { what: 'the resolve at member 1' });
      const queues = agent.outbox.status();
      const q2 = queues.find((q) => q.receiver === `am@127.0.0.1:${m2.port}`);
      expect(q2?.depth).toBeGreaterThanOrEqual(2);
      expect(q2?.lastError).toMatch(/connection failed: ECONNREFUSED/);
      expect(queues.find((q) => q.receiver === `am@127.0.0.1:${m1.port}`)?.depth).toBe(0);
      // Member 2 comes back: it gets what member 1 got, in the same order.
      await m2.up();
      await waitFor(() => resolvedAt(m2), { timeoutMs: 10_000, what: 'member 2 catching up' });
      const order = (m: typeof m1) => m.requests.map((r) => (JSON.parse(r.body) as PushedAlert[]).map((a) => `${a.labels.alertname}:${Date.parse(a.endsAt) > Date.now() ? 'firing' : 'resolved'}`).join(','));
      expect(order(m2)).toEqual(order(m1));
    } finally {
      await agent.stop();
    }
  });

  test('a single url is a one-member list, keeping the receiver\'s name as its queue', () => {
    const c = config(`  receivers: [{name: am, type: alertmanager, url: "http://127.0.0.1:9093"}]\n`);
    const am = c.alerting.receivers[0] as AlertmanagerReceiverConfig;
    expect(am.urls).toEqual(['http://127.0.0.1:9093']);
    expect(alertmanagerMembers(am)).toEqual([{ queue: 'am', url: 'http://127.0.0.1:9093' }]);
    expect(alertmanagerMembers({ name: 'am', urls: ['http://a:9093', 'http://b:9093', 'http://a:9093/x'] }).map((m) => m.queue)).toEqual(['am@a:9093#1', 'am@b:9093', 'am@a:9093#3']);
  });

  test('the config says what is wrong: no external_labels, url and urls, two credentials', () => {
    const problems = (yaml: string) => {
      try {
        parseConfig(`node: ka1\nalerting:\n${yaml}`);
        return [];
      } catch (e) {
        return (e as { problems: string[] }).problems;
      }
    };
    expect(problems(`  receivers: [{name: am, type: alertmanager, urls: ["http://a:9093"]}]\n`)).toEqual([expect.stringMatching(/^alerting\.external_labels: required with an Alertmanager receiver: name this pair/)]);
    expect(problems(`  external_labels: {cluster: x}\n  receivers: [{name: am, type: alertmanager, url: "http://a:9093", urls: ["http://b:9093"]}]\n`)).toEqual(['alerting.receivers.0.url: set urls (every member of the Alertmanager cluster) or url (one), not both']);
    expect(problems(`  external_labels: {cluster: x}\n  receivers: [{name: am, type: alertmanager, urls: ["http://a:9093"], bearer_token: t, basic_auth: {username: u, password: p}}]\n`)).toEqual(['alerting.receivers.0.basic_auth: set basic_auth or a bearer token, not both (one Authorization header)']);
    expect(problems(`  external_labels: {node: x}\n`)).toEqual(['alerting.external_labels.node: "node" is set by the agent on each alert; pick another name (e.g. cluster, site)']);
    expect(problems(`  external_labels: {cluster: x}\n  receivers: [{name: am, type: alertmanager, urls: ["http://a:9093"], tls_config: {cert_file: /c.pem}}]\n`)).toEqual(['alerting.receivers.0.tls_config.key_file: a client certificate needs both cert_file and key_file']);
  });
});

describe('credentials and TLS', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-amtls-'));
    const cert = (name: string, cn: string) =>
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, `${name}-key.pem`), '-out', join(dir, `${name}.pem`), '-days', '1', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore', timeout: 10_000 });
    cert('server', 'alertmanager');
    cert('client', 'keepwatch-client');
  });
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  const notification = () => ({ seq: 1, idempotencyKey: 'k', receiver: 'am', kind: 'alertmanager' as const, groupKey: 'g', groupLabels: {}, status: 'firing' as const, alerts: [mkAlert({ alertname: 'A' }, Date.now())], createdAt: Date.now(), triggeredAt: Date.now() });

  test('bearer_token_file and basic_auth.password_file are read at each send (a rotated secret needs no restart); a missing file is a retryable error naming it, not its content', async () => {
    const m = await startMember();
    servers.push(m);
    writeFileSync(join(dir, 'token'), 'first-token\n');
    writeFileSync(join(dir, 'password'), 's3cret\n');
    const bearer = config(`  receivers: [{name: am, type: alertmanager, urls: ["http://127.0.0.1:${m.port}"], bearer_token_file: ${join(dir, 'token')}}]\n`).alerting.receivers[0];
    const basic = config(`  receivers: [{name: am, type: alertmanager, urls: ["http://127.0.0.1:${m.port}"], basic_auth: {username: kw, password_file: ${join(dir, 'password')}}}]\n`).alerting.receivers[0];
    const [rb] = createReceivers(bearer, { clock: systemClock });
    const [ra] = createReceivers(basic, { clock: systemClock });
    await rb.send(notification(), new AbortController().signal);
    writeFileSync(join(dir, 'token'), 'second-token\n');
    await rb.send(notification(), new AbortController().signal);
    await ra.send(notification(), new AbortController().signal);
    expect(m.requests.map((r) => r.headers.authorization)).toEqual(['Bearer first-token', 'Bearer second-token', `Basic ${Buffer.from('kw:s3cret').toString('base64')}`]);
    const missing = config(`  receivers: [{name: am, type: alertmanager, urls: ["http://127.0.0.1:${m.port}"], bearer_token_file: ${join(dir, 'nope')}}]\n`).alerting.receivers[0];
    const err = await rejection(createReceivers(missing, { clock: systemClock })[0].send(notification(), new AbortController().signal));
    expect(err).toMatchObject({ retryable: true, message: `am: cannot read bearer_token_file ${join(dir, 'nope')}: ENOENT` });
    expect(m.requests).toHaveLength(3);
  });

  test('tls_config: the CA file makes the member trusted, the client certificate is shown; without the CA it is refused', async () => {
    const https: HttpsServer = createHttpsServer(
      { key: readFileSync(join(dir, 'server-key.pem')), cert: readFileSync(join(dir, 'server.pem')), ca: readFileSync(join(dir, 'client.pem')), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.writeHead(200, { 'x-client': String(peer.subject?.CN ?? '') });
        res.end('');
        seen.push(String(peer.subject?.CN ?? ''));
      },
    );
    const seen: string[] = [];
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    const port = (https.address() as AddressInfo).port;
    try {
      const tls = `{ca_file: ${join(dir, 'server.pem')}, cert_file: ${join(dir, 'client.pem')}, key_file: ${join(dir, 'client-key.pem')}}`;
      const good = config(`  receivers: [{name: am, type: alertmanager, urls: ["https://127.0.0.1:${port}"], tls_config: ${tls}}]\n`).alerting.receivers[0];
      await createReceivers(good, { clock: systemClock })[0].send(notification(), new AbortController().signal);
      expect(seen).toEqual(['keepwatch-client']);
      const noCa = config(`  receivers: [{name: am, type: alertmanager, urls: ["https://127.0.0.1:${port}"], tls_config: {cert_file: ${join(dir, 'client.pem')}, key_file: ${join(dir, 'client-key.pem')}}}]\n`).alerting.receivers[0];
      const err = await rejection(createReceivers(noCa, { clock: systemClock })[0].send(notification(), new AbortController().signal));
      expect(err.message).toMatch(/^am: connection failed: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
      expect(seen).toHaveLength(1);
    } finally {
      https.closeAllConnections();
      await new Promise<void>((r) => https.close(() => r()));
    }
  });
});
