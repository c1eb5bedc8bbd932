// masterIntervals: when an instance was MASTER by a node's timeline, counting only what is certain
// (a bounded time is taken at the end of its bounds that makes the MASTER interval shortest).
import { NodeStore } from '../../../agent/state/store';
import { masterIntervals } from '../../../rules/masterIntervals';
import { FakeClock } from '../../helpers/fakeClock';

test('a MASTER ended at a bounded time ends at the earliest, one begun at one starts at the latest', () => {
  const store = new NodeStore('ka1', new FakeClock(1_000_000));
  store.setBaseline({ node: 'ka1', aliveAt: 100_000, instances: { VI_1: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4', state: 'BACKUP', since: 0 } } });
  // Exact (spool): MASTER at 200 s. FIFO (no time, written by 900 s): BACKUP, then MASTER again.
  store.apply({ kind: 'transition', iname: 'VI_1', state: 'MASTER', at: 200_000, source: 'hook', history: {} });
  store.apply({ kind: 'transition', iname: 'VI_1', state: 'BACKUP', at: 900_000, source: 'fifo', history: { bounded: true } });
  store.apply({ kind: 'transition', iname: 'VI_1', state: 'MASTER', at: 900_000, source: 'fifo', history: { bounded: true } });
  store.apply({ kind: 'instance', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, state: 'MASTER', at: 1_000_000, source: 'dbus' });
  // MASTER for sure from 200 s to the BACKUP's earliest (200 s: after the MASTER it followed):
  // nothing certain; then MASTER again from 900 s at the latest.
  expect(masterIntervals(store.state, 'VI_1')).toEqual([{ start: 900_000 }]);
});
