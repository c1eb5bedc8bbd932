// Paging with the agent down: the detached deliverer sends spooled records to real HTTP receivers.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { deliverSpooled, alertForRecord } from '../../../agent/hook/deliver';
import { receiversTarget } from '../../../agent/hook/deliverTarget';
import { formatRecord, parseRecord, type HookRecord } from '../../../agent/hook/record';
import { ensureSpool, secureHookDir, writeHeartbeat } from '../../../agent/hook/spool';
import { spawn } from 'node:child_process';
import { parseConfig } from '../../../agent/config/load';
import { systemClock } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import { HOOK_PATH, runHook } from '../../helpers/hook';
import { sleep } from '../../helpers/wait';

interface Received {
  path: string;
  body: { idempotencyKey: string; alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string> }> };
}

function receiverServer(status: () => number): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const srv = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      const code = status();
      if (code === 200) got.push({ path: req.url ?? '', body: JSON.parse(b) });
      res.writeHead(code);
      res.end(code === 200 ? 'ok' : 'no');
    });
  });
  return new Promise((resolve) =>
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      resolve({ url: `http://127.0.0.1:${port}`, got, close: () => new Promise((r) => srv.close(() => r())) });
    }),
  );
}

function configYaml(dir: string, url: string): string {
  return [
    'node: ka2',
    'keepalived:',
    `  hook_spool: ${dir}/spool`,
    `  hook_socket: ${dir}/hook.sock`,
    `  state_dir: ${dir}/state`,
    'alerting:',
    '  receivers:',
    `    - {name: ops, type: webhook, url: "${url}/ops", timeout: 2s}`,
    `    - {name: audit, type: webhook, url: "${url}/audit", timeout: 2s}`,
    `  outbox: {path: ${dir}/outbox}`,
    `  silences_file: ${dir}/silences.json`,
    '',
  ].join('\n');
}

function spoolRecord(spool: string, r: Pick<HookRecord, 'ns' | 'seq' | 'type' | 'name' | 'state' | 'priority'>): void {
  const p = ensureSpool(spool);
  fs.writeFileSync(path.join(p.dir, `${r.ns}-${r.seq}.rec`), formatRecord(r));
}

