// keepwatch test-alert and keepwatch silence, run through the real CLI entry (main) against real
// receivers and a real agent on loopback.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { Daemon } from '../../../agent/daemon';
import { silentLogger } from '../../../agent/logger';
import { coreModule } from '../../../agent/wiring/core';
import { alertingModule } from '../../../agent/wiring/alerting';
import { startSlack, startWebhook, type TestServer, type WebhookServer } from './servers';
import { runCli } from '../../helpers/runCli';

jest.setTimeout(20_000);

const cli = (args: string[]) => runCli(...args);

describe('keepwatch test-alert', () => {
  let hook: WebhookServer;
  let slack: TestServer;
  let file: string;
  beforeAll(async () => {
    hook = await startWebhook('shh-hmac');
    slack = await startSlack();
    file = join(mkdtempSync(join(tmpdir(), 'kw-cli-')), 'k.yml');
    writeFileSync(
      file,
      `node: ka1
alerting:
  receivers:
    - {name: hook, type: webhook, url: "${hook.url}", hmac_secret: shh-hmac}
    - {name: slack, type: slack, webhook_url: "${slack.url}", timeout: 500ms}
`,
    );
  });
  afterAll(async () => {
    await hook.close();
    await slack.close();
  });

  test('all accepted: OK per receiver, exit 0', async () => {
    const r = await cli(['test-alert', '--config.file', file]);
    expect(r.out).toMatch(/^hook \(webhook\): OK in \d+ ms\nslack \(slack\): OK in \d+ ms\n$/);
    expect(r.code).toBe(0);
    expect(hook.accepted[0]).toMatchObject({ status: 'firing', commonLabels: { alertname: 'KeepwatchTest', node: 'ka1' } });
    expect(JSON.parse(slack.requests[0].body).text).toMatch(/^\[FIRING:1\] KeepwatchTest node=ka1: Test notification from keepwatch on ka1$/);
  });

  test('one failing: says which and why (no URL), exit 1; --receiver picks one', async () => {
    slack.mode = '500';
    const r = await cli(['test-alert', '--config.file', file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('hook (webhook): OK');
    expect(r.out).toContain('slack (slack): FAILED: slack: HTTP 500 internal_error (the agent would retry)');
    expect(r.out + r.err).not.toContain('XXXXsecretXXXX');
    const one = await cli(['test-alert', '--config.file', file, '--receiver', 'hook']);
    expect(one.code).toBe(0);
    expect(one.out).not.toContain('slack');
    slack.mode = 'ok';
  });

  test('an unknown receiver or a bad config: exit 1 with the reason', async () => {
    const r = await cli(['test-alert', '--config.file', file, '--receiver', 'nope']);
    expect(r).toMatchObject({ code: 1, err: 'no receiver named "nope" (configured: hook, slack)\n' });
    const bad = await cli(['test-alert', '--config.file', '/nonexistent.yml']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/cannot read/);
  });
});

describe('keepwatch silence', () => {
  const TOKEN = 'cli-api-token-0123456789';
  let daemon: Daemon;
  let url: string;
  let tokenFile: string;
  let wrongFile: string;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-cli-sil-'));
    tokenFile = join(dir, 'token');
    wrongFile = join(dir, 'wrong-token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    writeFileSync(wrongFile, 'wrong-token-9876543210\n');
    const file = join(dir, 'k.yml');
    writeFileSync(file, `node: ka1\nweb: {listen_address: "127.0.0.1:0"}\nalerting:\n  api_token: ${TOKEN}\n  external_labels: {cluster: lb-paris-1, site: paris}\n  silences_file: ${dir}/silences.json\n  outbox: {path: ${dir}/outbox}\n`);
    daemon = new Daemon({ configFile: file, log: silentLogger(), modules: [coreModule, alertingModule] });
    await daemon.start();
    url = `http://127.0.0.1:${daemon.http.address()!.port}`;
  });
  afterAll(() => daemon.stop());

  test('add, list, expire', async () => {
    const add = await cli(['silence', 'add', 'alertname=Failover', 'vrid=~"5[12]"', '--duration', '2h', '--comment', 'planned switchover', '--author', 'alice', '--agent.url', url, '--api.token-file', tokenFile]);
    expect(add.err).toBe('');
    expect(add.code).toBe(0);
    const id = add.out.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const list = await cli(['silence', 'list', '--agent.url', url, '--api.token-file', tokenFile]);
    expect(list.code).toBe(0);
    expect(list.out.split('\n')[0]).toMatch(/^ID\s+STATE\s+ENDS AT\s+CREATED BY\s+COMMENT\s+MATCHERS$/);
    expect(list.out).toContain(`${id}  active`);
    expect(list.out).toContain('alice');
    expect(list.out).toContain('alertname="Failover" vrid=~"5[12]"');
    process.env.KEEPWATCH_API_TOKEN = TOKEN;
    try {
      const exp = await cli(['silence', 'expire', id, '--agent.url', url]);
      expect(exp).toMatchObject({ code: 0, out: `expired ${id}\n` });
    } finally {
      delete process.env.KEEPWATCH_API_TOKEN;
    }
    const after = await cli(['silence', 'list', '--agent.url', url, '--api.token-file', tokenFile]);
    expect(after.out).not.toContain(id);
    const all = await cli(['silence', 'list', '--all', '--json', '--agent.url', url, '--api.token-file', tokenFile]);
    expect(JSON.parse(all.out)[0]).toMatchObject({ id, status: { state: 'expired' } });
  });

  test('add --for names the pair: a matcher per external label, unless given or --no-pair', async () => {
    const common = ['--agent.url', url, '--api.token-file', tokenFile];
    const matchersOf = async (id: string) => {
      const all = JSON.parse((await cli(['silence', 'list', '--json', ...common])).out) as Array<{ id: string; matchers: Array<{ name: string; value: string }> }>;
      return all.find((s) => s.id === id)!.matchers.map((m) => `${m.name}=${m.value}`);
    };
    const a = await cli(['silence', 'add', 'alertname=NoMaster', '--for', '2h', '--comment', 'maintenance of lb-paris-1', ...common]);
    expect(a.code).toBe(0);
    expect(await matchersOf(a.out.trim())).toEqual(['alertname=NoMaster', 'cluster=lb-paris-1', 'site=paris']);
    const b = await cli(['silence', 'add', 'alertname=NoMaster', 'site=~"par.*"', '--for', '30m', '--comment', 'x', ...common]);
    expect(await matchersOf(b.out.trim())).toEqual(['alertname=NoMaster', 'site=par.*', 'cluster=lb-paris-1']);
    const c = await cli(['silence', 'add', 'alertname=NoMaster', '--for', '30m', '--no-pair', '--comment', 'x', ...common]);
    expect(await matchersOf(c.out.trim())).toEqual(['alertname=NoMaster']);
    expect((await cli(['silence', 'add', 'a=b', '--for', '1h', '--duration', '1h', '--comment', 'x', ...common])).code).toBe(2);
  });

  test('errors: bad matcher / duration are usage errors (2); wrong token, unknown id, agent down are 1', async () => {
    const common = ['--agent.url', url, '--api.token-file', tokenFile];
    expect(await cli(['silence', 'add', 'severity', '--duration', '1h', '--comment', 'x', ...common])).toMatchObject({ code: 2, err: expect.stringMatching(/bad matcher "severity"/) });
    expect(await cli(['silence', 'add', 'a=b', '--duration', 'soon', '--comment', 'x', ...common])).toMatchObject({ code: 2, err: expect.stringMatching(/--for: not a positive duration: soon/) });
    expect(await cli(['silence', 'add', 'a=b', '--comment', 'x', ...common])).toMatchObject({ code: 2, err: expect.stringMatching(/--for is required/) });
    expect(await cli(['silence', 'add', 'a=~".*"', '--duration', '1h', '--no-pair', '--comment', 'x', ...common])).toMatchObject({ code: 1, err: expect.stringMatching(/400: matchers: at least one matcher must not match the empty string/) });
    expect(await cli(['silence', 'list', '--agent.url', url, '--api.token-file', wrongFile])).toMatchObject({ code: 1, err: expect.stringMatching(/refused the API token/) });
    expect(await cli(['silence', 'list', '--agent.url', url])).toMatchObject({ code: 2, err: expect.stringMatching(/no API token/) });
    // The token is never taken from the command line, where every local user can read it.
    expect((await cli(['silence', 'list', '--agent.url', url, '--api.token', TOKEN])).code).toBe(2);
    expect(await cli(['silence', 'expire', 'no-such-id', ...common])).toMatchObject({ code: 1, err: expect.stringMatching(/404: silence no-such-id not found/) });
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await cli(['silence', 'list', '--agent.url', `http://127.0.0.1:${port}`, '--api.token-file', tokenFile])).toMatchObject({ code: 1, err: expect.stringMatching(/cannot reach the agent at http:\/\/127.0.0.1:\d+: ECONNREFUSED/) });
    expect((await cli(['silence', 'add', '--duration', '1h', '--comment', 'x', ...common])).code).toBe(2); // commander: missing matchers
  });
});
