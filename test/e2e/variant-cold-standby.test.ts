// Issue 9, cold standby and preemption on the real lab: nginx is stopped on the backup and
// keepalived's notify_master starts it on takeover (nginx.standby: cold, nginx.start_hook,
// nginx.takeover_grace). A weight file moves the priorities, so takeovers and preemption back are
// real elections. Each failure is injected and the right alert, and no other, is observed on both
// agents and on one webhook pager (each alert paged once).
// The lab's two nginx.conf differ in their paths and node names only: the agents run `nginx -T`
// through the lab's wrapper that writes those as on real hosts (LabNode.nginxBinary), so the
// config hashes agree until a test makes them differ.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLab, type Lab, type LabNode } from '../lab/lab';
import { restartPeered, startPeered, waitUntil, type LabAgent } from '../lab/agents';
import { AlertLog, Pager, sleep } from './variantSupport';
import type { NodeState } from '../../agent/state/types';
import { describeLab } from '../helpers/needs';

jest.setTimeout(120_000);

const LAB_ID = 'v9cold';
const hookPath = (n: LabNode) => join(n.dir, 'start-nginx.sh');

/** notify_master: start nginx unless it runs (detached: keepalived does not wait for it). */
function goodHook(n: LabNode): string {
  return `#!/bin/sh
# keepwatch lab: cold standby, keepalived's notify_master starts nginx on ${n.name}
pid=$(cat ${n.nginxPidFile} 2>/dev/null)
[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && exit 0
setsid nginx -e ${n.nginxLogDir}/error.log -p ${n.dir} -c ${n.nginxConfPath} </dev/null >>${n.dir}/hook-nginx.log 2>&1 &
exit 0
`;
}

const BROKEN_HOOK = '#!/bin/sh\n# broken: a config-management run emptied it\nexit 1\n';

