// Every command with its flags, and nothing else: a command's code (and what it pulls in: the
// daemon, zod, pino, prom-client, the receivers) is loaded only when that command runs, so
// `keepwatch --version`, any --help and `notify` start about as fast as Node itself.
// require(), not import(): the build is CommonJS, where a native import() needs file extensions
// that ts-jest's module resolution does not map back to the .ts sources.
import type { Command } from 'commander';

export const DEFAULT_HOOK_INSTALL_PATH = '/usr/local/sbin/keepwatch-notify';

export const NOTIFY_USAGE = `usage: keepwatch notify [options] GROUP|INSTANCE NAME STATE [PRIORITY]
       keepwatch notify [options] --state STATE GROUP|INSTANCE NAME [PRIORITY]
  STATE: MASTER BACKUP FAULT STOP INIT DELETED (or MASTER_RX_LOWER_PRI for an INSTANCE); PRIORITY: 0-255
`;

/* eslint-disable @typescript-eslint/no-require-imports */
const runModule = () => require('./run') as typeof import('./run');
const checkConfigModule = () => require('./checkConfig') as typeof import('./checkConfig');
const testAlertModule = () => require('./testAlert') as typeof import('./testAlert');
const notifyModule = () => require('./notify') as typeof import('./notify');
const statusModule = () => require('./status') as typeof import('./status');
const silenceModule = () => require('./silence') as typeof import('./silence');

/** Where status and silence find the agent's address, TLS and api token. */
export const DEFAULT_CONFIG_FILE = '/etc/keepwatch/keepwatch.yml';

/** The flags status and silence share: how to reach the local agent. */
function agentFlags(cmd: Command): Command {
  return cmd
    .option('--config.file <path>', "the agent's config: its listen address, TLS and alerting.api_token (a missing default file: http://127.0.0.1:9723)", DEFAULT_CONFIG_FILE)
    .option('--web.config.file <path>', 'the web config file the agent runs with (keepwatch run --web.config.file), for its TLS')
    .option('--http.config.file <path>', "client TLS as amtool takes it (Prometheus's HTTP client config; only tls_config: cert_file, key_file, ca_file, server_name, insecure_skip_verify), for an agent that asks for client certificates")
    .option('--agent.url <url>', 'ask the agent at this URL instead of the config\'s address (also env KEEPWATCH_AGENT_URL; user:password@ only there)');
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the agent on this node')
    .requiredOption('--config.file <path>', 'keepwatch config file')
    .option('--web.listen-address <host:port>', 'address for the metrics, the API and the status page (overrides web.listen_address)')
    .option('--web.config.file <path>', "exporter-toolkit web config file: TLS (client certificates too), bcrypt basic auth, response headers; replaces web.config_file, and what it sets overrides web.tls_*/basic_auth_users; re-read on reload (SIGHUP)")
    .option('--web.telemetry-path <path>', 'path under which to expose metrics', '/metrics')
    .option('--log.level <level>', 'log level (overrides log.level)')
    .option('--log.format <format>', 'json, pretty or auto (overrides log.format)')
    .action(async function (this: Command, opts: Record<string, string | undefined>) {
      await runModule().runAction.call(this, opts);
    });
}

export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('validate a keepwatch config file and exit (0 valid, 1 invalid, every problem listed)')
    .requiredOption('--config.file <path>', 'keepwatch config file')
    .action(function (this: Command, opts: Record<string, string>) {
      checkConfigModule().checkConfigAction.call(this, opts);
    });
}

export function registerTestAlert(program: Command): void {
  program
    .command('test-alert')
    .description('send a test notification through the configured receivers and say, per receiver, whether it was accepted (exit 0) or not (exit 1)')
    .requiredOption('--config.file <path>', 'keepwatch config file')
    .option('--receiver <name>', 'only this receiver')
    .action(async function (this: Command, opts: Record<string, string | undefined>) {
      await testAlertModule().testAlertAction.call(this, opts);
    });
}

