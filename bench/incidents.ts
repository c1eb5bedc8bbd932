// What the operator gets per incident (issue 14's table): for each incident, the time from the
// fault to the first notification and how many notifications it made, for keepwatch's webhook and
// for the Prometheus + Alertmanager path, in the same run and at the same receiver (the lab's
// inbox, test/lab/inbox.ts: keepwatch posts to /ka1 or /ka2, Alertmanager to /am).
//
// keepwatch: both agents with the shipped defaults (test/lab/agents.ts shippedDefaults: the lab's
// wiring and one webhook receiver), restarted with empty data dirs before each incident so no
// incident inherits another's history. The Prometheus path: Debian's prometheus scraping both
// agents every 15 s with rules/prometheus/keepwatch.rules.yml, and prometheus-alertmanager with
// its default timings (bench/promPath.ts), both started afresh before each incident (empty
// storage: each incident is a first one for them, as Alertmanager's group_interval of 5 min would
// otherwise hold it back behind the previous one).
//
// Each incident is one fault of test/lab/scenarios.ts (the e2e test drives the same ones). Both
// paths are counted over the same window: from the fault to --window seconds after it was undone,
// and at least --prom-wait seconds after the fault. Alertmanager's resolved notices come
// group_interval (5 min) after its last notification of a group: not waited for, each group still
// owing one is counted apart. The faults last as in the e2e test (keepalived down 9-12 s, 5 s of
// split brain...), shorter than the Prometheus rules' `for` and scrape intervals often are: --hold
// keeps each lasting fault (keepalived, VRRP, agent, nginx down) that many seconds instead.
//
// Run (root): npx tsx bench/incidents.ts [--incidents=sigterm,kill9,...] [--prom-wait=150] [--window=40] [--hold=0]
// Incidents: start sigterm kill9 firewall partition flapping agent agentfailover nginx.
// Writes bench/out/incidents.json.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, type Lab } from '../test/lab/lab';
import { restartPeered, shippedDefaults, startPeered, type LabAgent } from '../test/lab/agents';
import { alertNames, groupIncidents, INBOX_PORT, startInbox, type Inbox, type InboxEntry } from '../test/lab/inbox';
import { agentKilled, holdFor, keepalivedStopped, nginxFlapping, nginxStopped, partitioned, settled, vrrpFirewalled } from '../test/lab/scenarios';
import { startPromPath, type PromPath } from './promPath';
import { fmt, opt, OUT_DIR, requireRoot, runMain, sleep, table, writeResult } from './lib';

interface Ctx {
  lab: Lab;
  agents: LabAgent[];
  /** --hold: how long a lasting fault is held (ms), instead of the incident's own duration. */
  holdMs?: number;
}

/** The incident's own duration, or --hold's. */
const held = (ctx: Ctx, ms: number) => holdFor(ctx.holdMs ?? ms);

interface Spec {
  key: string;
  /** As the issue's table names it. */
  title: string;
  trackScript: boolean;
  /** Injects the fault and undoes it; t0 is the fault, restoredAt when it was undone. */
  run(ctx: Ctx): Promise<{ t0: number; restoredAt: number }>;
}

