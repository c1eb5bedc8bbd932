import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeClock } from '../../helpers/fakeClock';
import { NodeStore } from '../../../agent/state/store';
import { NginxStatusProbe } from '../../../agent/probes/nginxStatusProbe';
import { NginxHealthProbe, urlThroughVip } from '../../../agent/probes/nginxHealthProbe';
import { NGINX_RESTART_GRACE_MS, NGINX_WATCH_INTERVAL_MS, NginxProcessProbe } from '../../../agent/probes/nginxProcessProbe';
import { FakeNginx } from '../../helpers/fakeNginx';
import { NginxConfigProbe, nginxErrorLine } from '../../../agent/probes/nginxConfigProbe';
import type { HttpGet } from '../../../agent/probes/httpGet';
import type { NginxHealthEvent, NginxProcessEvent } from '../../../agent/state/types';

const FIX = path.join(__dirname, '../../fixtures/probes');
const sig = () => new AbortController().signal;

describe('NginxStatusProbe', () => {
  test('200 + stub_status -> up with the numbers; other status, garbage, refused -> down with the reason', async () => {
    const clock = new FakeClock();
    let answer: () => Promise<{ status: number; body: string }> = async () => ({ status: 200, body: fs.readFileSync(path.join(FIX, 'stub-status-facts.txt'), 'utf8') });
    const http: HttpGet = () => answer();
    const p = new NginxStatusProbe({ url: 'http://127.0.0.1/nginx_status', http, clock });
    expect(await p.run(sig())).toEqual([
      { kind: 'nginx_status', source: 'nginx_probe', at: clock.now(), up: true, status: { active: 291, accepted: 16630948, handled: 16630948, requests: 31070465, reading: 6, writing: 179, waiting: 106 } },
    ]);
    answer = async () => ({ status: 403, body: 'forbidden' });
    expect(await p.run(sig())).toEqual([expect.objectContaining({ up: false, reason: 'http://127.0.0.1/nginx_status answered 403' })]);
    answer = async () => ({ status: 200, body: fs.readFileSync(path.join(FIX, 'stub-status-html-404.txt'), 'utf8') });
    expect(await p.run(sig())).toEqual([expect.objectContaining({ up: false, reason: expect.stringContaining('not a stub_status page') })]);
    answer = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:80'), { code: 'ECONNREFUSED' });
    };
    expect(await p.run(sig())).toEqual([expect.objectContaining({ up: false, reason: 'http://127.0.0.1/nginx_status: connect ECONNREFUSED 127.0.0.1:80' })]);
  });

  test('judge: down fails the run with its reason; up succeeds', () => {
    const p = new NginxStatusProbe({ url: 'http://127.0.0.1/nginx_status', http: async () => ({ status: 200, body: '' }), clock: new FakeClock() });
    expect(p.judge([])).toBeUndefined();
    expect(p.judge([{ kind: 'nginx_status', source: 'nginx_probe', at: 0, up: true }])).toBeUndefined();
    expect(p.judge([{ kind: 'nginx_status', source: 'nginx_probe', at: 0, up: false, reason: 'connect ECONNREFUSED 127.0.0.1:80' }])).toBe('connect ECONNREFUSED 127.0.0.1:80');
    expect(p.judge([{ kind: 'nginx_status', source: 'nginx_probe', at: 0, up: false }])).toBe('nginx_status down');
  });
});

