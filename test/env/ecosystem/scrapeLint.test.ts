// A real agent's /metrics through promtool (Prometheus's own text parser and linter): the
// exposition parses, and the series issue 18 added are there with their labels: the keepalived
// exporter's ip_address/intf form and keepalived_vrrp_excluded_state, process_*, build info,
// the event loop's delay, keepwatch_alerts at 0 for the rule catalogue.
import { spawnSync } from 'node:child_process';
import { startInProcessAgent } from '../../helpers/inProcessAgent';
import { commandPath, describeNeeding, needs, requiredAsRoot } from '../../helpers/needs';
import { allRules } from '../../../rules';

const PROMTOOL = commandPath('promtool') ?? 'promtool';

describeNeeding([requiredAsRoot(needs.command('promtool', 'apt-get install prometheus'))], 'a real scrape through promtool', () => {
  test('promtool check metrics accepts /metrics; the new series and labels are in it', async () => {
    const agent = await startInProcessAgent();
    try {
      agent.apply({ kind: 'keepalived', up: true, pid: 4242, at: Date.now(), source: 'dbus' });
      agent.apply({
        kind: 'instance',
        key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' },
        vips: ['192.0.2.100'],
        vipEntries: [{ address: '192.0.2.100', prefix: 24, dev: 'eth1' }],
        excludedVips: [{ address: '2001:db8::7', prefix: 128 }],
        state: 'MASTER',
        at: Date.now(),
        source: 'dumps',
      });
      const text = await fetch(`${agent.url}/metrics`).then((r) => r.text());
      const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      // Exit 0: parsed, and no lint problem (promtool exits 3 on lint problems, 1 on a parse error).
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(text).toMatch(/^keepalived_vrrp_state\{iname="VI_1",intf="eth1",vrid="51",ip_address="192\.0\.2\.100\/24"\} 2$/m);
      expect(text).toMatch(/^keepalived_vrrp_excluded_state\{iname="VI_1",intf="eth0",vrid="51",ip_address="2001:db8::7\/128"\} 2$/m);
      for (const m of ['process_start_time_seconds', 'process_resident_memory_bytes', 'process_cpu_seconds_total', 'process_open_fds']) expect(text).toMatch(new RegExp(`^${m} [0-9.e+]+$`, 'm'));
      expect(text).toMatch(/^keepwatch_build_info\{version="[^"]+",revision="[^"]+",branch="[^"]+",nodejs="v[^"]+"\} 1$/m);
      expect(text).toMatch(/^keepwatch_event_loop_delay_seconds\{quantile="0\.99"\} [0-9.e+-]+$/m);
      for (const rule of allRules) expect(text).toContain(`keepwatch_alerts{alertname="${rule.name}",severity="${rule.severity}"} 0`);
    } finally {
      await agent.stop();
    }
  }, 30_000);
});
