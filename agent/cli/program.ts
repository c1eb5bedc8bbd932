// keepwatch's commands and their flags (commander); each command's code is loaded when it runs
// (commands.ts), so any --help answers at Node's start-up cost plus commander's.
import { Command } from 'commander';
import { thisVersionText } from '../version';
import { registerCheckConfig, registerNotify, registerRun, registerSilence, registerStatus, registerTestAlert } from './commands';

export function buildProgram(): Command {
  const program = new Command('keepwatch')
    .description('Monitor for Nginx + Keepalived HA pairs: state, VIP and Nginx probes, split-brain detection, metrics, paging.')
    .version(thisVersionText(), '--version', 'print the version, revision, build date and runtime, and exit')
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
