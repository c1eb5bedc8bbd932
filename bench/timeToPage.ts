// Time to page: from keepalived's own transition (its D-Bus VrrpStatusChange signal, timestamped by
// dbus-monitor on the node's bus) to the notification arriving at a webhook receiver in the lab's
// client namespace. keepwatch: the agents on both nodes with a webhook receiver (defaults of the
// pipeline; rules.event_hold shortened so that each round's Failover alert resolves before the
// next, and flapping detection off: 20 failovers in minutes would otherwise fold into one Flapping
// alert, which is what an operator wants but not what is measured here). The Prometheus path, in the same run: Debian's prometheus in the client namespace
// scraping both agents every 15 s with rules/prometheus/keepwatch.rules.yml, and
// prometheus-alertmanager with its default timings (group_wait 30s, group_interval 5m) sending to
// the same receiver.
//
// Order: first one "held" split brain and one "held" failover, each kept until the Prometheus
// path has paged too (or --prom-wait seconds): Alertmanager's groups are fresh then, as for a
// first incident. Then the fast rounds, keepwatch only (Alertmanager would hold every later page
// of the same group for group_interval, 5 minutes): failovers (the MASTER's keepalived SIGKILLed,
// restarted after the page) and split brains (VRRP dropped on the BACKUP by nftables, then let
// through again).
//
// Run (root): npx tsx bench/timeToPage.ts [--failovers=20] [--splits=10] [--prom-wait=150]
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, cleanupIdSync, type Lab } from '../test/lab/lab';
import { startAgents, waitUntil, type LabAgent } from '../test/lab/agents';
import { RECEIVER_PORT, received, startReceiver, type Received } from './labReceiver';
import { masterSignal, watchSignals, type Signal } from './dbusSignals';
import { fmt, opt, OUT_DIR, requireRoot, runMain, sleep, summary, table, writeResult } from './lib';
import { startPromPath } from './promPath';

/** The first notification on `path` after `since` with a firing alert named one of `names`. */
function firstPage(file: string, path: string, since: number, names: string[]): Received | undefined {
  return received(file).find((r) => r.path === path && r.at > since && (r.body.alerts ?? []).some((a) => a.status === 'firing' && names.includes(a.labels.alertname)));
}

/** keepwatch's pages of alertname are all resolved (its last notification of it says so). */
function allResolved(file: string, name: string): boolean {
  const mine = received(file).filter((r) => r.path === '/kw' && (r.body.alerts ?? []).some((a) => a.labels.alertname === name));
  if (!mine.length) return true;
  return (mine[mine.length - 1].body.alerts ?? []).filter((a) => a.labels.alertname === name).every((a) => a.status === 'resolved');
}

interface Sample {
  kind: 'failover' | 'split';
  round: number;
  transitionAt: number;
  keepwatchMs: number;
  prometheusMs?: number;
  prometheusAlert?: string;
  keepwatchAlert: string;
}

