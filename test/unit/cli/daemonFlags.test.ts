// Which invocations become the agent's node with its V8 flags (agent/cli/daemonFlags.ts); the
// real re-execution is tested in ecosystem/bin.test.ts.
import { DAEMON_V8_FLAGS, daemonArgv, reexecForDaemon, type ReexecProcess } from '../../../agent/cli/daemonFlags';

const SCRIPT = '/opt/keepwatch/bin/keepwatch';

function proc(args: string[], execArgv: string[] = [], execve?: ReexecProcess['execve']): ReexecProcess {
  return { execPath: '/usr/bin/node', execArgv, argv: ['/usr/bin/node', SCRIPT, ...args], env: { PATH: '/usr/bin' }, execve };
}

describe('daemonArgv', () => {
  test('run, started plainly: the same command line under a node with the flags', () => {
    expect(daemonArgv(proc(['run', '--config.file', '/etc/keepwatch/keepwatch.yml']), SCRIPT)).toEqual(['/usr/bin/node', ...DAEMON_V8_FLAGS, SCRIPT, 'run', '--config.file', '/etc/keepwatch/keepwatch.yml']);
  });

  test.each([[['--version']], [['notify', 'INSTANCE', 'VI_1', 'MASTER']], [['status']], [['run', '--help']], [['run', '-h']], [[]]])('%j stays as it is', (args) => {
    expect(daemonArgv(proc(args), SCRIPT)).toBeUndefined();
  });

  test('a node started with options of its own keeps them (and is not started again: no loop)', () => {
    expect(daemonArgv(proc(['run', '--config.file', 'x'], ['--inspect']), SCRIPT)).toBeUndefined();
    expect(daemonArgv(proc(['run', '--config.file', 'x'], [...DAEMON_V8_FLAGS]), SCRIPT)).toBeUndefined();
  });
});

describe('reexecForDaemon', () => {
  test('calls execve with the daemon argv and the environment as it is', () => {
    const calls: unknown[][] = [];
    const execve = ((...a: unknown[]) => {
      calls.push(a);
      throw new Error('replaced');
    }) as ReexecProcess['execve'];
    const p = proc(['run', '--config.file', 'x'], [], execve);
    expect(() => reexecForDaemon(p, SCRIPT)).toThrow('replaced');
    expect(calls).toEqual([['/usr/bin/node', ['/usr/bin/node', ...DAEMON_V8_FLAGS, SCRIPT, 'run', '--config.file', 'x'], p.env]]);
  });

  test('node without execve: returns, and the agent runs in this process', () => {
    expect(() => reexecForDaemon(proc(['run', '--config.file', 'x']), SCRIPT)).not.toThrow();
  });
});
