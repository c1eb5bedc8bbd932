// Issue 15, High 4 and Low: one token opened everything, tokens could be one character long, and
// secrets could be put where every local user reads them (URLs with user:password@).
import { configSchema } from '../../../agent/config/schema';
import { runCli } from '../../helpers/runCli';

function problems(cfg: Record<string, unknown>): string[] {
  const r = configSchema.safeParse({ node: 'ka1', ...cfg });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('token and URL secrets in the config', () => {
  test('api_token and peer_token need at least 16 characters, the error names the key', () => {
    expect(problems({ alerting: { api_token: 'x' } })).toEqual([expect.stringMatching(/^alerting\.api_token: must be at least 16 characters/)]);
    expect(problems({ peer_token: 'short' })).toEqual([expect.stringMatching(/^peer_token: must be at least 16 characters/)]);
    expect(problems({ alerting: { api_token: 'api-token-0123456789' }, peer_token: 'peer-token-0123456789' })).toEqual([]);
  });

  test('api_token may not be a peer token', () => {
    const same = 'same-token-0123456789';
    expect(problems({ alerting: { api_token: same }, peer_token: same })).toEqual([expect.stringMatching(/^alerting\.api_token: must differ from peer_token/)]);
    expect(problems({ alerting: { api_token: same }, peers: [{ name: 'ka2', url: 'https://192.0.2.12:9723', token: same }] })).toEqual([expect.stringMatching(/^alerting\.api_token: must differ/)]);
  });

  test.each([
    ['nginx.status_url', { nginx: { status_url: 'http://admin:hunter2@127.0.0.1/nginx_status' } }],
    ['peers.0.url', { peers: [{ name: 'ka2', url: 'https://ka:hunter2@192.0.2.12:9723' }] }],
    ['alerting.external_url', { alerting: { external_url: 'https://u:p@status.example.com/' } }],
  ])('user:password@ in %s is refused, pointing at password_file', (key, cfg) => {
    expect(problems(cfg)).toEqual([expect.stringMatching(new RegExp(`^${key.replace(/\./g, '\\.')}: credentials .*password_file`))]);
  });
});

test('keepwatch status refuses credentials on its command line', async () => {
  const r = await runCli('status', '--agent.url', 'http://admin:hunter2@127.0.0.1:1');
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/KEEPWATCH_AGENT_URL/);
});
