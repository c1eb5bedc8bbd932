// The lab itself: real keepalived, nginx and dbus-daemon in network namespaces. Every other e2e
// test, the demo and the benchmarks stand on it, so its faults must do what they claim.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { startLab, Lab } from '../lab/lab';
import { describeLab } from '../helpers/needs';
import { sleep } from '../helpers/wait';

jest.setTimeout(60000);

function namespaces(prefix: string): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(prefix));
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describeLab('lab: two nodes', () => {
  let lab: Lab;
  const times: Record<string, number> = {};

  beforeAll(async () => {
    const t0 = Date.now();
    lab = await startLab({ id: 'e2elab' });
    times.startLabMs = Date.now() - t0;
  }, 60000);

  afterAll(async () => {
    await lab?.stop();
    console.log(`lab timings: ${JSON.stringify(times)}`);
  }, 30000);

  test('startLab elects exactly one MASTER, which holds the VIP', async () => {
    const [ka1, ka2] = lab.nodes;
    expect(await lab.states()).toEqual({ ka1: 'MASTER', ka2: 'BACKUP' });
    expect(await lab.dbusState(ka1)).toEqual({ code: 2, name: 'Master' });
    expect(await lab.dbusState(ka2, 'VI_1')).toEqual({ code: 1, name: 'Backup' });
    expect(await lab.dbusState(ka2, 'NO_SUCH')).toBeUndefined();
    expect(await lab.vipHolders()).toEqual(['ka1']);
    expect(namespaces('kw-e2elab-').sort()).toEqual(['kw-e2elab-client', 'kw-e2elab-ka1', 'kw-e2elab-ka2', 'kw-e2elab-lan']);
  });

  test('the client reaches the VIP and is served by the MASTER; nginx pages and status via forward()', async () => {
    const r = await lab.client.exec(['curl', '-s', '--max-time', '3', `http://${lab.vip}/`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('served by ka1');
    const health = await lab.client.exec(['curl', '-s', '--max-time', '3', `http://${lab.nodes[1].ip}/health`]);
    expect(health.stdout.trim()).toBe('ka2');
    const port = await lab.forward(lab.nodes[1], 80);
    const status = await httpGet(port, '/nginx_status');
    expect(status.status).toBe(200);
    expect(status.body).toMatch(/^Active connections: \d+ \nserver accepts handled requests\n \d+ \d+ \d+ \nReading: \d+ Writing: \d+ Waiting: \d+ \n$/);
  });

  test('kill -9 of the MASTER: the BACKUP becomes MASTER and holds the VIP', async () => {
    const [ka1, ka2] = lab.nodes;
    const t0 = Date.now();
    const takeover = lab.waitForState(ka2, 'MASTER', 10000);
    await lab.killKeepalived(ka1, 'SIGKILL');
    expect(lab.keepalivedRunning(ka1)).toBe(false);
    times.sigkillTakeoverMs = (await takeover) - t0;
    expect(await lab.dbusState(ka1)).toBeUndefined(); // gone from its bus
    const holders = await lab.vipHolders();
    expect(holders).toContain('ka2');
    // A crashed keepalived does not remove its VIP: the dead node still has it bound.
    expect(holders).toEqual(['ka1', 'ka2']);
  });

  test('restart: ka1 comes back and preempts', async () => {
    const [ka1, ka2] = lab.nodes;
    const t0 = Date.now();
    await lab.startKeepalived(ka1);
    expect(lab.keepalivedRunning(ka1)).toBe(true);
    times.restartPreemptMs = (await lab.waitForState(ka1, 'MASTER', 15000)) - t0;
    await lab.waitForState(ka2, 'BACKUP', 5000);
    expect(await lab.vipHolders()).toEqual(['ka1']);
  });

  test('SIGTERM of the MASTER: priority-0 advert, fast takeover; restart preempts', async () => {
    const [ka1, ka2] = lab.nodes;
    const t0 = Date.now();
    const takeover = lab.waitForState(ka2, 'MASTER', 10000); // polls while keepalived shuts down
    await lab.killKeepalived(ka1, 'SIGTERM');
    times.sigtermTakeoverMs = (await takeover) - t0;
    expect(await lab.vipHolders()).toEqual(['ka2']);
    await lab.startKeepalived(ka1);
    await lab.waitForState(ka1, 'MASTER', 15000);
    await lab.waitForState(ka2, 'BACKUP', 5000);
  });

  test('blockVrrp on ka2: both MASTER with the VIP (split brain); unblock heals', async () => {
    const [ka1, ka2] = lab.nodes;
    await lab.blockVrrp(ka2);
    await lab.waitForState(ka2, 'MASTER', 10000);
    expect(await lab.states()).toEqual({ ka1: 'MASTER', ka2: 'MASTER' });
    expect(await lab.vipHolders()).toEqual(['ka1', 'ka2']);
    await lab.unblockVrrp(ka2);
    await lab.waitForState(ka2, 'BACKUP', 10000);
    expect(await lab.states()).toEqual({ ka1: 'MASTER', ka2: 'BACKUP' });
    expect(await lab.vipHolders()).toEqual(['ka1']);
    expect(fs.readFileSync(ka2.logPath, 'utf8')).toMatch(/Master received advert from 192\.0\.2\.11 with higher priority 150, ours 100/);
  });

  test('partition of ka2: split brain; heal restores one MASTER', async () => {
    const [ka1, ka2] = lab.nodes;
    await lab.partition(ka2);
    await lab.waitForState(ka2, 'MASTER', 10000);
    expect(await lab.vipHolders()).toEqual(['ka1', 'ka2']);
    await lab.heal(ka2);
    await lab.waitForState(ka2, 'BACKUP', 10000);
    expect(await lab.states()).toEqual({ ka1: 'MASTER', ka2: 'BACKUP' });
  });

  test('nginx stopped on the MASTER: track script -> FAULT, VIP moves; started again -> MASTER', async () => {
    const [ka1, ka2] = lab.nodes;
    await lab.stopNginx(ka1);
    expect(lab.nginxRunning(ka1)).toBe(false);
    await lab.waitForState(ka1, 'FAULT', 10000);
    await lab.waitForState(ka2, 'MASTER', 10000);
    expect(await lab.vipHolders()).toEqual(['ka2']);
    await lab.startNginx(ka1);
    await lab.waitForState(ka1, 'MASTER', 15000);
    await lab.waitForState(ka2, 'BACKUP', 5000);
  });

  test('reload (SIGHUP), dumps in the node private /tmp, D-Bus restart', async () => {
    const [ka1, ka2] = lab.nodes;
    await lab.reloadKeepalived(ka2);
    expect(fs.readFileSync(ka2.logPath, 'utf8')).toMatch(/Reload complete/);
    await lab.waitForState(ka2, 'BACKUP', 10000);
    const json = JSON.parse(await lab.dump(ka1, 'json')) as { data: { iname: string; state: number } }[];
    expect(json[0].data).toMatchObject({ iname: 'VI_1', state: 2 });
    expect(fs.existsSync(`${ka1.tmpDir}/keepalived.json`)).toBe(true);
    expect(fs.existsSync(`${ka2.tmpDir}/keepalived.json`)).toBe(false); // private per node
    await lab.restartDbus(ka2);
    // keepalived 2.2.7 does not reconnect to a restarted bus: the agent must cope with that.
    expect(await lab.dbusState(ka2)).toBeUndefined();
    await lab.killKeepalived(ka2, 'SIGTERM');
    await lab.startKeepalived(ka2);
    await lab.waitForState(ka2, 'BACKUP', 10000);
  });

  test('stop() removes namespaces, processes and files, and is idempotent', async () => {
    const pid = lab.keepalivedPid(lab.nodes[0])!;
    const t0 = Date.now();
    await lab.stop();
    times.stopMs = Date.now() - t0;
    await lab.stop();
    expect(namespaces('kw-e2elab-')).toEqual([]);
    expect(fs.existsSync(lab.dir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describeLab('lab: three nodes', () => {
  let lab: Lab;
  afterAll(async () => { await lab?.stop(); }, 30000);

  test('three nodes elect the highest priority; killing it hands over to the next', async () => {
    lab = await startLab({ id: 'e2elab3', nodes: 3, trackScript: false, fifo: true });
    const [ka1, ka2, ka3] = lab.nodes;
    const fifo = lab.ensureFifo(ka2); // keepalived created it at start; the reader joins late
    expect([ka1.priority, ka2.priority, ka3.priority]).toEqual([150, 100, 50]);
    expect(ka3.ip).toBe('192.0.2.13');
    expect(await lab.states()).toEqual({ ka1: 'MASTER', ka2: 'BACKUP', ka3: 'BACKUP' });
    await lab.killKeepalived(ka1, 'SIGTERM');
    await lab.waitForState(ka2, 'MASTER', 10000);
    expect(await lab.states()).toEqual({ ka1: undefined, ka2: 'MASTER', ka3: 'BACKUP' });
    expect(await lab.vipHolders()).toEqual(['ka2']);
    for (let i = 0; i < 50 && !fifo.lines.includes('INSTANCE "VI_1" MASTER 100'); i++) await sleep(20);
    expect(fifo.lines).toContain('INSTANCE "VI_1" MASTER 100');
    fifo.close();
  }, 60000);
});
