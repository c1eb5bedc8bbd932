// RedundancyUnverified: the MASTER serves, no backup is observed ready, and some backup is not
// observed at all (its agent unreachable or never reached): said as unknown, never as lost.
import { redundancyLostRule } from '../../../rules/redundancyLostRule';
import { redundancyUnverifiedRule } from '../../../rules/redundancyUnverifiedRule';
import { allRules } from '../../../rules';
import { rulePair, RuleSim } from './harness';

describe('RedundancyUnverified', () => {
  test('only the backup\'s agent unreachable (killed; keepalived and nginx there unknown): RedundancyUnverified, never RedundancyLost', () => {
    const d = rulePair(allRules);
    d.setPeerUp('ka2', false);
    d.advance(4900);
    expect(d.conditions('RedundancyUnverified')).toHaveLength(0);
    d.advance(200);
    const [u, ...more] = d.conditions('RedundancyUnverified');
    expect(more).toEqual([]);
    expect(u.severity).toBe('warning');
    expect(u.labels).toEqual({ vrid: '51', iname: 'VI_1', node: 'ka1' });
    expect(u.annotations.summary).toBe('ka2\'s agent is unreachable: ka2\'s readiness to take over VRID 51 from ka1 is unverified');
    d.advance(60_000);
    expect(d.occurrences('RedundancyLost')).toEqual([]);
    // Its agent is back and reports a healthy backup: resolved.
    d.setPeerUp('ka2', true);
    d.advance(100);
    expect(d.conditions('RedundancyUnverified')).toEqual([]);
    expect(d.names()).toEqual([]);
  });

  test('a configured peer never reached, and one backup unable next to one unverified', () => {
    const c = new RuleSim(redundancyUnverifiedRule, ['ka1', 'ka2']);
    c.boot('ka1', [{ state: 'MASTER', priority: 150 }]); // ka2's agent never answered
    c.advance(5100);
    expect(c.conditions('RedundancyUnverified')[0].annotations.summary).toBe('ka2\'s agent was never reached: ka2\'s readiness to take over VRID 51 from ka1 is unverified');
    const t = new RuleSim([redundancyUnverifiedRule, redundancyLostRule], ['ka1', 'ka2', 'ka3']);
    t.boot('ka1', [{ state: 'MASTER', priority: 150 }]);
    t.boot('ka2', [{ state: 'BACKUP', priority: 100 }]);
    t.boot('ka3', [{ state: 'BACKUP', priority: 50 }]);
    t.apply('ka2', { kind: 'keepalived', up: false, reason: 'stopped' });
    t.setPeerUp('ka3', false);
    t.advance(5100);
    expect(t.conditions('RedundancyLost')).toEqual([]);
    const u = t.conditions('RedundancyUnverified');
    expect(u).toHaveLength(1);
    expect(u[0].annotations.description).toMatch(/The other backups cannot take over: ka2: keepalived not running\./);
  });
});
