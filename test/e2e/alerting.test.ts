// Paging end to end, no root needed: Debian's prometheus-alertmanager receiving our pushes (and
// the resolve); an agent killed with -9 while notifications are pending, restarted, everything
// delivered and nothing accepted twice by a receiver that dedups; a receiver down for a while
// then up, getting everything in creation order while another receiver was never held up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../agent/daemon';
import { silentLogger } from '../../agent/logger';
import { coreModule } from '../../agent/wiring/core';
import { alertingModule } from '../../agent/wiring/alerting';
import { fingerprint, type Alert } from '../../agent/alerting/alert';
import { startWebhook, waitFor, type WebhookServer } from '../unit/alerting/servers';
import { describeNeeding, needs } from '../helpers/needs';
import { sleep } from '../helpers/wait';
import { freePort } from '../helpers/freePort';

jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..');
const AM_BIN = '/usr/bin/prometheus-alertmanager';

function alert(labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing', startsAt = Date.now()): Alert {
  return { fingerprint: fingerprint(labels), labels, annotations: { summary: `${labels.alertname} ${labels.vrid ?? ''}`, description: 'e2e' }, status, startsAt, ...(status === 'resolved' ? { endsAt: Date.now() } : {}) };
}

/** route: '' for the default; the durability tests count one notification per alert (Alertmanager's grouping by alertname and vrid). */
function agentConfig(dir: string, receivers: string, retry = '{initial: 100ms, max: 300ms}', route = ''): string {
  const file = join(dir, 'keepwatch.yml');
  writeFileSync(
    file,
    `node: ka1
web: {listen_address: "127.0.0.1:0"}
alerting:
  external_labels: {cluster: e2e}
  silences_file: ${dir}/silences.json
  outbox: {path: ${dir}/outbox}
  retry: ${retry}
${route ? `  route: ${route}\n` : ''}  receivers:
${receivers}
`,
  );
  return file;
}