const SPECS: Spec[] = [
  {
    key: 'start',
    title: 'agent start (both agents, empty data dirs)',
    trackScript: true,
    async run(ctx) {
      const t0 = Date.now();
      await restartPeered(ctx.agents, 'ka1', { wipe: true });
      return { t0, restoredAt: Date.now() };
    },
  },
  {
    key: 'sigterm',
    title: "master's keepalived SIGTERM",
    trackScript: true,
    run: async (ctx) => keepalivedStopped(ctx.lab, 'SIGTERM', held(ctx, 9_000)),
  },
  {
    key: 'kill9',
    title: "master's keepalived kill -9",
    trackScript: true,
    run: async (ctx) => keepalivedStopped(ctx.lab, 'SIGKILL', held(ctx, 12_000)),
  },
  {
    key: 'firewall',
    title: 'VRRP firewalled on the backup',
    trackScript: true,
    async run(ctx) {
      const r = await vrrpFirewalled(ctx.lab, held(ctx, 5_000));
      return { t0: r.t0, restoredAt: r.healedAt };
    },
  },
  {
    key: 'partition',
    title: 'total partition of the backup, 8 s',
    trackScript: true,
    async run(ctx) {
      const r = await partitioned(ctx.lab, holdFor(8_000));
      return { t0: r.t0, restoredAt: r.healedAt };
    },
  },
  {
    key: 'flapping',
    title: 'nginx down and up 6 times in 42 s (12 failovers)',
    trackScript: true,
    async run(ctx) {
      const r = await nginxFlapping(ctx.lab, 6, 7_000);
      return { t0: r.t0, restoredAt: Date.now() };
    },
  },
  {
    key: 'agent',
    title: "backup's agent killed (keepalived and nginx there healthy)",
    trackScript: true,
    async run(ctx) {
      const r = await agentKilled(ctx.agents[1], held(ctx, 15_000));
      return { t0: r.t0, restoredAt: r.restartedAt };
    },
  },
  {
    key: 'agentfailover',
    title: "backup's agent killed, failover while it is down, agent restarted",
    trackScript: true,
    async run(ctx) {
      const r = await agentKilled(ctx.agents[1], async () => {
        await sleep(1_000);
        await keepalivedStopped(ctx.lab, 'SIGTERM', async () => {
          await sleep(6_000);
          await ctx.agents[1].restart();
          await sleep(3_000);
        });
      });
      return { t0: r.t0, restoredAt: Date.now() };
    },
  },
  {
    key: 'nginx',
    title: 'nginx killed on the VIP holder, no track script',
    trackScript: false,
    run: async (ctx) => nginxStopped(ctx.lab, 'SIGKILL', held(ctx, 12_000)),
  },
];

interface PathResult {
  /** ms from the fault to the first notification, or null when none came in the window. */
  firstMs: number | null;
  notifications: number;
  /** Alert names in them (firing or resolved), each once. */
  alerts: string[];
}

interface Result {
  key: string;
  title: string;
  faultAt: string;
  /** s from the fault to when it was undone. */
  faultSeconds: number;
  /** s of the counting window, from the fault. */
  windowSeconds: number;
  keepwatch: PathResult & { incidents: number; phases: string[] };
  prometheus: PathResult & { groupsOwingResolved: number };
}

function pathResult(entries: InboxEntry[], t0: number): PathResult {
  return {
    firstMs: entries.length ? entries[0].at - t0 : null,
    notifications: entries.length,
    alerts: [...new Set(entries.flatMap((e) => alertNames(e)))].sort(),
  };
}

function measure(inbox: Inbox, spec: Spec, t0: number, restoredAt: number, end: number): Result {
  const within = inbox.since(t0).filter((e) => e.at <= end);
  const kw = within.filter((e) => e.path !== '/am');
  const am = within.filter((e) => e.path === '/am');
  // An Alertmanager group whose last notification in the window was firing still owes its resolved notice.
  const lastByGroup = new Map<string, InboxEntry>();
  for (const e of am) lastByGroup.set(String(e.body.groupKey), e);
  return {
    key: spec.key,
    title: spec.title,
    faultAt: new Date(t0).toISOString(),
    faultSeconds: Number(((restoredAt - t0) / 1000).toFixed(1)),
    windowSeconds: Number(((end - t0) / 1000).toFixed(1)),
    keepwatch: {
      ...pathResult(kw, t0),
      incidents: groupIncidents(kw).length,
      phases: kw.map((e) => e.body.incident?.phase ?? '(none)'),
    },
    prometheus: { ...pathResult(am, t0), groupsOwingResolved: [...lastByGroup.values()].filter((e) => e.body.status === 'firing').length },
  };
}

