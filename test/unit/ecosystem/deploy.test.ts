// The deploy files: what each must contain, parsed on any machine. The tools that will read them
// (systemd-analyze, systemd-sysusers/-tmpfiles, dbus-daemon, keepalived -t) check them in
// test/env/ecosystem/deploy.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../agent/config/load';

const ROOT = join(__dirname, '../../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const UNIT = read('deploy/systemd/keepwatch.service');
const TMPFILES = read('deploy/systemd/keepwatch.tmpfiles');
const SYSUSERS = read('deploy/systemd/keepwatch.sysusers');
const POLICY = read('deploy/dbus/keepwatch-keepalived.conf');
const SNIPPET = read('deploy/keepalived/keepalived.conf.snippet');

/** [Section] -> key -> values (a key may repeat). systemd's own syntax: a small parser is enough. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      section = new Map();
      out.set(s[1], section);
      continue;
    }
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (!kv || !section) throw new Error(`unit line not understood: ${line}`);
    section.set(kv[1], [...(section.get(kv[1]) ?? []), kv[2]]);
  }
  return out;
}

describe('systemd unit', () => {
  const unit = parseUnit(UNIT);
  const svc = unit.get('Service')!;
  const one = (k: string) => svc.get(k)?.at(-1);

  test('has the hardening and lifecycle directives', () => {
    expect(one('User')).toBe('keepwatch');
    expect(one('DynamicUser')).toBe('no');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('no'); // keepalived's dumps are in the host's /tmp (see the unit's comment)
    expect(one('NoNewPrivileges')).toBe('yes');
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
