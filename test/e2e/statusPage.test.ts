// The status page and `keepwatch status` on the real lab: two keepalived nodes with their agents
// (bin/keepwatch from dist/, peers of each other). The page opened on ka2's agent shows ka1 MASTER;
// killing ka1's keepalived makes the open page show ka2 MASTER without a reload; the CLI's exit
// code follows. Screenshot: test/out/status-page-lab.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startLab, type Lab } from '../lab/lab';
import { startAgents, type LabAgent } from '../lab/agents';
import { runStatus } from '../../agent/cli/status';
import { describeLab, needs } from '../helpers/needs';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

jest.setTimeout(120_000);

describeLab('status page on the lab', () => {
  let lab: Lab;
  let agents: LabAgent[];
  let browser: Browser;

  beforeAll(async () => {
    lab = await startLab({ id: `sp${process.pid % 100000}`, fifo: true });
    agents = await startAgents(lab);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  });

  test('the open page follows a real failover without reload; keepwatch status exit codes follow', async () => {
    const [ka1, ka2] = lab.nodes;
    const a2 = agents[1];
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const row = (node: string, state: string) => `[data-vrid="51"] tr[data-node="${node}"][data-state="${state}"]`;
    await page.goto(a2.url);
    // ka1's state reaches ka2's page through the peer stream.
    await page.waitForSelector(row('ka1', 'MASTER'), { timeout: 20_000 });
    await page.waitForSelector(row('ka2', 'BACKUP'), { timeout: 20_000 });
    await page.waitForSelector('#conn.live', { timeout: 10_000 });
    const out: string[] = [];
    expect(await runStatus({ url: a2.url }, { write: (s) => void out.push(s), tty: false })).toBe(0);
    expect(out.join('')).toMatch(/^ka1\s+51\s+VI_1\s+MASTER/m);

    await page.evaluate(() => ((globalThis as unknown as { kwMark: number }).kwMark = 7));
    await lab.killKeepalived(ka1, 'SIGKILL');
    await lab.waitForState(ka2, 'MASTER', 15_000);
    await page.waitForSelector(row('ka2', 'MASTER'), { timeout: 10_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { kwMark?: number }).kwMark)).toBe(7);
    expect(await page.textContent('#timeline')).toMatch(/ka2\s*VI_1 BACKUP → MASTER/);
    // ka1's keepalived is down: redundancy is lost, not critical (ka2 serves).
    await page.waitForSelector('#verdict.degraded, #verdict.critical', { timeout: 10_000 });
    // The incidents panel: an open incident about ka1, where the agent serves GET /api/v1/incidents;
    // an agent without that route keeps the panel hidden.
    const incidentsStatus = (await fetch(new URL('api/v1/incidents', a2.url))).status;
    if (incidentsStatus === 200) {
      await page.waitForSelector('#incidents [data-status="open"]', { timeout: 15_000 });
      expect(await page.textContent('#incidents [data-status="open"] .incident-cause')).toMatch(/ka1/);
    } else {
      expect(incidentsStatus).toBe(404);
      expect(await page.isVisible('#incidents-section')).toBe(false);
    }
    mkdirSync(join(__dirname, '../out'), { recursive: true });
    await page.screenshot({ path: join(__dirname, '../out/status-page-lab.png'), fullPage: true });
    const code = await runStatus({ url: a2.url }, { write: () => undefined, tty: false });
    expect(code).toBeGreaterThanOrEqual(1);

    await lab.startKeepalived(ka1);
    await lab.waitForState(ka1, 'MASTER', 20_000);
    await page.waitForSelector(row('ka1', 'MASTER'), { timeout: 10_000 });
    await page.close();
  });
}, [needs.file(CHROMIUM, 'apt-get install chromium')]);
