// The alerting module: the pipeline (route, group, inhibit, silence), the durable outbox and the
// receivers, the silences and alerts API, and the notification metrics. On reload it is rebuilt
// when its slice changes; the new one opens the same outbox directory (what was pending is sent by
// the new receivers), reads the same notification log from it (nothing is paged twice) and the counters
// carry on (w.shared holds them for the agent's life). The incident book is kept in the same outbox journal, so a
// restart or reload continues the open incident; GET /api/v1/incidents lists open and recent ones.
import { allRules } from '../../rules';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ModuleFactory, WiringCtx } from '../module';
import { duration } from '../config/schema';
import type { Alert } from '../alerting/alert';
import { INCIDENT_LABEL, type Incident } from '../alerting/incident';
import { IncidentBook, outboxIncidentStore } from '../alerting/incidents';
import { Inhibitor } from '../alerting/inhibit';
import { NotificationLog, outboxNflogStore } from '../alerting/nflog';
import { isoTime } from '../alerting/notification';
import { Outbox } from '../alerting/outbox';
import { AlertPipeline } from '../alerting/pipeline';
import { createReceivers } from '../alerting/receivers';
import { receiverQueues } from '../alerting/receivers/alertmanager';
import { Heartbeat } from '../alerting/heartbeat';
import { TimeIntervals } from '../alerting/timeIntervals';
import { externalLabelMatchers } from '../alerting/externalLabels';
import { parseMatcher } from '../alerting/matchers';
import { outboxThreadStore } from '../alerting/receivers/threads';
import { buildRouteTree, groupsByIncident, matchRoutes } from '../alerting/route';
import { matcherFromJson, matchesAll, matchesEveryAlert, type Matcher, type MatcherJson } from '../alerting/matchers';
import { SilenceError, type Silence, type SilenceInput, type SilenceState } from '../alerting/silences';
import { HttpError, readJsonBody, sendJson, type RouteSpec } from '../http/server';
import { notificationsCollector } from '../../exporters/notifications';

function silenceJson(s: Silence & { state: SilenceState }) {
  return {
    id: s.id,
    matchers: s.matchers,
    startsAt: isoTime(s.startsAt),
    endsAt: isoTime(s.endsAt),
    updatedAt: isoTime(s.updatedAt),
    createdBy: s.createdBy,
    comment: s.comment,
    status: { state: s.state },
  };
}

/** An incident for the API and the status page. */
export function incidentJson(inc: Incident) {
  const lead = inc.alerts.find((a) => a.fingerprint === inc.cause);
  return {
    id: inc.id,
    status: inc.status,
    past: inc.past,
    openedAt: isoTime(inc.openedAt),
    resolvedAt: inc.resolvedAt !== undefined && inc.status === 'resolved' ? isoTime(inc.resolvedAt) : null,
    cause: lead?.annotations.summary ?? '',
    causeAlert: lead?.labels.alertname ?? '',
    alerts: inc.alerts.map((a) => ({ alertname: a.labels.alertname ?? '', status: a.status, severity: a.labels.severity ?? '', summary: a.annotations.summary, fingerprint: a.fingerprint })),
    steps: inc.steps.map((s) => ({ at: isoTime(s.at), alertname: s.alertname, status: s.status, summary: s.summary })),
  };
}

export type IncidentJson = ReturnType<typeof incidentJson>;

/**
 * After a restart, how long the saved open incident's firing alerts may take to be raised again
 * before they count as over: the longest `for` of the rules, plus the peers' time to answer.
 */
export function incidentConfirmMs(r: { condition_for: number; no_master_for: number; split_brain_for: number; sync_group_for: number; drift_for: number; peer_timeout: number }): number {
  return Math.max(r.condition_for, r.no_master_for, r.split_brain_for, r.sync_group_for, r.drift_for) + 2 * r.peer_timeout;
}

function parseTime(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const t = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw new HttpError(400, `${field}: not a time (use RFC 3339, e.g. 2026-11-25T12:00:00Z)`);
  return t;
}

/** The POST body: Alertmanager's silence shape, plus `duration` ("2h") instead of endsAt, and
 *  `pair: true` to pin the silence to this pair (a matcher per external label it does not name). */
