// A CommandRunner that starts its commands from one long-lived /bin/sh instead of from the agent.
// Why: every spawn forks the whole agent, and for a probe that runs arping each second those forks
// were the agent's largest CPU cost; a fork of a small shell costs a fraction of that (figures in
// bench/RESULTS.md). Same contract as runCommand: never rejects, an abort kills the command,
// output bounded.
//
// Protocol: the agent writes `<id> <shell-quoted argv>` lines to the shell's stdin; for each, the
// shell starts a subshell that runs the command in the background with its output in two files of
// a private directory, prints `<id> pid <pid>`, waits, and prints `<id> rc <status>` (each line one
// small write to a pipe: never interleaved). The agent then reads the files and removes them.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { CommandOptions, CommandResult, CommandRunner } from './runCommand';

const HELPER = `
while read -r id cmd; do
  (
    eval "exec $cmd" >"$KW_RUN_DIR/$id.out" 2>"$KW_RUN_DIR/$id.err" </dev/null &
    p=$!
    echo "$id pid $p"
    wait "$p"
    echo "$id rc $?"
  ) &
done
`;

/** Single-quoted for sh: safe for any byte but newline (which the line protocol cannot carry). */
export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

interface Job {
  resolve: (r: CommandResult) => void;
  maxBytes: number;
  pid?: number;
  aborted: boolean;
  onAbort?: () => void;
  signal?: AbortSignal;
}

export interface ShellRunner {
  run: CommandRunner;
  /** Stops the shell; commands still running are killed and resolve as aborted. */
  close(): void;
  /** The shell's pid while it runs. */
  readonly pid: number | undefined;
}

export function createShellRunner(opts: { shell?: string; dir?: string } = {}): ShellRunner {
  let helper: ChildProcessByStdio<Writable, Readable, null> | undefined;
  let dir: string | undefined;
  let buf = '';
  let nextId = 1;
  let closed = false;
  const jobs = new Map<number, Job>();

  const readBounded = (file: string, max: number): { text: string; truncated: boolean } => {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return { text: '', truncated: false };
    }
    try {
      const b = Buffer.alloc(max + 1);
      const n = readSync(fd, b, 0, max + 1, 0);
      return { text: b.subarray(0, Math.min(n, max)).toString('utf8'), truncated: n > max };
    } finally {
      closeSync(fd);
    }
  };

  const finish = (id: number, status: number | null, error?: string) => {
    const job = jobs.get(id);
    if (!job) return;
    jobs.delete(id);
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    // dir is set by start() before any job exists and cleared by close() only after every job finished.
    const [out, err] = [`${id}.out`, `${id}.err`].map((f) => {
      const file = join(dir!, f);
      const r = readBounded(file, job.maxBytes);
      rmSync(file, { force: true });
      return r;
    });
    const result: CommandResult = { code: null, signal: null, stdout: out.text, stderr: err.text, truncated: out.truncated || err.truncated };
    if (job.aborted) Object.assign(result, { error: 'aborted', errorCode: 'ABORT_ERR', signal: 'SIGKILL' });
    else if (error) Object.assign(result, { error, errorCode: 'EHELPER' });
    // sh: 127 = not found, 126 = not executable, 128+n = killed by signal n.
    else if (status === 127) Object.assign(result, { error: 'command not found', errorCode: 'ENOENT' });
    else if (status === 126) Object.assign(result, { error: 'permission denied', errorCode: 'EACCES' });
    else if (status !== null && status > 128) result.signal = (status === 137 ? 'SIGKILL' : status === 143 ? 'SIGTERM' : null) as NodeJS.Signals | null;
    else result.code = status;
    job.resolve(result);
  };

  const onLine = (line: string) => {
    const m = /^(\d+) (pid|rc) (\d+)$/.exec(line);
    if (!m) return;
    const id = Number(m[1]);
    const job = jobs.get(id);
    if (!job) return;
    if (m[2] === 'pid') {
      job.pid = Number(m[3]);
      if (job.aborted) kill(job.pid);
    } else {
      finish(id, Number(m[3]));
    }
  };

  const kill = (pid: number) => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };

  const start = () => {
    dir = dir ?? mkdtempSync(join(opts.dir ?? tmpdir(), 'keepwatch-run-'));
    const h = spawn(opts.shell ?? '/bin/sh', ['-c', HELPER], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, KW_RUN_DIR: dir } });
    h.stdout.setEncoding('utf8');
    h.stdout.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    h.stdin.on('error', () => undefined);
    const gone = () => {
      if (helper !== h) return;
      helper = undefined;
      buf = '';
      for (const [id, job] of [...jobs]) {
        if (job.pid) kill(job.pid);
        finish(id, null, 'the command shell exited');
      }
    };
    h.on('error', gone);
    // 'exit', not 'close': orphaned subshells keep the stdout pipe open until their commands end.
    h.on('exit', gone);
    helper = h;
    return h;
  };

  const run: CommandRunner = (argv: string[], o: CommandOptions = {}) =>
    new Promise<CommandResult>((resolve) => {
      const base: CommandResult = { code: null, signal: null, stdout: '', stderr: '', truncated: false };
      if (o.signal?.aborted) return resolve({ ...base, error: 'aborted', errorCode: 'ABORT_ERR' });
      if (closed) return resolve({ ...base, error: 'runner closed', errorCode: 'ECLOSED' });
      if (argv.length === 0 || argv.some((a) => a.includes('\n') || a.includes('\0'))) {
        return resolve({ ...base, error: 'an argument holds a newline or NUL', errorCode: 'EINVAL' });
      }
      const h = helper ?? start();
      const id = nextId++;
      const job: Job = { resolve, maxBytes: o.maxBytes ?? 64 * 1024, aborted: false, signal: o.signal };
      if (o.signal) {
        job.onAbort = () => {
          job.aborted = true;
          if (job.pid) kill(job.pid);
        };
        o.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      jobs.set(id, job);
      h.stdin.write(`${id} ${argv.map(shellQuote).join(' ')}\n`);
    });

  return {
    run,
    get pid() {
      return helper?.pid;
    },
    close() {
      closed = true;
      const h = helper;
      helper = undefined;
      for (const [id, job] of [...jobs]) {
        job.aborted = true;
        if (job.pid) kill(job.pid);
        finish(id, null);
      }
      h?.stdin.end();
      h?.kill('SIGKILL');
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}