export function registerNotify(program: Command): void {
  program
    .command('notify')
    .description('hand a keepalived state change to the local agent (socket, or the spool when the agent is down); what the notify hook does, for humans')
    .argument('[args...]', 'GROUP|INSTANCE NAME STATE [PRIORITY], or with --state: GROUP|INSTANCE NAME [PRIORITY]')
    .option('--state <state>', 'the state (for notify_master & co., to which keepalived passes no arguments)')
    .option('--config.file <path>', 'keepwatch config: spool, socket, node and receivers')
    .option('--spool <dir>', 'spool directory (default keepalived.hook_spool)')
    .option('--socket <path>', 'agent socket (default keepalived.hook_socket)')
    .option('--no-socket', 'spool only')
    .option('--timeout <ms>', 'how long to wait for the agent to acknowledge', '1000')
    .option('--deliver-spooled', 'page now for every spooled record not yet delivered (needs --config.file); what the hook starts when the agent is down')
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', `\n${NOTIFY_USAGE}\nExit: 0 handed over or spooled, 1 could not even spool, 2 bad arguments (spooled as a bad record).`)
    .action(async function (this: Command, args: string[], opts: Record<string, string | boolean | undefined>) {
      await notifyModule().notifyAction.call(this, args, opts);
    });

  const hook = program.command('hook').description('the keepalived notify hook: check or install it');
  hook
    .command('check')
    .description('check that the notify hook is installed as enable_script_security requires (root-owned, no non-root-writable directory on its path, executable) and that keepalived.conf runs it')
    .option('--path <path>', 'installed hook', DEFAULT_HOOK_INSTALL_PATH)
    .option('--keepalived-conf <path>', 'keepalived.conf (default keepalived.config of --config.file, or /etc/keepalived/keepalived.conf)')
    .option('--no-conf', 'skip the keepalived.conf check')
    .option('--config.file <path>', 'keepwatch config')
    .option('--deliver-config <path...>', "check this fallback pager config too (those keepalived.conf passes with --deliver-config are always checked)")
    .action(function (this: Command, opts: Record<string, string | boolean | string[] | undefined>) {
      notifyModule().hookCheckAction.call(this, opts);
    });
  hook
    .command('install')
    .description('install the POSIX sh notify hook root-owned, mode 0755 (run as root)')
    .option('--path <path>', 'where to install it', DEFAULT_HOOK_INSTALL_PATH)
    .action(function (this: Command, opts: { path: string }) {
      notifyModule().hookInstallAction.call(this, opts);
    });
}

export function registerStatus(program: Command): void {
  agentFlags(
    program
      .command('status')
      .description('show the cluster as the local agent sees it; exit 0 healthy, 1 degraded, 2 critical, 3 agent unreachable')
      .option('--json', 'print the status snapshot as JSON')
      .option('--watch', 'redraw on every change until interrupted'),
  ).action(async function (this: Command, opts: Record<string, string | boolean | undefined>) {
    await statusModule().statusAction.call(this, opts);
  });
}

export function registerSilence(program: Command): void {
  const silence = program.command('silence').description('add, list and expire silences on the local agent (like amtool silence); the agent and its api token from --config.file');
  const common = (cmd: Command) => agentFlags(cmd).option('--api.token-file <file>', 'file holding the API token (default: env KEEPWATCH_API_TOKEN, then alerting.api_token of --config.file)');
  common(
    silence
      .command('add')
      .description(
        'silence alerts of this pair matching all the matchers, e.g. keepwatch silence add alertname=Failover vrid=51 --for 2h --comment "planned switchover"; ' +
          "the agent adds a matcher per external label (cluster=...), so the silence holds for this pair only, also where the pair's alerts meet others'",
      )
      .argument('<matchers...>', 'Alertmanager matchers: name=value, name!=value, name=~regex, name!~regex (or one {a="b",c="d"})')
      .option('--for <duration>', 'how long, e.g. 30m, 2h (from --start or now)')
      .option('--duration <duration>', 'the same as --for')
      .option('--no-pair', "do not add the pair's external labels as matchers")
      .requiredOption('--comment <text>', 'why (shown to whoever wonders why they were not paged)')
      .option('--author <name>', 'who (default: your user name)')
      .option('--start <time>', 'start later, RFC 3339 (default now)'),
  ).action(async function (this: Command, matchers: string[], opts: Record<string, string | boolean | undefined>) {
    await silenceModule().silenceAddAction.call(this, matchers, opts);
  });
  common(
    silence
      .command('list')
      .alias('query')
      .description('list silences (active and pending; --all for expired too)')
      .option('--all', 'include expired silences')
      .option('--json', 'print the API JSON'),
  ).action(async function (this: Command, opts: Record<string, string | boolean | undefined>) {
    await silenceModule().silenceListAction.call(this, opts);
  });
  common(silence.command('expire').description('end silences now').argument('<ids...>', 'silence ids (from add or list)')).action(async function (this: Command, ids: string[], opts: Record<string, string | undefined>) {
    await silenceModule().silenceExpireAction.call(this, ids, opts);
  });
}
