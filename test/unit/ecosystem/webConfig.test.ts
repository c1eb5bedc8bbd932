// web.config_file, the exporter-toolkit web config: basic auth with bcrypt hashes and TLS, on a
// real agent; bad files are rejected with the file and key named, also on reload.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { loadWebConfigFile } from '../../../agent/http/webConfig';
import { coreModule } from '../../../agent/wiring/core';
import { startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** GET over HTTPS trusting only `ca`; resolves status and body, rejects on TLS errors. */
function httpsGet(url: string, ca: string | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers, rejectUnauthorized: true }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web.config_file (exporter-toolkit web config)', () => {
  let dir: string;
  let agent: InProcessAgent | undefined;
  // Cost 4 keeps bcrypt fast in tests; the server caches verified credentials anyway.
  const hash = bcrypt.hashSync('s3cret', 4).replace(/^\$2b\$/, '$2y$'); // htpasswd -B writes $2y$

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kw-webcfg-'));
    // A self-signed certificate for 127.0.0.1 (openssl is in Debian's base system).
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('basic auth with bcrypt: 401 without or with wrong credentials, 200 with them; /healthz stays open', async () => {
    const file = join(dir, 'web-basic.yml');
    writeFileSync(file, `basic_auth_users:\n  prometheus: ${hash}\n`);
    agent = await startInProcessAgent({ modules: [coreModule], webYaml: `web: {listen_address: "127.0.0.1:0", config_file: ${file}}` });
    const none = await fetch(`${agent.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await fetch(`${agent.url}/metrics`, { headers: { authorization: basic('prometheus', 'wrong') } })).status).toBe(401);
    expect((await fetch(`${agent.url}/metrics`, { headers: { authorization: basic('nobody', 's3cret') } })).status).toBe(401);
    const ok = await fetch(`${agent.url}/metrics`, { headers: { authorization: basic('prometheus', 's3cret') } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^keepalived_up /m);
    expect((await fetch(`${agent.url}/healthz`)).status).toBe(200);
  });

  test('TLS with a self-signed certificate (relative paths resolved from the file), plus basic auth', async () => {
    const file = join(dir, 'web-tls.yml');
    writeFileSync(file, `tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  prometheus: ${hash}\n`);
    agent = await startInProcessAgent({ modules: [coreModule], webYaml: `web: {listen_address: "127.0.0.1:0", config_file: ${file}}` });
    expect(agent.url).toMatch(/^https:/);
    const ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    expect((await httpsGet(`${agent.url}/metrics`, ca)).status).toBe(401);
    const ok = await httpsGet(`${agent.url}/metrics`, ca, { authorization: basic('prometheus', 's3cret') });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/^keepwatch_build_info\{/m);
    // The certificate really is what the client checks: without trusting it, the handshake fails...
    await expect(httpsGet(`${agent.url}/healthz`, undefined)).rejects.toThrow(/self[- ]signed/i);
    // ...and plain HTTP to the TLS port gets no HTTP answer.
    await expect(fetch(`${agent.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
  });

  test('the file overrides web.basic_auth_users from the config', async () => {
    const file = join(dir, 'web-override.yml');
    writeFileSync(file, `basic_auth_users:\n  prometheus: ${hash}\n`);
    const other = bcrypt.hashSync('other', 4);
    agent = await startInProcessAgent({ modules: [coreModule], webYaml: `web: {listen_address: "127.0.0.1:0", config_file: ${file}, basic_auth_users: {ops: "${other}"}}` });
    expect((await fetch(`${agent.url}/metrics`, { headers: { authorization: basic('ops', 'other') } })).status).toBe(401);
    expect((await fetch(`${agent.url}/metrics`, { headers: { authorization: basic('prometheus', 's3cret') } })).status).toBe(200);
  });

  test('bad files are rejected with the file and the key named', () => {
    const bad = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return () => loadWebConfigFile(f);
    };
    expect(bad('a.yml', 'basic_auth_users:\n  prometheus: plaintext\n')).toThrow(/a\.yml[\s\S]*basic_auth_users\.prometheus: must be a bcrypt hash/);
    expect(bad('b.yml', 'tls_server_config:\n  cert_file: c.pem\n')).toThrow(/b\.yml[\s\S]*tls_server_config\.key_file/);
    expect(bad('c.yml', 'tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n')).toThrow(/tls_server_config\.client_auth_type: not supported[\s\S]*tls_server_config\.client_ca_file: not supported/);
    expect(bad('d.yml', 'basic_auth_user:\n  x: y\n')).toThrow(/d\.yml[\s\S]*Unrecognized key.*basic_auth_user/);
    expect(() => loadWebConfigFile(join(dir, 'missing.yml'))).toThrow(/missing\.yml[\s\S]*cannot read web config file/);
  });

  test('a reload with a broken web config file is rejected; the running auth stays', async () => {
    const file = join(dir, 'web-reload.yml');
    writeFileSync(file, `basic_auth_users:\n  prometheus: ${hash}\n`);
    agent = await startInProcessAgent({ modules: [coreModule], webYaml: `web: {listen_address: "127.0.0.1:0", config_file: ${file}}` });
    writeFileSync(file, 'basic_auth_users:\n  prometheus: not-a-hash\n');
    await expect(agent.daemon.reload()).rejects.toThrow(/basic_auth_users\.prometheus: must be a bcrypt hash/);
    expect((await fetch(`${agent.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${agent.url}/metrics`, { headers: { authorization: basic('prometheus', 's3cret') } })).status).toBe(200);
  });
});
