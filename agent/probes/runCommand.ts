// Runs a short command (arping, nginx -t/-T) with an AbortSignal and bounded output. Never
// rejects: a missing binary, a kill on abort or an output overflow is in the result, so the
// probe turns it into a reason. Injectable wherever a probe runs a command.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';

export interface CommandResult {
  /** Exit code, or null when killed by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** sha256 (hex) of the whole stdout, when asked for (computed as it streams, even past maxBytes). */
  stdoutSha256?: string;
  /** Spawn error (ENOENT: not installed, EACCES...) or 'aborted'. */
  error?: string;
  errorCode?: string;
  /** stdout or stderr was cut at maxBytes. */
  truncated: boolean;
}

export interface CommandOptions {
  signal?: AbortSignal;
  /** Bytes of stdout/stderr kept in the result (default 64 KiB each). */
  maxBytes?: number;
  /** Hash stdout (nginx -T) instead of only keeping it. */
  hashStdout?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Run it in a process group of its own and kill the whole group on abort: an operator's script
   *  may leave children (a `sleep`, a curl) that hold its output open long after it is killed. */
  processGroup?: boolean;
}

export type CommandRunner = (argv: string[], opts?: CommandOptions) => Promise<CommandResult>;

export const runCommand: CommandRunner = (argv, opts = {}) =>
  new Promise<CommandResult>((resolve) => {
    const max = opts.maxBytes ?? 64 * 1024;
    const result: CommandResult = { code: null, signal: null, stdout: '', stderr: '', truncated: false };
    if (opts.signal?.aborted) {
      resolve({ ...result, error: 'aborted', errorCode: 'ABORT_ERR' });
      return;
    }
    let child;
    try {
      child = opts.processGroup
        ? spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: opts.env })
        : spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal, killSignal: 'SIGKILL', env: opts.env });
    } catch (e) {
      resolve({ ...result, error: (e as Error).message, errorCode: (e as NodeJS.ErrnoException).code });
      return;
    }
    if (opts.processGroup && opts.signal) {
      const group = child;
      const killGroup = () => {
        result.error = 'aborted';
        result.errorCode = 'ABORT_ERR';
        try {
          if (group.pid !== undefined) process.kill(-group.pid, 'SIGKILL');
        } catch {
          // The group is gone already.
        }
      };
      opts.signal.addEventListener('abort', killGroup, { once: true });
      group.once('close', () => opts.signal?.removeEventListener('abort', killGroup));
    }
    const hash = opts.hashStdout ? createHash('sha256') : undefined;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout.on('data', (b: Buffer) => {
      hash?.update(b);
      if (outLen < max) out.push(b.subarray(0, max - outLen));
      else result.truncated = true;
      outLen += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errLen < max) err.push(b.subarray(0, max - errLen));
      else result.truncated = true;
      errLen += b.length;
    });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      result.stdout = Buffer.concat(out).toString('utf8');
      result.stderr = Buffer.concat(err).toString('utf8');
      if (hash) result.stdoutSha256 = hash.digest('hex');
      resolve(result);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      result.error = e.name === 'AbortError' ? 'aborted' : e.message;
      result.errorCode = e.code;
      // A process that never started emits no 'close'.
      if (child.pid === undefined) finish();
    });
    child.on('close', (code, signal) => {
      result.code = code;
      result.signal = signal;
      finish();
    });
  });
