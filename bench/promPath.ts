// The Prometheus path, measured next to keepwatch's own paging: Debian's prometheus in the lab's
// client namespace scraping every agent every 15 s with rules/prometheus/keepwatch.rules.yml, and
// prometheus-alertmanager with its default timings (group_wait 30s, group_interval 5m,
// repeat_interval 4h: none set) sending to a webhook. Used by timeToPage and incidents.
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../test/lab/lab';
import { AGENT_PORT, waitUntil } from '../test/lab/agents';
import { REPO } from './lib';

const PROM_PORT = 9090;
const AM_PORT = 9093;

function promConfig(lab: Lab, rules: string): string {
  return `global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files: [${JSON.stringify(rules)}]
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:${AM_PORT}']}]
scrape_configs:
  - job_name: keepwatch
    static_configs:
      - targets: [${lab.nodes.map((n) => `'${n.ip}:${AGENT_PORT}'`).join(', ')}]
        labels: {cluster: lab}
`;
}

function amConfig(webhookUrl: string): string {
  return `route:
  receiver: hook
  group_by: [alertname, cluster, vrid]
receivers:
  - name: hook
    webhook_configs:
      - url: ${webhookUrl}
        send_resolved: true
`;
}

export interface PromPath {
  /** Kills both (their storage stays until the next fresh start). */
  stop(): Promise<void>;
}

async function kill(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    p.kill('SIGKILL');
  }
  await gone;
}

/**
 * Starts Alertmanager and Prometheus in the client namespace, with empty storage (no alert, no
 * group, no series from an earlier run: each start is a first incident for them), and resolves
 * once Prometheus scrapes every agent.
 */
export async function startPromPath(lab: Lab, webhookUrl: string): Promise<PromPath> {
  const dir = lab.client.dir;
  for (const d of ['prom', 'am']) rmSync(join(dir, d), { recursive: true, force: true });
  writeFileSync(join(dir, 'prometheus.yml'), promConfig(lab, join(REPO, 'rules/prometheus/keepwatch.rules.yml')));
  writeFileSync(join(dir, 'alertmanager.yml'), amConfig(webhookUrl));
  const am = lab.client.spawn(['prometheus-alertmanager', `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'am')}`, `--web.listen-address=127.0.0.1:${AM_PORT}`, '--cluster.listen-address='], { logFile: join(dir, 'alertmanager.log') });
  const prom = lab.client.spawn(['prometheus', `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${PROM_PORT}`], { logFile: join(dir, 'prometheus.log') });
  const path: PromPath = { stop: async () => void (await Promise.all([kill(prom), kill(am)])) };
  try {
    await waitUntil(async () => (await lab.client.exec(['curl', '-sf', `http://127.0.0.1:${AM_PORT}/-/ready`])).code === 0, 30_000, 250, 'Alertmanager ready');
    await waitUntil(async () => {
      const r = await lab.client.exec(['curl', '-s', `http://127.0.0.1:${PROM_PORT}/api/v1/targets`]);
      return r.code === 0 && (r.stdout.match(/"health":"up"/g) ?? []).length === lab.nodes.length;
    }, 60_000, 500, 'Prometheus scraping every agent');
  } catch (e) {
    await path.stop();
    throw e;
  }
  return path;
}
