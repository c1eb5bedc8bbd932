// The shipped Prometheus rules run through promtool: valid, their unit tests pass, and a rule made
// naive (counting VIP series instead of nodes) makes those tests fail; every query of the Grafana
// dashboard parses as PromQL. Needs promtool (Debian's
// prometheus package, which npm test installs as root). What the rules read and what their tests
// cover: test/unit/ecosystem/prometheusRules.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DASHBOARD, dashboardExpressions, type Dashboard } from '../../helpers/dashboard';
import { expandGrafanaVariables } from '../../helpers/promql';
import { commandPath, describeNeeding, needs, requiredAsRoot } from '../../helpers/needs';

const RULES_DIR = join(__dirname, '../../../rules/prometheus');
const RULES = join(RULES_DIR, 'keepwatch.rules.yml');
const RULE_TESTS = join(RULES_DIR, 'keepwatch.rules.test.yml');

const alerts = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: unknown[] }> }).groups.flatMap((g) => g.rules);
const PROMTOOL = commandPath('promtool') ?? 'promtool';

describeNeeding([requiredAsRoot(needs.command('promtool', 'apt-get install prometheus'))], 'Prometheus rules (promtool)', () => {
  test('promtool check rules', () => {
    const out = execFileSync(PROMTOOL, ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(out).toMatch(new RegExp(`SUCCESS: ${alerts.length} rules found`));
  });

  test('promtool test rules: every alert firing and not firing', () => {
    const r = spawnSync(PROMTOOL, ['test', 'rules', RULE_TESTS], { encoding: 'utf8', cwd: RULES_DIR });
    expect(r.stderr + r.stdout).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  test('the tests catch a naive split-brain rule that counts VIP series instead of nodes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-rules-'));
    try {
      const naive = readFileSync(RULES, 'utf8').replace(
        /count by \(cluster, vrid\) \(\n\s*max by \(cluster, vrid, instance\) \(keepalived_vrrp_state == 2\)\n\s*\) > 1/,
        'count by (cluster, vrid) (keepalived_vrrp_state == 2) > 1',
      );
      expect(naive).not.toBe(readFileSync(RULES, 'utf8'));
      writeFileSync(join(dir, 'keepwatch.rules.yml'), naive);
      copyFileSync(RULE_TESTS, join(dir, 'keepwatch.rules.test.yml'));
      const r = spawnSync(PROMTOOL, ['test', 'rules', 'keepwatch.rules.test.yml'], { encoding: 'utf8', cwd: dir });
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/alertname: KeepalivedSplitBrain, time: 3m/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every query of the Grafana dashboard parses as PromQL (promtool check rules on them as recording rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-dash-'));
    try {
      const rules = dashboardExpressions(JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard).map((e, i) => ({ record: `keepwatch_dashboard:query_${i}`, expr: expandGrafanaVariables(e.expr) }));
      writeFileSync(join(dir, 'q.yml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const r = spawnSync(PROMTOOL, ['check', 'rules', join(dir, 'q.yml')], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
