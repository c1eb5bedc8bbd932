// The deploy files: what each must contain, parsed on any machine. The tools that will read them
// (systemd-analyze, systemd-sysusers/-tmpfiles, dbus-daemon, keepalived -t) check them in
// test/env/ecosystem/deploy.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../agent/config/load';
import { parseUnit } from '../../helpers/systemdUnit';

const ROOT = join(__dirname, '../../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const UNIT = read('deploy/systemd/keepwatch.service');
const TMPFILES = read('deploy/systemd/keepwatch.tmpfiles');
const SYSUSERS = read('deploy/systemd/keepwatch.sysusers');
const POLICY = read('deploy/dbus/keepwatch-keepalived.conf');
const SNIPPET = read('deploy/keepalived/keepalived.conf.snippet');

describe('systemd unit', () => {
  const unit = parseUnit(UNIT);
  const svc = unit.get('Service')!;
  const one = (k: string) => svc.get(k)?.at(-1);

  test('has the hardening and lifecycle directives', () => {
    expect(one('User')).toBe('keepwatch');
    expect(one('DynamicUser')).toBe('no');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('no'); // with dumps.dir unset the agent can still name what it lacks in the host's /tmp
    expect(one('NoNewPrivileges')).toBe('yes');
    // No CAP_DAC_READ_SEARCH (every file on the host) for the dumps: keepalived hands them over (below).
    expect(one('CapabilityBoundingSet')).toBe('CAP_NET_RAW');
    expect(one('AmbientCapabilities')).toBe('CAP_NET_RAW');
    expect(one('RestrictAddressFamilies')!.split(/\s+/).sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_PACKET', 'AF_UNIX']);
    expect(one('Restart')).toBe('always');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('RuntimeDirectory')).toBe('keepwatch');
    expect(one('StateDirectory')).toBe('keepwatch');
    expect(one('ReadWritePaths')!.split(/\s+/)).toEqual(expect.arrayContaining(['/var/lib/keepwatch', '/var/spool/keepwatch', '/run/keepwatch']));
    expect(one('ExecStart')).toMatch(/keepwatch run --config\.file \/etc\/keepwatch\/keepwatch\.yml$/);
    // V8's JIT needs W+X pages; ProtectProc=invisible would hide keepalived's and nginx's pids.
    expect(svc.has('MemoryDenyWriteExecute')).toBe(false);
    expect(svc.has('ProtectProc')).toBe(false);
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
  });
});

describe('sysusers and tmpfiles', () => {
  test('make the keepwatch user, its directories and the notify FIFO the snippet names', () => {
    expect(SYSUSERS).toMatch(/^u\s+keepwatch\s/m);
    expect(TMPFILES).toMatch(/^p\s+\/run\/keepwatch\/notify\.fifo\s+0600\s+keepwatch\s+keepwatch/m);
    expect(TMPFILES).toMatch(/^d\s+\/var\/spool\/keepwatch\s/m);
    expect(SNIPPET).toMatch(/^\s*vrrp_notify_fifo \/run\/keepwatch\/notify\.fifo$/m);
  });
});

describe('keepalived\'s dumps handed to the agent', () => {
  test('one directory: keepalived\'s TMPDIR (drop-in), root:keepwatch setgid without access for others (tmpfiles), the agent\'s dumps.dir; the snippet\'s umask keeps group read, drops the rest', () => {
    const env = parseUnit(read('deploy/systemd/keepalived.service.d/keepwatch.conf')).get('Service')?.get('Environment');
    expect(env).toEqual(['TMPDIR=/run/keepalived-dumps']);
    expect(TMPFILES).toMatch(/^d\s+\/run\/keepalived-dumps\s+2750\s+root\s+keepwatch\s/m);
    const cfg = parseConfig(read('deploy/keepwatch.example.yml'), 'example', { SLACK_WEBHOOK_URL: 'https://h.example.com/x', SMTP_PASSWORD: 'x', WEBHOOK_HMAC_SECRET: 'x', ALERTMANAGER_PASSWORD: 'x' });
    expect(cfg.keepalived.dumps).toMatchObject({ dir: '/run/keepalived-dumps', method: 'dbus' });
    expect(SNIPPET).toMatch(/^\s*umask 0027$/m);
  });
});

describe('D-Bus policy', () => {
  test('names only the keepwatch user and keepalived', () => {
    expect(POLICY).toMatch(/<policy user="keepwatch">/);
    expect(POLICY).not.toMatch(/context="default"/);
    expect(POLICY).not.toMatch(/own=/);
    expect(POLICY).not.toMatch(/ReloadConfig|PrintStatsClear/);
  });
});

describe('keepalived.conf snippet', () => {
  test('has what keepwatch needs', () => {
    for (const re of [/^\s*enable_dbus$/m, /^\s*vrrp_notify_fifo \/run\/keepwatch\/notify\.fifo$/m, /^\s*vrrp_notify_priority_changes true$/m, /^\s*notify_priority_changes true$/m, /^\s*enable_script_security$/m, /^vrrp_script chk_nginx \{/m, /^\s*track_script \{\s*\n\s*chk_nginx/m, /^\s*notify "\/usr\/local\/sbin\/keepwatch-notify"$/m]) {
      expect(SNIPPET).toMatch(re);
    }
  });

  test('the example keepwatch.yml points at the same FIFO', () => {
    const cfg = parseConfig(read('deploy/keepwatch.example.yml').replace('#notify_fifo:', 'notify_fifo:'), 'example', { SLACK_WEBHOOK_URL: 'https://h.example.com/x', SMTP_PASSWORD: 'x', WEBHOOK_HMAC_SECRET: 'x', ALERTMANAGER_PASSWORD: 'x' });
    expect(cfg.keepalived.notify_fifo).toBe('/run/keepwatch/notify.fifo');
  });
});
