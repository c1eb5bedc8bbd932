// The status page in headless Chromium (Debian's, driven by playwright-core) against a real
// in-process agent fed with store events: it shows the MASTER, follows a failover without a reload
// (SSE), falls back to polling, escapes every piece of data, and is readable on a phone.
// Screenshots: test/out/status-page.png (desktop) and test/out/status-page-phone.png (390 px);
// the incidents panel: test/out/status-page-incidents.png and status-page-incidents-phone.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { describeNeeding, needs } from '../../helpers/needs';
import { startInProcessAgent, healthyMasterEvents, peerState, setPeer, testAlert, type InProcessAgent } from '../../helpers/inProcessAgent';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(__dirname, '../../out');
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];


describeNeeding([needs.file(CHROMIUM, 'apt-get install chromium; test/run-all.sh does as root')], 'status page in Chromium', () => {
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

  // GET /api/v1/incidents as the alerting module serves it ({open, recent}, IncidentJson), stubbed
  // here so the panel is tested on its own; the evil strings must come out as text.
  const evil = '<img src=x onerror="window.kwXss=3">';
  const incidentsFixture = (resolved: boolean) => {
    const t0 = Date.now() - 64_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const ka = { id: 'inc-0a1b2c3d4e5f', status: resolved ? 'resolved' : 'open', past: false, openedAt: iso(t0), resolvedAt: resolved ? iso(t0 + 64_000) : null, cause: `keepalived is not running on ka1 ${evil}`, causeAlert: 'KeepalivedDown',
      alerts: [
        { alertname: 'KeepalivedDown', status: resolved ? 'resolved' : 'firing', severity: 'critical', summary: 'keepalived is not running on ka1', fingerprint: 'f1' },
        { alertname: 'Failover', status: resolved ? 'resolved' : 'firing', severity: 'warning', summary: 'Failover of VRID 51 from ka1 to ka2', fingerprint: 'f2' },
      ],
      steps: [
        { at: iso(t0), alertname: 'KeepalivedDown', status: 'firing', summary: 'keepalived is not running on ka1' },
        { at: iso(t0 + 650), alertname: 'Failover', status: 'firing', summary: `Failover of VRID 51 from ka1 to ka2 ${evil}` },
        ...(resolved ? [{ at: iso(t0 + 64_000), alertname: 'KeepalivedDown', status: 'resolved', summary: 'keepalived is not running on ka1' }] : []),
      ] };
    const past = { id: 'inc-99887766aabb', status: 'resolved', past: true, openedAt: iso(t0 - 3_600_000), resolvedAt: iso(t0 - 3_600_000 + 8_400), cause: 'Split brain on VRID 51 lasted 8.4 s: ka1 and ka2 were both MASTER', causeAlert: 'SplitBrain',
      alerts: [{ alertname: 'SplitBrain', status: 'resolved', severity: 'critical', summary: 'Split brain on VRID 51', fingerprint: 'f3' }],
      steps: [{ at: iso(t0 - 3_600_000), alertname: 'SplitBrain', status: 'firing', summary: 'Split brain on VRID 51' }] };
    return resolved ? { open: [], recent: [ka, past] } : { open: [ka], recent: [past] };
  };

  test('the incidents panel: open first, then recent, each with its cause, alerts and timeline; follows a change; text only; fits a phone', async () => {
    let resolved = false;
    await page.route('**/api/v1/incidents', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(incidentsFixture(resolved)) }));
    for (const ev of healthyMasterEvents(Date.now() - 60_000)) agent.apply(ev);
    await page.goto(agent.url);
    const open = '#incidents [data-incident="inc-0a1b2c3d4e5f"][data-status="open"]';
    await page.waitForSelector(open, { timeout: 10_000 });
    expect(await page.isVisible('#incidents-section')).toBe(true);
    expect(await page.textContent('#incident-count')).toBe('1');
    expect(await page.getAttribute('#incident-count', 'class')).toContain('bad');
    expect(await page.textContent(`${open} .incident-cause`)).toBe(`keepalived is not running on ka1 ${evil}`);
    expect(await page.textContent(`${open} .pill`)).toBe('OPEN');
    expect(await page.textContent(`${open} .incident-when`)).toMatch(/open for \d+m \d+s/);
    expect(await page.$$eval(`${open} .incident-alerts li`, (els) => els.map((e) => e.getAttribute('data-alertname')))).toEqual(['KeepalivedDown', 'Failover']);
    // An open incident's timeline is unfolded: each step with its time and offset.
    expect(await page.isVisible(`${open} .steps`)).toBe(true);
    const steps = await page.$$eval(`${open} .steps li`, (els) => els.map((e) => e.textContent));
    expect(steps[1]).toMatch(/^\d\d:\d\d:\d\d \+650 msFailoverfiredFailover of VRID 51 from ka1 to ka2 <img/);
    const past = '#incidents [data-incident="inc-99887766aabb"]';
    expect(await page.textContent(`${past} .pill`)).toBe('PAST');
    expect(await page.textContent(`${past} .incident-when`)).toContain('lasted 8.4 s');
    expect(await page.$$('main img, main script')).toHaveLength(0);
    expect(await page.evaluate(() => (globalThis as unknown as { kwXss?: number }).kwXss)).toBeUndefined();
    await page.screenshot({ path: join(OUT, 'status-page-incidents.png'), fullPage: true });

    // It resolves: the next snapshot (an alert changed) brings the panel up to date, no reload.
    resolved = true;
    agent.daemon.hubs.alerts.publish(testAlert('Failover', 'warning', { vrid: '51', iname: 'VI_1' }, Date.now()));
    const closed = '#incidents [data-incident="inc-0a1b2c3d4e5f"][data-status="resolved"]';
    // Within the coalescing and the 1 s fetch gap, not the 10 s poll.
    await page.waitForSelector(closed, { timeout: 5_000 });
    expect(await page.textContent('#incident-count')).toBe('0');
    expect(await page.textContent(`${closed} .pill`)).toBe('RESOLVED');
    expect(await page.textContent(`${closed} .incident-when`)).toContain('lasted 1m 4s');
    expect(await page.$$(`#incidents h3`)).toHaveLength(1);

    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(OUT, 'status-page-incidents-phone.png'), fullPage: true });
  }, 30_000);

  test('an agent without GET /api/v1/incidents (404): the panel stays hidden, the rest of the page works', async () => {
    const asked: string[] = [];
    await page.route('**/api/v1/incidents', (route) => {
      asked.push(route.request().url());
      return route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"not found"}' });
    });
    for (const ev of healthyMasterEvents(Date.now())) agent.apply(ev);
    await page.goto(agent.url);
    await page.waitForSelector(member('ka1', 'MASTER'), { timeout: 10_000 });
    await page.waitForFunction(() => (globalThis as unknown as { document: { readyState: string } }).document.readyState === 'complete');
    expect(asked.length).toBeGreaterThanOrEqual(1);
    expect(await page.isVisible('#incidents-section')).toBe(false);
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
