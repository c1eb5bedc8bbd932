// keepwatch status and silence on the node, given only the agent's config: a real agent on
// 0.0.0.0 with TLS (a certificate named for another host) and basic auth, asked over real HTTPS on
// loopback with the config's api token; what goes wrong is said without a secret.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { healthyMasterEvents, startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';
import { freePort } from '../../helpers/freePort';
import { runCli } from '../../helpers/runCli';

const TOKEN = 'api-token-0123456789abcdef';

describe('status and silence read the agent from --config.file', () => {
  let dir: string;
  let agent: InProcessAgent | undefined;
  const hash = bcrypt.hashSync('s3cret', 4);
  const openssl = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: 'ignore' });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-cli-cfg-'));
    // Named for the node, not for 127.0.0.1: the CLI trusts the agent's own certificate by itself.
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=lb1.example', '-addext', 'subjectAltName=DNS:lb1.example', '-keyout', 'key.pem', '-out', 'cert.pem');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=lb1.example', '-addext', 'subjectAltName=DNS:lb1.example', '-keyout', 'other.key', '-out', 'other.pem');
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function start(opts: { token?: boolean; cert?: string } = {}): Promise<InProcessAgent> {
    const port = await freePort();
    agent = await startInProcessAgent({
      webYaml: `web:\n  listen_address: "0.0.0.0:${port}"\n  tls_cert_file: ${join(dir, 'cert.pem')}\n  tls_key_file: ${join(dir, 'key.pem')}\n  basic_auth_users: {ops: "${hash}"}`,
      alertingYaml: (d) => `  outbox: {path: ${d}/outbox}\n  silences_file: ${d}/silences.json${opts.token === false ? '' : `\n  api_token: ${TOKEN}`}`,
    });
    for (const ev of healthyMasterEvents(Date.now())) agent.apply(ev);
    return agent;
  }

  test('status: https on loopback for a 0.0.0.0 listener, the api token past basic auth', async () => {
    const a = await start();
    const r = await runCli('status', '--config.file', a.configFile);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^keepwatch status: HEALTHY/);
    expect(r.out).toMatch(/^ka1\s+51\s+VI_1\s+MASTER/m);
    const plain = await fetch(a.url.replace('https:', 'http:')).catch(() => undefined);
    expect(plain?.status).toBeUndefined(); // really TLS
  });

  test('silence add / list / expire with the token from the config', async () => {
    const a = await start();
    const add = await runCli('silence', 'add', 'alertname=Failover', '--for', '1h', '--comment', 'maintenance', '--no-pair', '--config.file', a.configFile);
    expect(add.err).toBe('');
    expect(add.code).toBe(0);
    const id = add.out.trim();
    const list = await runCli('silence', 'list', '--config.file', a.configFile);
    expect(list.out).toContain(id);
    expect((await runCli('silence', 'expire', id, '--config.file', a.configFile)).code).toBe(0);
    // KEEPWATCH_API_TOKEN wins over the config's: a wrong one is refused.
    process.env.KEEPWATCH_API_TOKEN = 'wrong-token-0123456789';
    try {
      expect(await runCli('silence', 'list', '--config.file', a.configFile)).toMatchObject({ code: 1, err: expect.stringMatching(/refused the API token/) });
    } finally {
      delete process.env.KEEPWATCH_API_TOKEN;
    }
  });

  test('no api token in the config: status says basic auth is asked for, silence says where a token goes', async () => {
    const a = await start({ token: false });
    const r = await runCli('status', '--config.file', a.configFile);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/HTTP 401 \(the agent asks for basic auth: give alerting\.api_token in .*keepwatch\.yml, or KEEPWATCH_AGENT_URL=/);
    const s = await runCli('silence', 'list', '--config.file', a.configFile);
    expect(s).toMatchObject({ code: 2, err: expect.stringMatching(/no API token \(.*keepwatch\.yml sets no alerting\.api_token\)/) });
    // KEEPWATCH_AGENT_URL with credentials wins over the config's address and passes basic auth.
    process.env.KEEPWATCH_AGENT_URL = `https://ops:s3cret@127.0.0.1:${new URL(a.url).port}`;
    try {
      expect((await runCli('status', '--config.file', a.configFile)).code).toBe(0);
    } finally {
      delete process.env.KEEPWATCH_AGENT_URL;
    }
  });

  test('a certificate other than the agent\'s is not trusted', async () => {
    const a = await start();
    // The same config, but naming another certificate for the same host name: the TLS check fails.
    const other = join(dir, 'other-config.yml');
    writeFileSync(other, readFileSync(a.configFile, 'utf8').replace(join(dir, 'cert.pem'), join(dir, 'other.pem')));
    const r = await runCli('status', '--config.file', other);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/cannot ask the agent at https:\/\/127\.0\.0\.1:\d+: .*(self[- ]signed|certificate)/i);
  });

  test('an explicitly given config that is missing or invalid: an error naming the file', async () => {
    const missing = join(dir, 'nope.yml');
    const r = await runCli('status', '--config.file', missing);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(new RegExp(`invalid config ${missing}:[\\s\\S]*cannot read: ENOENT`));
    const s = await runCli('silence', 'list', '--config.file', missing);
    expect(s.code).toBe(1);
    expect(s.err).toMatch(/nope\.yml/);
  });
});
