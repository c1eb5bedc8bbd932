// The pair's silences and its agents' watch on each other, on the real lab (issue 16): a silence
// added through ka1's API is listed by `keepwatch silence list` on ka2 within a second and after
// ka2's agent restarts, its expiry on ka2 reaches ka1; with ka1's agent stopped while ka1's
// keepalived keeps advertising, ka2's agent pages PeerAgentDown with what it observed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, type Lab } from '../lab/lab';
import { describeLab } from '../helpers/needs';
import { startPeered, waitUntil, type LabAgent } from '../lab/agents';
import { runCli } from '../helpers/runCli';


jest.setTimeout(120_000);

const API_TOKEN = 'lab-api-token-0123456789abcdef';

interface SilenceJson {
  id: string;
  comment: string;
  status: { state: string };
}

async function api<T>(agent: LabAgent, method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`${agent.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  if (!r.ok) throw new Error(`${method} ${path} on ${agent.node.name}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

const silences = (agent: LabAgent) => api<SilenceJson[]>(agent, 'GET', '/api/v1/silences');

async function cliList(agent: LabAgent): Promise<string> {
  // The CLI takes the token from a file (never from its command line, which every local user reads).
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'kw-token-')), 'api-token');
  writeFileSync(tokenFile, `${API_TOKEN}\n`, { mode: 0o600 });
  const r = await runCli('silence', 'list', '--all', '--agent.url', agent.url, '--api.token-file', tokenFile);
  if (r.code !== 0) throw new Error(`silence list on ${agent.node.name}: ${r.err}`);
  return r.out;
}

describeLab('the pair\'s silences and PeerAgentDown on the lab', () => {
  let lab: Lab;
  let agents: LabAgent[];

  beforeAll(async () => {
    lab = await startLab({ id: 'peersil' });
    agents = await startPeered(lab, { config: () => ({ alerting: { api_token: API_TOKEN }, rules: { peer_agent_dead_after: '5s' } }) });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test('a silence added through ka1 is listed on ka2 within 1 s, still after ka2\'s agent restarts; expired on ka2, expired on ka1', async () => {
    const [a1, a2] = agents;
    const addedAt = Date.now();
    const { silenceID } = await api<{ silenceID: string }>(a1, 'POST', '/api/v1/silences', { matchers: ['alertname="Failover"', 'vrid="51"'], duration: '2h', createdBy: 'e2e', comment: 'planned switchover' });
    const seenAt = await waitUntil(async () => (await silences(a2)).some((s) => s.id === silenceID && s.status.state === 'active'), 1000, 20, 'ka1\'s silence listed on ka2');
    console.log(`silence added on ka1 listed on ka2 after ${seenAt - addedAt} ms`);
    const [l1, l2] = [await cliList(a1), await cliList(a2)];
    expect(l2).toContain(silenceID);
    expect(l2).toBe(l1);

    await a2.restart();
    expect((await silences(a2)).map((s) => [s.id, s.status.state])).toEqual([[silenceID, 'active']]);

    const expiredAt = Date.now();
    await api(a2, 'DELETE', `/api/v1/silences/${silenceID}`);
    const doneAt = await waitUntil(async () => (await silences(a1)).find((s) => s.id === silenceID)?.status.state === 'expired', 5000, 20, 'ka2\'s expiry on ka1');
    console.log(`silence expired on ka2 expired on ka1 after ${doneAt - expiredAt} ms`);
    expect(await cliList(a1)).toBe(await cliList(a2));
  });

  test('ka1\'s agent stopped, its keepalived still MASTER: ka2 pages PeerAgentDown saying what it observed', async () => {
    const [a1, a2] = agents;
    await a1.stop();
    try {
      const alerts = await waitUntil(
        async () => (await api<Array<{ labels: Record<string, string>; annotations: Record<string, string> }>>(a2, 'GET', '/api/v1/alerts')).filter((a) => a.labels.alertname === 'PeerAgentDown').length > 0,
        30_000,
        200,
        'PeerAgentDown on ka2',
      );
      expect(alerts).toBeGreaterThan(0);
      const [alert] = (await api<Array<{ labels: Record<string, string>; annotations: Record<string, string> }>>(a2, 'GET', '/api/v1/alerts')).filter((a) => a.labels.alertname === 'PeerAgentDown');
      expect(alert.labels).toMatchObject({ node: 'ka1', severity: 'critical' });
      expect(alert.annotations.observed).toMatch(/^keepalived on ka2 is BACKUP for VRID 51 since .*; ka1 was MASTER when last heard from/);
    } finally {
      await a1.restart();
    }
    await waitUntil(async () => !(await api<Array<{ labels: Record<string, string> }>>(a2, 'GET', '/api/v1/alerts')).some((a) => a.labels.alertname === 'PeerAgentDown'), 15_000, 200, 'PeerAgentDown resolved');
  });
});
