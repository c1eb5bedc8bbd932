// The long-lived shell that starts the arp probe's commands: the same contract as runCommand
// (never rejects, exit codes, stderr, bounded output, abort kills), with real /bin/sh.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShellRunner, shellQuote, type ShellRunner } from '../../../agent/probes/shellRunner';
import { waitFor } from '../../helpers/wait';

let r: ShellRunner;
let dir: string;
beforeEach(() => {
  r = createShellRunner();
  dir = mkdtempSync(join(tmpdir(), 'kw-shell-'));
});
afterEach(() => {
  r.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A long command that writes its pid to a file first: started() resolves once it runs. */
function longCommand(): { argv: string[]; started: () => Promise<number> } {
  const pidFile = join(dir, `${Math.random().toString(36).slice(2)}.pid`);
  return {
    argv: ['sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`],
    started: () => waitFor(() => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')), { what: 'the command running' }),
  };
}

/** Running: exists and is not a zombie (an orphan's reaping is its new parent's business). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('shellRunner', () => {
  test('arguments reach the command as they are: quotes, $, backquotes, spaces', async () => {
    const weird = `it's a "test" $HOME \`id\` ; rm -rf / *`;
    const res = await r.run(['printf', '%s|%s', weird, '  two  ']);
    expect(res).toMatchObject({ code: 0, stdout: `${weird}|  two  `, stderr: '' });
    expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(weird)}`], { encoding: 'utf8' })).toBe(weird);
  });

  test('exit code, stdout and stderr; a missing command is ENOENT', async () => {
    expect(await r.run(['sh', '-c', 'echo out; echo err >&2; exit 3'])).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(await r.run(['no-such-command-kw'])).toMatchObject({ code: null, errorCode: 'ENOENT' });
  });

  test('an abort kills the command: the result comes when it is gone, not when it would have ended', async () => {
    const ac = new AbortController();
    const cmd = longCommand();
    const pending = r.run(cmd.argv, { signal: ac.signal });
    const pid = await cmd.started();
    ac.abort();
    // The result comes once the shell saw the command end; a command left running would hold it
    // for 30 s, past the test's timeout.
    expect(await pending).toMatchObject({ error: 'aborted', signal: 'SIGKILL' });
    expect(alive(pid)).toBe(false);
    expect(await r.run(['echo', 'after'])).toMatchObject({ code: 0, stdout: 'after\n' });
  });

  test('concurrent commands each get their own output; output is cut at maxBytes', async () => {
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => r.run(['sh', '-c', `sleep 0.0${i % 5}; echo ${i}`])));
    expect(all.map((x) => x.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(await r.run(['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" a'], { maxBytes: 10 })).toMatchObject({ stdout: 'aaaaaaaaaa', truncated: true });
  });

  test('a newline in an argument is refused, not run', async () => {
    expect(await r.run(['echo', 'a\nb'])).toMatchObject({ code: null, errorCode: 'EINVAL' });
  });

  test('the shell dying fails what runs with a reason; the next command starts a new shell', async () => {
    const cmd = longCommand();
    const pending = r.run(cmd.argv);
    const pid = await cmd.started();
    process.kill(r.pid!, 'SIGKILL');
    expect(await pending).toMatchObject({ error: 'the command shell exited' });
    await waitFor(() => !alive(pid), { what: `pid ${pid} killed` });
    expect(await r.run(['echo', 'again'])).toMatchObject({ code: 0, stdout: 'again\n' });
  });

  test('close kills what runs and refuses more', async () => {
    const cmd = longCommand();
    const pending = r.run(cmd.argv);
    const pid = await cmd.started();
    r.close();
    expect(await pending).toMatchObject({ error: 'aborted' });
    await waitFor(() => !alive(pid), { what: `pid ${pid} killed` });
    expect(await r.run(['echo', 'x'])).toMatchObject({ errorCode: 'ECLOSED' });
  });
});
