// keepwatch status against a real in-process agent: the table, --json, colours only on a TTY,
// exit codes 0 healthy / 1 degraded / 2 critical / 3 unreachable, --watch following the stream,
// and an agent without /api/v1/status (state + alerts judged by the CLI the same way).
import bcrypt from 'bcryptjs';
import { runStatus, EXIT_UNREACHABLE } from '../../../agent/cli/status';
import { main } from '../../../agent/cli/main';
import { coreModule } from '../../../agent/wiring/core';
import { healthyMasterEvents, peerState, setPeer, startInProcessAgent, testAlert, type InProcessAgent } from '../../helpers/inProcessAgent';
import { waitFor } from '../../helpers/wait';

function io(tty = false, now?: () => number) {
  const out: string[] = [];
  return { out, text: () => out.join(''), io: { write: (s: string) => void out.push(s), tty, now } };
}

describe('keepwatch status', () => {
  let agent: InProcessAgent;
  afterEach(async () => {
    await agent?.stop();
  });

  async function pair(opts: { ka2?: 'MASTER' | 'BACKUP'; ka1?: 'MASTER' | 'BACKUP' } = {}) {
    agent = await startInProcessAgent();
    const t0 = Date.now() - 60_000;
    for (const ev of healthyMasterEvents(t0, { state: opts.ka1 ?? 'MASTER' })) agent.apply(ev);
    setPeer(agent, peerState('ka2', healthyMasterEvents(t0, { state: opts.ka2 ?? 'BACKUP' })));
    return t0;
  }

  test('healthy pair: the table, exit 0, no colour when not a TTY', async () => {
    const t0 = await pair();
    const o = io(false, () => t0 + 60_000);
    expect(await runStatus({ url: agent.url }, o.io)).toBe(0);
    const t = o.text();
    expect(t).toMatch(/^keepwatch status: HEALTHY/);
    expect(t).toMatch(/^NODE\s+VRID\s+INSTANCE\s+ROLE\s+PRIO\s+VIP\s+NGINX\s+PEER\s+ALERTS\s+SINCE$/m);
    expect(t).toMatch(/^ka1\s+51\s+VI_1\s+MASTER\s+150\s+192\.0\.2\.100\s+up\s+self\s+0\s+1m00s$/m);
    expect(t).toMatch(/^ka2\s+51\s+VI_1\s+BACKUP\s+150\s+-\s+up\s+up\s+0/m);
    expect(t).toContain('VIP holders: 192.0.2.100 → ka1');
    expect(t).toContain('No alerts firing.');
    expect(t).not.toMatch(/\x1b\[/);
  });

  test('colours on a TTY', async () => {
    await pair();
    const o = io(true);
    expect(await runStatus({ url: agent.url }, o.io)).toBe(0);
    expect(o.text()).toContain('\x1b[32m\x1b[1mMASTER\x1b[0m');
  });

  test('a warning alert: degraded, exit 1; a critical one: exit 2', async () => {
    await pair();
    agent.daemon.hubs.alerts.publish(testAlert('ConfigDrift', 'warning', { vrid: '51' }));
    let o = io();
    expect(await runStatus({ url: agent.url }, o.io)).toBe(1);
    expect(o.text()).toMatch(/^keepwatch status: DEGRADED/);
    expect(o.text()).toMatch(/^ {2}WARNING\s+ConfigDrift\s+ConfigDrift on ka1/m);
    agent.daemon.hubs.alerts.publish(testAlert('NginxDownOnVipHolder', 'critical', { vrid: '51' }));
    o = io();
    expect(await runStatus({ url: agent.url }, o.io)).toBe(2);
    expect(o.text()).toMatch(/^ {2}! NginxDownOnVipHolder: NginxDownOnVipHolder on ka1$/m);
  });

  test('split brain (two MASTERs): critical, exit 2, shown in --json too', async () => {
    await pair({ ka2: 'MASTER' });
    const o = io();
    expect(await runStatus({ url: agent.url, json: true }, o.io)).toBe(2);
    const s = JSON.parse(o.text());
    expect(s.health.level).toBe('critical');
    expect(s.health.reasons.join('\n')).toMatch(/split brain.*VRID 51.*ka1.*ka2/i);
    expect(s.vrids[0].masters.sort()).toEqual(['ka1', 'ka2']);
  });

  test('no MASTER anywhere: critical, exit 2', async () => {
    await pair({ ka1: 'BACKUP', ka2: 'BACKUP' });
    const o = io();
    expect(await runStatus({ url: agent.url }, o.io)).toBe(2);
    expect(o.text()).toMatch(/no MASTER for VRID 51|NoMaster/);
  });

  test('a peer that is unreachable: degraded, exit 1', async () => {
    await pair();
    setPeer(agent, peerState('ka2', healthyMasterEvents(Date.now() - 60_000, { state: 'BACKUP' })), false);
    const o = io();
    expect(await runStatus({ url: agent.url }, o.io)).toBeGreaterThanOrEqual(1);
    expect(o.text()).toMatch(/^ka2 \(stale\)\s+51\s+VI_1\s+BACKUP.*UNREACHABLE/m);
  });

  test('no agent: exit 3 with the reason', async () => {
    const o = io();
    expect(await runStatus({ url: 'http://127.0.0.1:1', timeoutMs: 2000 }, o.io)).toBe(EXIT_UNREACHABLE);
    expect(o.text()).toMatch(/cannot ask the agent at http:\/\/127\.0\.0\.1:1/);
  });

  test('--watch redraws on a change pushed by the agent, and ends with the last verdict', async () => {
    await pair();
    const o = io();
    const ac = new AbortController();
    const run = runStatus({ url: agent.url, watch: true }, { ...o.io, signal: ac.signal });
    await waitFor(() => o.out.length >= 2); // the first fetch, then the stream's first snapshot
    agent.apply({ kind: 'transition', at: Date.now(), source: 'dbus', iname: 'VI_1', state: 'FAULT', cause: 'track script chk_nginx failed' });
    await waitFor(() => /^ka1\s+51\s+VI_1\s+FAULT/m.test(o.out.at(-1)!));
    ac.abort();
    expect(await run).toBe(2); // ka1 FAULT, ka2 BACKUP: no MASTER
  });

  test('through main(): the command is registered and its exit code returned; credentials from the URL', async () => {
    const hash = bcrypt.hashSync('pw', 4);
    agent = await startInProcessAgent({ webYaml: `web: {listen_address: "127.0.0.1:0", basic_auth_users: {ops: "${hash}"}}` });
    for (const ev of healthyMasterEvents(Date.now())) agent.apply(ev);
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const withCreds = agent.url.replace('http://', 'http://ops:pw@');
      // Credentials come from the environment only; on the command line they are refused (exit 2).
      expect(await main(['node', 'keepwatch', 'status', '--agent.url', withCreds])).toBe(2);
      spy.mockClear();
      expect(await main(['node', 'keepwatch', 'status', '--agent.url', agent.url])).toBe(EXIT_UNREACHABLE);
      expect(spy.mock.calls.map((c) => String(c[0])).join('')).toMatch(/HTTP 401/);
    } finally {
      spy.mockRestore();
    }
  });

  test('an agent without /api/v1/status: judged from /api/v1/state by the CLI', async () => {
    agent = await startInProcessAgent({ modules: [coreModule] });
    for (const ev of healthyMasterEvents(Date.now())) agent.apply(ev);
    let o = io();
    expect(await runStatus({ url: agent.url }, o.io)).toBe(0);
    expect(o.text()).toMatch(/^ka1\s+51\s+VI_1\s+MASTER\s+150\s+192\.0\.2\.100\s+up\s+self/m);
    agent.apply({ kind: 'transition', at: Date.now(), source: 'dbus', iname: 'VI_1', state: 'FAULT' });
    o = io();
    expect(await runStatus({ url: agent.url }, o.io)).toBe(2);
  });

  test('control characters in data never reach the terminal', async () => {
    agent = await startInProcessAgent({ modules: [coreModule] });
    agent.apply({ kind: 'keepalived', at: Date.now(), source: 'dbus', up: true });
    agent.apply({ kind: 'instance', at: Date.now(), source: 'dbus', key: { iname: 'VI_\x1b[2J1', intf: 'eth0', vrid: 51, family: 'IPv4' }, state: 'MASTER' });
    const o = io();
    await runStatus({ url: agent.url }, o.io);
    expect(o.text()).toContain('VI_?[2J1');
    expect(o.text()).not.toContain('\x1b');
  });
});