export function silenceInputFromBody(body: unknown, now: number, externalLabels: Record<string, string> = {}): SilenceInput {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'body: expected a JSON object with matchers, endsAt or duration, createdBy, comment');
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.matchers)) throw new HttpError(400, 'matchers: expected an array of "name=value" strings or {name, value, isRegex, isEqual}');
  const startsAt = parseTime(b.startsAt, 'startsAt');
  let endsAt = parseTime(b.endsAt, 'endsAt');
  if (b.duration !== undefined) {
    const d = duration.safeParse(b.duration);
    if (!d.success || d.data <= 0) throw new HttpError(400, `duration: not a positive duration: ${JSON.stringify(b.duration)} (use e.g. 30m, 2h)`);
    endsAt = (startsAt ?? now) + d.data;
  }
  if (endsAt === undefined) throw new HttpError(400, 'endsAt or duration: required');
  let matchers = b.matchers as SilenceInput['matchers'];
  if (b.pair === true) {
    const named = new Set<string>();
    for (const m of matchers) {
      try {
        named.add(typeof m === 'string' ? parseMatcher(m).name : m.name);
      } catch {
        // a bad matcher is refused with its reason by Silences.add
      }
    }
    matchers = [...matchers, ...externalLabelMatchers(Object.fromEntries(Object.entries(externalLabels).filter(([k]) => !named.has(k))))];
  }
  return {
    ...(typeof b.id === 'string' && b.id ? { id: b.id } : {}),
    matchers,
    startsAt,
    endsAt,
    createdBy: typeof b.createdBy === 'string' ? b.createdBy : '',
    comment: typeof b.comment === 'string' ? b.comment : '',
  };
}

/** The input's matchers as Matchers; ones that do not parse are left for silences.add to report. */
function inputMatchers(input: SilenceInput): Matcher[] {
  const out: Matcher[] = [];
  for (const m of input.matchers as unknown[]) {
    try {
      out.push(typeof m === 'string' ? parseMatcher(m) : matcherFromJson(m as MatcherJson));
    } catch {
      return []; // an invalid matcher: add() refuses the silence with the reason
    }
  }
  return out;
}

function silenceCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SilenceError) throw new HttpError(e.status, e.message);
    throw e;
  }
}

