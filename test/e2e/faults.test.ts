// Fault tests (issue 8): the real agents on the real lab, broken on purpose. Every loop is bounded
// in rounds and time. Lab parts need root and skip loudly without it; the misbehaving-peer part
// runs an in-process agent against fake peers on loopback and needs nothing.
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../agent/logger';
import { installLabHook } from '../helpers/hook';
import { startLab, type Lab, type LabNode } from '../lab/lab';
import { sample, sampleSum, startAgents, startPeered, waitUntil, type LabAgent } from '../lab/agents';
import { startInProcessAgent, healthyMasterEvents, testAlert, type InProcessAgent } from '../helpers/inProcessAgent';
import { startWebhook } from '../unit/alerting/servers';
import { describeLab } from '../helpers/needs';
import { sleep } from '../helpers/wait';

jest.setTimeout(240_000);

const REPO = resolve(__dirname, '../..');

const RECEIVER = join(REPO, 'test/lab/webhookReceiver.cjs');
const RECEIVER_PORT = 9098;
const STATE_CODE: Record<string, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 98, DELETED: 97 };

const vrrpState = (m: string) => sample(m, 'keepalived_vrrp_state', { iname: 'VI_1', intf: 'eth0', vrid: '51', ip_address: '192.0.2.100/24' });

/** keepalived's own view of a node: its D-Bus state, or STOP when it does not run. */
async function keepalivedCode(lab: Lab, n: LabNode): Promise<number | undefined> {
  if (!lab.keepalivedRunning(n)) return STATE_CODE.STOP;
  const s = await lab.dbusState(n);
  return s ? s.code : undefined;
}

/** Both agents show what each keepalived shows, within 1 s of keepalived showing it. */
async function agentsMatch(lab: Lab, agents: LabAgent[], what: string): Promise<void> {
  for (const [i, n] of lab.nodes.entries()) {
    const want = await keepalivedCode(lab, n);
    if (want === undefined) continue; // between states on the bus: nothing to compare
    await waitUntil(async () => {
      const got = vrrpState(await agents[i].metrics());
      // keepalived gone: the agent may show STOP or nothing at all, never a stale MASTER
      return want === STATE_CODE.STOP ? got !== STATE_CODE.MASTER : got === want;
    }, 1_000, 20, `${what}: ${n.name} agent shows ${want}`);
  }
}

/** What a receiver file holds, in short (for failure messages). */
function receivedSummary(file: string): string {
  if (!existsSync(file)) return '(no file)';
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return `${lines.length} request(s): ` + lines.map((l) => {
    const r = JSON.parse(l) as { path: string; body: { alerts?: Array<{ status: string; labels: Record<string, string> }> } };
    return `${r.path} ${(r.body.alerts ?? []).map((a) => `${a.labels.alertname}{node=${a.labels.node ?? ''}}:${a.status}`).join(',')}`;
  }).join('; ');
}

async function notificationMetrics(a: LabAgent): Promise<string> {
  return (await a.metrics()).split('\n').filter((l) => /^keepwatch_(notifications_(sent|failed|queue_depth|dropped)|outbox_)/.test(l)).join(' | ');
}

