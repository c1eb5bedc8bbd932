// The operator's inbox in the lab: a real webhook receiver (test/lab/webhookReceiver.cjs, plain
// node:http) in the lab's client namespace (192.0.2.50), the agents' one webhook receiver. Every
// POST lands in a JSON-lines file with its arrival time, read back here: what the operator got,
// grouped by incident, waited for, and printed whole and compact when a test fails. Used by the
// incidents e2e test and the benchmarks.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WebhookIncident, WebhookPayload } from '../../agent/alerting/notification';
import type { Lab } from './lab';
import { waitUntil } from './agents';

export const INBOX_PORT = 9099;
const RECEIVER_SCRIPT = join(__dirname, 'webhookReceiver.cjs');

/** The `incident` object of a webhook notification, as the agent sends it. */
export type IncidentJson = WebhookIncident;

export type AlertJson = WebhookPayload['alerts'][number];

/** A notification's body: Alertmanager's webhook JSON (v4) plus keepwatch's `incident`. */
export interface WebhookJson extends Partial<Omit<WebhookPayload, 'alerts'>> {
  alerts?: AlertJson[];
  incident?: IncidentJson;
}

/** One request as the receiver got it. */
export interface InboxEntry {
  /** Arrival, ms since epoch (the host's clock, shared with the lab and the test). */
  at: number;
  method?: string;
  /** The URL path: the lab's agents post to /<node> so the sender shows. */
  path: string;
  /** The Idempotency-Key header. */
  key?: string;
  body: WebhookJson;
}

/** ms since epoch of a time the webhook gives as a number or an ISO string. */
export function toMs(t: number | string | null | undefined): number {
  if (t === undefined || t === null) return NaN;
  return typeof t === 'number' ? t : Date.parse(t);
}

export function readInbox(file: string): InboxEntry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as InboxEntry);
}

export function alertsOf(e: InboxEntry, status?: 'firing' | 'resolved'): AlertJson[] {
  return (e.body.alerts ?? []).filter((a) => !status || a.status === status);
}

/** Alert names in a notification (each once, sorted). */
export function alertNames(e: InboxEntry, status?: 'firing' | 'resolved'): string[] {
  return [...new Set(alertsOf(e, status).map((a) => a.labels.alertname))].sort();
}

export function hasAlert(e: InboxEntry, alertname: string, status?: 'firing' | 'resolved'): boolean {
  return alertsOf(e, status).some((a) => a.labels.alertname === alertname);
}

/** An incident as the operator saw it: its notifications in arrival order. */
export interface InboxIncident {
  /** The incident id, or `no-incident:<alertname>` for notifications without an incident object. */
  id: string;
  entries: InboxEntry[];
  phases: string[];
  /** Every alert name seen in it, firing or resolved, sorted. */
  alertNames: string[];
  /** incident.cause of each notification, in order. */
  causes: string[];
  firstAt: number;
  lastAt: number;
}

function incidentKey(e: InboxEntry): string {
  return e.body.incident?.id ?? `no-incident:${alertNames(e).join('+') || '?'}`;
}