describe('NginxHealthProbe', () => {
  test('local always; through each VIP held here (host replaced, Host header kept); IPv6 bracketed', async () => {
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    store.apply({
      kind: 'vip',
      source: 'vip_probe',
      at: 1,
      vips: [
        { iname: 'VI_1', vip: '192.0.2.100', intf: 'eth0' },
        { iname: 'VI_1', vip: '192.0.2.101', intf: null },
        { iname: 'VI_6', vip: '2001:db8::100', intf: 'eth0' },
      ],
    });
    const calls: Array<[string, Record<string, string> | undefined]> = [];
    const http: HttpGet = async (url, o) => {
      calls.push([url, o.headers]);
      if (url.includes('[2001:db8::100]')) throw new Error('connect ETIMEDOUT');
      return { status: url.includes('192.0.2.100') ? 502 : 200, body: '' };
    };
    let t = 0;
    const p = new NginxHealthProbe({ url: 'http://127.0.0.1:8080/health?x=1', viaVip: true, store, http, clock, monotonicNow: () => (t += 5) });
    const evs = (await p.run(sig())) as NginxHealthEvent[];
    expect(calls).toEqual([
      ['http://127.0.0.1:8080/health?x=1', { host: '127.0.0.1:8080' }],
      ['http://192.0.2.100:8080/health?x=1', { host: '127.0.0.1:8080' }],
      ['http://[2001:db8::100]:8080/health?x=1', { host: '127.0.0.1:8080' }],
    ]);
    expect(evs.map((e) => [e.target, e.up, e.statusCode, e.reason])).toEqual([
      ['local', true, 200, undefined],
      ['vip:192.0.2.100', false, 502, 'http://192.0.2.100:8080/health?x=1 answered 502'],
      ['vip:2001:db8::100', false, undefined, 'http://[2001:db8::100]:8080/health?x=1: connect ETIMEDOUT'],
    ]);
    expect(evs.every((e) => e.durationMs > 0 && e.durationMs <= 30)).toBe(true);
    const noVip = new NginxHealthProbe({ url: 'http://127.0.0.1/', viaVip: false, store, http, clock });
    expect(noVip.targets()).toEqual([{ target: 'local', url: 'http://127.0.0.1/' }]);
    expect(urlThroughVip('https://site.example:8443/a/b', '192.0.2.7')).toBe('https://192.0.2.7:8443/a/b');
  });
});

describe('NginxHealthProbe: judge', () => {
  test('the first target down fails the run, named with its reason or status', () => {
    const p = new NginxHealthProbe({ url: 'http://127.0.0.1/', viaVip: false, store: new NodeStore('n1', new FakeClock()), http: async () => ({ status: 200, body: '' }), clock: new FakeClock() });
    const ev = (target: string, up: boolean, o: Partial<NginxHealthEvent> = {}): NginxHealthEvent => ({ kind: 'nginx_health', source: 'nginx_probe', at: 0, target, up, durationMs: 1, ...o });
    expect(p.judge([ev('local', true), ev('vip:192.0.2.100', true)])).toBeUndefined();
    expect(p.judge([ev('local', false, { statusCode: 502 })])).toBe('local: status 502');
    expect(p.judge([ev('local', true), ev('vip:192.0.2.100', false, { reason: 'no answer' }), ev('vip:192.0.2.101', false)])).toBe('vip:192.0.2.100: no answer');
    expect(p.judge([ev('local', false)])).toBe('local: status none');
  });
});

describe('NginxHealthProbe: failures in a row', () => {
  test('each result counts its target\'s failures in a row and when they began; a success resets', async () => {
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    const ngx = new FakeNginx();
    ngx.start(100);
    const p = new NginxHealthProbe({ url: 'http://127.0.0.1/', viaVip: true, store, http: ngx.http, clock });
    const local = async () => ((await p.run(sig())) as NginxHealthEvent[]).find((e) => e.target === 'local')!;
    expect(await local()).toMatchObject({ up: true, failures: 0 });
    ngx.status = 502;
    const first = clock.now();
    expect(await local()).toMatchObject({ up: false, failures: 1, failingSince: first });
    clock.advance(1000);
    ngx.kill();
    expect(await local()).toMatchObject({ up: false, failures: 2, failingSince: first });
    ngx.start(200);
    ngx.status = 200;
    clock.advance(1000);
    expect(await local()).toMatchObject({ up: true, failures: 0 });
    expect((await local()).failingSince).toBeUndefined();
  });
});