export const alertingModule: ModuleFactory = {
  name: 'alerting',
  slice: (c) => ({ alerting: c.alerting }),
  build(w: WiringCtx) {
    const cfg = w.config.alerting;
    const log = w.log.child({ module: 'alerting' });
    const metrics = w.shared.notificationMetrics;
    const receiverNames = cfg.receivers.map((r) => r.name);
    // The outbox's queues: one per receiver, one per member of an Alertmanager cluster.
    const queueNames = cfg.receivers.flatMap((r) => receiverQueues(r));
    metrics.initReceivers(queueNames);
    // One store for the agent's life, shared with the peers (w.shared): a reload keeps it.
    const silences = w.shared.silences;
    silences.useFile(cfg.silences_file);
    const outbox = new Outbox({
      dir: cfg.outbox.path,
      maxEntries: cfg.outbox.max_entries,
      maxBytes: cfg.outbox.max_bytes,
      retry: { initial: cfg.retry.initial, max: cfg.retry.max, maxAge: cfg.retry.max_age },
      clock: w.clock,
      log,
      metrics,
    });
    const nflog = new NotificationLog({ clock: w.clock, store: outboxNflogStore(outbox) });
    const route = buildRouteTree(cfg.route, receiverNames);
    const incidents = new IncidentBook({ clock: w.clock, settleMs: route.groupInterval, store: outboxIncidentStore(outbox), confirmMs: incidentConfirmMs(w.config.rules) });
    // Threads (Slack ts, email subject) live in the outbox journal beside the notification log: a restart keeps them.
    const receivers = cfg.receivers.flatMap((r) => createReceivers(r, { clock: w.clock, threads: outboxThreadStore(outbox, r.name, w.clock), env: w.env }));
    const heartbeat = cfg.heartbeat ? new Heartbeat({ cfg: cfg.heartbeat, clock: w.clock, log }) : undefined;
    // Several agents raise the same alerts: the cluster's delivery policy says which one pages.
    const delivery = w.shared.delivery;
    const pipeline = new AlertPipeline({
      hub: w.alerts,
      clock: w.clock,
      log,
      route,
      receivers: cfg.receivers,
      inhibitor: new Inhibitor(cfg.inhibit_rules),
      silences,
      nflog,
      outbox,
      externalURL: cfg.external_url,
      delivery,
      incidents,
      externalLabels: cfg.external_labels,
      timeIntervals: new TimeIntervals(cfg.time_intervals),
      node: w.config.node,
    });
    // GET /api/v1/notifications: receivers (name and type only, never their secrets) and their queues.
    // The heartbeat's URL is its credential: only its schedule and outcome are shown.
    const status = () => ({
      receivers: cfg.receivers.map((r) => ({ name: r.name, type: r.type, ...(r.type === 'alertmanager' ? { queues: receiverQueues(r) } : {}) })),
      queues: outbox.status(),
      memoryOnly: outbox.memoryOnly,
      externalLabels: cfg.external_labels,
      heartbeat: heartbeat?.status() ?? null,
    });
    const incidentsJson = (): { open: IncidentJson[]; recent: IncidentJson[] } => {
      const open = incidents.current();
      return { open: open ? [incidentJson(open)] : [], recent: incidents.recent().map(incidentJson) };
    };
    let gcTimer: NodeJS.Timeout | undefined;

    const alertJson = (published: Alert) => {
      const a = pipeline.labelled(published);
      const st = pipeline.alertStatus(a);
      const inc = incidents.incidentOf(a);
      // Grouped by incident (the default), the whole incident is told by the agent its anchor names.
      const byIncident = inc !== undefined && matchRoutes(route, { ...a.labels, [INCIDENT_LABEL]: inc.id }).some(groupsByIncident);
      const anchor = byIncident ? incidents.anchor(inc.id, false) : undefined;
      return {
        fingerprint: a.fingerprint,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: isoTime(a.startsAt),
        endsAt: isoTime(a.endsAt),
        generatorURL: a.generatorURL ?? cfg.external_url ?? '',
        status: { state: st.state, silencedBy: st.silencedBy, inhibitedBy: st.inhibitedBy },
        receivers: st.receivers.map((name) => ({ name })),
        incident: inc?.id ?? null,
        // The agent that notifies the grouped receivers of it (this one or a peer), when known.
        deliveredBy: delivery.deliverer(anchor ?? a) ?? null,
      };
    };
    const silenceId = (url: URL) => {
      const raw = url.pathname.slice('/api/v1/silences/'.length);
      let id: string;
      try {
        id = decodeURIComponent(raw);
      } catch {
        // A lone '%' or a bad escape: the client's error, not a 500.
        throw new HttpError(400, `malformed silence id in the path: ${JSON.stringify(raw.slice(0, 80))}`);
      }
      if (!id || id.includes('/')) throw new HttpError(404, `no such silence: ${id}`);
      return id;
    };
    const routes: RouteSpec[] = [
      {
        method: 'GET',
        path: '/api/v1/alerts',
        auth: 'web',
        handler(_req: IncomingMessage, res: ServerResponse) {
          sendJson(res, 200, w.alerts.active().map(alertJson));
        },
      },
      {
        method: 'GET',
        path: '/api/v1/incidents',
        auth: 'web',
        handler(_req, res) {
          sendJson(res, 200, incidentsJson());
        },
      },
      {
        method: 'GET',
        path: '/api/v1/notifications',
        auth: 'web',
        handler(_req, res) {
          sendJson(res, 200, status());
        },
      },
      {
        method: 'GET',
        path: '/api/v1/silences',
        auth: 'api',
        handler(_req, res) {
          sendJson(res, 200, silences.list().map(silenceJson));
        },
      },
      {
        method: 'POST',
        path: '/api/v1/silences',
        auth: 'api',
        async handler(req, res) {
          const body = await readJsonBody(req, 64 * 1024);
          const input = silenceInputFromBody(body, w.clock.now(), cfg.external_labels);
          const force = (body as { force?: unknown }).force === true;
          const matchers = inputMatchers(input);
          // Matchers that all match the empty label set are refused by add() itself, forced or not.
          if (!force && !matchesAll(matchers, {}) && matchesEveryAlert(matchers, randomUUID())) {
            throw new HttpError(400, 'matchers: this silence would match every alert (and mute every page); narrow it, or send "force": true if that is really meant');
          }
          const id = silenceCall(() => silences.add(input));
          sendJson(res, 200, { silenceID: id });
        },
      },
      {
        method: 'GET',
        path: '/api/v1/silences/*',
        auth: 'api',
        handler(_req, res, url) {
          const id = silenceId(url);
          const s = silences.list().find((x) => x.id === id);
          if (!s) throw new HttpError(404, `no such silence: ${id}`);
          sendJson(res, 200, silenceJson(s));
        },
      },
      {
        method: 'DELETE',
        path: '/api/v1/silences/*',
        auth: 'api',
        handler(_req, res, url) {
          const id = silenceId(url);
          silenceCall(() => silences.expire(id));
          sendJson(res, 200, { silenceID: id, status: 'expired' });
        },
      },
    ];

    return {
      components: [
        {
          name: 'alerting',
          async start() {
            gcTimer = w.clock.setInterval(() => silences.gc(), 600_000);
            heartbeat?.start();
            if (!receivers.length) {
              // Nothing can be routed, so nothing is enqueued: the outbox directory is not touched
              // (the incidents are kept in memory only, for the API and the status page).
              log.warn('alerting: no receivers configured: alerts are not sent anywhere');
              pipeline.start();
              return;
            }
            await outbox.open();
            nflog.load();
            outbox.setReceivers(receivers);
            pipeline.start();
          },
          async stop() {
            w.clock.clearInterval(gcTimer);
            await heartbeat?.stop();
            pipeline.stop();
            await outbox.close();
            for (const r of receivers) await r.close?.().catch(() => undefined);
          },
        },
      ],
      routes,
      collectors: [
        notificationsCollector({
          metrics,
          queues: () => outbox.status(),
          receivers: () => queueNames,
          memoryOnly: () => outbox.memoryOnly,
          alerts: w.alerts,
          silenceCounts: () => silences.counts(),
          catalogue: allRules.map((r) => ({ alertname: r.name, severity: r.severity })),
        }),
      ],
    };
  },
};
