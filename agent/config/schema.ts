// The one definition of every config key, its type and its default. Strict: an unknown key is an
// error (a typo must not silently fall back to a default), as blackbox_exporter does.
import { z } from 'zod';
import * as net from 'node:net';
import cron from 'node-cron';
import { matcherText, parseMatcher, parseMatchers } from '../alerting/matchers';
import { compileTimeInterval } from '../alerting/timeIntervals';
import { parseDuration } from './duration';
import { ARPING_MIN_TIMEOUT_MS } from '../probes/arpProbe';
import { NGINX_RESTART_GRACE_MS } from '../probes/nginxProcessProbe';

/** A duration in Prometheus's grammar ("500ms", "1h30m", "1w"; config/duration.ts), or a YAML number
 *  of seconds (kept for configs written before the grammar); parsed to ms. */
export const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    if (typeof v === 'number') {
      if (v < 0 || !Number.isFinite(v)) {
        ctx.addIssue({ code: 'custom', message: `duration must be a non-negative number of seconds, got ${v}` });
        return z.NEVER;
      }
      return Math.round(v * 1000);
    }
    try {
      return parseDuration(v.trim());
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

/** host:port, [v6]:port or :port. */
export const listenAddress = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'must be HOST:PORT, [V6]:PORT or :PORT');

const absPath = z.string().min(1).refine((p) => p.startsWith('/'), 'must be an absolute path');
/** http(s) URL without user:password@: a secret in a URL ends up in logs, errors and process listings. */
const httpUrl = z.url({ protocol: /^https?$/ }).refine((u) => {
  const m = /^[a-z]+:\/\/([^/?#]*)/i.exec(u);
  return !m || !m[1].includes('@');
}, 'credentials (user:password@) are not accepted in a URL: put the password in a file and name it with a password_file key');

/** A probe's schedule: a fixed interval, or a cron expression (node-cron, seconds field allowed). */
export const probeSchedule = z
  .strictObject({
    interval: duration.optional(),
    schedule: z.string().min(1).optional(),
    timeout: duration.optional(),
    enabled: z.boolean().default(true),
  })
  .superRefine((p, ctx) => {
    if (p.interval !== undefined && p.schedule !== undefined) ctx.addIssue({ code: 'custom', path: ['schedule'], message: 'set interval or schedule, not both' });
    if (p.interval !== undefined && p.interval < 100) ctx.addIssue({ code: 'custom', path: ['interval'], message: 'must be at least 100ms' });
    if (p.schedule !== undefined && !cron.validate(p.schedule)) ctx.addIssue({ code: 'custom', path: ['schedule'], message: `not a cron expression: "${p.schedule}" (e.g. "*/5 * * * *", or with seconds "*/10 * * * * *")` });
    if (p.timeout !== undefined && p.timeout < 1) ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'must be more than 0' });
  });

/** An IP address, optionally with /prefix (the prefix is ignored: VIPs are compared by address). */
const ipAddress = z.string().refine((a) => net.isIP(a.trim().replace(/\/\d{1,3}$/, '')) !== 0, 'not an IP address');

export const webSchema = z.strictObject({
  listen_address: listenAddress.default(':9723'),
  /** exporter-toolkit style: TLS and basic auth for every endpoint but the peer API's own token. */
  tls_cert_file: absPath.optional(),
  tls_key_file: absPath.optional(),
  /** user -> bcrypt hash. When set, /metrics and the status page need basic auth. */
  basic_auth_users: z.record(z.string().min(1), z.string().min(1)).optional(),
  /** An exporter-toolkit web config file (http/webConfig.ts); merged over the keys above. `run --web.config.file` replaces it. */
  config_file: absPath.optional(),
  /** Prometheus's flag: POST /-/reload exists only when true, and then needs the api token or basic auth. */
  enable_lifecycle: z.boolean().default(false),
  /** Open connections accepted at once (status page streams, scrapes, peers, CLI); more are closed at once. */
  max_connections: z.number().int().min(8).max(65_535).default(256),
});