describe('NginxProcessProbe', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-ngxproc-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const proc = (pid: number, comm: string, start: string, children: string) => {
    const d = path.join(dir, 'proc', String(pid));
    fs.mkdirSync(path.join(d, 'task', String(pid)), { recursive: true });
    fs.writeFileSync(path.join(d, 'comm'), `${comm}\n`);
    // 52 fields; comm may contain spaces and parentheses, starttime is field 22.
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[22 - 3] = start;
    fs.writeFileSync(path.join(d, 'stat'), `${pid} (${comm}) ${fields.join(' ')}\n`);
    fs.writeFileSync(path.join(d, 'task', String(pid), 'children'), children);
  };

  test('alive, stale pid file, wrong process, no pid file; restart and reload call onMasterChange', async () => {
    const pidFile = path.join(dir, 'nginx.pid');
    const clock = new FakeClock();
    const alive = new Set<number>();
    const changes: string[] = [];
    const p = new NginxProcessProbe({
      pidFile,
      clock,
      procRoot: path.join(dir, 'proc'),
      signal0: (pid) => {
        if (!alive.has(pid)) throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
      },
      onMasterChange: (why) => changes.push(why),
    });
    expect(await p.run(sig())).toEqual([expect.objectContaining({ up: false, reason: `no pid file ${pidFile} (nginx not running?)` })]);

    fs.writeFileSync(pidFile, '4242\n');
    proc(4242, 'nginx', '1000', '4243 ');
    alive.add(4242);
    expect(await p.run(sig())).toEqual([{ kind: 'nginx_process', source: 'nginx_probe', at: clock.now(), up: true, pid: 4242 }]);
    expect(changes).toEqual(['nginx master changed (pid -1 -> 4242)']); // started after it was seen down

    await p.run(sig());
    expect(changes).toHaveLength(1);
    proc(4242, 'nginx', '1000', '4250 ');
    await p.run(sig());
    expect(changes.at(-1)).toBe('nginx workers replaced (reload)');

    // The master it reported up is gone: nothing while a restart may still bring a new one, then down.
    alive.delete(4242);
    expect(await p.run(sig())).toEqual([]);
    clock.advance(999);
    expect(await p.run(sig())).toEqual([]);
    clock.advance(1);
    expect(await p.run(sig())).toEqual([expect.objectContaining({ up: false, pid: 4242, reason: `pid 4242 from ${pidFile} is not running` })]);

    alive.add(4242);
    proc(4242, 'bash (x)', '1000', '');
    expect(await p.run(sig())).toEqual([expect.objectContaining({ up: false, reason: `pid 4242 from ${pidFile} is "bash (x)", not nginx (stale pid file)` })]);

    fs.writeFileSync(pidFile, 'garbage');
    expect(await p.run(sig())).toEqual([expect.objectContaining({ up: false, reason: `${pidFile} holds no pid` })]);

    fs.writeFileSync(pidFile, '5000');
    proc(5000, 'nginx', '2000', '5001');
    alive.add(5000);
    await p.run(sig());
    expect(changes.at(-1)).toBe('nginx master changed (pid -1 -> 5000)');
  });

  test('judge: a master reported down fails the run; nothing yet (a restart\'s grace) is no failure', () => {
    const p = new NginxProcessProbe({ pidFile: path.join(dir, 'nginx.pid'), clock: new FakeClock() });
    const ev = (up: boolean, reason?: string): NginxProcessEvent => ({ kind: 'nginx_process', source: 'nginx_probe', at: 0, up, reason });
    expect(p.judge([])).toBeUndefined();
    expect(p.judge([ev(true)])).toBeUndefined();
    expect(p.judge([ev(false, 'no pid file')])).toBe('no pid file');
    expect(p.judge([ev(false)])).toBe('nginx_process down');
  });

  test('the real process table: this test process is not nginx', async () => {
    const pidFile = path.join(dir, 'self.pid');
    fs.writeFileSync(pidFile, String(process.pid));
    const p = new NginxProcessProbe({ pidFile, clock: new FakeClock() });
    expect(await p.run(sig())).toEqual([expect.objectContaining({ up: false, reason: expect.stringMatching(/is "(node|jest).*", not nginx/) })]);
  });
});

