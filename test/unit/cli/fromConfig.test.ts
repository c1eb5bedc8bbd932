// keepwatch status and silence on the node, given only the agent's config: a real agent on
// 0.0.0.0 with TLS (a certificate named for another host) and basic auth, asked over real HTTPS on
// loopback with the config's api token; an agent that asks for client certificates, given one by
// --http.config.file; what goes wrong is said without a secret.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { healthyMasterEvents, startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';
import { freePort } from '../../helpers/freePort';
import { runCli } from '../../helpers/runCli';
import { caSignedCert, selfSignedCert } from '../../helpers/testCerts';

const TOKEN = 'api-token-0123456789abcdef';

describe('status and silence read the agent from --config.file', () => {
  let dir: string;
  let agent: InProcessAgent | undefined;
  const hash = bcrypt.hashSync('s3cret', 4);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-cli-cfg-'));
    // Named for the node, not for 127.0.0.1: the CLI trusts the agent's own certificate by itself.
    selfSignedCert(dir, 'cert', 'lb1.example', 'DNS:lb1.example');
    selfSignedCert(dir, 'other', 'lb1.example', 'DNS:lb1.example');
    // A client CA and an operator's certificate it signs.
    selfSignedCert(dir, 'ca', 'client-ca', 'DNS:client-ca');
    caSignedCert(dir, 'ca', 'ops', 'ops', 'DNS:ops.example');
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function start(opts: { token?: boolean; cert?: string } = {}): Promise<InProcessAgent> {
    const port = await freePort();
    agent = await startInProcessAgent({
      webYaml: `web:\n  listen_address: "0.0.0.0:${port}"\n  tls_cert_file: ${join(dir, 'cert.pem')}\n  tls_key_file: ${join(dir, 'cert.key')}\n  basic_auth_users: {ops: "${hash}"}`,
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

  describe('an agent that asks for client certificates (--web.config.file, RequireAndVerifyClientCert)', () => {
    let webConfig: string;
    const httpConfig = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    async function startMtls(): Promise<InProcessAgent> {
      webConfig = join(dir, 'web-mtls.yml');
      writeFileSync(webConfig, 'tls_server_config:\n  cert_file: cert.pem\n  key_file: cert.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n');
      agent = await startInProcessAgent({
        webYaml: `web: {listen_address: "0.0.0.0:${await freePort()}"}`,
        alertingYaml: (d) => `  outbox: {path: ${d}/outbox}\n  silences_file: ${d}/silences.json\n  api_token: ${TOKEN}`,
        webConfigFile: webConfig,
      });
      for (const ev of healthyMasterEvents(Date.now())) agent.apply(ev);
      return agent;
    }
    const args = (a: InProcessAgent, ...more: string[]) => ['--config.file', a.configFile, '--web.config.file', webConfig, ...more];

    test('with the certificate of --http.config.file (relative paths from the file): status and silence work; without it, the error says what the agent asks for', async () => {
      const a = await startMtls();
      const good = httpConfig('http-ops.yml', 'tls_config:\n  cert_file: ops.pem\n  key_file: ops.key\n');
      const r = await runCli('status', ...args(a, '--http.config.file', good));
      expect(r.err).toBe('');
      expect(r).toMatchObject({ code: 0, out: expect.stringMatching(/^keepwatch status: HEALTHY/) });
      const list = await runCli('silence', 'list', ...args(a, '--http.config.file', good));
      expect(list).toMatchObject({ code: 0, err: '' });

      const none = await runCli('status', ...args(a));
      expect(none.code).toBe(3);
      expect(none.out).toContain(`the agent asks for a client certificate: client_auth_type RequireAndVerifyClientCert of ${webConfig}; give one in tls_config of --http.config.file`);
      expect(await runCli('silence', 'list', ...args(a))).toMatchObject({ code: 1, err: expect.stringContaining('asks for a client certificate') });
      // A certificate the agent's client CA did not sign is refused by the agent.
      const stranger = httpConfig('http-stranger.yml', 'tls_config: {cert_file: other.pem, key_file: other.key}\n');
      expect((await runCli('status', ...args(a, '--http.config.file', stranger))).code).toBe(3);
    });

    test('a bad --http.config.file: an error naming the file and the key, never a key\'s content', async () => {
      const a = await startMtls();
      const missingKey = httpConfig('http-missing.yml', 'tls_config: {cert_file: ops.pem, key_file: nothere.key}\n');
      const r = await runCli('status', ...args(a, '--http.config.file', missingKey));
      expect(r.code).toBe(3);
      expect(r.err).toMatch(new RegExp(`invalid config ${missingKey}:[\\s\\S]*tls_config\\.key_file: cannot read ${join(dir, 'nothere.key')}: ENOENT`));
      const s = await runCli('silence', 'list', ...args(a, '--http.config.file', missingKey));
      expect(s).toMatchObject({ code: 1, err: expect.stringContaining('tls_config.key_file: cannot read') });
      const mismatch = httpConfig('http-mismatch.yml', 'tls_config: {cert_file: ops.pem, key_file: other.key}\n');
      const m = await runCli('status', ...args(a, '--http.config.file', mismatch));
      expect(m.err).toMatch(/http-mismatch\.yml:[\s\S]*tls_config: .*key values mismatch/);
      expect(m.err).not.toMatch(/PRIVATE KEY|BEGIN/);
      const basic = httpConfig('http-basic.yml', 'basic_auth: {username: ops, password: x}\ntls_config: {cert_file: ops.pem, key_file: ops.key, ca_fil: ca.pem}\n');
      expect((await runCli('status', ...args(a, '--http.config.file', basic))).err).toMatch(/basic_auth: not supported by keepwatch status\/silence \(only tls_config\)[\s\S]*tls_config\.ca_fil: unknown key/);
      expect((await runCli('status', ...args(a, '--http.config.file', join(dir, 'absent.yml')))).err).toMatch(/absent\.yml[\s\S]*cannot read --http\.config\.file: ENOENT/);
    });
  });
});
