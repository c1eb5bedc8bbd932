// Alert latency inside the agent: from hub.publish of a critical alert to a webhook receiver on
// loopback having the notification, with the real pipeline (group_wait 0s as by default, grouped
// by alertname and vrid so that each alert opens a group), the real outbox (journal write +
// fdatasync before the send) and the real webhook receiver.
// Phases:
//   sequential: N alerts, each a new group, one at a time (publish, wait for it, next);
//   burst:      N alerts published in one evaluation; time until each arrives (one FIFO queue,
//               one request at a time per receiver, so the last waits for all before it).
// Each phase runs with the outbox on the disk (--dir, default the OS temp dir) and on /dev/shm
// (tmpfs: fsync is free there), to show what the fsync costs. The receiver runs in this process
// (same clock, sub-millisecond timestamps); it answers 200 at once.
//
// Run (no root needed): npx tsx bench/alertLatency.ts [--n=100] [--dir=/var/tmp]
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fingerprint, type Alert } from '../agent/alerting/alert';
import { createAlertHub } from '../agent/alerting/hub';
import { Inhibitor } from '../agent/alerting/inhibit';
import { NotificationLog, outboxNflogStore } from '../agent/alerting/nflog';
import { Outbox } from '../agent/alerting/outbox';
import { AlertPipeline } from '../agent/alerting/pipeline';
import { webhookReceiver } from '../agent/alerting/receivers/webhook';
import { buildRouteTree } from '../agent/alerting/route';
import { Silences } from '../agent/alerting/silences';
import type { WebhookReceiverConfig } from '../agent/config/schema';
import { systemClock } from '../agent/context';
import { silentLogger } from '../agent/logger';
import { fmt, opt, runMain, summary, table, writeResult } from './lib';

interface Phase {
  name: string;
  storage: string;
  latenciesMs: number[];
}

async function run(n: number, storageDir: string, burst: boolean): Promise<number[]> {
  const dir = mkdtempSync(join(storageDir, 'kw-bench-alert-'));
  const arrived = new Map<string, number>();
  let onArrive: (() => void) | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { groupLabels: { vrid: string } };
      arrived.set(body.groupLabels.vrid, at);
      res.writeHead(200);
      res.end('{}');
      onArrive?.();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const log = silentLogger();
  const clock = systemClock;
  const hub = createAlertHub(n + 10);
  const outbox = new Outbox({ dir: join(dir, 'outbox'), maxEntries: 10_000, maxBytes: 64 << 20, retry: { initial: 500, max: 60_000, maxAge: 86_400_000 }, clock, log });
  await outbox.open();
  const rc: WebhookReceiverConfig = { type: 'webhook', name: 'hook', url, headers: {}, send_resolved: true, timeout: 5000 };
  outbox.setReceivers([webhookReceiver(rc, { clock })]);
  const nflog = new NotificationLog({ clock, store: outboxNflogStore(outbox) });
  const pipeline = new AlertPipeline({
    hub,
    clock,
    log,
    // One group per alert (Alertmanager's grouping): each alert is a new group's first notification.
    route: buildRouteTree({ receiver: 'hook', group_by: ['alertname', 'vrid'], matchers: [], continue: false, routes: [] }, ['hook']),
    receivers: [rc],
    inhibitor: new Inhibitor(undefined),
    silences: new Silences({ file: join(dir, 'silences.json'), clock, log }),
    nflog,
    outbox,
  });
  pipeline.start();
  const alert = (i: number): Alert => {
    const labels = { alertname: 'BenchSplitBrain', vrid: String(i), severity: 'critical', node: 'ka1' };
    return { fingerprint: fingerprint(labels), labels, annotations: { summary: `bench ${i}`, description: 'bench' }, status: 'firing', startsAt: Date.now() };
  };
  const published = new Map<string, number>();
  const deadline = Date.now() + 60_000;
  const waitFor = (cond: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      if (cond()) return resolve();
      const t = setTimeout(() => reject(new Error('bench: timed out waiting for the receiver')), Math.max(1, deadline - Date.now()));
      onArrive = () => {
        if (cond()) {
          clearTimeout(t);
          onArrive = undefined;
          resolve();
        }
      };
    });
  try {
    if (burst) {
      for (let i = 0; i < n; i++) {
        published.set(String(i), performance.now());
        hub.publish(alert(i));
      }
      await waitFor(() => arrived.size === n);
    } else {
      for (let i = 0; i < n; i++) {
        published.set(String(i), performance.now());
        hub.publish(alert(i));
        await waitFor(() => arrived.has(String(i)));
      }
    }
  } finally {
    pipeline.stop();
    await outbox.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
  return [...published].map(([k, t]) => arrived.get(k)! - t);
}

async function main(): Promise<void> {
  const n = opt('n', 100);
  const disk = opt('dir', tmpdir());
  const storages = [{ name: `disk (${disk})`, dir: disk }];
  if (existsSync('/dev/shm')) storages.push({ name: 'tmpfs (/dev/shm)', dir: '/dev/shm' });
  await run(10, disk, false); // warm-up: JIT, first connection
  const phases: Phase[] = [];
  for (const s of storages) {
    phases.push({ name: 'sequential', storage: s.name, latenciesMs: await run(n, s.dir, false) });
    phases.push({ name: 'burst', storage: s.name, latenciesMs: await run(n, s.dir, true) });
  }
  const rows = phases.map((p) => {
    const s = summary(p.latenciesMs);
    return { phase: p.name, outbox: p.storage, n: s.n, 'p50 ms': fmt(s.p50, 2), 'p95 ms': fmt(s.p95, 2), 'max ms': fmt(s.max, 2), 'min ms': fmt(s.min, 2) };
  });
  console.log(`hub.publish of a critical alert -> webhook receiver on loopback has it (group_wait 0s, journal fsync before send)\n`);
  console.log(table(rows));
  writeResult('alertLatency', { n, phases: phases.map((p) => ({ phase: p.name, outbox: p.storage, ...summary(p.latenciesMs) })) });
}

runMain(main);