export const keepalivedSchema = z.strictObject({
  /** "system" for the system bus, or a D-Bus address such as unix:path=/run/dbus/system_bus_socket. */
  dbus: z.string().min(1).default('system'),
  /** Set false where keepalived is built without D-Bus. */
  dbus_enabled: z.boolean().default(true),
  /** The agent creates and owns this FIFO; keepalived's vrrp_notify_fifo must name it. */
  notify_fifo: absPath.optional(),
  /** A log file to follow, or "journal" for journald. */
  log: z.union([z.literal('journal'), absPath]).optional(),
  config: absPath.default('/etc/keepalived/keepalived.conf'),
  pid_file: absPath.default('/run/keepalived.pid'),
  /** Counters: how often to request the stats/JSON dumps, and where keepalived writes them. */
  dumps: z
    .strictObject({
      interval: duration.default(15_000),
      /** Directory keepalived writes keepalived.{data,stats,json} to; default /tmp of its pid (PrivateTmp aware). */
      dir: absPath.optional(),
      /** dbus: PrintStats/PrintData over D-Bus; signal: USR2 / --signum=JSON to the pid. */
      method: z.enum(['dbus', 'signal', 'off']).default('dbus'),
      json_signal: z.number().int().min(1).max(64).default(36),
    })
    .default({ interval: 15_000, method: 'dbus', json_signal: 36 }),
  /** The notify hook hands events to the agent on this socket, and spools here when it is down. */
  hook_socket: absPath.default('/run/keepwatch/hook.sock'),
  hook_spool: absPath.default('/var/spool/keepwatch'),
  /** Set false to run without the hook source (no socket, no spool ingestion, no heartbeat). */
  hook_enabled: z.boolean().default(true),
  /** Where the agent keeps, across restarts, its last known state of each instance and the log's read position. */
  state_dir: absPath.default('/var/lib/keepwatch/keepalived'),
  /** The keepalived exporter's --ka.check-script: keepalived_check_script_status{iname,intf,vrid,ip_address}
   *  is 1 when `command` plus the VIP (as keepalived writes it, 10.1.0.1/24) exits 0. Run without a
   *  shell, one at a time, with PATH and LANG only as its environment; no ${ENV} in `command` (a
   *  command line is visible to every user): a script that needs a secret reads it from a file. */
  check_script: z
    .strictObject({
      /** The script (absolute path) and its own arguments. */
      command: z.tuple([absPath], z.string()),
      /** A run killed after this long counts as failed. */
      timeout: duration.default(5_000),
      /** Results are kept this long: scrapes within it run nothing (Prometheus's scrape interval suits). */
      interval: duration.default(15_000),
    })
    .superRefine((c, ctx) => {
      if (c.timeout < 1) ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'must be more than 0' });
      if (c.interval < c.timeout) ctx.addIssue({ code: 'custom', path: ['interval'], message: `must be at least the timeout (${c.timeout}ms): a run may last that long` });
    })
    .optional(),
});

export const nginxSchema = z.strictObject({
  status_url: httpUrl.default('http://127.0.0.1/nginx_status'),
  health_url: httpUrl.default('http://127.0.0.1/'),
  /** Also request health through the VIP while this node holds it. */
  health_via_vip: z.boolean().default(true),
  pid_file: absPath.default('/run/nginx.pid'),
  binary: absPath.default('/usr/sbin/nginx'),
  /** nginx -c for `nginx -t` / `nginx -T`, when not the default. */
  config: absPath.optional(),
  /** hot: nginx runs on the backup too; cold: it is started by notify_master on takeover. */
  standby: z.enum(['hot', 'cold']).default('hot'),
  /** cold standby: the script keepalived runs to start nginx (checked to exist and be executable). */
  start_hook: absPath.optional(),
  /** cold standby: a new MASTER's nginx must be healthy within this time. */
  takeover_grace: duration.default(10_000),
  /** A vanished master process is nginx down only when no new master replaced it within this time (a restart). */
  restart_grace: duration.default(NGINX_RESTART_GRACE_MS),
});

