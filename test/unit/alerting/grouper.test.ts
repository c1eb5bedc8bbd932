import { Grouper, type FlushOutcome, type GroupedAlert, type GroupView } from '../../../agent/alerting/grouper';
import { buildRouteTree } from '../../../agent/alerting/route';
import { silentLogger } from '../../../agent/logger';
import { FakeClock } from '../../helpers/fakeClock';
import { mkAlert } from './helpers';

function setup(route = { receiver: 'r', group_by: ['alertname', 'vrid'], group_wait: 5000, group_interval: 20_000, matchers: [], continue: false, routes: [] }) {
  const clock = new FakeClock();
  const flushes: Array<{ at: number; key: string; alerts: string[] }> = [];
  let fail = false;
  let outcome: FlushOutcome;
  const g = new Grouper({
    clock,
    log: silentLogger(),
    onFlush(group: GroupView, alerts: GroupedAlert[]) {
      if (fail) throw new Error('outbox not open');
      flushes.push({ at: clock.now(), key: group.key, alerts: alerts.map((a) => `${a.alert.labels.n}:${a.alert.status}`) });
      return outcome;
    },
  });
  const tree = buildRouteTree(route, ['r']);
  return { clock, g, tree, flushes, setFail: (f: boolean) => (fail = f), setOutcome: (o: FlushOutcome) => (outcome = o) };
}

describe('Grouper (aggregation groups)', () => {
  test('group_wait, then every group_interval while it has alerts; resolved alerts leave after being reported', () => {
    const { clock, g, tree, flushes } = setup();
    const t0 = clock.now();
    g.insert(tree, mkAlert({ alertname: 'A', vrid: '1', n: '1' }, t0));
    clock.advance(2000);
    g.insert(tree, mkAlert({ alertname: 'A', vrid: '1', n: '2' }, clock.now()));
    clock.advance(3000);
    expect(flushes).toEqual([{ at: t0 + 5000, key: '{}:{alertname="A", vrid="1"}', alerts: ['1:firing', '2:firing'] }]);
    g.insert(tree, mkAlert({ alertname: 'A', vrid: '1', n: '1' }, clock.now(), 'resolved'));
    clock.advance(20_000);
    expect(flushes[1]).toEqual({ at: t0 + 25_000, key: flushes[0].key, alerts: ['1:resolved', '2:firing'] });
    clock.advance(20_000);
    expect(flushes[2].alerts).toEqual(['2:firing']);
    g.insert(tree, mkAlert({ alertname: 'A', vrid: '1', n: '2' }, clock.now(), 'resolved'));
    clock.advance(20_000);
    expect(flushes[3].alerts).toEqual(['2:resolved']);
    // Empty after reporting its last resolve: deleted, no timer left, never flushed again.
    expect(clock.pending()).toBe(0);
    clock.advance(60_000);
    expect(flushes).toHaveLength(4);
  });

  test('different group labels make different groups', () => {
    const { clock, g, tree, flushes } = setup();
    g.insert(tree, mkAlert({ alertname: 'A', vrid: '1', n: '1' }, clock.now()));
    g.insert(tree, mkAlert({ alertname: 'A', vrid: '2', n: '2' }, clock.now()));
    clock.advance(5000);
    expect(flushes.map((f) => f.key).sort()).toEqual(['{}:{alertname="A", vrid="1"}', '{}:{alertname="A", vrid="2"}']);
  });

  test('a failing flush keeps everything and retries at the next interval', () => {
    const { clock, g, tree, flushes, setFail } = setup();
    setFail(true);
    g.insert(tree, mkAlert({ alertname: 'A', n: '1' }, clock.now(), 'resolved'));
    clock.advance(5000);
    expect(flushes).toHaveLength(0);
    setFail(false);
    clock.advance(20_000);
    expect(flushes).toEqual([{ at: clock.now(), key: '{}:{alertname="A"}', alerts: ['1:resolved'] }]);
    expect(clock.pending()).toBe(0);
  });

  test("an incident's group: 'keep' keeps it ticking every group_interval with no alert left; 'close' ends it at once", () => {
    const { clock, g, tree, flushes, setOutcome } = setup();
    setOutcome('keep');
    g.insert(tree, mkAlert({ alertname: 'A', n: '1' }, clock.now(), 'resolved'));
    clock.advance(5000);
    clock.advance(40_000);
    expect(flushes.map((f) => f.alerts)).toEqual([['1:resolved'], [], []]);
    setOutcome('close');
    clock.advance(20_000);
    expect(flushes).toHaveLength(4);
    expect(clock.pending()).toBe(0);
    // close() from outside (the incident's end was told) drops the group and its timer
    setOutcome('keep');
    g.insert(tree, mkAlert({ alertname: 'B', n: '1' }, clock.now()));
    g.close('{}:{alertname="B"}');
    expect(clock.pending()).toBe(0);
    clock.advance(60_000);
    expect(flushes).toHaveLength(4);
  });

  test('stop clears every timer', () => {
    const { clock, g, tree } = setup();
    g.insert(tree, mkAlert({ alertname: 'A', n: '1' }, clock.now()));
    g.stop();
    expect(clock.pending()).toBe(0);
    g.insert(tree, mkAlert({ alertname: 'B', n: '1' }, clock.now()));
    expect(clock.pending()).toBe(0);
  });
});
