// Issue 15, high 2: the fallback pager (`keepwatch notify --deliver-spooled`, started by the hook
// as root when the agent is down) must page in keepalived's environment, where none of the
// agent's ${VARS} exist: secrets from *_file keys, only its own part of the config validated, a
// stale lock with a reused pid no obstacle; and when it cannot page, the agent says so on start.
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../helpers/runCli';
import { DeliveryFailureReporter } from '../../../agent/hook/deliveryFailure';
import { checkHook } from '../../../agent/hook/check';
import { readBootTimeMs } from '../../../agent/procStat';
import { silentLogger } from '../../../agent/logger';
import { FakeClock } from '../../helpers/fakeClock';
import type { Alert } from '../../../agent/alerting/alert';

let dir: string;
let spool: string;
let srv: http.Server;
let got: Array<{ url: string; body: string; sig?: string; ts?: string }>;
let url: string;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-pager-'));
  spool = path.join(dir, 'spool');
  fs.mkdirSync(spool);
  got = [];
  srv = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      got.push({ url: req.url ?? '', body: b, sig: req.headers['x-keepwatch-signature'] as string | undefined, ts: req.headers['x-keepwatch-timestamp'] as string | undefined });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
});
afterEach(async () => {
  await new Promise((r) => srv.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

function spoolRecord(state = 'FAULT'): string {
  const ns = BigInt(Date.now()) * 1_000_000n;
  fs.writeFileSync(path.join(spool, `${ns}-42.rec`), `v1 ${ns} 42 INSTANCE VI_1 ${state} 100\n`);
  return `${ns}-42`;
}

/** The README's config: peer_token and the web password from the environment, the receiver's secret from a file. */
function config(receiver: string[]): string {
  const file = path.join(dir, 'keepwatch.yml');
  fs.writeFileSync(
    file,
    ['node: ka1', 'peer_token: ${KW_TEST_UNSET_PEER_TOKEN}', 'web:', '  basic_auth_users:', '    admin: "${KW_TEST_UNSET_HASH}"', 'alerting:', '  receivers:', ...receiver, ''].join('\n'),
  );
  return file;
}

test('the deliverer pages with ${ENV} secrets it does not use unset, and its own secret from a *_file key', async () => {
  const secretFile = path.join(dir, 'hmac');
  fs.writeFileSync(secretFile, 'file-secret-0123456789\n', { mode: 0o600 });
  const cfg = config([`    - {name: ops, type: webhook, url: "${url}/ops", hmac_secret_file: ${secretFile}}`]);
  spoolRecord();
  const r = await runCli('notify', '--deliver-spooled', '--spool', spool, '--no-socket', '--config.file', cfg);
  expect(r.err).toBe('');
  expect(r).toMatchObject({ code: 0, out: expect.stringMatching(/delivered 1, failed 0/) });
  expect(got).toHaveLength(1);
  // Signed as every webhook is: HMAC over `<timestamp>.<body>` (replays are refused by the timestamp).
  expect(got[0].sig).toContain(createHmac('sha256', 'file-secret-0123456789').update(`${got[0].ts}.${got[0].body}`).digest('hex'));
});

test('a deliver lock naming a reused pid (pid 1, written before this boot) does not block delivery', async () => {
  const cfg = config([`    - {name: ops, type: webhook, url: "${url}/ops"}`]);
  spoolRecord();
  const before = (readBootTimeMs()! - 3600_000) / 1000;
  for (const lock of [path.join(spool, 'deliver.lock'), path.join(`${spool}-hook`, 'deliver.lock')]) {
    fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
    fs.writeFileSync(lock, '1\n');
    fs.utimesSync(lock, before, before);
  }
  const r = await runCli('notify', '--deliver-spooled', '--spool', spool, '--no-socket', '--config.file', cfg);
  expect(r.out).toMatch(/delivered 1/);
  expect(got).toHaveLength(1);
});

test('a deliverer that cannot page leaves a failure record; the agent raises HookDeliveryFailed on start and removes it', async () => {
  const cfg = config(['    - {name: ops, type: webhook, url: "${KW_TEST_UNSET_WEBHOOK_URL}"}']);
  spoolRecord();
  const r = await runCli('notify', '--deliver-spooled', '--spool', spool, '--no-socket', '--config.file', cfg);
  expect(r.code).toBe(1);
  const failed = fs.readdirSync(spool).filter((n) => n.endsWith('.failed'));
  expect(failed).toHaveLength(1);
  expect(fs.readFileSync(path.join(spool, failed[0]), 'utf8')).toMatch(/KW_TEST_UNSET_WEBHOOK_URL is not set/);
  const published: Alert[] = [];
  const clock = new FakeClock();
  await new DeliveryFailureReporter({ spoolDir: spool, node: 'ka1', alerts: { publish: (a) => published.push(a) }, clock, log: silentLogger() }).start();
  expect(published.map((a) => [a.labels.alertname, a.labels.node, a.labels.severity, a.status])).toEqual([
    ['HookDeliveryFailed', 'ka1', 'critical', 'firing'],
    ['HookDeliveryFailed', 'ka1', 'critical', 'resolved'],
  ]);
  expect(published[0].annotations.summary).toMatch(/could not page.*KW_TEST_UNSET_WEBHOOK_URL/);
  expect(fs.readdirSync(spool).filter((n) => n.endsWith('.failed'))).toEqual([]);
});

test('keepwatch hook check: a deliverer that loads only with the agent\'s environment is an error, one with *_file passes', () => {
  process.env.KW_TEST_SET_URL = `${url}/ops`;
  try {
    const hook = path.join(dir, 'keepwatch-notify');
    fs.writeFileSync(hook, '#!/bin/sh\n', { mode: 0o755 });
    const bad = config(['    - {name: ops, type: webhook, url: "${KW_TEST_SET_URL}"}']);
    const conf = path.join(dir, 'keepalived.conf');
    fs.writeFileSync(conf, `vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 51\n  priority 100\n  notify "${hook} --deliver-config ${bad}"\n}\n`);
    const findings = checkHook({ hookPath: hook, keepalivedConf: conf });
    expect(findings).toContainEqual({ level: 'error', message: expect.stringMatching(/deliverer config .* does not load as keepalived runs it.*KW_TEST_SET_URL is not set/) });
    const urlFile = path.join(dir, 'ops_url');
    fs.writeFileSync(urlFile, `${url}/ops\n`);
    const good = config([`    - {name: ops, type: webhook, url_file: ${urlFile}}`]);
    expect(checkHook({ hookPath: hook, deliverConfigs: [good] })).toContainEqual({ level: 'ok', message: expect.stringMatching(/loads as keepalived runs it; a FAULT would page ops/) });
  } finally {
    delete process.env.KW_TEST_SET_URL;
  }
});
