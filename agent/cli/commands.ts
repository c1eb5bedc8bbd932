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
