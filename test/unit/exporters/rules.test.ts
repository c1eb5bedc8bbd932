// keepwatch_split_brain, keepwatch_flapping and the rule evaluation histogram, from what the rules
// engine concluded at its last evaluation.
import { FakeClock } from '../../helpers/fakeClock';
import { NodeStore } from '../../../agent/state/store';
import { buildClusterView } from '../../../agent/state/cluster';
import { createEngineState } from '../../../rules/engine';
import { testAlert } from '../../helpers/inProcessAgent';
import { rulesCollector } from '../../../exporters/rules';
import { exposition, samples } from './exposition';

function selfState(clock: FakeClock) {
  const store = new NodeStore('ka1', clock);
  const at = clock.now();
  store.apply({ kind: 'keepalived', up: true, at, source: 'dbus' });
  store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, vips: ['192.0.2.100'], state: 'MASTER', at, source: 'dbus' });
  store.apply({ kind: 'instance', key: { iname: 'VI_6', intf: 'eth0', vrid: 51, family: 'IPv6' }, vips: ['2001:db8::100'], state: 'MASTER', at, source: 'dbus' });
  return structuredClone(store.state);
}

test('nothing evaluated yet: no series, the histogram declared', async () => {
  const text = await exposition(rulesCollector(createEngineState()))();
  expect(samples(text, 'keepwatch_split_brain')).toEqual([]);
  expect(samples(text, 'keepwatch_flapping')).toEqual([]);
  expect(text).toContain('# TYPE keepwatch_rule_evaluation_duration_seconds histogram');
});

test('split brain per VRID (IPv6 apart) while its alert fires; flapping per instance of this node', async () => {
  const clock = new FakeClock();
  const state = createEngineState();
  const c = rulesCollector(state);
  const render = exposition(c);
  state.lastView = buildClusterView(selfState(clock), [], clock.now());
  const split = testAlert('SplitBrain', 'critical', { vrid: '51', family: 'IPv6' });
  state.active.set(split.fingerprint, split);
  state.flapping.add('51');
  state.histogram.observe(0.002);
  state.evaluations++;
  const text = await render();
  expect(samples(text, 'keepwatch_split_brain')).toEqual(['keepwatch_split_brain{vrid="51"} 0', 'keepwatch_split_brain{vrid="51/IPv6"} 1']);
  expect(samples(text, 'keepwatch_flapping')).toEqual(['keepwatch_flapping{iname="VI_1"} 1', 'keepwatch_flapping{iname="VI_6"} 0']);
  expect(samples(text, 'keepwatch_rule_evaluation_duration_seconds_count')).toEqual(['keepwatch_rule_evaluation_duration_seconds_count 1']);
  // The text changes only with an evaluation, which counts itself.
  const r = c.revision?.();
  state.evaluations++;
  expect(c.revision?.()).not.toBe(r);
});
