// The agent's V8 flags, for `run` only: a young generation of 1 MiB semi-spaces and heap sizing for
// size keep the RSS from growing under scrapes, and single-threaded drops V8's background compiler
// and GC threads (and their malloc arenas) (bench/RESULTS.md, Footprint). They slow a short
// command's start, so bin/keepwatch starts as plain node and `run` replaces itself with a node
// carrying them: process.execve keeps the pid, so systemd, the lab and kill(1) see one process.
// Node without process.execve (before 22.15) runs the agent without them. A node started with
// options of its own (`node --inspect bin/keepwatch run`) keeps those, unchanged.

export const DAEMON_V8_FLAGS: readonly string[] = ['--optimize-for-size', '--max-semi-space-size=1', '--single-threaded'];

/** The part of `process` the re-execution reads (injected in tests). */
export interface ReexecProcess {
  execPath: string;
  execArgv: string[];
  argv: string[];
  env: NodeJS.ProcessEnv;
  execve?: (file: string, args?: readonly string[], env?: NodeJS.ProcessEnv) => never;
}

/** The argv of the node to become, or undefined when this process is already what `run` needs. */
export function daemonArgv(proc: ReexecProcess, script: string): string[] | undefined {
  const args = proc.argv.slice(2);
  if (args[0] !== 'run' || args.includes('--help') || args.includes('-h')) return undefined;
  if (proc.execArgv.length > 0) return undefined;
  return [proc.execPath, ...DAEMON_V8_FLAGS, script, ...args];
}

/** Replaces this process with the daemon's node when `run` needs it and node can; returns otherwise. */
export function reexecForDaemon(proc: ReexecProcess, script: string): void {
  const argv = daemonArgv(proc, script);
  if (argv === undefined || typeof proc.execve !== 'function') return;
  proc.execve(proc.execPath, argv, proc.env);
}
