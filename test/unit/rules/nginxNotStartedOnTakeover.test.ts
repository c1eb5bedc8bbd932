// NginxNotStartedOnTakeover (cold standby): a new MASTER's nginx must serve within takeover_grace.
import { NodeStore } from '../../../agent/state/store';
import { allRules } from '../../../rules';
import { nginxDownOnVipHolderRule } from '../../../rules/nginxDownOnVipHolderRule';
import { nginxNotStartedOnTakeoverRule } from '../../../rules/nginxNotStartedOnTakeoverRule';
import { rulePair } from './harness';

describe('NginxNotStartedOnTakeover (cold standby)', () => {
  test('the new master\'s nginx must serve within takeover_grace', () => {
    const c = rulePair([nginxNotStartedOnTakeoverRule, nginxDownOnVipHolderRule], 'ka1', { nginxStandby: 'cold', takeoverGraceMs: 10_000 });
    c.nginx('ka2', false); // cold: stopped on the backup, normal
    c.advance(10_000);
    c.transition('ka1', 'STOP');
    c.transition('ka2', 'MASTER');
    c.advance(9_000);
    expect(c.conditions('NginxNotStartedOnTakeover')).toHaveLength(0);
    expect(c.conditions('NginxDownOnVipHolder')).toHaveLength(0);
    c.advance(1_100);
    const a = c.conditions('NginxNotStartedOnTakeover');
    expect(a).toHaveLength(1);
    expect(a[0].severity).toBe('critical');
    expect(a[0].labels).toMatchObject({ node: 'ka2', vrid: '51' });
    expect(c.conditions('NginxDownOnVipHolder')).toHaveLength(0); // one page for one problem
    c.nginx('ka2', true);
    c.advance(100);
    expect(c.conditions('NginxNotStartedOnTakeover')).toHaveLength(0);
  });

  test('started in time: no alert; a later crash is NginxDownOnVipHolder', () => {
    const c = rulePair([nginxNotStartedOnTakeoverRule, nginxDownOnVipHolderRule], 'ka1', { nginxStandby: 'cold' });
    c.nginx('ka2', false);
    c.transition('ka1', 'STOP');
    c.transition('ka2', 'MASTER');
    c.advance(3000);
    c.nginx('ka2', true);
    c.advance(30_000);
    expect(c.occurrences('NginxNotStartedOnTakeover')).toEqual([]);
    c.nginx('ka2', false);
    c.advance(6000);
    expect(c.conditions('NginxDownOnVipHolder').map((x) => x.labels.node)).toEqual(['ka2']);
  });

  test('a takeover whose hook did not start nginx: NginxNotStartedOnTakeover besides the takeover\'s own Failover and PriorityChanged', () => {
    const c = rulePair(allRules, 'ka1', { nginxStandby: 'cold', takeoverGraceMs: 4000 });
    c.nginx('ka2', false);
    c.advance(10_000);
    // ka1 priority drops (a track weight), ka2 takes over; ka1 keeps serving as a BACKUP.
    c.apply('ka1', { kind: 'priority', iname: 'VI_1', priority: 50 });
    c.transition('ka2', 'MASTER');
    c.transition('ka1', 'BACKUP');
    c.advance(4100);
    expect(c.names()).toEqual(['Failover', 'NginxNotStartedOnTakeover', 'PriorityChanged']);
    expect(c.conditions('Failover')[0].annotations.cause).toMatch(/priority change: ka1's priority fell to 50/);
  });

  test('a takeover read from history gets the grace from the agent\'s start, not from the takeover', () => {
    const c = rulePair(nginxNotStartedOnTakeoverRule, 'ka2', { nginxStandby: 'cold' });
    const downAt = c.now;
    c.setPeerUp('ka1', false);
    c.advance(60_000);
    // ka2 took over 30 s ago; its agent starts before its nginx probe has said anything.
    const store = new NodeStore('ka2', c.clock);
    store.setBaseline({ node: 'ka2', aliveAt: downAt, instances: { VI_1: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4', state: 'BACKUP', since: 0 } } });
    c.setStore('ka2', store);
    c.restartAgent();
    c.apply('ka2', { kind: 'transition', iname: 'VI_1', state: 'MASTER', at: c.now - 30_000, source: 'hook', history: {} });
    c.boot('ka2', [{ state: 'MASTER', priority: 100 }], { nginx: false });
    c.advance(5000);
    expect(c.occurrences('NginxNotStartedOnTakeover')).toEqual([]);
    c.nginx('ka2', true);
    c.advance(30_000);
    expect(c.occurrences('NginxNotStartedOnTakeover')).toEqual([]);
  });
});
