// NoMaster: no node MASTER (or BACKUP, which hears one) for a VRID for longer than no_master_for.
import { allRules } from '../../../rules';
import { keepalivedDownRule } from '../../../rules/keepalivedDownRule';
import { noMasterRule } from '../../../rules/noMasterRule';
import { rulePair, RuleSim } from './harness';

describe('NoMaster', () => {
  test('every node FAULT for longer than no_master_for', () => {
    const c = rulePair(noMasterRule);
    c.transition('ka1', 'FAULT');
    c.transition('ka2', 'FAULT');
    c.advance(4900);
    expect(c.conditions('NoMaster')).toHaveLength(0);
    c.advance(200);
    const [n, ...more] = c.conditions('NoMaster');
    expect(more).toEqual([]);
    expect(n.severity).toBe('critical');
    expect(n.labels).toEqual({ vrid: '51', iname: 'VI_1' });
    expect(n.annotations.summary).toMatch(/ka1 FAULT, ka2 FAULT/);
    c.transition('ka2', 'MASTER');
    c.advance(100);
    expect(c.conditions('NoMaster')).toHaveLength(0);
  });

  test('not when a node is BACKUP (it hears a master) or an unreachable node was last MASTER', () => {
    const c = rulePair(noMasterRule, 'ka2');
    c.setPeerUp('ka1', false);
    c.transition('ka2', 'FAULT');
    c.advance(30_000);
    expect(c.occurrences('NoMaster')).toEqual([]);
    const d = new RuleSim(allRules, ['ka1']);
    d.boot('ka1', [{ state: 'BACKUP', priority: 100 }]);
    d.advance(30_000);
    expect(d.occurrences()).toEqual([]);
  });

  test('three nodes, all stopped', () => {
    const c = new RuleSim([noMasterRule, keepalivedDownRule], ['ka1', 'ka2', 'ka3']);
    for (const [n, s] of [['ka1', 'MASTER'], ['ka2', 'BACKUP'], ['ka3', 'BACKUP']] as const) c.boot(n, [{ state: s, priority: 100 }]);
    c.advance(1000);
    for (const n of ['ka1', 'ka2', 'ka3']) c.apply(n, { kind: 'keepalived', up: false });
    c.advance(6000);
    expect(c.conditions('NoMaster')).toHaveLength(1);
    expect(c.conditions('KeepalivedDown').map((x) => x.labels.node).sort()).toEqual(['ka1', 'ka2', 'ka3']);
  });
});