describe('NginxProcessProbe: the watch of the known master (fake clock)', () => {
  const setup = () => {
    const clock = new FakeClock();
    const ngx = new FakeNginx();
    const changes: string[] = [];
    const events: NginxProcessEvent[] = [];
    const p = new NginxProcessProbe({ pidFile: ngx.pidFile, procRoot: ngx.procRoot, clock, readFile: ngx.readFile, fileStamp: ngx.fileStamp, signal0: ngx.signal0, onMasterChange: (w) => changes.push(w) });
    return { clock, ngx, changes, events, p, start: async () => p.start((ev) => events.push(ev as NginxProcessEvent)) };
  };

  test('a dead master is reported down NGINX_RESTART_GRACE_MS after the watch saw it, without waiting for a run', async () => {
    const { clock, ngx, events, p, start } = setup();
    ngx.start(100);
    await start();
    expect(await p.run(sig())).toEqual([expect.objectContaining({ up: true, pid: 100 })]);
    clock.advance(2000);
    expect(events).toEqual([]);
    // Idle: a stat of the pid file, a signal 0 and the master's /proc stat per tick, nothing else.
    const reads = new Map(ngx.reads);
    clock.advance(10_000);
    const readsNow = [...ngx.reads].filter(([p, n]) => reads.get(p) !== n).map(([p, n]) => [p, n - (reads.get(p) ?? 0)]);
    expect(readsNow).toEqual([['/proc/100/stat', 10_000 / NGINX_WATCH_INTERVAL_MS]]);

    ngx.kill({ keepPidFile: true }); // SIGKILL: the pid file stays
    const killedAt = clock.now();
    clock.advance(NGINX_WATCH_INTERVAL_MS); // seen gone: the grace starts
    expect(events).toEqual([]);
    clock.advance(NGINX_RESTART_GRACE_MS - 1);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual([expect.objectContaining({ up: false, pid: 100, reason: `pid 100 from ${ngx.pidFile} is not running` })]);
    expect(events[0].at - killedAt).toBe(NGINX_WATCH_INTERVAL_MS + NGINX_RESTART_GRACE_MS);
    clock.advance(10_000);
    expect(events).toHaveLength(1); // reported once
    await p.stop();
    expect(clock.pending()).toBe(0);
  });

  test('a restart (the master gone, a new pid 300 ms later) is no down; a start after a death is seen at the next tick', async () => {
    const { clock, ngx, events, changes, p, start } = setup();
    ngx.start(100);
    await start();
    await p.run(sig());
    ngx.kill(); // systemctl restart: the old master exits (removing its pid file)...
    clock.advance(NGINX_WATCH_INTERVAL_MS);
    clock.advance(50);
    expect(await p.run(sig())).toEqual([]); // a scheduled run inside the gap says nothing either
    ngx.start(200); // ...nginx -t, and a new master
    clock.advance(NGINX_WATCH_INTERVAL_MS);
    expect(events).toEqual([expect.objectContaining({ up: true, pid: 200 })]);
    expect(changes).toEqual(['nginx master changed (pid -1 -> 200)']);
    clock.advance(5_000);
    expect(events.filter((e) => !e.up)).toEqual([]);

    // A real death, then nginx started again by hand: down, then up at the next tick.
    ngx.kill();
    clock.advance(NGINX_WATCH_INTERVAL_MS + NGINX_RESTART_GRACE_MS);
    expect(events.at(-1)).toMatchObject({ up: false, reason: `no pid file ${ngx.pidFile} (nginx not running?)` });
    clock.advance(3_000);
    ngx.start(300);
    clock.advance(NGINX_WATCH_INTERVAL_MS);
    expect(events.at(-1)).toMatchObject({ up: true, pid: 300 });
    await p.stop();
  });

  test('a master that exited but is not reaped yet (a zombie: signal 0 still reaches it) is gone', async () => {
    const { clock, ngx, events, p, start } = setup();
    ngx.start(100);
    await start();
    await p.run(sig());
    ngx.kill({ zombie: true, keepPidFile: true });
    clock.advance(NGINX_WATCH_INTERVAL_MS + NGINX_RESTART_GRACE_MS);
    expect(events).toEqual([expect.objectContaining({ up: false, pid: 100, reason: `pid 100 from ${ngx.pidFile} has exited` })]);
    await p.stop();
  });

  test('a reload (SIGHUP: same master, new workers) is nothing to the watch', async () => {
    const { clock, ngx, events, p, start } = setup();
    ngx.start(100);
    await start();
    await p.run(sig());
    ngx.reload();
    clock.advance(10_000);
    expect(events).toEqual([]);
    await p.stop();
  });
});