export const probesSchema = z
  .strictObject({
    vip: probeSchedule.optional(),
    arp: probeSchedule.optional(),
    nginx_status: probeSchedule.optional(),
    nginx_health: probeSchedule.optional(),
    nginx_process: probeSchedule.optional(),
    nginx_config: probeSchedule.optional(),
  })
  .superRefine((p, ctx) => {
    // arping listens 2 s for answers: a shorter timeout would cut every run off, and the probe
    // would report nothing but "aborted".
    if (p.arp?.timeout !== undefined && p.arp.timeout < ARPING_MIN_TIMEOUT_MS)
      ctx.addIssue({ code: 'custom', path: ['arp', 'timeout'], message: `must be at least ${ARPING_MIN_TIMEOUT_MS}ms: arping waits 2 s for answers` });
  })
  .default({});

export const peerSchema = z.strictObject({
  /** The peer's node name (its `node:`); the `peer` label of keepwatch_peer_*. */
  name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
  /** Base URL of the peer agent, e.g. http://192.0.2.12:9723 or https://... */
  url: httpUrl,
  /** Token this agent sends to that peer (default: peer_token). The peer must accept it. */
  token: z.string().min(16, 'must be at least 16 characters').optional(),
  /** https peers: PEM CA bundle their certificate is checked against (default: the system CAs). */
  ca_file: absPath.optional(),
  /** https peers: accept any certificate (self-signed without its CA). Encrypts, but does not authenticate the peer. */
  tls_insecure_skip_verify: z.boolean().default(false),
});

const PEER_LIMITS_DEFAULTS = { max_instances: 64, max_vips: 256, max_state_bytes: 256 * 1024, max_clock_skew: 5_000 };

/** What a peer's message may hold (agent/peers/peerAdmission.ts): a message over a cap is refused
 *  with an error naming the peer and the cap, and the peer's last good state is kept. */
export const peerLimitsSchema = z
  .strictObject({
    max_instances: z.number().int().min(1).max(4096).default(PEER_LIMITS_DEFAULTS.max_instances),
    max_vips: z.number().int().min(1).max(65_536).default(PEER_LIMITS_DEFAULTS.max_vips),
    /** Encoded size of one state, which is what is retained of each peer. */
    max_state_bytes: z.number().int().min(16 * 1024).max(16 * 1024 * 1024).default(PEER_LIMITS_DEFAULTS.max_state_bytes),
    /** A peer's message (or silence) dated further in the future than this is refused. */
    max_clock_skew: duration.default(PEER_LIMITS_DEFAULTS.max_clock_skew),
  })
  .default(PEER_LIMITS_DEFAULTS);

const RULES_DEFAULTS = {
  no_master_for: 5_000,
  split_brain_for: 500,
  condition_for: 5_000,
  event_hold: 300_000,
  drift_for: 60_000,
  flapping: { changes: 3, window: 300_000, quiet: 120_000 },
  sync_group_for: 3_000,
  peer_timeout: 3_000,
  peer_agent_dead_after: 30_000,
  evaluation_interval: 1_000,
};

