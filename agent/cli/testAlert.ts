// keepwatch test-alert: sends one test notification through each configured receiver (or the one
// named), directly, not through the outbox, and says per receiver what happened: OK, or the error
// (receiver name and what went wrong, never its URL or credentials). Exit 0 when all accepted, 1
// otherwise.
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfigFile } from '../config/load';
import type { Config } from '../config/schema';
import { fingerprint, type Alert } from '../alerting/alert';
import type { Notification } from '../alerting/notification';
import { systemClock, type Clock } from '../context';
import { createReceivers } from '../alerting/receivers';
import { withExternalLabels } from '../alerting/externalLabels';
import { deadline } from '../alerting/receivers/deadline';
import { ReceiverError } from '../alerting/receivers/receiver';
import { setExitCode } from './main';

export interface TestAlertIo {
  out: (s: string) => void;
  err: (s: string) => void;
  clock: Clock;
}

export function testNotification(cfg: Config, receiver: string, now: number): Notification {
  const labels = { alertname: 'KeepwatchTest', severity: 'info', node: cfg.node };
  const alert: Alert = withExternalLabels({
    fingerprint: fingerprint(labels),
    labels,
    annotations: { summary: `Test notification from keepwatch on ${cfg.node}`, description: 'Sent by `keepwatch test-alert` to check this receiver; no action needed.' },
    status: 'firing',
    startsAt: now,
    generatorURL: cfg.alerting.external_url,
  }, cfg.alerting.external_labels);
  return {
    seq: 0,
    idempotencyKey: randomBytes(16).toString('hex'),
    receiver,
    kind: 'test',
    groupKey: `test:${cfg.node}`,
    groupLabels: { alertname: 'KeepwatchTest', node: cfg.node },
    status: 'firing',
    alerts: [alert],
    createdAt: now,
    triggeredAt: now,
    externalURL: cfg.alerting.external_url,
  };
}

/** Returns the exit code. */
export async function runTestAlert(cfg: Config, only: string | undefined, io: TestAlertIo): Promise<number> {
  const { clock } = io;
  const all = cfg.alerting.receivers;
  if (!all.length) {
    io.err('no receivers configured (alerting.receivers is empty)\n');
    return 1;
  }
  const chosen = only ? all.filter((r) => r.name === only) : all;
  if (!chosen.length) {
    io.err(`no receiver named "${only}" (configured: ${all.map((r) => r.name).join(', ')})\n`);
    return 1;
  }
  let failed = 0;
  // One at a time, in config order, so the output reads like the config; an Alertmanager cluster
  // member by member (each is a queue of its own in the agent).
  for (const rc of chosen) {
    for (const rcv of createReceivers(rc, { clock })) {
      const t0 = clock.now();
      const dl = deadline(new AbortController().signal, rc.timeout * 3 + 1000, clock);
      try {
        await rcv.send(testNotification(cfg, rcv.name, t0), dl.signal);
        io.out(`${rcv.name} (${rc.type}): OK in ${clock.now() - t0} ms\n`);
      } catch (e) {
        failed++;
        const re = e instanceof ReceiverError ? e : new ReceiverError(`${rcv.name}: ${(e as Error).message}`, true);
        io.out(`${rcv.name} (${rc.type}): FAILED: ${re.message} (${re.retryable ? 'the agent would retry' : 'refused for good: the agent would drop it'})\n`);
      } finally {
        dl.clear();
        await rcv.close?.().catch(() => undefined);
      }
    }
  }
  return failed ? 1 : 0;
}

export function registerTestAlert(program: Command): void {
  program
    .command('test-alert')
    .description('send a test notification through the configured receivers and say, per receiver, whether it was accepted (exit 0) or not (exit 1)')
    .requiredOption('--config.file <path>', 'keepwatch config file')
    .option('--receiver <name>', 'only this receiver')
    .action(async function (this: Command, opts: Record<string, string | undefined>) {
      const file = opts['config.file'] as string;
      let cfg: Config;
      try {
        cfg = loadConfigFile(file);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        process.stderr.write(`${e.message}\n`);
        setExitCode(this, 1);
        return;
      }
      const code = await runTestAlert(cfg, opts.receiver, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), clock: systemClock });
      setExitCode(this, code);
    });
}
