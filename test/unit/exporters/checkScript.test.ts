// keepalived_check_script_status from a real check script: the keepalived exporter's name, help,
// labels (those of keepalived_vrrp_state) and values; the text is reused until a run is due.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FakeClock } from '../../helpers/fakeClock';
import { createCheckScript } from '../../../agent/probes/checkScript';
import { checkScriptCollector } from '../../../exporters/checkScript';
import { createMetricsRegistry } from '../../../exporters/registry';
import { samples } from './exposition';
import { storeWithInstances } from './storeFixtures';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kw-checkscript-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('one series per VIP of an instance in a known state: 1 when the script exits 0 for it, else 0; rerun only when due', async () => {
  const file = join(dir, 'check.sh');
  // Good for every VIP but 192.0.2.101/32; counts its runs.
  writeFileSync(file, `#!/bin/sh\necho run >> "${dir}/runs"\n[ "$1" != "192.0.2.101/32" ]\n`);
  chmodSync(file, 0o755);
  const clock = new FakeClock();
  const store = storeWithInstances(clock);
  const script = createCheckScript({ command: [file], timeoutMs: 5_000, intervalMs: 15_000, clock, log: pino({ level: 'silent' }) });
  const registry = createMetricsRegistry([checkScriptCollector(store, script)]);
  const first = await registry.scrape();
  expect(first.body).toContain('# HELP keepalived_check_script_status Check Script status for each VIP\n# TYPE keepalived_check_script_status gauge\n');
  expect(samples(first.body, 'keepalived_check_script_status')).toEqual([
    'keepalived_check_script_status{iname="VI_1",intf="eth0",vrid="51",ip_address="192.0.2.100/32"} 1',
    'keepalived_check_script_status{iname="VI_1",intf="eth0",vrid="51",ip_address="192.0.2.101/32"} 0',
  ]);
  const runs = () => readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n').length;
  expect(runs()).toBe(2);
  // Within the interval: the same values and no run; once rendered after the run, the answer is
  // reused byte for byte.
  clock.advance(10_000);
  const second = await registry.scrape();
  expect(samples(second.body, 'keepalived_check_script_status')).toEqual(samples(first.body, 'keepalived_check_script_status'));
  expect(await registry.scrape()).toBe(second);
  expect(runs()).toBe(2);
  // A new VIP is checked at the next scrape.
  store.apply({ kind: 'instance', key: { iname: 'VI_2', intf: 'eth1', vrid: 52, family: 'IPv4' }, vips: ['192.0.2.110'], state: 'BACKUP', at: clock.now(), source: 'dbus' });
  expect(samples((await registry.scrape()).body, 'keepalived_check_script_status{iname="VI_2"')).toEqual([
    'keepalived_check_script_status{iname="VI_2",intf="eth1",vrid="52",ip_address="192.0.2.110/32"} 1',
  ]);
  expect(runs()).toBe(5);
});
