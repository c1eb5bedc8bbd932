// keepwatch run: the agent. SIGHUP reloads the config (and the web config file); SIGINT/SIGTERM
// stop it cleanly. Exit 1 when the config or the web config file is invalid, 2 on a bad flag.
import type { Command } from 'commander';
import { Daemon } from '../daemon';
import { createLogger } from '../logger';
import { ConfigError, loadConfigFile } from '../config/load';
import { telemetryPathProblem } from '../http/telemetryPath';
import { setExitCode } from './main';

export async function runAction(this: Command, opts: Record<string, string | undefined>): Promise<void> {
  const file = opts['config.file'] as string;
  const telemetryPath = opts['web.telemetryPath'];
  const bad = telemetryPath === undefined ? undefined : telemetryPathProblem(telemetryPath);
  if (bad) {
    process.stderr.write(`--web.telemetry-path ${JSON.stringify(telemetryPath)}: ${bad}\n`);
    setExitCode(this, 2);
    return;
  }
  let pre;
  try {
    pre = loadConfigFile(file);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      setExitCode(this, 1);
      return;
    }
    throw e;
  }
  const log = createLogger({
    level: opts['log.level'] ?? pre.log.level,
    format: (opts['log.format'] as 'json' | 'pretty' | 'auto' | undefined) ?? pre.log.format,
  });
  let daemon: Daemon;
  try {
    daemon = new Daemon({ configFile: file, log, listenAddress: opts['web.listenAddress'], webConfigFile: opts['web.config.file'], telemetryPath });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`); // the web config file's problems, the file named
    setExitCode(this, 1);
    return;
  }
  try {
    await daemon.start();
  } catch (e) {
    log.error({ err: (e as Error).message }, 'cannot start');
    await daemon.stop().catch(() => undefined);
    process.stderr.write(`keepwatch run: ${(e as Error).message}\n`);
    setExitCode(this, 1);
    return;
  }
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
