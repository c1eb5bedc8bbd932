// A keepwatch agent with only the core and alerting modules, run as a child process by
// test/e2e/alerting.test.ts so the test can kill -9 it with notifications pending and start it
// again. argv: <config file> <firing alerts>. On start it publishes alerts 0..n-1 as firing, as
// the rules do after a restart (they re-derive what fires from the state). Prints {"port":N}.
import { Daemon } from '../../agent/daemon';
import { createLogger } from '../../agent/logger';
import { coreModule } from '../../agent/wiring/core';
import { alertingModule } from '../../agent/wiring/alerting';
import { fingerprint, type Alert } from '../../agent/alerting/alert';

async function main(): Promise<void> {
  const [file, countArg] = process.argv.slice(2);
  const daemon = new Daemon({ configFile: file, log: createLogger({ level: process.env.KW_CHILD_LOG ?? 'warn', format: 'json' }), modules: [coreModule, alertingModule] });
  await daemon.start();
  const count = Number(countArg ?? 0);
  for (let i = 0; i < count; i++) {
    const labels = { alertname: 'DurabilityTest', vrid: String(i), severity: 'critical', node: 'ka1' };
    const alert: Alert = { fingerprint: fingerprint(labels), labels, annotations: { summary: `alert ${i}`, description: 'e2e' }, status: 'firing', startsAt: Date.now() };
    daemon.hubs.alerts.publish(alert);
  }
  process.stdout.write(`${JSON.stringify({ port: daemon.http.address()!.port })}\n`);
}

main().catch((e) => {
  process.stderr.write(`child failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
