// The long-lived shell that starts the arp probe's commands: the same contract as runCommand
// (never rejects, exit codes, stderr, bounded output, abort kills), with real /bin/sh.
import { execFileSync } from 'node:child_process';
import { createShellRunner, shellQuote, type ShellRunner } from '../../../agent/probes/shellRunner';

let r: ShellRunner;
beforeEach(() => {
  r = createShellRunner();
});
afterEach(() => r.close());

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

  test('an abort kills the command at once', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const res = await r.run(['sleep', '5'], { signal: ac.signal });
    expect(res).toMatchObject({ error: 'aborted', signal: 'SIGKILL' });
    expect(Date.now() - t0).toBeLessThan(2000);
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
    const pending = r.run(['sleep', '5']);
    await new Promise((res) => setTimeout(res, 200));
    process.kill(r.pid!, 'SIGKILL');
    expect(await pending).toMatchObject({ error: 'the command shell exited' });
    expect(await r.run(['echo', 'again'])).toMatchObject({ code: 0, stdout: 'again\n' });
  });

  test('close kills what runs and refuses more', async () => {
    const pending = r.run(['sleep', '5']);
    await new Promise((res) => setTimeout(res, 200));
    r.close();
    expect(await pending).toMatchObject({ error: 'aborted' });
    expect(await r.run(['echo', 'x'])).toMatchObject({ errorCode: 'ECLOSED' });
  });
});