describeNeeding([needs.file(AM_BIN, 'apt-get install prometheus-alertmanager')], 'Alertmanager receiver against a real prometheus-alertmanager', () => {
  let am: ChildProcess;
  let amUrl: string;
  let dir: string;
  let amLog = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-am-'));
    const port = await freePort();
    writeFileSync(join(dir, 'am.yml'), 'route: {receiver: blackhole}\nreceivers: [{name: blackhole}]\n');
    am = spawn(AM_BIN, [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'am-data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    am.stderr!.on('data', (d: Buffer) => (amLog = (amLog + d.toString()).slice(-4000)));
    amUrl = `http://127.0.0.1:${port}`;
    const end = Date.now() + 20_000;
    for (;;) {
      try {
        if ((await fetch(`${amUrl}/-/ready`)).ok) break;
      } catch {
        /* not up yet */
      }
      if (Date.now() > end || am.exitCode !== null) throw new Error(`alertmanager did not start: ${amLog}`);
      await sleep(100);
    }
  });
  afterAll(async () => {
    am?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  type AmAlert = { labels: Record<string, string>; endsAt: string; startsAt: string; status: { state: string } };
  // The agent's Watchdog is always there (test/e2e/fleetAlertmanager.test.ts checks it): left out here.
  const amAlerts = async () => ((await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as AmAlert[]).filter((a) => a.labels.alertname !== 'Watchdog');

  test('firing alerts show up in /api/v2/alerts, are re-sent before they expire, and the resolve removes them', async () => {
    const cfg = agentConfig(dir, `    - {name: am, type: alertmanager, url: "${amUrl}", resend_interval: 1s}`);
    const daemon = new Daemon({ configFile: cfg, log: silentLogger(), modules: [coreModule, alertingModule] });
    await daemon.start();
    try {
      const sbl = { alertname: 'SplitBrain', vrid: '51', severity: 'critical', node: 'ka1' };
      const vml = { alertname: 'VipMismatch', vrid: '51', severity: 'warning', node: 'ka1' };
      const sb = alert(sbl);
      daemon.hubs.alerts.publish(sb);
      daemon.hubs.alerts.publish(alert(vml));
      let list: Awaited<ReturnType<typeof amAlerts>> = [];
      async function poll(cond: () => boolean, what: string) {
        const end = Date.now() + 15_000;
        for (;;) {
          list = await amAlerts();
          if (cond()) return;
          if (Date.now() > end) throw new Error(`timed out: ${what}: ${JSON.stringify(list)}`);
          await sleep(100);
        }
      }
      await poll(() => list.length === 2, 'both alerts');
      expect(list.map((a) => a.labels.alertname).sort()).toEqual(['SplitBrain', 'VipMismatch']); // not inhibited here: Alertmanager does its own
      expect(list.every((a) => a.status.state === 'active')).toBe(true);
      // Per-alert semantics, plus the incident they belong to (one incident: the same id).
      expect(new Set(list.map((a) => a.labels.incident)).size).toBe(1);
      expect(list[0].labels.incident).toMatch(/^inc-[0-9a-f]{12}$/);
      const firstEnds = Date.parse(list.find((a) => a.labels.alertname === 'SplitBrain')!.endsAt);
      expect(firstEnds).toBeGreaterThan(Date.now() + 1000); // ~4 resend intervals ahead
      // re-sent every second: endsAt moves forward
      await poll(() => Date.parse(list.find((a) => a.labels.alertname === 'SplitBrain')?.endsAt ?? '0') > firstEnds + 1500, 'endsAt pushed forward by resends');
      // The resolve of that alert (same start, as the engine's): the same labels, incident included.
      daemon.hubs.alerts.publish(alert(sbl, 'resolved', sb.startsAt));
      await poll(() => list.length === 1, 'resolved alert gone from /api/v2/alerts');
      expect(list[0].labels.alertname).toBe('VipMismatch');
      const metrics = await daemon.scrape();
      expect(metrics.body).toMatch(/^keepwatch_notifications_sent_total\{receiver="am"\} ([3-9]|\d\d+)$/m);
    } finally {
      await daemon.stop();
    }
  });
});

describe('durability', () => {
  let hook: WebhookServer;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    hook = await startWebhook();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await hook.close();
  });

  function startChild(cfg: string, firing: number): Promise<{ child: ChildProcess; port: number }> {
    // node itself with tsx's require hook (not the tsx wrapper), so kill -9 hits the agent's own pid
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(__dirname, 'alertingChild.ts'), cfg, String(firing)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`child did not start in 30 s: ${err}`)), 30_000);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /\{"port":(\d+)\}/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve({ child, port: Number(m[1]) });
        }
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`child exited ${code}: ${err}`));
      });
    });
  }

  async function kill9(child: ChildProcess): Promise<void> {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  const journalAdds = (dir: string) => {
    try {
      return readFileSync(join(dir, 'outbox', 'journal'), 'utf8').split('"t":"add"').length - 1;
    } catch {
      return 0;
    }
  };

  test('kill -9 with notifications pending and one in flight: after the restart every one is delivered, none accepted twice', async () => {
    const N = 40;
    const dir = mkdtempSync(join(tmpdir(), 'kw-dur-'));
    const cfg = agentConfig(dir, `    - {name: hook, type: webhook, url: "${hook.url}", timeout: 2s}`, undefined, '{receiver: hook, group_by: [alertname, vrid]}');
    // 1. Receiver down (connection refused): 20 notifications pending on disk, then kill -9.
    await hook.down();
    const a = await startChild(cfg, N / 2);
    await waitFor(() => journalAdds(dir) >= N / 2, { timeoutMs: 10_000, what: 'the first 20 in the journal' });
    await kill9(a.child);
    // 2. Receiver up but slow; 20 more alerts fire; kill -9 in the middle of delivery.
    await hook.up();
    hook.delayMs = 100;
    const b = await startChild(cfg, N);
    await waitFor(() => hook.requests.length >= 5, { timeoutMs: 20_000, what: 'some deliveries' });
    await kill9(b.child);
    const atKill = hook.requests.length;
    await sleep(300); // the receiver still answers the request in flight at the kill
    expect(hook.requests.length).toBe(atKill); // really dead: nothing more was sent
    expect(hook.accepted.length).toBeLessThan(N);
    // 3. Restart: the outbox sends what is pending; the notification log keeps it from paging again.
    hook.delayMs = 0;
    await startChild(cfg, N);
    await waitFor(() => hook.accepted.length >= N, { timeoutMs: 30_000, what: `all ${N} delivered` });
    await sleep(1000); // anything more would arrive now
    const vrids = hook.accepted.map((p) => Number(p.groupLabels.vrid)).sort((x, y) => x - y);
    expect(vrids).toEqual([...Array(N).keys()]); // each alert paged exactly once (a new key for an old page would show twice here)
    // At least once: the only possible duplicate is the one in flight at the kill, dropped by the receiver by key.
    expect(hook.duplicates).toBeLessThanOrEqual(1);
    expect(hook.requests.length).toBe(N + hook.duplicates);
    console.log(`durability: ${N} notifications, killed after ${atKill} requests, ${hook.requests.length} requests in all, ${hook.duplicates} duplicate(s) dropped by the receiver`);
  });

  test('a receiver down for a while, then up: all delivered in creation order; the other receiver is not held up', async () => {
    const other = await startWebhook();
    const dir = mkdtempSync(join(tmpdir(), 'kw-down-'));
    const cfg = agentConfig(
      dir,
      `    - {name: flaky, type: webhook, url: "${hook.url}"}\n    - {name: steady, type: webhook, url: "${other.url}"}`,
      '{initial: 100ms, max: 400ms, max_age: 1h}',
      '{receiver: flaky, group_by: [alertname, vrid], routes: [{receiver: flaky, continue: true}, {receiver: steady}]}',
    );
    const daemon = new Daemon({ configFile: cfg, log: silentLogger(), modules: [coreModule, alertingModule] });
    await daemon.start();
    try {
      await hook.down();
      const N = 20;
      const published: number[] = [];
      for (let i = 0; i < N; i++) {
        daemon.hubs.alerts.publish(alert({ alertname: 'Down', vrid: String(i), severity: 'critical' }));
        published.push(Date.now());
        await sleep(50);
      }
      await waitFor(() => other.accepted.length === N, { timeoutMs: 10_000, what: 'steady receiver' });
      const steadyLag = other.requests.map((r, i) => r.at - published[i]);
      expect(Math.max(...steadyLag)).toBeLessThan(1000);
      expect(hook.accepted).toHaveLength(0);
      await sleep(2000); // "2 minutes", shortened
      const metrics = (await daemon.scrape()).body;
      expect(metrics).toMatch(/^keepwatch_notifications_queue_depth\{receiver="flaky"\} 20$/m);
      expect(metrics).toMatch(/^keepwatch_notifications_retries_total\{receiver="flaky"\} [1-9]/m);
      expect(metrics).toMatch(/^keepwatch_notifications_oldest_age_seconds\{receiver="flaky"\} [1-9]/m);
      await hook.up();
      await waitFor(() => hook.accepted.length === N, { timeoutMs: 10_000, what: 'flaky receiver after it came back' });
      expect(hook.accepted.map((p) => Number(p.groupLabels.vrid))).toEqual([...Array(N).keys()]);
      expect(hook.duplicates).toBe(0);
      expect((await daemon.scrape()).body).toMatch(/^keepwatch_notifications_queue_depth\{receiver="flaky"\} 0$/m);
    } finally {
      await daemon.stop();
      await other.close();
    }
  });
});