export const rulesSchema = z
  .strictObject({
    /** NoMaster: no node MASTER (and none able to hear one) for this long. */
    no_master_for: duration.default(RULES_DEFAULTS.no_master_for),
    /** SplitBrain needs the double MASTER to last this long: absorbs the milliseconds of a normal
     *  preemption and the peer stream's delay (fires within ~split_brain_for + 0.1 s). The default
     *  leaves a wide margin over the longest overlap measured in lab preemptions
     *  (bench/preemptionOverlap.ts; figures in bench/RESULTS.md). */
    split_brain_for: duration.default(RULES_DEFAULTS.split_brain_for),
    /** How long a state condition (KeepalivedDown, InstanceFault, VipMismatch, VipLeftBound,
     *  NginxDownOnVipHolder, RedundancyLost, RedundancyUnverified) must hold before it fires:
     *  absorbs the seconds of a normal failover. NginxDownOnVipHolder waits for it only when
     *  nothing confirms the failure (a dead master, or NGINX_HEALTH_FAILURES_DOWN failed health
     *  requests in a row, page at once). */
    condition_for: duration.default(RULES_DEFAULTS.condition_for),
    /** Event-like alerts (Failover, PriorityChanged) stay firing this long, then resolve. */
    event_hold: duration.default(RULES_DEFAULTS.event_hold),
    /** ConfigDrift: nodes must disagree this long (a config rollout reaches nodes one at a time). */
    drift_for: duration.default(RULES_DEFAULTS.drift_for),
    flapping: z.preprocess(
      (v, ctx) => {
        // Flapping counts MASTER changes. A config written for a Nagios-style score (window of
        // states, thresholds in percent over a horizon) must not be half-read: its keys are errors
        // that say what to write instead.
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
        const f = { ...(v as Record<string, unknown>) };
        const old = ['high_threshold', 'low_threshold', 'horizon'].filter((k) => k in f);
        if (old.length) {
          ctx.addIssue({
            code: 'custom',
            message: `${old.join(', ')}: removed (the Nagios score is gone); Flapping counts MASTER changes: set changes (default 3), window (default 5m) and quiet (default 2m)`,
          });
          for (const k of old) delete f[k];
        }
        if (typeof f.window === 'number') {
          ctx.addIssue({ code: 'custom', message: `window: ${f.window} looks like the old Nagios window of states; window is now a duration (e.g. 5m) within which \`changes\` MASTER changes make a VRID flapping` });
          delete f.window;
        }
        return f;
      },
      z.strictObject({
        /** Flapping fires at this many MASTER changes of a VRID within `window` (3: a failover and its failback are not flapping). */
        changes: z.number().int().min(2).max(1000).default(RULES_DEFAULTS.flapping.changes),
        window: duration.default(RULES_DEFAULTS.flapping.window),
        /** It clears after this long without a MASTER change (hysteresis: one alert per episode). */
        quiet: duration.default(RULES_DEFAULTS.flapping.quiet),
      }),
    )
      .default(RULES_DEFAULTS.flapping),
    sync_group_for: duration.default(RULES_DEFAULTS.sync_group_for),
    /** A peer that sends nothing (no state, no heartbeat) for this long is down. */
    peer_timeout: duration.default(RULES_DEFAULTS.peer_timeout),
    /** PeerAgentDown: a peer's agent silent this long while its node still answers VRRP. */
    peer_agent_dead_after: duration.default(RULES_DEFAULTS.peer_agent_dead_after),
    /** The rules also run on this timer, for conditions about time. */
    evaluation_interval: duration.default(RULES_DEFAULTS.evaluation_interval),
  })
  .default(RULES_DEFAULTS);

/** Alertmanager matchers, checked at load time: each item one matcher (`a="b"`, `a!=b`, `a=~re`,
 *  `a!~re`) or a braced list (`{a="b", c=~"d"}`), as Alertmanager's config takes them; expanded to
 *  one canonical matcher per entry. */
const matcherItem = z.string().min(1).transform((s, ctx) => {
  try {
    return parseMatchers(s).map(String);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});
const matcherList = z.array(matcherItem).transform((l) => l.flat());
const labelMap = z.record(z.string(), z.string());

/**
 * Alertmanager's older `match` (equality) and `match_re` (anchored regex) maps, folded into the
 * matcher list under `into`, so routes and inhibit rules written for Alertmanager load unchanged.
 * Anything but a map of strings is left in place for the schema to report.
 */
function foldMatch(raw: unknown, pairs: ReadonlyArray<readonly [string, string, '=' | '=~']>): unknown {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const out: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const [key, into, type] of pairs) {
    const map = out[key];
    if (map === undefined || !labelMap.safeParse(map).success) continue;
    const folded = Object.entries(map as Record<string, string>).map(([name, value]) => matcherText(name, type, value));
    const existing = out[into];
    if (existing !== undefined && !Array.isArray(existing)) continue;
    out[into] = [...((existing as unknown[] | undefined) ?? []), ...folded];
    delete out[key];
  }
  return out;
}

