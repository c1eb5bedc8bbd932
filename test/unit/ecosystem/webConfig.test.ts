// The exporter-toolkit web config (web.config_file, or `keepwatch run --web.config.file`): basic
// auth with bcrypt hashes, TLS with client certificates, response headers, on a real agent over
// real HTTPS on loopback; bad files are rejected with the file and key named, also on reload.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { loadWebConfigFile } from '../../../agent/http/webConfig';
import { coreModule } from '../../../agent/wiring/core';
import { startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';
import { freePort } from '../../helpers/freePort';
import { clientCertTestSet } from '../../helpers/testCerts';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** GET over HTTPS trusting only `ca`; resolves status, headers and body, rejects on TLS errors. */
function httpsGet(url: string, ca: string | undefined, headers: Record<string, string> = {}, client: { cert?: string; key?: string; maxVersion?: 'TLSv1.2' } = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers, rejectUnauthorized: true, ...client, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
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
    clientCertTestSet(dir);
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
    expect(bad('d.yml', 'basic_auth_user:\n  x: y\n')).toThrow(/d\.yml[\s\S]*\n  basic_auth_user: unknown key/);
    expect(bad('e.yml', 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_ca_fil: ca.pem\n')).toThrow(/e\.yml[\s\S]*tls_server_config\.client_ca_fil: unknown key/);
    expect(bad('f.yml', 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_ca_file: ca.pem\n')).toThrow(/tls_server_config\.client_ca_file: a client CA without a client_auth_type/);
    expect(bad('g.yml', 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  min_version: TLS14\n')).toThrow(/tls_server_config\.min_version: unknown TLS version/);
    expect(bad('h.yml', 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: RequireAnyClientCert\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n')).toThrow(/tls_server_config\.cipher_suites\.0: unknown cipher suite/);
    expect(bad('i.yml', 'http_server_config:\n  headers:\n    X-Frame-Options: allow\n    Server: x\n')).toThrow(/headers\.X-Frame-Options: must be one of deny, sameorigin[\s\S]*headers\.Server: this header cannot be configured/);
    expect(bad('j.yml', 'tls_server_config:\n  cert_file: cert.pem\n  key_file: ca.key\n')).toThrow(/j\.yml[\s\S]*tls_server_config: .*key values mismatch/);
    expect(bad('k.yml', 'tls_server_config:\n  cert_file: nothere.pem\n  key_file: key.pem\n')).toThrow(/tls_server_config\.cert_file: cannot read .*nothere\.pem: ENOENT/);
    expect(bad('l.yml', 'rate_limit: {interval: 1s, burst: 20}\n')).toThrow(/l\.yml[\s\S]*rate_limit: not supported by keepwatch/);
    expect(bad('m.yml', 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_allowed_sans: [ops.example]\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n')).toThrow(/client_allowed_sans: needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert/);
    // A bcrypt hash is a secret: never in the message.
    expect(bad('n.yml', `basic_auth_users: {a: "${hash}", a: "${hash}"}\n`)).toThrow(/n\.yml/);
    expect(() => loadWebConfigFile(join(dir, 'n.yml'))).not.toThrow(new RegExp(hash.slice(10, 30).replace(/[.$/]/g, '\\$&')));
    expect(() => loadWebConfigFile(join(dir, 'missing.yml'))).toThrow(/missing\.yml[\s\S]*cannot read web config file/);
  });

  test('--web.config.file: client certificates (RequireAndVerifyClientCert, client_allowed_sans), TLS versions, headers; it wins over web.config_file', async () => {
    const flagFile = join(dir, 'web-flag.yml');
    writeFileSync(
      flagFile,
      [
        'tls_server_config:',
        `  cert_file: ${join(dir, 'cert.pem')}`,
        `  key_file: ${join(dir, 'key.pem')}`,
        '  client_auth_type: RequireAndVerifyClientCert',
        '  client_ca_file: ca.pem',
        '  client_allowed_sans: [ops.example]',
        '  min_version: TLS13',
        '  curve_preferences: [X25519, CurveP256]',
        'http_server_config:',
        '  headers: {X-Frame-Options: deny, Strict-Transport-Security: max-age=31536000}',
        '',
      ].join('\n'),
    );
    // The config's own web config file asks for basic auth: the flag's file replaces it.
    const keyFile = join(dir, 'web-basic-key.yml');
    writeFileSync(keyFile, `basic_auth_users:\n  prometheus: ${hash}\n`);
    // A fixed port: the reload below changes the TLS settings, so the server listens anew.
    agent = await startInProcessAgent({ modules: [coreModule], webYaml: `web: {listen_address: "127.0.0.1:${await freePort()}", config_file: ${keyFile}}`, webConfigFile: flagFile });
    expect(agent.url).toMatch(/^https:/);
    const ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const as = (name: string) => ({ cert: readFileSync(join(dir, `${name}.pem`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') });
    const ok = await httpsGet(`${agent.url}/metrics`, ca, {}, as('ops'));
    expect(ok.status).toBe(200); // no basic auth: the flag's file has none
    expect(ok.body).toMatch(/^keepalived_up /m);
    expect(ok.headers['x-frame-options']).toBe('deny');
    expect(ok.headers['strict-transport-security']).toBe('max-age=31536000');
    await expect(httpsGet(`${agent.url}/healthz`, ca)).rejects.toThrow(); // no certificate
    await expect(httpsGet(`${agent.url}/healthz`, ca, {}, as('stranger'))).rejects.toThrow(); // not signed by the client CA
    await expect(httpsGet(`${agent.url}/healthz`, ca, {}, as('other'))).rejects.toThrow(); // signed, but its SAN is not allowed
    await expect(httpsGet(`${agent.url}/healthz`, ca, {}, { ...as('ops'), maxVersion: 'TLSv1.2' })).rejects.toThrow(); // min_version TLS13

    // SIGHUP re-reads the flag's file: basic auth added, client certificates optional.
    writeFileSync(flagFile, `tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\nbasic_auth_users:\n  scraper: ${hash}\n`);
    await agent.daemon.reload();
    expect((await httpsGet(`${agent.url}/metrics`, ca, { authorization: basic('scraper', 's3cret') })).status).toBe(200);
    expect((await httpsGet(`${agent.url}/metrics`, ca, { authorization: basic('prometheus', 's3cret') })).status).toBe(401);
    expect((await httpsGet(`${agent.url}/metrics`, ca, { authorization: basic('scraper', 's3cret') }, as('ops'))).status).toBe(200);
    await expect(httpsGet(`${agent.url}/healthz`, ca, {}, as('stranger'))).rejects.toThrow(); // given, so verified
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
