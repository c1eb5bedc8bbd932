// keepwatch's own view: build info, sources, parse errors, transitions counted once, state ages
// on the agent's clock, the last reload's outcome.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../helpers/fakeClock';
import { readBuildInfo } from '../../../agent/version';
import { NodeStore } from '../../../agent/state/store';
import { selfCollector } from '../../../exporters/self';
import { exposition, samples } from './exposition';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const BUILD = { version: '1.2.3', revision: '0123abc', branch: 'main' };

describe('self collector', () => {
  test('build info, source up and parse errors per source, transitions counted once whichever sources told them', async () => {
    const clock = new FakeClock(T0);
    const store = new NodeStore('ka1', clock);
    store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: [], state: 'BACKUP', at: T0, source: 'dbus' });
    store.apply({ kind: 'transition', iname: 'VI_1', state: 'MASTER', at: T0 + 1000, source: 'dbus' });
    store.apply({ kind: 'transition', iname: 'VI_1', state: 'MASTER', at: T0 + 1000, source: 'fifo' });
    store.apply({ kind: 'parse_error', reason: 'garbage', at: T0, source: 'fifo' });
    store.apply({ kind: 'source', up: false, error: 'no such file', at: T0, source: 'log' });
    const text = await exposition(selfCollector(store, clock, BUILD))();
    expect(samples(text, 'keepwatch_build_info')).toEqual([`keepwatch_build_info{version="1.2.3",revision="0123abc",branch="main",nodejs="${process.version}"} 1`]);
    expect(samples(text, 'keepwatch_source_up')).toEqual(['keepwatch_source_up{source="dbus"} 1', 'keepwatch_source_up{source="fifo"} 1', 'keepwatch_source_up{source="log"} 0']);
    expect(samples(text, 'keepwatch_parse_errors_total')).toEqual([
      'keepwatch_parse_errors_total{source="dbus"} 0',
      'keepwatch_parse_errors_total{source="fifo"} 1',
      'keepwatch_parse_errors_total{source="log"} 0',
    ]);
    expect(samples(text, 'keepwatch_vrrp_transitions_total')).toEqual(['keepwatch_vrrp_transitions_total{iname="VI_1",from="BACKUP",to="MASTER"} 1']);
  });

  test('state age on the agent\'s clock; the revision moves with the clock\'s second', async () => {
    const clock = new FakeClock(T0);
    const store = new NodeStore('ka1', clock);
    store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: [], state: 'MASTER', at: T0, source: 'dbus' });
    const c = selfCollector(store, clock, BUILD);
    const render = exposition(c);
    clock.advance(2_500);
    expect(samples(await render(), 'keepwatch_vrrp_state_age_seconds')).toEqual(['keepwatch_vrrp_state_age_seconds{iname="VI_1"} 2.5']);
    const r = c.revision?.();
    clock.advance(400);
    expect(c.revision?.()).toBe(r);
    clock.advance(100);
    expect(c.revision?.()).not.toBe(r);
    expect(samples(await render(), 'keepwatch_vrrp_state_age_seconds')).toEqual(['keepwatch_vrrp_state_age_seconds{iname="VI_1"} 3']);
  });

  test('reload outcome: success and its time; a failed reload keeps the time of the last success', async () => {
    const clock = new FakeClock(T0);
    const store = new NodeStore('ka1', clock);
    const agent = { lastReload: { ok: true, at: T0 } };
    const render = exposition(selfCollector(store, clock, BUILD, agent));
    expect(samples(await render(), 'keepwatch_config_last_reload_')).toEqual([
      'keepwatch_config_last_reload_success_timestamp_seconds 1795608000',
      'keepwatch_config_last_reload_successful 1',
    ]);
    agent.lastReload = { ok: false, at: T0 + 60_000 };
    expect(samples(await render(), 'keepwatch_config_last_reload_')).toEqual([
      'keepwatch_config_last_reload_success_timestamp_seconds 1795608000',
      'keepwatch_config_last_reload_successful 0',
    ]);
  });
});
