// The fallback pager's failure record. `keepwatch notify --deliver-spooled` runs detached, as root,
// with its output thrown away, while the agent is down: when it cannot page (its config does not
// load in keepalived's environment, a receiver refuses, it gives up), nobody would ever know. So it
// leaves <spool>/<ns>-<pid>.failed (the sh hook too, when it has no keepwatch to start), and the
// agent, when it starts, raises HookDeliveryFailed once for them and removes them.
//   v1-failed <epoch_ns> <pid>\n<reason, one line>\n
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../context';
import type { AlertHub, Component } from '../module';
import { fingerprint, type Alert } from '../alerting/alert';
import { fmtTime } from '../format';
import { excerpt } from './record';
import { readSpoolFile, spoolFile } from './spool';

export const FAILED_FILE_RE = /^(\d{1,20})-(\d{1,10})\.failed$/;
const MAX_REASON = 1000;

export interface DeliveryFailure {
  file: string;
  /** ms since epoch. */
  at: number;
  reason: string;
}

/** Leaves a failure record in the spool (root hands it over without following links). Never throws. */
export function recordDeliveryFailure(spoolDir: string, reason: string, nowMs: number, pid = process.pid): string | undefined {
  const ns = BigInt(Math.floor(nowMs)) * 1_000_000n;
  const oneLine = excerpt(reason.replace(/\n/g, ' '), MAX_REASON);
  try {
    return spoolFile(spoolDir, `${ns}-${pid}.failed`, `v1-failed ${ns} ${pid}\n${oneLine}\n`);
  } catch {
    return undefined; // the spool itself is unusable: the hook check reports that
  }
}

/** The failure records in the spool, oldest first (unreadable or foreign files are skipped). */
export function readDeliveryFailures(spoolDir: string): DeliveryFailure[] {
  let names: string[];
  try {
    names = fs.readdirSync(spoolDir);
  } catch {
    return [];
  }
  const out: DeliveryFailure[] = [];
  for (const n of names.filter((x) => FAILED_FILE_RE.test(x)).sort()) {
    const file = path.join(spoolDir, n);
    try {
      const [head, reason = ''] = readSpoolFile(file, 4096).split('\n');
      const m = /^v1-failed (\d{1,20}) \d{1,10}$/.exec(head);
      if (!m) continue;
      out.push({ file, at: Number(BigInt(m[1]) / 1_000_000n), reason: reason.slice(0, MAX_REASON) });
    } catch {
      /* removed meanwhile, or not a regular file */
    }
  }
  return out;
}

/** One alert for all failures found at start: a past event (published firing, then resolved). */
export function alertForDeliveryFailures(node: string, failures: DeliveryFailure[], nowMs: number): Alert {
  const labels = { alertname: 'HookDeliveryFailed', severity: 'critical', node };
  const first = failures[0];
  const last = failures[failures.length - 1];
  const times = failures.length === 1 ? `at ${fmtTime(first.at)}` : `${failures.length} times between ${fmtTime(first.at)} and ${fmtTime(last.at)}`;
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: {
      summary: `${node}: while the keepwatch agent was down, the notify hook's fallback pager could not page (${times}): ${last.reason}`,
      description:
        `keepalived state changes on ${node} while its agent was down may have gone unpaged: the timeline now shows them, but ` +
        'no one was told then. Run `keepwatch hook check` on that node (it loads the deliverer\'s config as keepalived runs it: ' +
        'secrets must come from *_file keys, not ${ENV}), and read <spool>-hook/deliver.log.',
    },
    status: 'firing',
    startsAt: first.at,
    endsAt: nowMs,
    event: true,
    past: true,
  };
}

export interface DeliveryFailureReporterOptions {
  spoolDir: string;
  node: string;
  alerts: Pick<AlertHub, 'publish'>;
  clock: Clock;
  log: Logger;
}

/** At the agent's start: raises HookDeliveryFailed for the failure records, then removes them. */
export class DeliveryFailureReporter implements Component {
  readonly name = 'hook-delivery-failures';
  constructor(private readonly o: DeliveryFailureReporterOptions) {}

  async start(): Promise<void> {
    const failures = readDeliveryFailures(this.o.spoolDir);
    if (failures.length === 0) return;
    const now = this.o.clock.now();
    const alert = alertForDeliveryFailures(this.o.node, failures, now);
    this.o.log.error({ failures: failures.length, reason: failures[failures.length - 1].reason }, 'the notify hook could not page while the agent was down');
    this.o.alerts.publish({ ...alert, endsAt: undefined });
    this.o.alerts.publish({ ...alert, status: 'resolved', endsAt: now });
    for (const f of failures) fs.rmSync(f.file, { force: true });
  }

  async stop(): Promise<void> {}
}