/** One node of alerting.route, Alertmanager's routing tree (children under `routes`). */
export const routeSchema = z.strictObject({
  receiver: z.string().min(1).optional(),
  group_by: z.array(z.string().min(1)).optional(),
  group_wait: duration.optional(),
  group_interval: duration.optional(),
  repeat_interval: duration.optional(),
  /** Alertmanager matcher syntax: label=value, label!=value, label=~regex, label!~regex. */
  matchers: matcherList.default([]),
  /** Alertmanager's older forms, folded into matchers before this schema (foldRouteTree); here only
   *  to name what is wrong when they are not maps of strings. */
  match: labelMap.optional(),
  match_re: labelMap.optional(),
  continue: z.boolean().default(false),
  /** Names from alerting.time_intervals: no notification from this route while one contains now.
   *  Not inherited by child routes (Alertmanager's rule); not on the root route. */
  mute_time_intervals: z.array(z.string().min(1)).optional(),
  /** Names from alerting.time_intervals: notifications from this route only while one contains now. */
  active_time_intervals: z.array(z.string().min(1)).optional(),
  get routes(): z.ZodDefault<z.ZodArray<typeof routeSchema>> {
    return z.array(routeSchema).default([]);
  },
});

/** A raw routing tree with every node's `match`/`match_re` folded into its `matchers`. */
function foldRouteTree(raw: unknown): unknown {
  const r = foldMatch(raw, [['match', 'matchers', '='], ['match_re', 'matchers', '=~']]);
  if (!r || typeof r !== 'object' || Array.isArray(r)) return r;
  const routes = (r as { routes?: unknown }).routes;
  return Array.isArray(routes) ? { ...r, routes: routes.map(foldRouteTree) } : r;
}

export type RouteConfig = z.infer<typeof routeSchema>;

const receiverBase = {
  name: z.string().min(1),
  send_resolved: z.boolean().default(true),
  timeout: duration.default(5_000),
};

/** Slack's Web API (bot mode). */
export const SLACK_API_URL = 'https://slack.com/api';

const slackReceiverSchema = z
  .strictObject({
    ...receiverBase,
    type: z.literal('slack'),
    /** Incoming webhook mode: the URL is the credential. */
    webhook_url: httpUrl.optional(),
    /** Bot mode: a bot token (xoxb-...) with the chat:write scope, or a file holding it (read when the receiver is built). */
    token: z.string().min(1).optional(),
    token_file: absPath.optional(),
    /** Bot mode: the Web API's base URL. */
    api_url: httpUrl.default(SLACK_API_URL),
    /** Webhook mode: overrides the hook's channel. Bot mode: required, #name or its ID. */
    channel: z.string().min(1).optional(),
    username: z.string().optional(),
  })
  .superRefine((r, ctx) => {
    const bot = r.token !== undefined || r.token_file !== undefined;
    if (r.webhook_url && bot) ctx.addIssue({ code: 'custom', path: ['webhook_url'], message: 'set webhook_url (incoming webhook) or token/token_file and channel (bot), not both' });
    if (!r.webhook_url && !bot) ctx.addIssue({ code: 'custom', path: ['webhook_url'], message: 'a Slack receiver needs webhook_url (incoming webhook), or token or token_file and channel (bot, threads per incident)' });
    if (r.token !== undefined && r.token_file !== undefined) ctx.addIssue({ code: 'custom', path: ['token_file'], message: 'set token or token_file, not both' });
    if (bot && !r.channel) ctx.addIssue({ code: 'custom', path: ['channel'], message: 'required with a bot token: the channel to post to (#name or its ID)' });
  });

const emailReceiverSchema = z.strictObject({
  ...receiverBase,
  type: z.literal('email'),
  to: z.array(z.string().min(3)).min(1),
  from: z.string().min(3),
  smarthost: z.string().regex(/^[^:]+:\d+$/, 'must be HOST:PORT'),
  auth_username: z.string().optional(),
  auth_password: z.string().optional(),
  /** STARTTLS is required unless this is false (or the port is 465, implicit TLS). */
  require_tls: z.boolean().default(true),
  tls_insecure_skip_verify: z.boolean().default(false),
  ca_file: absPath.optional(),
});

const webhookReceiverSchema = z.strictObject({
  ...receiverBase,
  type: z.literal('webhook'),
  url: httpUrl,
  /** HMAC-SHA256 of `<X-Keepwatch-Timestamp>.<body>`, hex, in X-Keepwatch-Signature: sha256=<hex>. */
  hmac_secret: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).default({}),
});

/** A file holding a secret (password, token): read at each use, so a rotated secret needs no restart. */
const secretFile = absPath;

