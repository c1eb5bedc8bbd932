// InstanceFault: a VRRP instance in FAULT on a node in sight, for condition_for, with why.
import { instanceFaultRule } from '../../../rules/instanceFaultRule';
import { rulePair } from './harness';

describe('InstanceFault', () => {
  test('instance FAULT names the failing track script', () => {
    const c = rulePair(instanceFaultRule);
    c.apply('ka2', { kind: 'script', name: 'chk_nginx', good: false, source: 'dumps' });
    c.transition('ka2', 'FAULT');
    c.advance(6000);
    const f = c.conditions('InstanceFault');
    expect(f).toHaveLength(1);
    expect(f[0].labels).toMatchObject({ node: 'ka2', vrid: '51', iname: 'VI_1' });
    expect(f[0].annotations.summary).toMatch(/chk_nginx/);
  });
});