async function main(): Promise<void> {
  requireRoot('timeToPage');
  const failovers = opt('failovers', 20);
  const splits = opt('splits', 10);
  const promWait = opt('prom-wait', 150);
  const id = 'b8tp';
  let lab: Lab | undefined;
  const samples: Sample[] = [];
  try {
    console.log(`timeToPage: ${failovers} failovers and ${splits} split brains (the first of each also on the Prometheus path, waited up to ${promWait} s)`);
    lab = await startLab({ id });
    const [ka1, ka2] = lab.nodes;
    const recvFile = await startReceiver(lab);

    const agents: LabAgent[] = await startAgents(lab, {
      config: () => ({
        log: { level: 'warn' },
        // Each round's Failover must resolve before the next (event_hold), and 20 failovers in a few
        // minutes must not fold into one Flapping alert (what an operator wants, not what is measured).
        rules: { event_hold: '5s', flapping: { changes: 1000 } },
        alerting: {
          route: { receiver: 'bench' },
          receivers: [{ name: 'bench', type: 'webhook', url: `http://192.0.2.50:${RECEIVER_PORT}/kw` }],
        },
      }),
    });
    void agents;
    // The Prometheus path in the client namespace, to the same receiver.
    await startPromPath(lab, `http://127.0.0.1:${RECEIVER_PORT}/am`);
    console.log('Prometheus scrapes both agents; Alertmanager up');

    const signals: Signal[] = [];
    for (const n of lab.nodes) watchSignals(n, signals);
    await sleep(1000);

    const stable = async () => {
      await lab!.waitForState(ka1, 'MASTER', 30_000);
      await lab!.waitForState(ka2, 'BACKUP', 30_000);
    };

    const splitRound = async (round: number, withProm: boolean) => {
      await stable();
      await waitUntil(() => allResolved(recvFile, 'SplitBrain'), 60_000, 200, 'previous SplitBrain resolved');
      await sleep(1000);
      const t = Date.now();
      await lab!.blockVrrp(ka2);
      const sig = await masterSignal(signals, 'ka2', t, 20_000);
      let kw: Received | undefined;
      await waitUntil(() => (kw = firstPage(recvFile, '/kw', t, ['SplitBrain'])), 30_000, 10, 'keepwatch SplitBrain page');
      const s: Sample = { kind: 'split', round, transitionAt: sig.at, keepwatchMs: kw!.at - sig.at, keepwatchAlert: 'SplitBrain' };
      if (withProm) {
        let am: Received | undefined;
        await waitUntil(() => (am = firstPage(recvFile, '/am', t, ['KeepalivedSplitBrain', 'KeepwatchSplitBrainDetected'])), promWait * 1000, 200, 'Prometheus path split brain page').catch(() => undefined);
        if (am) {
          s.prometheusMs = am.at - sig.at;
          s.prometheusAlert = (am.body.alerts ?? []).find((a) => a.status === 'firing')?.labels.alertname;
        }
      }
      await lab!.unblockVrrp(ka2);
      samples.push(s);
      console.log(`  split brain ${round}: keepwatch ${fmt(s.keepwatchMs, 0)} ms${withProm ? `, Prometheus path ${s.prometheusMs !== undefined ? `${fmt(s.prometheusMs, 0)} ms (${s.prometheusAlert})` : `none within ${promWait} s`}` : ''}`);
    };

    const failoverRound = async (round: number, withProm: boolean) => {
      await stable();
      await waitUntil(() => allResolved(recvFile, 'Failover'), 60_000, 200, 'previous Failover resolved');
      await sleep(1000);
      const t = Date.now();
      await lab!.killKeepalived(ka1, 'SIGKILL');
      const sig = await masterSignal(signals, 'ka2', t, 20_000);
      let kw: Received | undefined;
      await waitUntil(() => (kw = firstPage(recvFile, '/kw', t, ['Failover'])), 30_000, 10, 'keepwatch Failover page');
      const s: Sample = { kind: 'failover', round, transitionAt: sig.at, keepwatchMs: kw!.at - sig.at, keepwatchAlert: 'Failover' };
      if (withProm) {
        // The shipped rules have no failover alert: with the master's keepalived dead, KeepalivedProcessDown (for: 30s) pages.
        let am: Received | undefined;
        await waitUntil(() => (am = firstPage(recvFile, '/am', t, ['KeepalivedProcessDown', 'KeepalivedNoMaster', 'KeepalivedFlapping'])), promWait * 1000, 200, 'Prometheus path page').catch(() => undefined);
        if (am) {
          s.prometheusMs = am.at - sig.at;
          s.prometheusAlert = (am.body.alerts ?? []).find((a) => a.status === 'firing')?.labels.alertname;
        }
      }
      await lab!.startKeepalived(ka1);
      samples.push(s);
      console.log(`  failover ${round}: keepwatch ${fmt(s.keepwatchMs, 0)} ms${withProm ? `, Prometheus path ${s.prometheusMs !== undefined ? `${fmt(s.prometheusMs, 0)} ms (${s.prometheusAlert})` : `none within ${promWait} s`}` : ''}`);
    };

    if (splits > 0) await splitRound(1, true);
    if (failovers > 0) await failoverRound(1, true);
    for (let i = 2; i <= failovers; i++) await failoverRound(i, false);
    for (let i = 2; i <= splits; i++) await splitRound(i, false);

    const kwAll = samples.map((s) => s.keepwatchMs);
    const rows = (['failover', 'split'] as const).map((k) => {
      const kw = summary(samples.filter((s) => s.kind === k).map((s) => s.keepwatchMs));
      const pr = samples.filter((s) => s.kind === k && s.prometheusMs !== undefined).map((s) => s.prometheusMs!);
      return { kind: k, n: kw.n, 'keepwatch p50 ms': fmt(kw.p50, 0), 'p95 ms': fmt(kw.p95, 0), 'max ms': fmt(kw.max, 0), 'Prometheus path ms': pr.length ? pr.map((x) => fmt(x, 0)).join(',') : 'n/a' };
    });
    console.log('\n' + table(rows));
    const all = summary(kwAll);
    const prom = samples.filter((s) => s.prometheusMs !== undefined);
    const pairs = prom.map((s) => ({ kind: s.kind, keepwatchMs: s.keepwatchMs, prometheusMs: s.prometheusMs!, ratio: s.prometheusMs! / s.keepwatchMs }));
    console.log(`keepwatch, all ${all.n}: p50 ${fmt(all.p50, 0)} ms, p95 ${fmt(all.p95, 0)} ms, max ${fmt(all.max, 0)} ms (goal p95 < 1000 ms: ${all.p95 < 1000 ? 'met' : 'NOT met'})`);
    for (const p of pairs) console.log(`same incident, ${p.kind}: Prometheus path ${fmt(p.prometheusMs / 1000, 1)} s vs keepwatch ${fmt(p.keepwatchMs, 0)} ms: ${fmt(p.ratio, 0)}x`);
    const ratios: Record<string, number> = {};
    for (const k of ['failover', 'split'] as const) {
      const pr = pairs.filter((p) => p.kind === k).map((p) => p.prometheusMs);
      const kw = samples.filter((x) => x.kind === k).map((x) => x.keepwatchMs);
      if (!pr.length || !kw.length) continue;
      ratios[k] = summary(pr).p50 / summary(kw).p50;
      console.log(`${k}: Prometheus path p50 ${fmt(summary(pr).p50 / 1000, 1)} s / keepwatch p50 ${fmt(summary(kw).p50, 0)} ms = ${fmt(ratios[k], 0)}x`);
    }
    writeResult('timeToPage', { options: { failovers, splits, promWait }, keepwatch: all, samples, pairs, ratios });
  } finally {
    // What the receiver got, for a post-mortem (the lab's files go with it).
    const recv = lab ? join(lab.client.dir, 'received.jsonl') : '';
    if (recv && existsSync(recv)) copyFileSync(recv, join(OUT_DIR, 'timeToPage-received.jsonl'));
    await lab?.stop();
    if (!lab) cleanupIdSync(id);
  }
}

runMain(main);
