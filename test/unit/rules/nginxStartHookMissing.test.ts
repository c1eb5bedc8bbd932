// NginxStartHookMissing (cold standby): the script that starts nginx on takeover is missing or not
// executable on a node: the warning before a takeover would fail.
import { allRules } from '../../../rules';
import { nginxStartHookMissingRule } from '../../../rules/nginxStartHookMissingRule';
import { rulePair } from './harness';

describe('NginxStartHookMissing', () => {
  test('start hook missing on the backup: NginxStartHookMissing (warning, that node) after condition_for; fixed: resolved', () => {
    const c = rulePair(allRules, 'ka1', { nginxStandby: 'cold' });
    c.nginx('ka2', false);
    c.apply('ka2', { kind: 'nginx_start_hook', path: '/usr/local/sbin/start-nginx', ok: false, reason: '/usr/local/sbin/start-nginx is not executable (mode 0644)', referenced: false, source: 'nginx_probe' });
    c.advance(4900);
    expect(c.occurrences()).toEqual([]);
    c.advance(200);
    expect(c.names()).toEqual(['NginxStartHookMissing']);
    const [a] = c.conditions('NginxStartHookMissing');
    expect(a.severity).toBe('warning');
    expect(a.labels).toEqual({ node: 'ka2' });
    expect(nginxStartHookMissingRule.scope).toBe('node');
    expect(a.annotations.summary).toBe('The nginx start hook on ka2 would fail a takeover: /usr/local/sbin/start-nginx is not executable (mode 0644)');
    expect(a.annotations.description).toMatch(/does not name it in any notify/);
    c.apply('ka2', { kind: 'nginx_start_hook', path: '/usr/local/sbin/start-nginx', ok: true, referenced: true, source: 'nginx_probe' });
    c.advance(100);
    expect(c.names()).toEqual([]);
    expect(c.occurrences('NginxStartHookMissing').map((o) => o.endedAt !== undefined)).toEqual([true]);
  });
});
