// Receiver secrets from *_file keys: the file's content, or systemd's LoadCredential= copy of it
// when $CREDENTIALS_DIRECTORY holds one; a problem names the key and file, never the secret.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../../agent/config/load';
import { slackReceiver, slackToken } from '../../../agent/alerting/receivers/slack';
import { systemClock } from '../../../agent/context';

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

test("Slack's token_file (read when the receiver is built) takes systemd's credential copy too; errors name the file read, never the token", () => {
  const file = path.join(dir, 'slack_token');
  fs.writeFileSync(file, 'xoxb-from-the-file\n');
  const creds = path.join(dir, 'creds');
  fs.mkdirSync(creds);
  fs.writeFileSync(path.join(creds, 'slack_token'), 'xoxb-from-systemd\n');
  const cfg = parseConfig(yaml(`{name: s, type: slack, token_file: ${file}, channel: "#ops"}`), 'x', {}).alerting.receivers[0];
  if (cfg.type !== 'slack') throw new Error('not a slack receiver');
  expect(slackToken(cfg, {})).toBe('xoxb-from-the-file');
  expect(slackToken(cfg, { CREDENTIALS_DIRECTORY: creds })).toBe('xoxb-from-systemd');
  // The original root-only (here: gone): the agent builds the receiver from the credential alone.
  fs.rmSync(file);
  expect(() => slackReceiver(cfg, { clock: systemClock, env: { CREDENTIALS_DIRECTORY: creds } })).not.toThrow();
  expect(() => slackReceiver(cfg, { clock: systemClock, env: {} })).toThrow(`s: cannot read token_file ${file}: ENOENT`);
  fs.writeFileSync(path.join(creds, 'slack_token'), '\n');
  expect(() => slackToken(cfg, { CREDENTIALS_DIRECTORY: creds })).toThrow(`s: token_file ${path.join(creds, 'slack_token')} is empty`);
});
