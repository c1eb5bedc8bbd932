// keepwatch's command line: one file per command under agent/cli/, each exporting register().
import { Command } from 'commander';
import { VERSION } from '../version';
import { registerRun } from './run';
import { registerCheckConfig } from './checkConfig';
import { registerTestAlert } from './testAlert';
import { registerSilence } from './silence';
import { registerStatus } from './status';
import { registerNotify } from './notify';

export function buildProgram(): Command {
  const program = new Command('keepwatch')
    .description('Monitor for Nginx + Keepalived HA pairs: state, VIP and Nginx probes, split-brain detection, metrics, paging.')
    .version(VERSION, '--version', 'print the version and exit')
    .showHelpAfterError()
    .exitOverride();
  registerRun(program);
  registerCheckConfig(program);
  registerTestAlert(program);
  registerSilence(program);
  registerStatus(program);
  registerNotify(program);
  return program;
}

/** Runs the CLI; resolves with the exit code (commands that keep running resolve when they end). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  let code = 0;
  program.hook('postAction', (_this, action) => {
    const c = (action as Command & { exitCode?: number }).exitCode;
    if (typeof c === 'number') code = c;
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    if (typeof err.exitCode === 'number') return err.exitCode === 1 ? 2 : err.exitCode; // usage errors: 2
    throw e;
  }
  return code;
}

/** Commands set their exit code here (read by main()). */
export function setExitCode(cmd: Command, code: number): void {
  (cmd as Command & { exitCode?: number }).exitCode = code;
}
