// keepwatch_failover_duration_seconds: each takeover observed once per stage, as its stages are
// measured; one histogram for the agent's life, fed by the store's failover_outage events.
import { FakeClock } from '../../helpers/fakeClock';
import { NodeStore } from '../../../agent/state/store';
import type { FailoverOutageEvent } from '../../../agent/state/types';
import { failoverCollector } from '../../../exporters/failover';
import { exposition, samples } from './exposition';

function setup() {
  const clock = new FakeClock();
  const store = new NodeStore('ka2', clock);
  const t0 = clock.now();
  const apply = (id: string, vrid: string, vipBoundAt?: number, firstGoodAt?: number) => {
    const ev: FailoverOutageEvent = {
      kind: 'failover_outage',
      source: 'derived',
      at: clock.now(),
      outage: { id, vrid, iname: 'VI_1', node: 'ka2', from: 'ka1', masterAt: t0 + 600, loss: { at: t0, kind: 'keepalived_left' }, vipBoundAt, firstGoodAt, done: firstGoodAt !== undefined },
    };
    store.apply(ev);
  };
  return { store, t0, apply };
}

test('each takeover is observed once per stage, when the stage is measured', async () => {
  const { store, t0, apply } = setup();
  const c = failoverCollector(store);
  const render = exposition(c);
  apply('51@1', '51', t0 + 610);
  expect(samples(await render(), 'keepwatch_failover_duration_seconds_count')).toEqual(['keepwatch_failover_duration_seconds_count{vrid="51",until="vip_bound"} 1']);
  // The same takeover measured further, then repeated: the new stage once, the old one not again.
  apply('51@1', '51', t0 + 610, t0 + 700);
  apply('51@1', '51', t0 + 610, t0 + 700);
  apply('51/IPv6@2', '51/IPv6', t0 + 3609, t0 + 4210);
  const text = await render();
  expect(samples(text, 'keepwatch_failover_duration_seconds_sum')).toEqual([
    'keepwatch_failover_duration_seconds_sum{vrid="51",until="first_good_request"} 0.7',
    'keepwatch_failover_duration_seconds_sum{vrid="51",until="vip_bound"} 0.61',
    'keepwatch_failover_duration_seconds_sum{vrid="51/IPv6",until="first_good_request"} 4.21',
    'keepwatch_failover_duration_seconds_sum{vrid="51/IPv6",until="vip_bound"} 3.609',
  ]);
  expect(samples(text, 'keepwatch_failover_duration_seconds_count').every((l) => l.endsWith(' 1'))).toBe(true);
  expect(samples(text, 'keepwatch_failover_duration_seconds_bucket{le="1",vrid="51",until="vip_bound"}')).toEqual(['keepwatch_failover_duration_seconds_bucket{le="1",vrid="51",until="vip_bound"} 1']);
  expect(samples(text, 'keepwatch_failover_duration_seconds_bucket{le="0.5",vrid="51",until="vip_bound"}')).toEqual(['keepwatch_failover_duration_seconds_bucket{le="0.5",vrid="51",until="vip_bound"} 0']);
  c.close?.();
});

test('the revision counts observations (a repeated measurement changes nothing); close() stops following the store', async () => {
  const { store, t0, apply } = setup();
  const c = failoverCollector(store);
  const render = exposition(c);
  expect(c.revision?.()).toBe(0);
  apply('51@1', '51', t0 + 610);
  apply('51@1', '51', t0 + 610);
  expect(c.revision?.()).toBe(1);
  c.close?.();
  apply('52@2', '52', t0 + 900);
  expect(c.revision?.()).toBe(1);
  expect(samples(await render(), 'keepwatch_failover_duration_seconds_count')).toEqual(['keepwatch_failover_duration_seconds_count{vrid="51",until="vip_bound"} 1']);
});
