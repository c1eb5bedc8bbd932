// PriorityChanged (info): an instance's effective priority changed on a node; an event, over after
// event_hold; folded into Flapping while its VRID flaps.
import { priorityChangedRule } from '../../../rules/priorityChangedRule';
import { rulePair } from './harness';

describe('PriorityChanged', () => {
  test('a priority change (here one that moves the master) fires as info, on that node', () => {
    const c = rulePair(priorityChangedRule);
    c.apply('ka1', { kind: 'priority', iname: 'VI_1', priority: 90, source: 'fifo' });
    c.transition('ka1', 'BACKUP');
    c.transition('ka2', 'MASTER');
    c.advance(100);
    const p = c.conditions('PriorityChanged');
    expect(p).toHaveLength(1);
    expect(p[0].severity).toBe('info');
    expect(p[0].labels).toMatchObject({ node: 'ka1', iname: 'VI_1', vrid: '51' });
    expect(p[0].annotations.summary).toMatch(/from 150 to 90/);
    expect(priorityChangedRule.scope).toBe('node');
  });

  test('a change and its change back within the hold are one occurrence naming the first value; over after the hold', () => {
    const c = rulePair(priorityChangedRule);
    c.apply('ka2', { kind: 'priority', iname: 'VI_1', priority: 80, source: 'fifo' });
    c.advance(10_000);
    c.apply('ka2', { kind: 'priority', iname: 'VI_1', priority: 100, source: 'fifo' });
    c.advance(1000);
    expect(c.conditions('PriorityChanged').map((x) => x.annotations.summary)).toEqual(['Priority of VI_1 (VRID 51) on ka2 changed and came back to 100']);
    expect(c.occurrences('PriorityChanged')).toHaveLength(1);
    c.advance(300_000);
    expect(c.conditions('PriorityChanged')).toEqual([]);
  });
});
