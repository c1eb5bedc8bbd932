// The fleet side of paging against real prometheus-alertmanager processes (Debian's), no root: two
// members gossiping on loopback, one agent pushing to both with its pair's external labels. Both
// members show the split brain with the cluster label, and the Watchdog; a member stopped while an
// alert fires gets it once it is back (the agent's queue for it, not gossip: Alertmanager does not
// gossip alerts); the shipped inhibit rules hold the Prometheus rule's alert of the same fault.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { Daemon } from '../../agent/daemon';
import { silentLogger } from '../../agent/logger';
import { coreModule } from '../../agent/wiring/core';
import { alertingModule } from '../../agent/wiring/alerting';
import { fingerprint, type Alert } from '../../agent/alerting/alert';
import { waitFor } from '../helpers/wait';
import { AM_BIN, startAlertmanagers, type AlertmanagerCluster, type AlertmanagerMember, type AmAlert } from '../lab/alertmanagers';

jest.setTimeout(90_000);

const ROOT = join(__dirname, '..', '..');

const amDescribe = existsSync(AM_BIN) ? describe : describe.skip;
if (!existsSync(AM_BIN)) console.warn(`SKIPPED: needs ${AM_BIN} (apt install prometheus-alertmanager)`);

amDescribe('one agent, a two-member Alertmanager cluster', () => {
  let dir: string;
  let cluster: AlertmanagerCluster | undefined;
  let members: AlertmanagerMember[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-fleet-am-'));
    // The shipped inhibit rules, as a site pastes them.
    const inhibit = parse(readFileSync(join(ROOT, 'deploy/alertmanager/keepwatch-inhibit.yml'), 'utf8')) as { inhibit_rules: unknown[] };
    cluster = await startAlertmanagers(dir, 2, stringify({ route: { receiver: 'blackhole' }, receivers: [{ name: 'blackhole' }], inhibit_rules: inhibit.inhibit_rules }));
    members = cluster.members;
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every member shows the pair\'s alerts and Watchdog; a stopped member loses nothing; the Prometheus alert of the same fault is inhibited', async () => {
    const cfg = join(dir, 'keepwatch.yml');
    writeFileSync(
      cfg,
      `node: ka1
web: {listen_address: "127.0.0.1:0"}
alerting:
  external_labels: {cluster: lb-paris-1, site: paris}
  silences_file: ${dir}/silences.json
  outbox: {path: ${dir}/outbox}
  retry: {initial: 100ms, max: 500ms}
  receivers:
    - {name: am, type: alertmanager, urls: ["${members[0].url}", "${members[1].url}"], resend_interval: 2s}
`,
    );
    const daemon = new Daemon({ configFile: cfg, log: silentLogger(), modules: [coreModule, alertingModule] });
    await daemon.start();
    try {
      const publish = (labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing', startsAt = Date.now()): Alert => {
        const a: Alert = { fingerprint: fingerprint(labels), labels, annotations: { summary: labels.alertname, description: 'e2e' }, status, startsAt, ...(status === 'resolved' ? { endsAt: Date.now() } : {}) };
        daemon.hubs.alerts.publish(a);
        return a;
      };
      const sb = publish({ alertname: 'SplitBrain', severity: 'critical', vrid: '51', iname: 'VI_1' });
      const has = (list: AmAlert[], name: string) => list.find((a) => a.labels.alertname === name);
      for (const m of members) {
        const list = await waitFor(async () => {
          const l = await m.alerts();
          return has(l, 'SplitBrain') && has(l, 'Watchdog') ? l : false;
        }, { timeoutMs: 15_000, what: `SplitBrain and Watchdog at ${m.url}` });
        expect(has(list, 'SplitBrain')!.labels).toMatchObject({ vrid: '51', iname: 'VI_1', cluster: 'lb-paris-1', site: 'paris' });
        expect(has(list, 'Watchdog')!.labels).toEqual({ alertname: 'Watchdog', severity: 'none', node: 'ka1', cluster: 'lb-paris-1', site: 'paris' });
      }

      // The Prometheus rule's alert of the same fault, in the same cluster: held by the agent's.
      const prom = { alertname: 'KeepalivedSplitBrain', severity: 'critical', cluster: 'lb-paris-1', vrid: '51' };
      const res = await fetch(`${members[0].url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ labels: prom, annotations: {} }]) });
      expect(res.ok).toBe(true);
      const held = await waitFor(async () => {
        const p = has(await members[0].alerts(), 'KeepalivedSplitBrain');
        return p && p.status.state === 'suppressed' ? p : false;
      }, { timeoutMs: 15_000, what: 'the Prometheus alert inhibited' });
      expect(held.status.inhibitedBy).toHaveLength(1);

      // Member 2 is stopped; the split brain resolves and another alert fires meanwhile.
      await members[1].stop();
      publish(sb.labels, 'resolved', sb.startsAt);
      publish({ alertname: 'NoMaster', severity: 'critical', vrid: '52', iname: 'VI_2' });
      await waitFor(async () => {
        const l = await members[0].alerts();
        return has(l, 'NoMaster') && !has(l, 'SplitBrain');
      }, { timeoutMs: 15_000, what: 'member 1 up to date while member 2 is down' });
      const metrics = (await daemon.scrape()).body;
      expect(metrics).toMatch(new RegExp(`^keepwatch_notifications_queue_depth\\{receiver="am@127\\.0\\.0\\.1:${members[1].port}"\\} [1-9]`, 'm'));
      // Back (same storage, empty of alerts it never got): it receives what it missed from the agent's queue.
      await members[1].start();
      const back = await waitFor(async () => {
        const l = await members[1].alerts();
        return has(l, 'NoMaster') && !has(l, 'SplitBrain') ? l : false;
      }, { timeoutMs: 20_000, what: 'member 2 caught up' });
      expect(has(back, 'NoMaster')!.labels.cluster).toBe('lb-paris-1');
    } finally {
      await daemon.stop();
    }
  });
});