describeLab('cold standby and preemption', () => {
  let lab: Lab;
  let agents: LabAgent[];
  let logs: AlertLog[];
  let pager: Pager;
  let ka1: LabNode;
  let ka2: LabNode;

  beforeAll(async () => {
    lab = await startLab({
      id: LAB_ID,
      trackScript: false, // a track script on nginx would put a cold backup in FAULT
      weightFile: true,
      fifo: true,
      keepalivedExtra: (n) => {
        // Called while the lab writes keepalived.conf, before keepalived starts: the hook must exist
        // by then (keepalived disables a notify script it cannot access at load).
        writeFileSync(hookPath(n), goodHook(n), { mode: 0o755 });
        return `  notify_master ${hookPath(n)}`;
      },
    });
    [ka1, ka2] = lab.nodes;
    await lab.stopNginx(ka2); // cold: stopped on the backup
    pager = await Pager.start(lab);
    agents = await startPeered(lab, {
      config: (n) => ({
        nginx: { standby: 'cold', start_hook: hookPath(n), takeover_grace: '4s' },
        probes: { nginx_status: { interval: '500ms' }, nginx_health: { interval: '500ms' }, nginx_process: { interval: '500ms' }, nginx_config: { interval: '1s' } },
        rules: { condition_for: '2s', drift_for: '3s' },
        alerting: pager.alertingConfig(),
      }),
    });
    logs = agents.map((a) => new AlertLog(a).start());
  });

  afterAll(async () => {
    for (const l of logs ?? []) l.stop();
    await lab?.stop();
  });

  const state = (a: LabAgent) => a.getJson<NodeState>('/api/v1/state');
  const nginxPid = (n: LabNode) => Number(readFileSync(n.nginxPidFile, 'utf8').trim());
  const nginxUp = async (a: LabAgent) => (await state(a)).nginx.process?.up === true;

  /** Back to the textbook cold pair: ka1 MASTER serving, ka2 BACKUP with nginx stopped. */
  async function coldAgain(): Promise<void> {
    lab.setWeight(ka1, 0);
    await lab.waitForState(ka1, 'MASTER', 15_000);
    await lab.waitForState(ka2, 'BACKUP', 15_000);
    try {
      process.kill(nginxPid(ka2), 'SIGTERM'); // started by the hook, not by the lab
    } catch {
      /* not running */
    }
    await waitUntil(async () => !(await nginxUp(agents[1])), 10_000, 100, 'ka2 nginx stopped');
  }

  const exceptTakeover = (names: string[]) => names.filter((n) => n !== 'Failover' && n !== 'PriorityChanged');

  test('a cold backup (nginx stopped, start hook fine, same config): no alert, no page', async () => {
    await sleep(5000);
    for (const l of logs) expect(l.fired()).toEqual([]);
    expect(pager.lines).toEqual([]);
    const s1 = await state(agents[0]);
    const s2 = await state(agents[1]);
    expect(s2.nginx.process?.up).toBe(false);
    expect(s2.nginx.startHook).toMatchObject({ path: hookPath(ka2), ok: true, referenced: true });
    expect(s2.nginx.config?.valid).toBe(true);
    expect(s2.nginx.config?.hash).toBe(s1.nginx.config?.hash);
  });

  test('takeover: notify_master starts nginx within takeover_grace; the failover names the priority change; preempting back is named preemption', async () => {
    const t0 = Date.now();
    lab.setWeight(ka1, -100); // ka1 150 -> 50, below ka2's 100: ka2 preempts
    await lab.waitForState(ka2, 'MASTER', 15_000);
    await waitUntil(() => nginxUp(agents[1]), 10_000, 100, 'nginx started on ka2 by notify_master');
    const fo = await Promise.all(logs.map((l) => l.waitFor('Failover', 'firing', t0, 10_000, (a) => a.labels.node === 'ka2')));
    for (const f of fo) expect(f.alert.annotations.cause).toMatch(/priority change: ka1's priority fell to 50/);
    await sleep(5000); // past takeover_grace (4 s): no NginxNotStartedOnTakeover
    for (const l of logs) expect(l.fired(t0)).toEqual(['Failover', 'PriorityChanged']);

    const t1 = Date.now();
    lab.setWeight(ka1, 0); // ka1 back to 150: it takes the VIP again
    await lab.waitForState(ka1, 'MASTER', 15_000);
    const back = await Promise.all(logs.map((l) => l.waitFor('Failover', 'firing', t1, 10_000, (a) => a.labels.node === 'ka1')));
    for (const f of back) expect(f.alert.annotations.cause).toMatch(/^preemption: ka1 came back with priority 150 > 100 and took over/);
    await coldAgain();
    await sleep(3000);
    for (const l of logs) expect(exceptTakeover(l.fired(t1))).toEqual([]);
    // One page per alert, whichever agent sends it.
    expect(pager.summary(t0)).toEqual(['Failover:firing', 'Failover:firing', 'PriorityChanged:firing']);
  });

  test('broken start hook: the new MASTER never serves: NginxNotStartedOnTakeover (critical) paged once, not NginxDownOnVipHolder', async () => {
    // Fresh agents: the takeover test's failover and failback are within rules.flapping.window
    // (5m), and this takeover would be the third MASTER change: Flapping, by design. The old
    // agents first read the last transitions (a line left for the next agent would be stamped at its start).
    await sleep(3000);
    await restartPeered(agents);
    writeFileSync(hookPath(ka2), BROKEN_HOOK);
    await sleep(2000);
    const t0 = Date.now();
    lab.setWeight(ka1, -100);
    const masterAt = await lab.waitForState(ka2, 'MASTER', 15_000);
    const fired = await Promise.all(logs.map((l) => l.waitFor('NginxNotStartedOnTakeover', 'firing', t0, 15_000)));
    console.log(`NginxNotStartedOnTakeover seen ${fired[0].at - masterAt} ms after ka2 became MASTER (takeover_grace 4 s)`);
    for (const f of fired) expect(f.alert.labels).toMatchObject({ node: 'ka2', vrid: '51', severity: 'critical' });
    await sleep(4000);
    for (const l of logs) expect(exceptTakeover(l.fired(t0))).toEqual(['NginxNotStartedOnTakeover']);
    expect(pager.pages('NginxNotStartedOnTakeover', 'firing', t0).map((p) => p.observer)).toEqual(['ka2']);
    // Fixed by hand: nginx serves, the alert resolves.
    writeFileSync(hookPath(ka2), goodHook(ka2));
    await ka2.exec(['sh', hookPath(ka2)]);
    await Promise.all(logs.map((l) => l.waitFor('NginxNotStartedOnTakeover', 'resolved', t0, 10_000)));
    await coldAgain();
  });

  test('start hook not executable on the backup: NginxStartHookMissing (warning) for that node, paged once by it; fixed: resolved', async () => {
    await sleep(1000);
    const t0 = Date.now();
    chmodSync(hookPath(ka2), 0o644);
    try {
      const fired = await Promise.all(logs.map((l) => l.waitFor('NginxStartHookMissing', 'firing', t0, 15_000)));
      for (const f of fired) {
        expect(f.alert.labels).toEqual({ alertname: 'NginxStartHookMissing', severity: 'warning', node: 'ka2' });
        expect(f.alert.annotations.summary).toBe(`The nginx start hook on ka2 would fail a takeover: ${hookPath(ka2)} is not executable (mode 0644)`);
      }
      await sleep(2500);
      for (const l of logs) expect(l.fired(t0)).toEqual(['NginxStartHookMissing']);
      expect(pager.pages('NginxStartHookMissing', 'firing', t0).map((p) => p.observer)).toEqual(['ka2']);
    } finally {
      chmodSync(hookPath(ka2), 0o755);
    }
    await Promise.all(logs.map((l) => l.waitFor('NginxStartHookMissing', 'resolved', t0, 15_000)));
  });

  test('the backup\'s nginx config differs: ConfigDrift; invalid: RedundancyLost (nginx would not start on takeover); each paged once', async () => {
    await sleep(1000);
    const original = readFileSync(ka2.nginxConfPath, 'utf8');
    const t0 = Date.now();
    try {
      writeFileSync(ka2.nginxConfPath, `${original}\n# edited on ka2 only\n`);
      const drift = await Promise.all(logs.map((l) => l.waitFor('ConfigDrift', 'firing', t0, 15_000)));
      for (const f of drift) expect(f.alert.labels).toMatchObject({ field: 'nginx_config', severity: 'warning' });
      const t1 = Date.now();
      writeFileSync(ka2.nginxConfPath, `${original}\nbogus_directive on;\n`);
      const lost = await Promise.all(logs.map((l) => l.waitFor('RedundancyLost', 'firing', t1, 15_000)));
      for (const f of lost) {
        expect(f.alert.labels).toMatchObject({ node: 'ka1', vrid: '51' });
        expect(f.alert.annotations.summary).toMatch(/ka2: nginx configuration invalid, nginx would not start on takeover/);
      }
      // An invalid config has no hash to compare: the drift is over, the invalid config is the page.
      await Promise.all(logs.map((l) => l.waitFor('ConfigDrift', 'resolved', t0, 10_000)));
      for (const l of logs) expect(l.fired(t0)).toEqual(['ConfigDrift', 'RedundancyLost']);
    } finally {
      writeFileSync(ka2.nginxConfPath, original);
    }
    await Promise.all(logs.map((l) => l.waitFor('RedundancyLost', 'resolved', t0, 15_000)));
    await sleep(2500);
    expect(pager.summary(t0)).toEqual(['ConfigDrift:firing', 'ConfigDrift:resolved', 'RedundancyLost:firing', 'RedundancyLost:resolved']);
    expect(pager.pages(undefined, undefined, t0).every((p) => p.observer === 'ka1')).toBe(true);
  });
});
