// keepwatch run: the agent. SIGHUP reloads the config; SIGINT/SIGTERM stop it cleanly.
import { Daemon } from '../daemon';
import { createLogger } from '../logger';
import { ConfigError, loadConfigFile } from '../config/load';

export async function runAction(opts: Record<string, string | undefined>): Promise<void> {
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
}
