// keepwatch run: the agent. SIGHUP reloads the config; SIGINT/SIGTERM stop it cleanly.
import type { Command } from 'commander';
import { Daemon } from '../daemon';
import { createLogger } from '../logger';
import { ConfigError, loadConfigFile } from '../config/load';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the agent on this node')
    .requiredOption('--config.file <path>', 'keepwatch config file')
    .option('--web.listen-address <host:port>', 'address for /metrics, the API and the status page (overrides web.listen_address)')
    .option('--log.level <level>', 'log level (overrides log.level)')
    .option('--log.format <format>', 'json, pretty or auto (overrides log.format)')
    .action(async (opts: Record<string, string | undefined>) => {
      const file = opts['config.file'] as string;
      let pre;
      try {
        pre = loadConfigFile(file);
      } catch (e) {
        if (e instanceof ConfigError) {
          process.stderr.write(`${e.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw e;
      }
      const log = createLogger({
        level: opts['log.level'] ?? pre.log.level,
        format: (opts['log.format'] as 'json' | 'pretty' | 'auto' | undefined) ?? pre.log.format,
      });
      const daemon = new Daemon({ configFile: file, log, listenAddress: opts['web.listen-address'] });
      await daemon.start();
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          log.info({ signal: sig }, 'stopping');
          process.off('SIGHUP', hup);
          daemon.stop().then(resolve, resolve);
        };
        const hup = () => {
          daemon.reload().catch(() => undefined); // the daemon logs why it kept the old config
        };
        process.on('SIGHUP', hup);
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