/** Client TLS towards Alertmanager, Prometheus's tls_config: a CA to check the server, a client certificate to show. */
export const tlsConfigSchema = z
  .strictObject({
    ca_file: absPath.optional(),
    cert_file: absPath.optional(),
    key_file: absPath.optional(),
    /** The name the server certificate must carry (default: the URL's host). */
    server_name: z.string().min(1).optional(),
    insecure_skip_verify: z.boolean().default(false),
  })
  .superRefine((t, ctx) => {
    if ((t.cert_file === undefined) !== (t.key_file === undefined)) ctx.addIssue({ code: 'custom', path: [t.cert_file ? 'key_file' : 'cert_file'], message: 'a client certificate needs both cert_file and key_file' });
  });

const alertmanagerReceiverSchema = z
  .strictObject({
    ...receiverBase,
    type: z.literal('alertmanager'),
    /** Every member of the Alertmanager cluster (base URLs; alerts go to <url>/api/v2/alerts). Like
     *  Prometheus, each alert goes to all of them: the cluster dedups, and one dead member loses nothing. */
    urls: z.array(httpUrl).min(1).optional(),
    /** One Alertmanager: the same as urls: [url]. */
    url: httpUrl.optional(),
    /** Firing alerts are re-sent this often so they never expire in Alertmanager (Prometheus's resend_delay). */
    resend_interval: duration.default(60_000),
    basic_auth: z
      .strictObject({ username: z.string().min(1), password: z.string().optional(), password_file: secretFile.optional() })
      .superRefine((b, ctx) => {
        if (b.password !== undefined && b.password_file !== undefined) ctx.addIssue({ code: 'custom', path: ['password_file'], message: 'set password or password_file, not both' });
        if (b.password === undefined && b.password_file === undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'basic_auth needs password or password_file' });
      })
      .optional(),
    bearer_token: z.string().min(1).optional(),
    bearer_token_file: secretFile.optional(),
    tls_config: tlsConfigSchema.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.url !== undefined && r.urls !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'set urls (every member of the Alertmanager cluster) or url (one), not both' });
    if (r.url === undefined && r.urls === undefined) ctx.addIssue({ code: 'custom', path: ['urls'], message: 'an Alertmanager receiver needs urls: the base URL of every member of the Alertmanager cluster' });
    const urls = r.urls ?? [];
    urls.forEach((u, i) => {
      if (urls.indexOf(u) !== i) ctx.addIssue({ code: 'custom', path: ['urls', i], message: 'listed twice' });
    });
    if (r.bearer_token !== undefined && r.bearer_token_file !== undefined) ctx.addIssue({ code: 'custom', path: ['bearer_token_file'], message: 'set bearer_token or bearer_token_file, not both' });
    if (r.basic_auth && (r.bearer_token !== undefined || r.bearer_token_file !== undefined)) ctx.addIssue({ code: 'custom', path: ['basic_auth'], message: 'set basic_auth or a bearer token, not both (one Authorization header)' });
  })
  // One shape for the rest of the agent: the list, whichever key the config used.
  .transform(({ url, urls, ...r }) => ({ ...r, urls: urls ?? (url !== undefined ? [url] : []) }));

export const receiverSchema = z.discriminatedUnion('type', [slackReceiverSchema, emailReceiverSchema, webhookReceiverSchema, alertmanagerReceiverSchema]);