function hookWrapper(dir: string, node: LabNode): string {
  // keepalived runs `notify <script>` with 4 arguments; the wrapper points the real hook at this node's agent.
  const data = join(node.dir, 'keepwatch');
  const file = join(dir, `${node.name}-hook.sh`);
  writeFileSync(file, `#!/bin/sh\nexec /bin/sh ${installLabHook()} --spool ${data}/spool --socket ${data}/hook.sock "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

describeLab('faults: keepalived, D-Bus, the agent itself (lab)', () => {
  let lab: Lab;
  let agents: LabAgent[];
  const hookDir = '/run/kw-faults-hooks';

  beforeAll(async () => {
    mkdirSync(hookDir, { recursive: true });
    lab = await startLab({
      id: 'b8faults',
      fifo: true,
      keepalivedExtra: (n) => `  notify ${hookWrapper(hookDir, n)}`,
    });
    agents = await startPeered(lab, {
      config: (n) => ({
        alerting: {
          // Per alert (Alertmanager's grouping), so ka1's agent pages KeepalivedDown{node=ka1} itself:
          // the tests need pages in ka1's outbox. By default the incident (its first alert: ka2's
          // Failover) would be told by ka2's agent.
          route: { receiver: 'lab', group_by: ['alertname', 'vrid'] },
          receivers: [{ name: 'lab', type: 'webhook', url: `http://192.0.2.50:${RECEIVER_PORT}/${n.name}` }],
          retry: { initial: '200ms', max: '1s' },
        },
      }),
    });
  });
  afterAll(async () => {
    await lab?.stop();
    rmSync(hookDir, { recursive: true, force: true });
  });

  test('keepalived killed (SIGKILL, SIGTERM), restarted and reloaded in a loop: agents match keepalived within 1 s, no stale MASTER, no crash', async () => {
    const [ka1, ka2] = lab.nodes;
    for (let round = 1; round <= 3; round++) {
      const signal = round % 2 ? 'SIGKILL' : 'SIGTERM';
      await lab.killKeepalived(ka1, signal);
      await agentsMatch(lab, agents, `round ${round}: ka1 keepalived ${signal}`);
      expect(sample(await agents[0].metrics(), 'keepalived_up')).toBe(0);
      await lab.waitForState(ka2, 'MASTER', 15_000);
      await agentsMatch(lab, agents, `round ${round}: ka2 took over`);
      await lab.startKeepalived(ka1);
      await lab.waitForState(ka1, 'MASTER', 15_000);
      await lab.waitForState(ka2, 'BACKUP', 15_000);
      await agentsMatch(lab, agents, `round ${round}: ka1 back`);
      await lab.reloadKeepalived(ka1);
      await lab.waitForState(ka1, 'MASTER', 15_000);
      await agentsMatch(lab, agents, `round ${round}: ka1 reloaded`);
      await lab.reloadKeepalived(ka2);
      await lab.waitForState(ka2, 'BACKUP', 15_000);
      await agentsMatch(lab, agents, `round ${round}: ka2 reloaded`);
    }
    for (const a of agents) {
      expect(a.proc.exitCode).toBeNull();
      expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    }
  });

  test('dbus-daemon restarted: FIFO and log carry on, no false STOP; keepalived restarted comes back on D-Bus', async () => {
    const [ka1] = lab.nodes;
    const [a1] = agents;
    await lab.restartDbus(ka1);
    // keepalived 2.2.7 does not reconnect to a restarted bus: the agent must not take that for keepalived gone.
    await sleep(3_000);
    let m = await a1.metrics();
    expect(sample(m, 'keepalived_up')).toBe(1);
    expect(vrrpState(m)).toBe(2);
    // A transition while D-Bus is blind: nginx stopped -> track script fails -> FAULT, seen by FIFO/log.
    const fifoBefore = (await a1.getJson<{ sources: Record<string, { lastEventAt?: number }> }>('/api/v1/state')).sources.fifo?.lastEventAt ?? 0;
    await lab.stopNginx(ka1);
    const faultAt = await waitUntil(() => /\(VI_1\) Entering FAULT STATE/.test(readFileSync(ka1.logPath, 'utf8').split('# lab: starting keepalived').pop() ?? ''), 15_000, 20, 'ka1 FAULT in its log');
    const agentFaultAt = await waitUntil(async () => vrrpState(await a1.metrics()) === 3, 2_000, 20, 'agent shows FAULT without D-Bus');
    expect(agentFaultAt - faultAt).toBeLessThan(1_000);
    const st = await a1.getJson<{ sources: Record<string, { lastEventAt?: number }> }>('/api/v1/state');
    expect(st.sources.fifo?.lastEventAt ?? 0).toBeGreaterThan(fifoBefore);
    await lab.startNginx(ka1);
    await waitUntil(async () => vrrpState(await a1.metrics()) === 2, 20_000, 50, 'ka1 MASTER again (FIFO/log)');
    // keepalived restarted: it joins the new bus; the agent's D-Bus source re-reads the state.
    await lab.killKeepalived(ka1, 'SIGTERM');
    await lab.startKeepalived(ka1);
    await lab.waitForState(ka1, 'MASTER', 15_000);
    await waitUntil(async () => {
      m = await a1.metrics();
      return sample(m, 'keepwatch_source_up', { source: 'dbus' }) === 1 && vrrpState(m) === 2 && sample(m, 'keepalived_up') === 1;
    }, 10_000, 50, 'D-Bus source back with keepalived').catch(async (e) => {
      const st = await a1.getJson<{ sources: Record<string, unknown> }>('/api/v1/state');
      console.log(`dbus source ${sample(m, 'keepwatch_source_up', { source: 'dbus' })}, VRRP state ${vrrpState(m)}, keepalived_up ${sample(m, 'keepalived_up')}; sources: ${JSON.stringify(st.sources)}`);
      throw e;
    });
    await agentsMatch(lab, agents, 'after the bus restart');
  });

  test('agent killed with kill -9 during a failover: on restart it shows the current state, the missed transitions come from the hook spool, the pending page is delivered', async () => {
    const [ka1, ka2] = lab.nodes;
    const [a1] = agents;
    const recv = join(lab.client.dir, 'faults-received.jsonl');
    mkdirSync(lab.client.dir, { recursive: true });
    writeFileSync(recv, '');
    const hookRecords = (m: string, via: string) =>
      ['applied', 'duplicate', 'superseded'].reduce((s, r) => s + (sample(m, 'keepwatch_hook_records_total', { via, result: r }) ?? 0), 0);
    // 1. Failover to ka2 while the receiver is down. ka1's agent pages what is about ka1
    //    (KeepalivedDown{node=ka1}) and the cluster-wide alerts (lowest node name): they wait in its outbox.
    await lab.killKeepalived(ka1, 'SIGTERM');
    await lab.waitForState(ka2, 'MASTER', 15_000);
    await waitUntil(async () => (sample(await a1.metrics(), 'keepwatch_notifications_queue_depth', { receiver: 'lab' }) ?? 0) > 0, 20_000, 100, 'a page pending in ka1\'s outbox');
    // 2. ka1's agent killed with kill -9, mid-incident.
    const killedAt = Date.now();
    await a1.stop('SIGKILL');
    // 3. ka1's keepalived comes back and takes over while its agent is dead: the hook spools.
    await lab.startKeepalived(ka1);
    await lab.waitForState(ka1, 'MASTER', 15_000);
    await lab.waitForState(ka2, 'BACKUP', 15_000);
    await waitUntil(() => spawnSync('sh', ['-c', `ls ${join(a1.dataDir, 'spool')} | grep -v -e '^tmp$' -e agent.alive | head -1`], { encoding: 'utf8' }).stdout.trim() !== '', 5_000, 50, 'a spooled hook record');
    // 4. Restarted: the current state, and the missed transitions from the spool.
    await a1.restart();
    await waitUntil(async () => vrrpState(await a1.metrics()) === 2, 5_000, 50, 'restarted agent shows MASTER');
    await waitUntil(async () => hookRecords(await a1.metrics(), 'spool') > 0, 5_000, 50, 'spooled records applied');
    const state = await a1.getJson<{ timeline: unknown[] }>('/api/v1/state');
    expect(JSON.stringify(state.timeline)).toMatch(/MASTER/);
    // 5. What was pending when it died (from ka1's journal: an alert that began before the kill) is
    //    delivered by ka1 once the receiver answers; the Failover was paged (by ka2's agent, its node's).
    lab.client.spawn([process.execPath, RECEIVER, '0.0.0.0', String(RECEIVER_PORT), recv]);
    const pagedBefore = (l: string) => {
      if (!l) return false;
      const r = JSON.parse(l) as { path: string; body: { alerts?: Array<{ status: string; startsAt: string }> } };
      return r.path === '/ka1' && (r.body.alerts ?? []).some((a) => a.status === 'firing' && Date.parse(a.startsAt) < killedAt);
    };
    await waitUntil(
      () => {
        const lines = readFileSync(recv, 'utf8').split('\n');
        return lines.some(pagedBefore) && lines.some((l) => l.includes('"Failover"') && l.includes('"status":"firing"'));
      },
      20_000, 100, 'the pages pending before the kill -9 delivered',
    ).catch(async (e) => {
      throw new Error(`${(e as Error).message}; receiver got ${receivedSummary(recv)}; ka1: ${await notificationMetrics(a1)}`);
    });
    await agentsMatch(lab, agents, 'after the agent restart');
  });

  test('FIFO deleted and recreated: the agent re-creates it and keeps reading', async () => {
    const [ka1] = lab.nodes;
    const [a1] = agents;
    let m = await a1.metrics();
    const created = sample(m, 'keepwatch_fifo_created_total') ?? 0;
    const errors = sample(m, 'keepwatch_parse_errors_total', { source: 'fifo' }) ?? 0;
    unlinkSync(ka1.fifoPath);
    await waitUntil(async () => (sample(await a1.metrics(), 'keepwatch_fifo_created_total') ?? 0) > created && existsSync(ka1.fifoPath), 10_000, 50, 'FIFO re-created');
    await ka1.exec(['sh', '-c', `printf 'garbage after recreate\\n' > ${ka1.fifoPath}`], { timeoutMs: 5_000 });
    await waitUntil(async () => (sample(await a1.metrics(), 'keepwatch_parse_errors_total', { source: 'fifo' }) ?? 0) === errors + 1, 5_000, 50, 'line on the new FIFO read');
    // keepalived moves to the new FIFO when restarted; its transitions arrive through it.
    const before = (await a1.getJson<{ sources: Record<string, { lastEventAt?: number }> }>('/api/v1/state')).sources.fifo?.lastEventAt ?? 0;
    await lab.killKeepalived(ka1, 'SIGTERM');
    await lab.startKeepalived(ka1);
    await lab.waitForState(ka1, 'MASTER', 15_000);
    await waitUntil(async () => ((await a1.getJson<{ sources: Record<string, { lastEventAt?: number }> }>('/api/v1/state')).sources.fifo?.lastEventAt ?? 0) > before, 10_000, 50, 'keepalived transitions through the new FIFO');
    m = await a1.metrics();
    expect(sample(m, 'keepwatch_source_up', { source: 'fifo' })).toBe(1);
  });

  // Last: afterwards keepalived keeps writing into the rotated file, which the agent no longer follows.
  test('log rotated, truncated, deleted and re-created: every line written after each is read once', async () => {
    const [ka1] = lab.nodes;
    const [a1] = agents;
    const count = async () => sample(await a1.metrics(), 'keepwatch_parse_errors_total', { source: 'log' }) ?? 0;
    // An unknown state is a parse error: a counted marker that changes no state.
    // keepalived's console format: "Wed Nov 25 19:58:37 2026: ..."
    const stamp = () => {
      const [wd, mon, day, year, time] = new Date().toString().split(' ');
      return `${wd} ${mon} ${day} ${time} ${year}`;
    };
    const marker = (k: number) => `${stamp()}: (VI_1) Entering MARKER${k} STATE\n`;
    let want = await count();
    const step = async (what: string, act: () => void, k: number) => {
      act();
      appendFileSync(ka1.logPath, marker(k));
      want += 1;
      await waitUntil(async () => (await count()) === want, 8_000, 50, `${what}: marker ${k} read`);
    };
    await step('as is', () => undefined, 0);
    await step('rotated (renamed, new file)', () => {
      renameSync(ka1.logPath, `${ka1.logPath}.1`);
      writeFileSync(ka1.logPath, '');
    }, 1);
    // copytruncate: the writer's next line comes after the truncation, not in the same instant (a
    // file truncated and refilled to its old size between two looks is indistinguishable by size).
    await step('truncated', () => {
      truncateSync(ka1.logPath, 0);
      spawnSync('sleep', ['1.5']);
    }, 2);
    await step('deleted and re-created', () => {
      unlinkSync(ka1.logPath);
      spawnSync('sleep', ['1.5']);
      writeFileSync(ka1.logPath, '');
    }, 3);
    await sleep(1_500);
    expect(await count()).toBe(want); // nothing read twice
    expect(sample(await a1.metrics(), 'keepwatch_source_up', { source: 'log' })).toBe(1);
  });
});