describe('NginxConfigProbe (fake runner)', () => {
  test('valid -> hash; invalid -> the [emerg] line; missing binary -> says so', async () => {
    const clock = new FakeClock();
    const p = new NginxConfigProbe({ binary: '/usr/sbin/nginx', config: '/etc/nginx/nginx.conf', clock, run: async () => ({ code: 0, signal: null, stdout: '', stderr: '', stdoutSha256: 'ab'.repeat(32), truncated: false }) });
    expect(p.argv()).toEqual(['/usr/sbin/nginx', '-T', '-c', '/etc/nginx/nginx.conf']);
    expect(await p.run(sig())).toEqual([{ kind: 'nginx_config', source: 'nginx_probe', at: clock.now(), valid: true, hash: 'ab'.repeat(32) }]);
    const stderr = 'nginx: [emerg] unknown directive "bogus" in /etc/nginx/nginx.conf:3\nnginx: configuration file /etc/nginx/nginx.conf test failed\n';
    const bad = new NginxConfigProbe({ binary: 'nginx', clock, run: async () => ({ code: 1, signal: null, stdout: '', stderr, truncated: false }) });
    expect(await bad.run(sig())).toEqual([expect.objectContaining({ valid: false, reason: 'nginx: [emerg] unknown directive "bogus" in /etc/nginx/nginx.conf:3' })]);
    const missing = new NginxConfigProbe({ binary: '/nonexistent/nginx', clock });
    expect(await missing.run(sig())).toEqual([expect.objectContaining({ valid: false, reason: '/nonexistent/nginx not found (nginx.binary)' })]);
    expect(nginxErrorLine('')).toBeUndefined();
    const denied = new NginxConfigProbe({
      binary: 'nginx',
      clock,
      run: async () => ({ code: 1, signal: null, stdout: '', stderr: 'nginx: [emerg] open() "/var/log/nginx/error.log" failed (13: Permission denied)\nnginx: configuration file /etc/nginx/nginx.conf test failed\n', truncated: false }),
    });
    await expect(denied.run(sig())).rejects.toThrow(/^cannot check the nginx configuration as this user .*\(13: Permission denied\)/);
    expect(nginxErrorLine('2026/11/25 19:30:12 [emerg] 21617#21617: unknown directive "x" in /etc/nginx/nginx.conf:15\nnginx: configuration file /etc/nginx/nginx.conf test failed\n')).toBe(
      '[emerg] unknown directive "x" in /etc/nginx/nginx.conf:15',
    );
  });

  test('judge: an invalid configuration fails the run with its reason', () => {
    const p = new NginxConfigProbe({ binary: 'nginx', clock: new FakeClock() });
    expect(p.judge([{ kind: 'nginx_config', source: 'nginx_probe', at: 0, valid: true, hash: 'x' }])).toBeUndefined();
    expect(p.judge([{ kind: 'nginx_config', source: 'nginx_probe', at: 0, valid: false, reason: '[emerg] unknown directive' }])).toBe('[emerg] unknown directive');
    expect(p.judge([{ kind: 'nginx_config', source: 'nginx_probe', at: 0, valid: false }])).toBe('nginx configuration invalid');
  });
});
