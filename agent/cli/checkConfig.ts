// keepwatch check-config: like blackbox_exporter's --config.check: exit 0, or 1 with every
// problem as `path.to.key: what is wrong`.
import type { Command } from 'commander';
import { ConfigError, loadConfigFile } from '../config/load';
import { setExitCode } from './main';

export function checkConfigAction(this: Command, opts: Record<string, string>): void {
  const file = opts['config.file'];
  try {
    const cfg = loadConfigFile(file);
    process.stdout.write(`${file}: OK (node ${cfg.node})\n`);
    setExitCode(this, 0);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${file}: INVALID\n${e.problems.map((p) => `  ${p}\n`).join('')}`);
    setExitCode(this, 1);
  }
}
