// Where status and silence find the agent: the config's listen address, TLS and api token, with
// --agent.url and KEEPWATCH_AGENT_URL winning; a missing default config is fine, a bad given one is
// an error naming the file and never a secret.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectHost, resolveAgentTarget, targetFromUrl } from '../../../agent/cli/agentTarget';

const TOKEN = 'api-token-0123456789abcdef';

describe('agent target from the config', () => {
  let dir: string;
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'kw-target-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the wildcard listen addresses mean loopback', () => {
    expect(connectHost(':9723')).toBe('127.0.0.1');
    expect(connectHost('0.0.0.0:9723')).toBe('127.0.0.1');
    expect(connectHost('[::]:9723')).toBe('[::1]');
    expect(connectHost('[fd00::5]:9723')).toBe('[fd00::5]');
    expect(connectHost('10.0.0.5:9723')).toBe('10.0.0.5');
    expect(connectHost('lb1.example:9723')).toBe('lb1.example');
  });

  test('a missing default config: the default address; a missing given one: an error naming it', () => {
    const absent = join(dir, 'absent.yml');
    expect(resolveAgentTarget({ configFile: absent, env: {} })).toEqual({ base: 'http://127.0.0.1:9723' });
    expect(() => resolveAgentTarget({ configFile: absent, configFileGiven: true, env: {} })).toThrow(new RegExp(`${absent}[\\s\\S]*cannot read: ENOENT`));
  });

  test('address, scheme, api token and basic auth from the config; the certificate is read, not the key', () => {
    const cert = write('cert.pem', '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n');
    const f = write('a.yml', `node: ka1\nweb:\n  listen_address: "0.0.0.0:9911"\n  tls_cert_file: ${cert}\n  tls_key_file: ${dir}/unreadable.key\n  basic_auth_users: {ops: "$2y$04$abcdefghijklmnopqrstuuJ3H3X8D6M9tQ6Xq3t1sTtA5q3kR9Q2a"}\nalerting:\n  api_token: ${TOKEN}\n`);
    const t = resolveAgentTarget({ configFile: f, configFileGiven: true, env: {} });
    expect(t).toMatchObject({ base: 'https://127.0.0.1:9911', apiToken: TOKEN, basicAuthConfigured: true, configFile: f });
    expect(t.serverCert).toMatch(/BEGIN CERTIFICATE/);
  });

  test('--agent.url wins over KEEPWATCH_AGENT_URL, which wins over the config; credentials only from the URL', () => {
    const f = write('b.yml', `node: ka1\nweb: {listen_address: "127.0.0.1:9912"}\nalerting: {api_token: ${TOKEN}}\n`);
    expect(resolveAgentTarget({ configFile: f, env: {} }).base).toBe('http://127.0.0.1:9912');
    const env = { KEEPWATCH_AGENT_URL: 'https://ops:p%40ss@10.0.0.9:9723/' };
    expect(resolveAgentTarget({ configFile: f, env })).toMatchObject({ base: 'https://10.0.0.9:9723', basic: { user: 'ops', pass: 'p@ss' }, apiToken: TOKEN });
    expect(resolveAgentTarget({ configFile: f, env, agentUrl: 'http://127.0.0.1:1' }).base).toBe('http://127.0.0.1:1');
    expect(targetFromUrl('http://127.0.0.1:9723').basic).toBeUndefined();
    expect(() => targetFromUrl('ftp://x')).toThrow(/ftp: is not http/);
  });

  test('an api token from an unset ${VAR} is not fatal: the problem is kept, naming the variable', () => {
    const f = write('c.yml', 'node: ka1\nalerting: {api_token: "${KW_TEST_UNSET_TOKEN}"}\n');
    const t = resolveAgentTarget({ configFile: f, env: {} });
    expect(t.apiToken).toBeUndefined();
    expect(t.apiTokenProblem).toMatch(/alerting\.api_token: environment variable KW_TEST_UNSET_TOKEN is not set/);
    expect(resolveAgentTarget({ configFile: f, env: { KW_TEST_UNSET_TOKEN: TOKEN } }).apiToken).toBe(TOKEN);
  });

  test('an invalid config is an error naming the file and the key, never a secret', () => {
    const f = write('d.yml', `node: ka1\nweb: {listen_adress: ":9723"}\nalerting: {api_token: ${TOKEN}}\n`);
    expect(() => resolveAgentTarget({ configFile: f, env: {} })).toThrow(new RegExp(`${f}[\\s\\S]*web: Unrecognized key: "listen_adress"`));
    const g = write('e.yml', `node: ka1\nweb: {listen_address: ":9723"\nalerting: {api_token: ${TOKEN}}\n`);
    let message = '';
    try {
      resolveAgentTarget({ configFile: g, env: {} });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/e\.yml/);
    expect(message).not.toContain(TOKEN);
  });

  test('--web.config.file of the agent gives the TLS', () => {
    const wc = write('web.yml', 'tls_server_config: {cert_file: cert.pem, key_file: key.pem}\n');
    const f = write('f.yml', 'node: ka1\nweb: {listen_address: ":9913"}\n');
    expect(resolveAgentTarget({ configFile: f, env: {} }).base).toBe('http://127.0.0.1:9913');
    expect(resolveAgentTarget({ configFile: f, env: {}, webConfigFile: wc }).base).toBe('https://127.0.0.1:9913');
  });
});