describeLab('faults: the outbox on a full disk (lab, tmpfs)', () => {
  let lab: Lab;
  let agents: LabAgent[];
  const small = '/run/kw-faults-outbox';

  beforeAll(async () => {
    mkdirSync(small, { recursive: true });
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mount tmpfs: ${r.stderr}`);
    // Nearly full from the start: the journal's first records hit ENOSPC.
    spawnSync('dd', ['if=/dev/zero', `of=${join(small, 'filler')}`, 'bs=1k', 'count=62'], { encoding: 'utf8' });
    lab = await startLab({ id: 'b8disk' });
    agents = await startAgents(lab, {
      config: (n) => ({
        alerting: {
          route: { receiver: 'lab', group_by: ['alertname', 'vrid'] }, // per alert: as above
          receivers: [{ name: 'lab', type: 'webhook', url: `http://192.0.2.50:${RECEIVER_PORT}/${n.name}` }],
          retry: { initial: '200ms', max: '1s' },
          // ka1's agent pages the cluster's alerts (lowest node name): its outbox is on the full disk.
          outbox: n.name === 'ka1' ? { path: join(small, 'outbox'), max_entries: 50 } : {},
        },
      }),
    });
  });
  afterAll(async () => {
    await lab?.stop();
    spawnSync('umount', [small]);
    rmSync(small, { recursive: true, force: true });
  });

  test('a clear error metric and log, the agent keeps running, the page is held in memory and delivered', async () => {
    const [ka1, ka2] = lab.nodes;
    const [a1] = agents;
    const recv = join(lab.client.dir, 'disk-received.jsonl');
    mkdirSync(lab.client.dir, { recursive: true });
    writeFileSync(recv, '');
    // A failover to ka2: ka1's agent pages KeepalivedDown{node=ka1} and the cluster-wide alerts; its outbox cannot write.
    await lab.waitForState(ka1, 'MASTER', 15_000);
    await lab.killKeepalived(ka1, 'SIGTERM');
    await lab.waitForState(ka2, 'MASTER', 15_000);
    await waitUntil(async () => (sample(await a1.metrics(), 'keepwatch_outbox_write_errors_total') ?? 0) > 0, 20_000, 100, 'outbox write errors counted');
    const m = await a1.metrics();
    expect(sample(m, 'keepwatch_outbox_memory_only')).toBe(1);
    expect((await fetch(`${a1.url}/healthz`)).status).toBe(200);
    expect(readFileSync(a1.logFile, 'utf8')).toMatch(/ENOSPC|no space/i);
    await waitUntil(async () => (sample(await a1.metrics(), 'keepwatch_notifications_queue_depth', { receiver: 'lab' }) ?? 0) > 0, 10_000, 100, 'page held');
    lab.client.spawn([process.execPath, RECEIVER, '0.0.0.0', String(RECEIVER_PORT), recv]);
    await waitUntil(() => readFileSync(recv, 'utf8').split('\n').some((l) => l.includes('"path":"/ka1"') && l.includes('"status":"firing"')), 20_000, 100, 'held page delivered').catch(async (e) => {
      throw new Error(`${(e as Error).message}; receiver got ${receivedSummary(recv)}; ka1: ${await notificationMetrics(a1)}`);
    });
    expect(sample(await a1.metrics(), 'keepwatch_notifications_dropped_total', { receiver: 'lab', reason: 'overflow' }) ?? 0).toBe(0);
    await lab.startKeepalived(ka1);
    expect(a1.proc.exitCode).toBeNull();
  });

  test('held in memory up to max_entries: the oldest given up first, each one counted and logged, the rest delivered', async () => {
    // An in-process agent (the lab cannot raise a dozen distinct alerts at will), its outbox on a
    // full tmpfs of its own and a receiver that is down: 12 pages for a bound of 5.
    const full = '/run/kw-faults-outbox-bound';
    mkdirSync(full, { recursive: true });
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mount tmpfs: ${r.stderr}`);
    spawnSync('dd', ['if=/dev/zero', `of=${join(full, 'filler')}`, 'bs=1k', 'count=64'], { encoding: 'utf8' });
    // The receiver: its port taken now, served only later (until then: connection refused).
    const hook = await startWebhook();
    await hook.down();
    const logLines: string[] = [];
    const logStream = new Writable({ write(chunk, _enc, cb) { logLines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
    const agent = await startInProcessAgent({
      log: createLogger({ level: 'warn', format: 'json', destination: logStream }),
      alertingYaml: (dir) => [
        `  outbox: {path: ${full}/outbox, max_entries: 5}`,
        `  silences_file: ${dir}/silences.json`,
        '  retry: {initial: 200ms, max: 500ms}',
        '  route: {receiver: down, group_by: [alertname]}', // one notification per alert
        `  receivers: [{name: down, type: webhook, url: "${hook.url}"}]`,
      ].join('\n'),
    });
    const received = () => hook.accepted.flatMap((p) => (p.alerts as Array<{ labels: { alertname: string } }>).map((a) => a.labels.alertname));
    let openAfterStop = '';
    try {
      const names = Array.from({ length: 12 }, (_, i) => `FullDisk${i}`);
      for (const n of names) {
        agent.daemon.hubs.alerts.publish(testAlert(n, 'critical'));
        await sleep(50); // one notification each, in order
      }
      const metrics = async () => (await fetch(`${agent.url}/metrics`)).text();
      await waitUntil(async () => (sample(await metrics(), 'keepwatch_notifications_dropped_total', { receiver: 'down', reason: 'overflow' }) ?? 0) >= 7, 10_000, 50, '7 dropped for overflow');
      const m = await metrics();
      expect(sample(m, 'keepwatch_outbox_memory_only')).toBe(1);
      expect(sample(m, 'keepwatch_outbox_write_errors_total')).toBeGreaterThan(0);
      expect(sample(m, 'keepwatch_notifications_queue_depth', { receiver: 'down' })).toBe(5); // the bound, never more
      expect(sample(m, 'keepwatch_notifications_dropped_total', { receiver: 'down', reason: 'overflow' })).toBe(7);
      // Nothing silently: every notification given up has its own log line, naming its group.
      const dropped = logLines.map((l) => JSON.parse(l) as { msg: string; reason?: string; groupKey?: string }).filter((l) => l.msg === 'notification dropped');
      expect(dropped).toHaveLength(7);
      expect(dropped.every((l) => l.reason === 'overflow')).toBe(true);
      expect(logLines.join('\n')).toMatch(/ENOSPC|no space/i);
      // The receiver comes back: the five held are delivered; together with the dropped, all twelve.
      await hook.up();
      await waitUntil(() => new Set(received()).size === 5, 15_000, 50, 'the 5 held notifications delivered');
      const droppedNames = dropped.map((l) => /FullDisk\d+/.exec(l.groupKey ?? '')?.[0]);
      expect([...new Set([...received(), ...droppedNames])].sort()).toEqual([...names].sort());
      // Evicted oldest first (none was resolved); the oldest may be spared while in flight.
      expect(droppedNames.every((n) => Number(n?.slice('FullDisk'.length)) < 8)).toBe(true);
    } finally {
      await hook.close();
      await agent.stop();
      // A stopped agent holds nothing open there (the lock file's descriptor once leaked on ENOSPC).
      openAfterStop = spawnSync('sh', ['-c', `ls -l /proc/${process.pid}/fd | grep -F ${full} || true`], { encoding: 'utf8' }).stdout.trim();
      spawnSync('umount', ['-l', full]);
      rmSync(full, { recursive: true, force: true });
    }
    expect(openAfterStop).toBe('');
  });
});

describe('faults: misbehaving peers (in-process agent, fake peers on loopback)', () => {
  let agent: InProcessAgent;
  const servers: Server[] = [];
  let received: string[] = [];
  let receiverUrl = '';
  const open = new Set<ServerResponse>();

  const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

  beforeAll(async () => {
    const receiver = createServer((req, res) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        received.push(b);
        res.end('ok');
      });
    });
    servers.push(receiver);
    receiverUrl = `http://127.0.0.1:${await listen(receiver)}/hook`;
    // slow: headers, then a byte now and then, never an event
    const slow = createServer((_req, res) => {
      open.add(res);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const t = setInterval(() => res.write(':'), 500);
      res.on('close', () => clearInterval(t));
    });
    // garbage: random bytes as the stream, and as the snapshot
    const garbage = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919) % 256)));
    });
    // wrong token: always 401
    const wrongToken = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":"unauthorized"}');
    });
    // flood: as many big valid-looking events as the socket takes, and one endless event
    const flood = createServer((req, res) => {
      open.add(res);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const big = `event: state\ndata: ${JSON.stringify({ v: 1, node: 'flood', pad: 'x'.repeat(200_000) })}\n\n`;
      let stop = false;
      res.on('close', () => (stop = true));
      const pump = () => {
        while (!stop && res.write(req.url?.includes('stream') ? big : 'data: ' + 'y'.repeat(100_000))) {
          /* until the buffer is full */
        }
        if (!stop) res.once('drain', pump);
      };
      pump();
    });
    const ports: Record<string, number> = {};
    for (const [name, s] of Object.entries({ slow, garbage, wrongtoken: wrongToken, flood })) {
      servers.push(s);
      ports[name] = await listen(s);
    }
    agent = await startInProcessAgent({
      extraYaml: [
        'peer_token: faults-peer-token-0123456789',
        'peers:',
        ...Object.entries(ports).map(([name, port]) => `  - {name: ${name}, url: "http://127.0.0.1:${port}"}`),
        'rules: {peer_timeout: 2s}',
        '',
      ].join('\n'),
    });
    // The base config's alerting block has no receiver: add one by reload.
    const cfg = readFileSync(agent.configFile, 'utf8').replace('alerting:\n', `alerting:\n  route: {receiver: hook}\n  receivers: [{name: hook, type: webhook, url: "${receiverUrl}"}]\n`);
    writeFileSync(agent.configFile, cfg);
    await agent.daemon.reload();
    for (const ev of healthyMasterEvents(Date.now())) agent.apply(ev);
  });

  afterAll(async () => {
    for (const r of open) r.destroy();
    await agent?.stop();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  test('the agent stays within its memory bound, marks every bad peer down, and its own alerts keep flowing', async () => {
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const url = `http://127.0.0.1:${agent.daemon.http.address()!.port}`;
    // 10 s of misbehaving peers (bounded), alerts published every second meanwhile.
    received = [];
    let peak = heapBefore;
    for (let i = 0; i < 10; i++) {
      agent.daemon.hubs.alerts.publish(testAlert(`FaultsTest${i}`, 'warning', { vrid: String(100 + i) }));
      await sleep(1_000);
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    const m = await (await fetch(`${url}/metrics`)).text();
    for (const peer of ['slow', 'garbage', 'wrongtoken', 'flood']) expect(sample(m, 'keepwatch_peer_up', { peer })).toBe(0);
    // Every reason has a series from the start: what counts is that some went up.
    for (const peer of ['wrongtoken', 'flood']) expect(sampleSum(m, 'keepwatch_peer_errors_total', { peer })).toBeGreaterThan(0);
    // Every alert paged (the receiver is healthy; peers must not slow the pipeline down).
    await waitUntil(() => new Set(received.flatMap((b) => [...b.matchAll(/FaultsTest\d/g)].map((x) => x[0]))).size === 10, 10_000, 100, 'all 10 alerts paged');
    // The flood peer offered gigabytes; the agent (same process here) grew by far less.
    expect(peak - heapBefore).toBeLessThan(150 * 1024 * 1024);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
