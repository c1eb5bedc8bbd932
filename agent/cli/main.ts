// keepwatch's command line. Only commander and the commands' flags are loaded here: each command's
// code is loaded when it runs (commands.ts), so --version and --help answer at Node's start-up cost.
import { Command } from 'commander';
import { BUILD, versionText } from '../version';
import { registerCheckConfig, registerNotify, registerRun, registerSilence, registerStatus, registerTestAlert } from './commands';

export function buildProgram(): Command {
  const program = new Command('keepwatch')
    .description('Monitor for Nginx + Keepalived HA pairs: state, VIP and Nginx probes, split-brain detection, metrics, paging.')
    .version(versionText(BUILD, { nodeVersion: process.version, platform: process.platform, arch: process.arch }), '--version', 'print the version, revision, build date and runtime, and exit')
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
