// SyncGroupInconsistent: the instances of one sync group on one node disagree for sync_group_for.
import { syncGroupInconsistentRule } from '../../../rules/syncGroupInconsistentRule';
import { RuleSim } from './harness';

describe('SyncGroupInconsistent', () => {
  test('instances of one group disagree on one node for longer than sync_group_for', () => {
    const c = new RuleSim(syncGroupInconsistentRule, ['ka1']);
    c.boot('ka1', [
      { iname: 'VI_EXT', vrid: 51, state: 'MASTER', priority: 150, vips: ['192.0.2.100'], syncGroup: 'G1' },
      { iname: 'VI_INT', vrid: 52, state: 'MASTER', priority: 150, vips: ['192.0.2.101'], syncGroup: 'G1' },
    ]);
    c.advance(5000);
    c.transition('ka1', 'BACKUP', 'VI_INT');
    c.advance(2000);
    expect(c.conditions('SyncGroupInconsistent')).toHaveLength(0);
    c.advance(1100);
    const s = c.conditions('SyncGroupInconsistent');
    expect(s.map((x) => [x.severity, x.labels])).toEqual([['critical', { node: 'ka1', group: 'G1' }]]);
  });
});