async function main(): Promise<void> {
  requireRoot('incidents');
  const only = opt('incidents', '').split(',').filter(Boolean);
  const promWait = opt('prom-wait', 150);
  const windowAfter = opt('window', 40);
  const hold = opt('hold', 0);
  const specs = only.length ? SPECS.filter((s) => only.includes(s.key)) : SPECS;
  const unknown = only.filter((k) => !SPECS.some((s) => s.key === k));
  if (unknown.length) throw new Error(`--incidents: unknown incident(s) ${unknown.join(', ')}; known: ${SPECS.map((s) => s.key).join(' ')}`);
  const started = Date.now();
  console.log(`incidents: ${specs.map((s) => s.key).join(', ')}; each counted for max(${promWait} s from the fault, ${windowAfter} s after it is undone)`);

  const results: Result[] = [];
  let lab: Lab | undefined;
  let prom: PromPath | undefined;
  try {
    for (const trackScript of [true, false]) {
      const mine = specs.filter((s) => s.trackScript === trackScript);
      if (!mine.length) continue;
      const id = trackScript ? 'i14bench' : 'i14benchnt';
      lab = await startLab({ id, fifo: true, trackScript });
      const inbox = await startInbox(lab);
      const agents = await startPeered(lab, { config: shippedDefaults((n) => inbox.urlFor(n.name)) });
      const ctx: Ctx = { lab, agents, holdMs: hold > 0 ? hold * 1000 : undefined };
      for (const spec of mine) {
        await settled(lab);
        if (spec.key !== 'start') await restartPeered(ctx.agents, 'ka1', { wipe: true });
        prom = await startPromPath(lab, `http://127.0.0.1:${INBOX_PORT}/am`);
        await sleep(2_000);
        const { t0, restoredAt } = await spec.run(ctx);
        const end = Math.max(t0 + promWait * 1000, restoredAt + windowAfter * 1000);
        await sleep(Math.max(0, end - Date.now()));
        await prom.stop();
        prom = undefined;
        const r = measure(inbox, spec, t0, restoredAt, end);
        results.push(r);
        const p = (x: PathResult) => `${x.firstMs === null ? 'none' : `${fmt(x.firstMs / 1000, 2)} s`}, ${x.notifications} notification(s) [${x.alerts.join(', ')}]`;
        console.log(`  ${spec.key}: keepwatch ${p(r.keepwatch)} in ${r.keepwatch.incidents} incident(s); Prometheus path ${p(r.prometheus)}${r.prometheus.groupsOwingResolved ? ` (+${r.prometheus.groupsOwingResolved} resolved to come)` : ''}`);
      }
      mkdirSync(OUT_DIR, { recursive: true });
      if (existsSync(inbox.file)) copyFileSync(inbox.file, join(OUT_DIR, `incidents-${id}-received.jsonl`));
      await lab.stop();
      lab = undefined;
    }
    console.log(
      '\n' +
        table(
          results.map((r) => ({
            incident: r.key,
            'keepwatch first': r.keepwatch.firstMs === null ? 'none' : `${fmt(r.keepwatch.firstMs / 1000, 2)} s`,
            'kw notifications': `${r.keepwatch.notifications} (${r.keepwatch.incidents} inc.)`,
            'Prometheus first': r.prometheus.firstMs === null ? 'none' : `${fmt(r.prometheus.firstMs / 1000, 1)} s`,
            'AM notifications': `${r.prometheus.notifications}${r.prometheus.groupsOwingResolved ? ` +${r.prometheus.groupsOwingResolved}` : ''}`,
            window: `${r.windowSeconds} s`,
          })),
        ),
    );
    const minutes = (Date.now() - started) / 60_000;
    console.log(`\nincidents: ${results.length} incident(s) in ${fmt(minutes, 1)} min`);
    writeResult('incidents', { options: { incidents: specs.map((s) => s.key), promWait, window: windowAfter, hold: hold || 'each incident\'s own' }, runMinutes: Number(minutes.toFixed(1)), results });
  } finally {
    await prom?.stop();
    await lab?.stop();
  }
}

runMain(main);
