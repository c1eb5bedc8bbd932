// The status page in headless Chromium (Debian's, driven by playwright-core) against a real
// in-process agent fed with store events: it shows the MASTER, follows a failover without a reload
// (SSE), falls back to polling, escapes every piece of data, and is readable on a phone.
// Screenshots: test/out/status-page.png (desktop) and test/out/status-page-phone.png (390 px).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startInProcessAgent, healthyMasterEvents, peerState, setPeer, testAlert, type InProcessAgent } from '../../helpers/inProcessAgent';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(__dirname, '../../out');
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

if (!existsSync(CHROMIUM)) console.warn(`SKIPPED: ${CHROMIUM} not installed (apt-get install chromium; test/run-all.sh does): the status page is not tested in a browser`);
const d = existsSync(CHROMIUM) ? describe : describe.skip;

d('status page in Chromium', () => {
  let browser: Browser;
  let agent: InProcessAgent;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    agent = await startInProcessAgent();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  afterEach(async () => {
    await page?.close();
    await agent?.stop();
  });

  const member = (node: string, state: string) => `[data-vrid="51"] tr[data-node="${node}"][data-state="${state}"]`;

  test('shows the MASTER, then a failover and an alert live, without a reload; screenshots', async () => {
    const t0 = Date.now() - 5 * 60_000;
    for (const ev of healthyMasterEvents(t0)) agent.apply(ev);
    setPeer(agent, peerState('ka2', healthyMasterEvents(t0, { state: 'BACKUP' }).map((e) => (e.kind === 'instance' ? { ...e, priority: 100 } : e.kind === 'transition' ? { ...e, priority: 100 } : e))));
    await page.goto(agent.url);
    await page.waitForSelector(member('ka1', 'MASTER'), { timeout: 10_000 });
    await page.waitForSelector(member('ka2', 'BACKUP'), { timeout: 10_000 });
    expect(await page.textContent('#verdict')).toBe('Healthy');
    await page.waitForSelector('#conn.live', { timeout: 10_000 });
    expect(await page.textContent('[data-vrid="51"] .vips')).toContain('192.0.2.100 → ka1');
    expect(await page.textContent('#node')).toBe('node ka1');

    // Mark this document: a reload would lose the mark.
    await page.evaluate(() => ((globalThis as unknown as { kwMark: number }).kwMark = 42));
    const at = Date.now();
    agent.apply({ kind: 'transition', at, source: 'dbus', iname: 'VI_1', state: 'BACKUP', cause: 'received advert with higher priority 200 from 192.0.2.12' });
    agent.apply({ kind: 'vip', at, source: 'vip_probe', vips: [{ iname: 'VI_1', vip: '192.0.2.100', intf: null }] });
    agent.daemon.hubs.alerts.publish(testAlert('Failover', 'warning', { vrid: '51', iname: 'VI_1' }, at));
    await page.waitForSelector(member('ka1', 'BACKUP'), { timeout: 5_000 });
    await page.waitForSelector('#alerts [data-alertname="Failover"]', { timeout: 5_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { kwMark?: number }).kwMark)).toBe(42);
    const timeline = await page.textContent('#timeline');
    expect(timeline).toContain('VI_1 MASTER → BACKUP');
    expect(timeline).toContain('received advert with higher priority 200 from 192.0.2.12');
    expect(timeline).toContain('Failover firing');
    expect(await page.textContent('[data-vrid="51"]')).toContain('NO MASTER');

    // Back to MASTER for the screenshot of a healthy-looking node with history.
    agent.apply({ kind: 'transition', at: Date.now(), source: 'fifo', iname: 'VI_1', state: 'MASTER', cause: 'preemption: priority 150 over 100' });
    agent.apply({ kind: 'vip', at: Date.now(), source: 'vip_probe', vips: [{ iname: 'VI_1', vip: '192.0.2.100', intf: 'eth0' }] });
    await page.waitForSelector(member('ka1', 'MASTER'), { timeout: 5_000 });
    await page.screenshot({ path: join(OUT, 'status-page.png'), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    // Nothing wider than the phone's screen: no sideways scrolling.
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(OUT, 'status-page-phone.png'), fullPage: true });
  }, 60_000);

  test('a split brain seen through a peer turns the page critical; an unreachable peer shows', async () => {
    const t0 = Date.now() - 60_000;
    for (const ev of healthyMasterEvents(t0)) agent.apply(ev);
    setPeer(agent, peerState('ka2', healthyMasterEvents(t0, { state: 'BACKUP' })));
    await page.goto(agent.url);
    await page.waitForSelector(member('ka2', 'BACKUP'), { timeout: 10_000 });
    setPeer(agent, peerState('ka2', healthyMasterEvents(t0)));
    await page.waitForSelector(member('ka2', 'MASTER'), { timeout: 5_000 });
    expect(await page.textContent('[data-vrid="51"] .card-head')).toContain('SPLIT BRAIN');
    expect(await page.textContent('#verdict')).toBe('Critical');
    // Said by the rules' SplitBrain alert when it has fired, else by the page's own check.
    expect(await page.textContent('#reasons')).toMatch(/split brain.*VRID 51.*ka1.*ka2/i);
    await page.screenshot({ path: join(OUT, 'status-page-split-brain.png'), fullPage: true });
    setPeer(agent, peerState('ka2', healthyMasterEvents(t0, { state: 'BACKUP' })), false);
    await page.waitForSelector('.node-card[data-node="ka2"].alarm', { timeout: 5_000 });
    expect(await page.textContent('.node-card[data-node="ka2"]')).toContain('peer unreachable');
  }, 30_000);

  test('every piece of data is shown as text, never as HTML', async () => {
    const evil = '<img src=x onerror="window.kwXss=1">';
    const t = Date.now();
    agent.apply({ kind: 'keepalived', at: t, source: 'dbus', up: true });
    agent.apply({ kind: 'instance', at: t, source: 'dbus', key: { iname: evil, intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100'], state: 'MASTER' });
    agent.daemon.hubs.alerts.publish({ ...testAlert('SplitBrain', 'critical', { vrid: '51' }), annotations: { summary: `<script>window.kwXss=2</script>${evil}`, description: evil } });
    await page.goto(agent.url);
    await page.waitForSelector('#alerts [data-alertname="SplitBrain"]', { timeout: 10_000 });
    expect(await page.textContent('#alerts .summary')).toBe(`<script>window.kwXss=2</script>${evil}`);
    expect(await page.textContent('[data-vrid="51"] .sub')).toBe(evil);
    expect(await page.$$('main img, main script')).toHaveLength(0);
    expect(await page.evaluate(() => (globalThis as unknown as { kwXss?: number }).kwXss)).toBeUndefined();
  }, 30_000);

  test('without EventSource, it polls /api/v1/status and still follows changes', async () => {
    for (const ev of healthyMasterEvents(Date.now())) agent.apply(ev);
    await page.addInitScript(() => {
      delete (globalThis as unknown as { EventSource?: unknown }).EventSource;
    });
    await page.goto(agent.url);
    await page.waitForSelector(member('ka1', 'MASTER'), { timeout: 10_000 });
    expect(await page.textContent('#conn')).toBe('polling');
    agent.apply({ kind: 'transition', at: Date.now(), source: 'dbus', iname: 'VI_1', state: 'FAULT', cause: 'track script chk_nginx failed' });
    await page.waitForSelector(member('ka1', 'FAULT'), { timeout: 10_000 });
  }, 30_000);

  test('the page loads nothing from anywhere but the agent', async () => {
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    for (const ev of healthyMasterEvents(Date.now())) agent.apply(ev);
    await page.goto(agent.url);
    await page.waitForSelector(member('ka1', 'MASTER'), { timeout: 10_000 });
    expect(urls.length).toBeGreaterThanOrEqual(3);
    for (const u of urls) expect(u.startsWith(agent.url)).toBe(true);
  }, 30_000);
});
