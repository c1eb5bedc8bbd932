// The golden /metrics test (node_exporter style): a fixed sequence of events in, the exact
// exposition text out. Timing values and the Node.js version are normalised; everything else
// must match byte for byte. Regenerate with UPDATE_GOLDEN=1 after an intended change, and review
// the diff: names, labels and help of the keepalived_* families are a compatibility promise.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeStore } from '../../../agent/state/store';
import { createMetricsRegistry } from '../../../exporters/registry';
import { keepalivedCollector } from '../../../exporters/keepalived';
import { selfCollector } from '../../../exporters/self';
import { failoverCollector } from '../../../exporters/failover';
import { FakeClock } from '../../helpers/fakeClock';

const GOLDEN = join(__dirname, '../../fixtures/golden/core-metrics.prom');
const GOLDEN_FAILOVER = join(__dirname, '../../fixtures/golden/failover-metrics.prom');

function normalise(text: string): string {
  return text
    .replace(/^(keepwatch_scrape_collector_duration_seconds\{[^}]*\}) .*$/gm, '$1 <duration>')
    .replace(/nodejs="[^"]*"/g, 'nodejs="<nodejs>"');
}

test('core collectors produce the golden exposition', async () => {
  const clock = new FakeClock(Date.UTC(2026, 10, 25, 12, 0, 0));
  const store = new NodeStore('ka1', clock);
  const at = () => clock.now();
  store.apply({ kind: 'keepalived', up: true, pid: 4242, at: at(), source: 'dbus' });
  store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100', '192.0.2.101'], state: 'BACKUP', priority: 150, at: at(), source: 'dbus' });
  store.apply({ kind: 'instance', key: { iname: 'VI_6', intf: 'eth0.100', vrid: 52, family: 'IPv6' }, vips: ['2001:db8::100'], state: 'BACKUP', at: at(), source: 'dumps' });
  clock.advance(3_500);
  store.apply({ kind: 'transition', iname: 'VI_1', state: 'MASTER', at: at(), source: 'dbus' });
  store.apply({ kind: 'transition', iname: 'VI_1', state: 'MASTER', at: at(), source: 'fifo' });
  store.apply({ kind: 'counters', iname: 'VI_1', counters: { advertisements_received: 12, advertisements_sent: 40, become_master: 1, release_master: 0, gratuitous_arp_delay: 5 }, at: at(), source: 'dumps' });
  store.apply({ kind: 'script', name: 'chk_nginx', good: true, state: 0, at: at(), source: 'dumps' });
  store.apply({ kind: 'parse_error', reason: 'garbage', at: at(), source: 'fifo' });
  store.apply({ kind: 'source', up: false, error: 'no such file', at: at(), source: 'log' });
  clock.advance(10_000);

  const m = createMetricsRegistry([keepalivedCollector(store), selfCollector(store, clock, '1.2.3', { lastReload: { ok: true, at: Date.UTC(2026, 10, 25, 12, 0, 0) } })]);
  const text = normalise((await m.scrape()).body);
  if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, text);
  expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
});

test('the failover collector produces the golden exposition: each takeover observed once per stage', async () => {
  const clock = new FakeClock(Date.UTC(2026, 10, 25, 12, 0, 0));
  const store = new NodeStore('ka2', clock);
  const m = createMetricsRegistry([failoverCollector(store)]);
  const t0 = clock.now();
  const outage = (id: string, vrid: string, lossAt: number, vipBoundAt?: number, firstGoodAt?: number) => ({
    id,
    vrid,
    iname: 'VI_1',
    node: 'ka2',
    from: 'ka1',
    masterAt: lossAt + 600,
    loss: { at: lossAt, kind: 'keepalived_left' as const },
    vipBoundAt,
    firstGoodAt,
    done: firstGoodAt !== undefined,
  });
  const apply = (o: ReturnType<typeof outage>) => store.apply({ kind: 'failover_outage', source: 'derived', at: clock.now(), outage: o });
  // A SIGTERM'd master (0.61 s / 0.7 s), measured in two steps, the second step repeated.
  apply(outage('51@1', '51', t0, t0 + 610));
  apply(outage('51@1', '51', t0, t0 + 610, t0 + 700));
  apply(outage('51@1', '51', t0, t0 + 610, t0 + 700));
  // A kill -9'd one (3.6 s / 4.2 s) on an IPv6 VRID, and a takeover with no request through the VIP.
  apply(outage('51/IPv6@2', '51/IPv6', t0, t0 + 3609, t0 + 4210));
  apply(outage('52@3', '52', t0, t0 + 12_000));
  const text = normalise((await m.scrape()).body);
  if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN_FAILOVER, text);
  expect(text).toBe(readFileSync(GOLDEN_FAILOVER, 'utf8'));
});

test('a dead keepalived exports keepalived_up 0 and no MASTER series', async () => {
  const clock = new FakeClock();
  const store = new NodeStore('ka1', clock);
  store.apply({ kind: 'keepalived', up: true, at: clock.now(), source: 'dbus' });
  store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100'], state: 'MASTER', at: clock.now(), source: 'dbus' });
  store.apply({ kind: 'keepalived', up: false, at: clock.now(), source: 'dbus', reason: 'stopped' });
  const body = (await createMetricsRegistry([keepalivedCollector(store)]).scrape()).body;
  expect(body).toMatch(/^keepalived_up 0$/m);
  expect(body).toMatch(/^keepalived_vrrp_state\{iname="VI_1",intf="eth0",vrid="51",ip_address="192.0.2.100"\} 98$/m);
  expect(body).not.toMatch(/keepalived_vrrp_state\{[^}]*\} 2$/m);
});
