// Shared by the deployment-variant e2e tests (issue 9): a webhook pager in the lab's client
// namespace that every agent pages (to count pages per alert across agents), and a poller of each
// agent's alert changes (to say "this alert, and no other").
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Lab } from '../lab/lab';
import { waitUntil } from '../lab/agents';

export const PAGER_PORT = 9199;

// The receiver: Alertmanager's webhook JSON in, one JSON line per alert of each notification out
// (stdout), 200 always; a notification sent again (same idempotency key) is dropped, as the
// at-least-once outbox expects of a receiver.
const RECEIVER_JS = `
'use strict';
const http = require('node:http');
const seen = new Set();
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200).end('ok');
    let body;
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { return; }
    const key = req.headers['idempotency-key'] || body.idempotencyKey;
    if (key && seen.has(key)) return;
    if (key) seen.add(key);
    for (const a of body.alerts || []) {
      process.stdout.write(JSON.stringify({ at: Date.now(), key, status: a.status, labels: a.labels || {}, observer: (a.annotations || {}).observer, fingerprint: a.fingerprint, startsAt: a.startsAt, summary: (a.annotations || {}).summary }) + '\\n');
    }
  });
}).listen(Number(process.argv[2]), '0.0.0.0', () => process.stdout.write(JSON.stringify({ ready: true }) + '\\n'));
`;

export interface PageLine {
  at: number;
  key: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  observer?: string;
  fingerprint: string;
  startsAt: string;
  summary?: string;
}

/** A pager every agent sends to: counts pages, not notifications. */
export class Pager {
  readonly lines: PageLine[] = [];

  private constructor(readonly url: string) {}

  static async start(lab: Lab, port = PAGER_PORT): Promise<Pager> {
    const file = join(lab.client.dir, 'pager.js');
    writeFileSync(file, RECEIVER_JS);
    const child = lab.client.spawn([process.execPath, file, String(port)], { pipe: true });
    const pager = new Pager(`http://${lab.client.ip}:${port}/`);
    let ready = false;
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        const v = JSON.parse(l) as PageLine & { ready?: boolean };
        if (v.ready) ready = true;
        else pager.lines.push(v);
      } catch {
        /* not ours */
      }
    });
    child.stderr!.resume();
    await waitUntil(() => ready, 10_000, 20, 'pager listening');
    return pager;
  }

  /**
   * The receiver config every agent gets: one webhook, group_interval short to keep the tests
   * short, and Alertmanager's grouping (group_by alertname, vrid: one group per alert and VRID, as
   * operators who set their own group_by get): these tests count pages per alert. What the shipped
   * default (one story per incident) sends is tested at a receiver in the incidents e2e tests.
   */
  alertingConfig(groupInterval = '2s'): Record<string, unknown> {
    return { receivers: [{ name: 'pager', type: 'webhook', url: this.url }], route: { receiver: 'pager', group_by: ['alertname', 'vrid'], group_interval: groupInterval } };
  }

  /**
   * Pages: the first notification from one agent (the alert's observer) telling an alert's status
   * (an event alert such as Failover that fires again starts anew). A group notification that
   * repeats an alert already told is not a new page.
   */
  pages(alertname?: string, status?: PageLine['status'], since = 0): PageLine[] {
    const out = new Map<string, PageLine>();
    for (const l of this.lines) {
      if (l.at < since || (alertname && l.labels.alertname !== alertname) || (status && l.status !== status)) continue;
      const k = `${l.observer}|${l.fingerprint}|${l.status}|${l.startsAt}`;
      if (!out.has(k)) out.set(k, l);
    }
    return [...out.values()];
  }

  /** "alertname:status" of every page since `since`, sorted. */
  summary(since = 0): string[] {
    return this.pages(undefined, undefined, since).map((p) => `${p.labels.alertname}:${p.status}`).sort();
  }
}

export { AlertLog, type Seen } from '../lab/alertLog';

export { sleep } from '../helpers/wait';

/** Runs nft commands in a node's namespace (a table of our own, so lab.blockVrrp's is left alone). */
export async function nft(node: { exec(cmd: string[], o?: { input?: string }): Promise<{ code: number; stderr: string }> }, rules: string): Promise<void> {
  await node.exec(['nft', 'delete', 'table', 'inet', 'kw9']);
  if (!rules) return;
  const r = await node.exec(['nft', '-f', '-'], { input: `table inet kw9 {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ${rules}\n }\n}\n` });
  if (r.code !== 0) throw new Error(`nft: ${r.stderr}`);
}