describe('deliverSpooled (agent down: the hook pages by itself)', () => {
  let dir: string;
  let spool: string;
  let server: Awaited<ReturnType<typeof receiverServer>>;
  let code = 200;
  const fast = { settleMs: 100, retryMs: 50, maxRunMs: 20_000 };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kwdeliver-'));
    spool = path.join(dir, 'spool');
    code = 200;
    server = await receiverServer(() => code);
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every spooled record reaches every receiver once, with a stable idempotency key; records stay for the agent', async () => {
    const cfg = parseConfig(configYaml(dir, server.url));
    const base = BigInt(Date.now()) * 1_000_000n;
    spoolRecord(spool, { ns: base, seq: 10, type: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 });
    spoolRecord(spool, { ns: base + 1_000_000_000n, seq: 11, type: 'INSTANCE', name: 'VI_1', state: 'FAULT', priority: 100 });
    const res = await deliverSpooled({ spoolDir: spool, node: 'ka2', target: receiversTarget(cfg), clock: systemClock, log: silentLogger(), ...fast });
    expect(res).toEqual({ delivered: 4, failed: 0 });
    expect(server.got.map((g) => `${g.path} ${g.body.alerts[0].labels.state}`).sort()).toEqual(['/audit FAULT', '/audit MASTER', '/ops FAULT', '/ops MASTER']);
    const ops = server.got.filter((g) => g.path === '/ops');
    expect(ops[0].body.alerts[0].labels).toMatchObject({ alertname: 'KeepalivedStateChange', node: 'ka2', iname: 'VI_1', source: 'notify_hook' });
    expect(ops.find((g) => g.body.alerts[0].labels.state === 'FAULT')!.body.alerts[0].labels.severity).toBe('critical');
    expect(ops[0].body.alerts[0].annotations.summary).toMatch(/keepwatch agent down/);
    expect(new Set(server.got.map((g) => g.body.idempotencyKey)).size).toBe(4);
    // Records stay for the agent; a second run sends nothing again.
    expect(fs.readdirSync(spool).filter((n) => n.endsWith('.rec'))).toHaveLength(2);
    const again = await deliverSpooled({ spoolDir: spool, node: 'ka2', target: receiversTarget(cfg), clock: systemClock, log: silentLogger(), ...fast });
    expect(again).toEqual({ delivered: 0, failed: 0 });
    expect(server.got).toHaveLength(4);
    expect(fs.existsSync(path.join(`${spool}-hook`, 'deliver.lock'))).toBe(false);
  });

  test('a receiver that fails is retried until it accepts; the other is not re-sent', async () => {
    const cfg = parseConfig(configYaml(dir, server.url));
    spoolRecord(spool, { ns: BigInt(Date.now()) * 1_000_000n, seq: 12, type: 'GROUP', name: 'G1', state: 'MASTER', priority: 0 });
    let calls = 0;
    code = 500;
    const target = receiversTarget(cfg);
    const wrapped = {
      ...target,
      send: async (...a: Parameters<typeof target.send>) => {
        if (++calls === 4) code = 200;
        return target.send(...a);
      },
    };
    const res = await deliverSpooled({ spoolDir: spool, node: 'ka2', target: wrapped, clock: systemClock, log: silentLogger(), ...fast });
    expect(res.delivered).toBe(2);
    expect(res.failed).toBeGreaterThan(0);
    expect(server.got.map((g) => g.path).sort()).toEqual(['/audit', '/ops']);
  });

  test('another live deliverer holds the lock: skipped; the agent is back: stops', async () => {
    const cfg = parseConfig(configYaml(dir, server.url));
    const p = ensureSpool(spool);
    const h = secureHookDir(spool);
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise((r) => other.once('spawn', r));
    fs.writeFileSync(h.lock, `${other.pid}\n`);
    spoolRecord(spool, { ns: BigInt(Date.now()) * 1_000_000n, seq: 13, type: 'INSTANCE', name: 'VI_1', state: 'BACKUP', priority: 100 });
    try {
      expect(await deliverSpooled({ spoolDir: spool, node: 'ka2', target: receiversTarget(cfg), clock: systemClock, log: silentLogger(), ...fast })).toMatchObject({ skipped: expect.any(String) });
    } finally {
      other.kill('SIGKILL');
    }
    // A stale lock (dead pid) is taken over.
    fs.writeFileSync(h.lock, '999999999\n');
    writeHeartbeat(p, Date.now(), 3);
    expect(await deliverSpooled({ spoolDir: spool, node: 'ka2', target: receiversTarget(cfg), clock: systemClock, log: silentLogger(), ...fast })).toMatchObject({ agentBack: true, delivered: 0 });
    expect(server.got).toHaveLength(0);
  });

  test('agent killed -9: heartbeat still fresh but its socket refuses: the sh hook pages anyway', async () => {
    const cfgFile = path.join(dir, 'keepwatch.yml');
    fs.writeFileSync(cfgFile, configYaml(dir, server.url));
    const p = ensureSpool(spool);
    writeHeartbeat(p, Date.now(), 30); // what a killed agent leaves behind
    const sock = path.join(dir, 'hook.sock');
    const dead = net.createServer().listen(sock);
    await new Promise((r) => dead.once('listening', r));
    fs.linkSync(sock, `${sock}.keep`);
    await new Promise((r) => dead.close(r));
    fs.renameSync(`${sock}.keep`, sock); // a socket file nobody listens on
    const bin = path.join(dir, 'keepwatch');
    fs.writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" --import tsx "${path.resolve(__dirname, '../../helpers/keepwatchMain.ts')}" "$@"\n`, { mode: 0o755 });
    const r = await runHook(['--spool', spool, '--socket', sock, '--deliver-config', cfgFile, '--keepwatch', bin, 'INSTANCE', 'VI_1', 'FAULT', '100']);
    expect(r.code).toBe(0);
    const deadline = Date.now() + 30_000;
    while (server.got.length < 2 && Date.now() < deadline) await sleep(50);
    expect(server.got.map((g) => `${g.path} ${g.body.alerts[0].labels.state}`).sort()).toEqual(['/audit FAULT', '/ops FAULT']);
  }, 60_000);

  test('alertForRecord: split-brain evidence is critical', () => {
    const r = parseRecord('v1 1000000000 5 INSTANCE VI_1 MASTER_RX_LOWER_PRI 150');
    expect(r.ok && alertForRecord('ka1', r.record).labels).toMatchObject({ alertname: 'SplitBrainEvidence', severity: 'critical' });
  });

  test('the real sh hook with --deliver-config starts the detached deliverer when the agent is down', async () => {
    const cfgFile = path.join(dir, 'keepwatch.yml');
    fs.writeFileSync(cfgFile, configYaml(dir, server.url));
    const bin = path.join(dir, 'keepwatch');
    const main = path.resolve(__dirname, '../../helpers/keepwatchMain.ts');
    fs.writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" --import tsx "${main}" "$@"\n`, { mode: 0o755 });
    const t0 = Date.now();
    const r = await runHook(['--spool', spool, '--no-socket', '--deliver-config', cfgFile, '--keepwatch', bin, 'INSTANCE', 'VI_1', 'MASTER', '100']);
    expect(r.code).toBe(0);
    console.log(`hook with a detached deliverer: returned in ${r.ms.toFixed(1)} ms`);
    const deadline = Date.now() + 30_000;
    while (server.got.length < 2 && Date.now() < deadline) await sleep(50);
    expect(server.got.map((g) => g.path).sort()).toEqual(['/audit', '/ops']);
    console.log(`page arrived ${Date.now() - t0} ms after the hook ran (Node start-up of the deliverer included)`);
    expect(fs.readFileSync(path.join(`${spool}-hook`, 'deliver.log'), 'utf8')).toMatch(/page delivered by the hook/);
  }, 60_000);

  test('the hook file is what the deliverer test runs', () => {
    expect(fs.existsSync(HOOK_PATH)).toBe(true);
  });
});
