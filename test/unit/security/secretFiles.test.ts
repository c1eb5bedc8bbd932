// Receiver secrets from *_file keys: the file's content, or systemd's LoadCredential= copy of it
// when $CREDENTIALS_DIRECTORY holds one; a problem names the key and file, never the secret.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../../agent/config/load';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-secret-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const yaml = (receiver: string) => `node: ka1\nalerting:\n  receivers:\n    - ${receiver}\n`;

test('the file, or the credential systemd handed over under the same base name', () => {
  const file = path.join(dir, 'hmac_secret');
  fs.writeFileSync(file, 'from-the-file\n');
  const r = `{name: w, type: webhook, url: "http://127.0.0.1:9093/", hmac_secret_file: ${file}}`;
  const a = parseConfig(yaml(r), 'x', {}).alerting.receivers[0];
  expect(a.type === 'webhook' && a.hmac_secret).toBe('from-the-file');
  const creds = path.join(dir, 'creds');
  fs.mkdirSync(creds);
  fs.writeFileSync(path.join(creds, 'hmac_secret'), 'from-systemd\n');
  const b = parseConfig(yaml(r), 'x', { CREDENTIALS_DIRECTORY: creds }).alerting.receivers[0];
  expect(b.type === 'webhook' && b.hmac_secret).toBe('from-systemd');
});

test('both set, unreadable or empty: a problem at the key, without the secret', () => {
  const file = path.join(dir, 'pw');
  fs.writeFileSync(file, 'hunter2-secret\n');
  expect(() => parseConfig(yaml(`{name: m, type: email, to: [a@b.c], from: k@b.c, smarthost: "h:25", auth_password: x, auth_password_file: ${file}}`), 'x', {})).toThrow(
    /alerting\.receivers\.0\.auth_password_file: set auth_password or auth_password_file, not both/,
  );
  let msg = '';
  try {
    parseConfig(yaml(`{name: w, type: webhook, url: "http://127.0.0.1/", hmac_secret_file: ${path.join(dir, 'missing')}}`), 'x', {});
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg).toMatch(/alerting\.receivers\.0\.hmac_secret_file: cannot read .*missing: ENOENT/);
  fs.writeFileSync(file, '');
  expect(() => parseConfig(yaml(`{name: w, type: webhook, url_file: ${file}}`), 'x', {})).toThrow(/url_file: .* is empty/);
});
