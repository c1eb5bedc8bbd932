// KeepalivedDown: keepalived's VRRP process not running on a node in sight, for condition_for.
import { keepalivedDownRule } from '../../../rules/keepalivedDownRule';
import { rulePair } from './harness';

describe('KeepalivedDown', () => {
  test('keepalived down on a node fires after condition_for; back up resolves', () => {
    const c = rulePair(keepalivedDownRule);
    c.apply('ka2', { kind: 'keepalived', up: false, reason: 'stopped' });
    c.advance(4900);
    expect(c.conditions('KeepalivedDown')).toHaveLength(0);
    c.advance(200);
    expect(c.conditions('KeepalivedDown').map((x) => [x.severity, x.labels])).toEqual([['critical', { node: 'ka2' }]]);
    expect(keepalivedDownRule.scope).toBe('node');
    c.apply('ka2', { kind: 'keepalived', up: true });
    c.transition('ka2', 'BACKUP');
    c.advance(100);
    expect(c.conditions('KeepalivedDown')).toHaveLength(0);
    expect(c.occurrences('KeepalivedDown').map((o) => o.endedAt !== undefined)).toEqual([true]);
  });
});