/** One of Alertmanager's time intervals (same YAML shape), checked at load time. */
const timeIntervalSchema = z
  .strictObject({
    times: z.array(z.strictObject({ start_time: z.string(), end_time: z.string() })).optional(),
    weekdays: z.array(z.string()).optional(),
    days_of_month: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
    months: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
    years: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
    location: z.string().min(1).optional(),
  })
  .superRefine((t, ctx) => {
    try {
      compileTimeInterval(t);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });

export const namedTimeIntervalSchema = z.strictObject({
  name: z.string().min(1),
  time_intervals: z.array(timeIntervalSchema).min(1),
});

/** A Prometheus label name that is not reserved (`__` prefix) nor one the agent's alerts set themselves. */
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const RESERVED_EXTERNAL_LABELS = ['alertname', 'severity', 'node', 'incident'];
const externalLabelsSchema = z.record(z.string(), z.string().min(1, 'must not be empty')).superRefine((labels, ctx) => {
  for (const k of Object.keys(labels)) {
    if (!LABEL_NAME_RE.test(k) || k.startsWith('__')) ctx.addIssue({ code: 'custom', path: [k], message: `"${k}" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)` });
    else if (RESERVED_EXTERNAL_LABELS.includes(k)) ctx.addIssue({ code: 'custom', path: [k], message: `"${k}" is set by the agent on each alert; pick another name (e.g. cluster, site)` });
  }
});

/** A dead man's switch outside the paging path: a URL pinged on a schedule while the agent runs. */
export const heartbeatSchema = z
  .strictObject({
    url: httpUrl,
    /** node-cron expression (seconds field allowed); default every minute. */
    schedule: z.string().min(1).default('* * * * *'),
    timeout: duration.default(10_000),
    method: z.enum(['GET', 'POST']).default('GET'),
  })
  .superRefine((h, ctx) => {
    if (!cron.validate(h.schedule)) ctx.addIssue({ code: 'custom', path: ['schedule'], message: `not a cron expression: "${h.schedule}" (e.g. "* * * * *" every minute, "*/30 * * * * *" every 30 s)` });
    if (h.timeout < 1) ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'must be more than 0' });
  });

export const inhibitRuleSchema = z.preprocess(
  (r) =>
    foldMatch(r, [
      ['source_match', 'source_matchers', '='],
      ['source_match_re', 'source_matchers', '=~'],
      ['target_match', 'target_matchers', '='],
      ['target_match_re', 'target_matchers', '=~'],
    ]),
  z.strictObject({
    source_matchers: z.array(matcherItem).min(1).transform((l) => l.flat()),
    target_matchers: z.array(matcherItem).min(1).transform((l) => l.flat()),
    equal: z.array(z.string().min(1)).default([]),
  }),
);

export const alertingSchema = z
  .strictObject({
    route: z.preprocess(foldRouteTree, routeSchema.optional()),
    receivers: z.array(receiverSchema).default([]),
    inhibit_rules: z.array(inhibitRuleSchema).optional(),
    outbox: z
      .strictObject({
        path: absPath.default('/var/lib/keepwatch/outbox'),
        max_entries: z.number().int().min(1).default(10_000),
        max_bytes: z.number().int().min(1024).default(64 * 1024 * 1024),
      })
      .default({ path: '/var/lib/keepwatch/outbox', max_entries: 10_000, max_bytes: 64 * 1024 * 1024 }),
    retry: z
      .strictObject({ initial: duration.default(500), max: duration.default(60_000), max_age: duration.default(86_400_000) })
      .default({ initial: 500, max: 60_000, max_age: 86_400_000 }),
    silences_file: absPath.default('/var/lib/keepwatch/silences.json'),
    /** Bearer token for the silences API and lifecycle endpoints; never defaults to peer_token. */
    api_token: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Base URL of this agent's status page, used in notifications' links. */
    external_url: httpUrl.optional(),
    /** Prometheus's external_labels: who this pair is (e.g. {cluster: lb-paris-1, site: paris}), on
     *  every alert this agent sends and in its fingerprint, so pairs sharing one Alertmanager (and
     *  the same VRID and instance names) stay apart. Required with an Alertmanager receiver. */
    external_labels: externalLabelsSchema.default({}),
    /** Alertmanager's time_intervals: named windows for routes' mute_time_intervals / active_time_intervals. */
    time_intervals: z.array(namedTimeIntervalSchema).default([]),
    heartbeat: heartbeatSchema.optional(),
  })
  .superRefine((a, ctx) => {
    // Names must be unique and every route must name a defined receiver (Alertmanager's checks).
    const names = new Set<string>();
    a.receivers.forEach((r, i) => {
      if (names.has(r.name)) ctx.addIssue({ code: 'custom', path: ['receivers', i, 'name'], message: `receiver "${r.name}" is defined twice` });
      names.add(r.name);
    });
    // Alertmanager merges alerts with equal labels: two pairs (both on VRID 51, VI_1) would become one alert.
    if (a.receivers.some((r) => r.type === 'alertmanager') && Object.keys(a.external_labels).length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['external_labels'],
        message: 'required with an Alertmanager receiver: name this pair (e.g. external_labels: {cluster: lb-paris-1}), or its alerts merge in Alertmanager with those of every other pair that uses the same VRIDs and instance names',
      });
    const intervals = new Set<string>();
    a.time_intervals.forEach((t, i) => {
      if (intervals.has(t.name)) ctx.addIssue({ code: 'custom', path: ['time_intervals', i, 'name'], message: `time interval "${t.name}" is defined twice` });
      intervals.add(t.name);
    });
    if (!a.route) return;
    if (!a.route.receiver) ctx.addIssue({ code: 'custom', path: ['route', 'receiver'], message: 'the root route needs a receiver' });
    for (const k of ['mute_time_intervals', 'active_time_intervals'] as const)
      if (a.route[k]?.length) ctx.addIssue({ code: 'custom', path: ['route', k], message: `not on the root route (as in Alertmanager): put it on a child route` });
    const walk = (r: RouteConfig, path: (string | number)[]) => {
      if (r.receiver && !names.has(r.receiver)) ctx.addIssue({ code: 'custom', path: [...path, 'receiver'], message: `receiver "${r.receiver}" is not defined in alerting.receivers` });
      for (const k of ['mute_time_intervals', 'active_time_intervals'] as const)
        (r[k] ?? []).forEach((n, i) => {
          if (!intervals.has(n)) ctx.addIssue({ code: 'custom', path: [...path, k, i], message: `time interval "${n}" is not defined in alerting.time_intervals` });
        });
      r.routes.forEach((c, i) => walk(c, [...path, 'routes', i]));
    };
    walk(a.route, ['route']);
  })
  .default({
    receivers: [],
    outbox: { path: '/var/lib/keepwatch/outbox', max_entries: 10_000, max_bytes: 64 * 1024 * 1024 },
    retry: { initial: 500, max: 60_000, max_age: 86_400_000 },
    silences_file: '/var/lib/keepwatch/silences.json',
    external_labels: {},
    time_intervals: [],
  });

