// `nginx -T` on a schedule (default every 5 min) and right after nginx restarted or reloaded:
// -T is -t (test the configuration) plus a dump of every file it read, so one run gives both the
// verdict (keepwatch_nginx_config_valid) and a sha256 of the full configuration for drift checks
// between nodes. The dump is hashed as it streams and never stored (it may hold secrets).
import type { Clock } from '../context';
import type { NodeEvent } from '../state/types';
import { runCommand, type CommandRunner } from './runCommand';
import type { Probe } from './probe';

export interface NginxConfigProbeOptions {
  binary: string;
  /** nginx -c <config> when set. */
  config?: string;
  clock: Clock;
  run?: CommandRunner;
}

/** The line of nginx's stderr that says what is wrong ("[emerg] unknown directive ... in file:line"). */
export function nginxErrorLine(stderr: string): string | undefined {
  // "2026/11/25 19:30:12 [emerg] 21617#21617: unknown directive ..." -> "[emerg] unknown directive ...":
  // without the time and pid the reason stays the same run after run.
  const lines = stderr
    .split('\n')
    .map((l) => l.trim().replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '').replace(/^(\[\w+\]) \d+#\d+: /, '$1 '))
    .filter(Boolean);
  return lines.find((l) => /\[(emerg|alert|crit)\]/.test(l)) ?? lines.find((l) => /failed/.test(l)) ?? lines[lines.length - 1];
}

export class NginxConfigProbe implements Probe {
  readonly name = 'nginx_config';
  readonly source = 'nginx_probe';

  constructor(private readonly opts: NginxConfigProbeOptions) {}

  argv(): string[] {
    return [this.opts.binary, '-T', ...(this.opts.config ? ['-c', this.opts.config] : [])];
  }

  async run(signal: AbortSignal): Promise<NodeEvent[]> {
    const argv = this.argv();
    const r = await (this.opts.run ?? runCommand)(argv, { signal, hashStdout: true, maxBytes: 4096 });
    const base = { kind: 'nginx_config' as const, source: 'nginx_probe' as const, at: this.opts.clock.now() };
    if (r.error) {
      const reason = r.errorCode === 'ENOENT' ? `${argv[0]} not found (nginx.binary)` : r.error === 'aborted' ? `${argv.join(' ')} timed out` : `cannot run ${argv[0]}: ${r.error}`;
      return [{ ...base, valid: false, reason }];
    }
    if (r.code !== 0) {
      const line = nginxErrorLine(r.stderr) ?? `${argv.join(' ')} exited ${r.code ?? r.signal}`;
      // Not allowed to read a key or open a log as the agent's user: that says nothing about the
      // configuration. A failed check (probe_run ok:false), not "invalid": no false ConfigDrift.
      if (/\((13: Permission denied|30: Read-only file system)\)/.test(line)) {
        throw new Error(`cannot check the nginx configuration as this user (run keepwatch with read access to nginx's files and logs): ${line}`);
      }
      return [{ ...base, valid: false, reason: line }];
    }
    return [{ ...base, valid: true, hash: r.stdoutSha256 }];
  }

  /** An invalid configuration (or nginx -T not run) fails the run. */
  judge(events: NodeEvent[]): string | undefined {
    for (const ev of events) if (ev.kind === 'nginx_config' && !ev.valid) return ev.reason ?? 'nginx configuration invalid';
    return undefined;
  }
}