/** The notifications grouped by incident, in order of their first notification. */
export function groupIncidents(entries: InboxEntry[]): InboxIncident[] {
  const by = new Map<string, InboxEntry[]>();
  for (const e of entries) {
    const k = incidentKey(e);
    by.set(k, [...(by.get(k) ?? []), e]);
  }
  return [...by.entries()].map(([id, list]) => ({
    id,
    entries: list,
    phases: list.map((e) => e.body.incident?.phase ?? '(none)'),
    alertNames: [...new Set(list.flatMap((e) => alertNames(e)))].sort(),
    causes: list.map((e) => e.body.incident?.cause ?? ''),
    firstAt: list[0].at,
    lastAt: list[list.length - 1].at,
  }));
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** One notification on one line (plus its incident's cause), times relative to t0. */
export function formatEntry(e: InboxEntry, t0: number): string {
  const inc = e.body.incident;
  const head = `+${((e.at - t0) / 1000).toFixed(3)}s ${e.path} ${inc ? `[${inc.id} ${inc.phase}]` : '[no incident]'}`;
  const alerts = alertsOf(e)
    .map((a) => `${a.labels.alertname}{${a.labels.node ? `node=${a.labels.node}` : ''}}:${a.status}`)
    .join(', ');
  const lines = [`${head} ${e.body.status ?? '?'} alerts: ${alerts || '(none)'}${e.key ? ` key=${e.key.slice(0, 8)}` : ''}`];
  if (inc) {
    lines.push(`      cause: ${clip(inc.cause, 200)}`);
    if (inc.consequences?.length) lines.push(`      consequences: ${inc.consequences.map((c) => clip(c, 120)).join(' | ')}`);
    if (inc.outage?.length) lines.push(`      outage: ${inc.outage.join(' | ')}`);
  } else {
    for (const a of alertsOf(e)) lines.push(`      ${a.labels.alertname}: ${clip(a.annotations.summary ?? '', 200)}`);
  }
  return lines.join('\n');
}

/** The webhook receiver in the client namespace and what it got. */
export class Inbox {
  constructor(
    /** The JSON-lines file the receiver appends to. */
    readonly file: string,
    /** http://192.0.2.50:<port>: reachable from every lab node. */
    readonly url: string,
  ) {}

  /** The webhook URL for a node's agent: the path names the sender in the inbox. */
  urlFor(node: string): string {
    return `${this.url}/${node}`;
  }

  all(): InboxEntry[] {
    return readInbox(this.file);
  }

  /** Notifications that arrived at or after t (ms since epoch). */
  since(t: number): InboxEntry[] {
    return this.all().filter((e) => e.at >= t);
  }

  /** The incidents whose first notification arrived at or after t, with all their notifications. */
  incidentsSince(t: number): InboxIncident[] {
    return groupIncidents(this.all()).filter((i) => i.firstAt >= t);
  }

  /** Everything since t0, one notification a line or three, relative to t0: for failure messages. */
  dump(t0: number): string {
    const list = this.since(t0);
    const all = this.all().length;
    return `inbox since the fault (${list.length} of ${all} notification(s), times after the fault):\n` + (list.length ? list.map((e) => formatEntry(e, t0)).join('\n') : '  (empty)');
  }

  /** Waits for the first notification since `since` that matches (run it inside explain() for the inbox on failure). */
  async waitFor(what: string, match: (e: InboxEntry) => boolean, since: number, timeoutMs: number): Promise<InboxEntry> {
    let hit: InboxEntry | undefined;
    await waitUntil(() => (hit = this.since(since).find(match)), timeoutMs, 25, what);
    return hit!;
  }

  /** Like waitFor, but gives up quietly (undefined) when the time runs out. */
  async maybe(what: string, match: (e: InboxEntry) => boolean, since: number, timeoutMs: number): Promise<InboxEntry | undefined> {
    return this.waitFor(what, match, since, timeoutMs).catch(() => undefined);
  }

  /** Runs fn; when it throws, its message gets the whole inbox since t0 appended. */
  async explain<T>(t0: number, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      err.message += `\n${this.dump(t0)}`;
      throw err;
    }
  }
}

/** Starts the receiver on 0.0.0.0:port of the lab's client namespace; the file starts empty. */
export async function startInbox(lab: Lab, opts: { port?: number; name?: string } = {}): Promise<Inbox> {
  const port = opts.port ?? INBOX_PORT;
  mkdirSync(lab.client.dir, { recursive: true });
  const file = join(lab.client.dir, `${opts.name ?? 'received'}.jsonl`);
  writeFileSync(file, '');
  lab.client.spawn([process.execPath, RECEIVER_SCRIPT, '0.0.0.0', String(port), file], { logFile: join(lab.client.dir, `${opts.name ?? 'received'}.log`) });
  // A GET is answered and not recorded: the file holds notifications only.
  await waitUntil(async () => (await lab.client.exec(['curl', '-sf', `http://127.0.0.1:${port}/ping`])).code === 0, 10_000, 100, 'webhook receiver up');
  return new Inbox(file, `http://${lab.client.ip}:${port}`);
}