export const configSchema = z
  .strictObject({
  node: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
  log: z
    .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'), format: z.enum(['json', 'pretty', 'auto']).default('auto') })
    .default({ level: 'info', format: 'auto' }),
  keepalived: keepalivedSchema.default(() => keepalivedSchema.parse({})),
  web: webSchema.default(() => webSchema.parse({})),
  nginx: nginxSchema.default(() => nginxSchema.parse({})),
  /** Expected VIPs per instance, overriding what keepalived and keepalived.conf say. */
  vips: z.record(z.string().min(1), z.array(ipAddress)).optional(),
  probes: probesSchema,
  peers: z.array(peerSchema).optional(),
  peer_token: z.string().min(16, 'must be at least 16 characters').optional(),
  peer_limits: peerLimitsSchema,
  rules: rulesSchema,
  alerting: alertingSchema,
  })
  .superRefine((c, ctx) => {
    // Separate powers: a peer's token must not also silence pages or reload the agent.
    if (c.alerting.api_token !== undefined && [c.peer_token, ...(c.peers ?? []).map((p) => p.token)].includes(c.alerting.api_token))
      ctx.addIssue({ code: 'custom', path: ['alerting', 'api_token'], message: 'must differ from peer_token and every peers[].token' });
  });

/** The validated config, durations in ms. */
export type Config = z.infer<typeof configSchema>;
export type ReceiverConfig = z.infer<typeof receiverSchema>;
export type SlackReceiverConfig = z.infer<typeof slackReceiverSchema>;
export type EmailReceiverConfig = z.infer<typeof emailReceiverSchema>;
export type WebhookReceiverConfig = z.infer<typeof webhookReceiverSchema>;
export type AlertmanagerReceiverConfig = z.infer<typeof alertmanagerReceiverSchema>;
export type TlsConfig = z.infer<typeof tlsConfigSchema>;
export type HeartbeatConfig = z.infer<typeof heartbeatSchema>;
export type NamedTimeIntervalConfig = z.infer<typeof namedTimeIntervalSchema>;
export type InhibitRuleConfig = z.infer<typeof inhibitRuleSchema>;
export type PeerConfig = z.infer<typeof peerSchema>;
export type ProbeSchedule = z.infer<typeof probeSchedule>;
