// keepwatch's command line. `keepwatch --version` is answered here, without commander; everything
// else goes to the program (program.ts), which loads a command's code only when that command runs.
import type { Command } from 'commander';
import { thisVersionText } from '../version';

/** Runs the CLI; resolves with the exit code (commands that keep running resolve when they end). */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 3 && argv[2] === '--version') {
    process.stdout.write(`${thisVersionText()}\n`);
    return 0;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = (require('./program') as typeof import('./program')).buildProgram();
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
