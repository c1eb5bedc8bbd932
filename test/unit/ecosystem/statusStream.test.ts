// GET /api/v1/events: one snapshot on connect, then one per change, coalesced (a burst of store
// events gives one or two snapshots, not hundreds), nothing when nothing visible changed, pings,
// and a bound on open streams. Also the static routes: only the page's own files, with a CSP.
import { coreModule } from '../../../agent/wiring/core';
import { pageModuleFactory } from '../../../agent/wiring/page';
import { healthyMasterEvents, startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';
import type { StatusSnapshot } from '../../../agent/status/snapshot';
import { sleep, waitFor } from '../../helpers/wait';

interface Sse {
  events: Array<{ event: string; data: string }>;
  close(): void;
  status: number;
}

async function openStream(url: string): Promise<Sse> {
  const ac = new AbortController();
  const res = await fetch(`${url}/api/v1/events`, { signal: ac.signal });
  const s: Sse = { events: [], close: () => ac.abort(), status: res.status };
  if (res.status !== 200 || !res.body) return s;
  void (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event) s.events.push({ event, data: data ?? '' });
        }
      }
    } catch {
      // aborted
    }
  })();
  return s;
}

const snapshots = (s: Sse) => s.events.filter((e) => e.event === 'snapshot').map((e) => JSON.parse(e.data) as StatusSnapshot);

describe('status stream (/api/v1/events)', () => {
  let agent: InProcessAgent;
  const streams: Sse[] = [];
  beforeEach(async () => {
    agent = await startInProcessAgent({ modules: [coreModule, pageModuleFactory({ coalesceMs: 100, heartbeatMs: 300, tickMs: 60_000, maxClients: 3 })] });
    for (const ev of healthyMasterEvents(Date.now())) agent.apply(ev);
  });
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await agent.stop();
  });

  test('a snapshot on connect; a burst of 400 events gives at most 3 snapshots, the last one current', async () => {
    const s = await openStream(agent.url);
    streams.push(s);
    await waitFor(() => snapshots(s).length === 1);
    expect(snapshots(s)[0].vrids[0].masters).toEqual(['ka1']);
    for (let i = 0; i < 400; i++) {
      agent.apply({ kind: 'transition', at: Date.now(), source: 'dbus', iname: 'VI_1', state: i % 2 ? 'MASTER' : 'BACKUP' });
    }
    agent.apply({ kind: 'transition', at: Date.now(), source: 'dbus', iname: 'VI_1', state: 'FAULT', cause: 'end of burst' });
    await waitFor(() => snapshots(s).at(-1)?.vrids[0].members[0].state === 'FAULT');
    await sleep(300);
    expect(snapshots(s).length).toBeLessThanOrEqual(1 + 3);
    expect(snapshots(s).at(-1)!.timeline[0]).toMatchObject({ kind: 'transition', text: 'VI_1 MASTER → FAULT', cause: 'end of burst' });
  });

  test('nothing visible changed: no new snapshot (pings only)', async () => {
    const s = await openStream(agent.url);
    streams.push(s);
    await waitFor(() => snapshots(s).length === 1);
    for (let i = 0; i < 20; i++) agent.apply({ kind: 'probe_run', at: Date.now(), source: 'nginx_probe', probe: 'nginx_status', ok: true, durationMs: 1 });
    await sleep(700);
    expect(snapshots(s)).toHaveLength(1);
    expect(s.events.filter((e) => e.event === 'ping').length).toBeGreaterThanOrEqual(1);
  });

  test('open streams are bounded: the one too many gets 503', async () => {
    for (let i = 0; i < 3; i++) streams.push(await openStream(agent.url));
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
    const extra = await openStream(agent.url);
    streams.push(extra);
    expect(extra.status).toBe(503);
    // A closed stream frees its place.
    streams[0].close();
    await sleep(100);
    const again = await openStream(agent.url);
    streams.push(again);
    expect(again.status).toBe(200);
  });

  test('static files: the page, its script and style with a CSP; nothing else', async () => {
    const page = await fetch(`${agent.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const html = await page.text();
    expect(html).toContain('<script src="static/app.js" defer></script>');
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(`${agent.url}/static/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${agent.url}/static/style.css`)).status).toBe(200);
    for (const p of ['/static/../../package.json', '/static/%2e%2e/%2e%2e/package.json', '/static/index.ts', '/static/']) {
      expect({ p, status: (await fetch(`${agent.url}${p}`)).status }).toEqual({ p, status: 404 });
    }
    const js = await (await fetch(`${agent.url}/static/app.js`)).text();
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
