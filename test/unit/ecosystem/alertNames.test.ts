// The agent's alerts and the shipped Prometheus rules feeding one Alertmanager must never page twice
// for one fault. A Prometheus alert carries its scrape labels (instance, job), so it can never have
// the label set of the agent's alert of the same name: same names would be two alerts. So the names
// are distinct (checked against the agent's real catalogue: its rules, the notify hook's alerts, the
// Watchdog, the test alert), and the shipped inhibit rules let the agent's alert hold the Prometheus
// one of the same fault in the same pair (checked with the agent's own inhibitor, Alertmanager's
// semantics, and at a real Alertmanager in test/e2e/fleetAlertmanager.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { fingerprint, type Alert } from '../../../agent/alerting/alert';
import { withExternalLabels } from '../../../agent/alerting/externalLabels';
import { Inhibitor } from '../../../agent/alerting/inhibit';
import { parseMatcher } from '../../../agent/alerting/matchers';
import { watchdogAlert } from '../../../agent/alerting/watchdog';
import { testNotification } from '../../../agent/cli/testAlert';
import { parseConfig } from '../../../agent/config/load';
import type { InhibitRuleConfig } from '../../../agent/config/schema';
import { alertForRecord } from '../../../agent/hook/deliver';
import type { HookRecord } from '../../../agent/hook/record';
import { allRules } from '../../../rules';

const ROOT = join(__dirname, '../../..');
const promRules = parse(readFileSync(join(ROOT, 'rules/prometheus/keepwatch.rules.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; labels?: Record<string, string> }> }> };
const inhibit = parse(readFileSync(join(ROOT, 'deploy/alertmanager/keepwatch-inhibit.yml'), 'utf8')) as { inhibit_rules: InhibitRuleConfig[] };

const prometheusNames = promRules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));

/** Every alert name the agent can send, from the code that makes them. */
function agentNames(): string[] {
  const record = (state: HookRecord['state']): HookRecord => ({ ns: 1n, at: 0, seq: 1, type: 'INSTANCE', name: 'VI_1', state, id: '1-1' });
  const cfg = parseConfig('node: ka1\n');
  return [
    ...allRules.map((r) => r.name),
    alertForRecord('ka1', record('MASTER')).labels.alertname,
    alertForRecord('ka1', record('MASTER_RX_LOWER_PRI')).labels.alertname,
    watchdogAlert('ka1', {}, 0).labels.alertname,
    testNotification(cfg, 'r', 0).alerts[0].labels.alertname,
  ];
}

/** The names a matcher list accepts among `names`. */
function namesMatched(matchers: string[], names: string[]): string[] {
  const ms = matchers.map(parseMatcher);
  return names.filter((n) => ms.every((m) => m.name !== 'alertname' || m.matches({ alertname: n })));
}

test('the agent and the Prometheus rules never use the same alert name', () => {
  const agent = agentNames();
  expect(agent).toEqual(expect.arrayContaining(['SplitBrain', 'KeepalivedDown', 'NginxDownOnVipHolder', 'KeepalivedStateChange', 'SplitBrainEvidence', 'Watchdog', 'KeepwatchTest']));
  expect(prometheusNames.length).toBeGreaterThan(5);
  expect(prometheusNames.filter((n) => agent.includes(n))).toEqual([]);
});

test('every shipped inhibit rule goes from agent alerts to Prometheus alerts, and names real ones', () => {
  const agent = agentNames();
  for (const r of inhibit.inhibit_rules) {
    expect(namesMatched(r.source_matchers, agent).length).toBeGreaterThan(0);
    expect(namesMatched(r.source_matchers, prometheusNames)).toEqual([]);
    expect(namesMatched(r.target_matchers, prometheusNames).length).toBeGreaterThan(0);
    expect(namesMatched(r.target_matchers, agent)).toEqual([]);
    expect(r.equal).toContain('cluster');
  }
  // The safety net for the same faults as the agent's page-worthy rules is covered.
  const covered = inhibit.inhibit_rules.flatMap((r) => namesMatched(r.target_matchers, prometheusNames));
  expect(covered.sort()).toEqual(['KeepalivedFlapping', 'KeepalivedNoMaster', 'KeepalivedProcessDown', 'KeepalivedSplitBrain', 'KeepalivedVipConflict', 'KeepwatchSplitBrainDetected', 'NginxVipHolderDown']);
});

test('one fault pages once: the agent\'s alert holds the Prometheus alert of its own pair, not of another pair', () => {
  const inhibitor = new Inhibitor(inhibit.inhibit_rules.map((r) => ({ ...r, equal: r.equal ?? [] })));
  const agentAlert = (labels: Record<string, string>, cluster: string): Alert =>
    withExternalLabels({ fingerprint: fingerprint(labels), labels, annotations: { summary: '', description: '' }, status: 'firing', startsAt: 0 }, { cluster, site: 'paris' });
  // As Prometheus sends them: the rule's labels, the `by` labels of its expression, external labels.
  const promAlert = (alertname: string, labels: Record<string, string>): Alert => {
    const rule = promRules.groups.flatMap((g) => g.rules).find((r) => r.alert === alertname)!;
    const all = { alertname, ...rule.labels, ...labels, prometheus: 'monitoring/k8s' };
    return { fingerprint: fingerprint(all), labels: all, annotations: { summary: '', description: '' }, status: 'firing', startsAt: 0 };
  };
  const cases: Array<[Record<string, string>, string, Record<string, string>]> = [
    [{ alertname: 'SplitBrain', severity: 'critical', vrid: '51', iname: 'VI_1' }, 'KeepalivedSplitBrain', { vrid: '51' }],
    [{ alertname: 'SplitBrain', severity: 'critical', vrid: '51', iname: 'VI_1' }, 'KeepwatchSplitBrainDetected', { vrid: '51' }],
    [{ alertname: 'SplitBrain', severity: 'critical', vrid: '51', iname: 'VI_1' }, 'KeepalivedVipConflict', { instance: 'ka1:9723', vip: '192.0.2.100' }],
    [{ alertname: 'NoMaster', severity: 'critical', vrid: '51', iname: 'VI_1' }, 'KeepalivedNoMaster', { vrid: '51' }],
    [{ alertname: 'Flapping', severity: 'warning', vrid: '51', iname: 'VI_1' }, 'KeepalivedFlapping', { instance: 'ka1:9723', iname: 'VI_1' }],
    [{ alertname: 'KeepalivedDown', severity: 'critical', node: 'ka1' }, 'KeepalivedProcessDown', { instance: 'ka1:9723', job: 'keepwatch' }],
    [{ alertname: 'NginxDownOnVipHolder', severity: 'critical', vrid: '51', iname: 'VI_1', node: 'ka1' }, 'NginxVipHolderDown', { instance: 'ka1:9723' }],
  ];
  for (const [agentLabels, promName, promLabels] of cases) {
    const target = promAlert(promName, { cluster: 'lb-paris-1', ...promLabels });
    expect({ promName, held: inhibitor.inhibitedBy(target, [agentAlert(agentLabels, 'lb-paris-1')]).length > 0 }).toEqual({ promName, held: true });
    expect({ promName, heldByOtherPair: inhibitor.inhibitedBy(target, [agentAlert(agentLabels, 'lb-lyon-1')]).length > 0 }).toEqual({ promName, heldByOtherPair: false });
  }
});
