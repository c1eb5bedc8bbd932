// Captures the real keepalived fixtures in test/fixtures/keepalived/ from a lab run (a dev tool,
// not a test): logs, notify FIFO and hook lines, dumps and D-Bus output of keepalived as installed.
// Run as root: bash test/lab/capture-fixtures.sh [outdir]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startLab, run, Lab, LabNode } from './lab';
import { sleep } from '../helpers/wait';

const out = process.argv[2] ?? path.join(__dirname, '../fixtures/keepalived');
const t0 = Date.now();
const steps: string[] = [];
function step(s: string): void {
  const line = `+${((Date.now() - t0) / 1000).toFixed(1)}s ${s}`;
  steps.push(line);
  console.log(line);
}

async function waitMaster(lab: Lab, n: LabNode, ms = 15000): Promise<void> { await lab.waitForState(n, 'MASTER', ms); }

async function singleInstance(): Promise<void> {
  const hookDir = '/run/kwlab-capture-hook';
  fs.mkdirSync(hookDir, { recursive: true });
  const hook = path.join(hookDir, 'hook.sh');
  const hookOut = path.join(hookDir, 'hook.txt');
  fs.writeFileSync(hookOut, '');
  // What keepalived passes a `notify` script: $1 GROUP|INSTANCE, $2 name, $3 state, $4 priority.
  fs.writeFileSync(hook, `#!/bin/sh\necho "$*" >> ${hookOut}\n`, { mode: 0o755 });

  const lab = await startLab({ id: 'capture', fifo: true, authPass: 'kwS3cret', weightFile: true, notifyHook: hook, keepalived: false });
  const [ka1, ka2] = lab.nodes;
  const fifos = lab.nodes.map((n) => lab.ensureFifo(n));
  try {
    step('start keepalived on ka1 and ka2 (state BACKUP, priorities 150/100, advert_int 1)');
    await Promise.all(lab.nodes.map((n) => lab.startKeepalived(n)));
    await waitMaster(lab, ka1);
    await lab.waitForState(ka2, 'BACKUP');
    step('ka1 MASTER');

    // D-Bus: tree, introspection, properties, and the signals of one transition.
    const mon = ka2.spawn(['dbus-monitor', '--address', ka2.busAddress, "type='signal',sender='org.keepalived.Vrrp1'", "type='signal',member='NameOwnerChanged',arg0='org.keepalived.Vrrp1'"], { logFile: path.join(lab.dir, 'dbus-monitor.txt') });
    await sleep(500);
    const bus = (n: LabNode, args: string[]) => run(['busctl', `--address=${n.busAddress}`, ...args]);
    const dbusParts: string[] = [];
    const add = async (title: string, n: LabNode, args: string[]) => {
      const r = await bus(n, args);
      dbusParts.push(`### $ busctl --address=${n.busAddress.replace(lab.dir, '<labdir>')} ${args.join(' ')}   (on ${n.name})\n${r.stdout}${r.stderr}`);
    };
    await add('tree', ka1, ['tree', 'org.keepalived.Vrrp1']);
    await add('list', ka1, ['--list', 'tree', 'org.keepalived.Vrrp1']);
    await add('introspect vrrp', ka1, ['introspect', 'org.keepalived.Vrrp1', '/org/keepalived/Vrrp1/Vrrp']);
    await add('introspect inst', ka1, ['introspect', 'org.keepalived.Vrrp1', '/org/keepalived/Vrrp1/Instance/eth0/51/IPv4']);
    await add('state', ka1, ['get-property', 'org.keepalived.Vrrp1', '/org/keepalived/Vrrp1/Instance/eth0/51/IPv4', 'org.keepalived.Vrrp1.Instance', 'State']);
    await add('name', ka1, ['get-property', 'org.keepalived.Vrrp1', '/org/keepalived/Vrrp1/Instance/eth0/51/IPv4', 'org.keepalived.Vrrp1.Instance', 'Name']);
    await add('state json', ka1, ['--json=short', 'get-property', 'org.keepalived.Vrrp1', '/org/keepalived/Vrrp1/Instance/eth0/51/IPv4', 'org.keepalived.Vrrp1.Instance', 'State']);
    await add('state', ka2, ['get-property', 'org.keepalived.Vrrp1', '/org/keepalived/Vrrp1/Instance/eth0/51/IPv4', 'org.keepalived.Vrrp1.Instance', 'State']);
    const introXml = await run(['gdbus', 'introspect', '--address', ka1.busAddress, '--dest', 'org.keepalived.Vrrp1', '--object-path', '/org/keepalived/Vrrp1/Instance/eth0/51/IPv4', '--xml']);
    dbusParts.push(`### $ gdbus introspect --address <bus> --dest org.keepalived.Vrrp1 --object-path /org/keepalived/Vrrp1/Instance/eth0/51/IPv4 --xml\n${introXml.stdout}${introXml.stderr}`);

    step('weight -60 on ka1 (effective priority 90 < 100): ka2 preempts');
    lab.setWeight(ka1, -60);
    await waitMaster(lab, ka2);
    await lab.waitForState(ka1, 'BACKUP');
    step('weight 0 on ka1: ka1 preempts back');
    lab.setWeight(ka1, 0);
    await waitMaster(lab, ka1);
    await lab.waitForState(ka2, 'BACKUP');
    step('weight +20 on ka2 (120 < 150, a priority change without transition)');
    lab.setWeight(ka2, 20);
    await sleep(1500);
    lab.setWeight(ka2, 0);
    await sleep(1500);

    step('stop nginx on ka1: chk_nginx fails -> ka1 FAULT, ka2 MASTER');
    await lab.stopNginx(ka1);
    await lab.waitForState(ka1, 'FAULT');
    await waitMaster(lab, ka2);
    step('start nginx on ka1: ka1 back to MASTER');
    await lab.startNginx(ka1);
    await waitMaster(lab, ka1, 20000);
    await lab.waitForState(ka2, 'BACKUP');

    step('dumps on ka1 (USR1 data, USR2 stats, JSON signal) and via D-Bus PrintData/PrintStats on ka2');
    fs.writeFileSync(path.join(out, 'data.txt'), await lab.dump(ka1, 'data'));
    fs.writeFileSync(path.join(out, 'stats.txt'), await lab.dump(ka1, 'stats'));
    fs.writeFileSync(path.join(out, 'dump-2.2.7.json'), await lab.dump(ka1, 'json'));
    for (const m of ['PrintData', 'PrintStats']) {
      const r = await bus(ka2, ['call', 'org.keepalived.Vrrp1', '/org/keepalived/Vrrp1/Vrrp', 'org.keepalived.Vrrp1.Vrrp', m]);
      dbusParts.push(`### $ busctl --address=<bus> call org.keepalived.Vrrp1 /org/keepalived/Vrrp1/Vrrp org.keepalived.Vrrp1.Vrrp ${m}   (on ka2, exit ${r.code})\n${r.stdout}${r.stderr}`);
    }
    await sleep(500);
    for (const k of ['data', 'stats']) {
      const f = path.join(ka2.tmpDir, `keepalived.${k}`);
      if (fs.existsSync(f)) fs.writeFileSync(path.join(out, `${k}-backup.txt`), fs.readFileSync(f));
    }

    step('split brain: drop VRRP on ka2 (nft) -> ka2 MASTER too');
    await lab.blockVrrp(ka2);
    await waitMaster(lab, ka2);
    step(`both MASTER, VIP holders ${JSON.stringify(await lab.vipHolders())}`);
    await sleep(1500);
    step('unblock: ka2 sees higher priority, back to BACKUP');
    await lab.unblockVrrp(ka2);
    await lab.waitForState(ka2, 'BACKUP');
    await sleep(1500);

    step('split brain: partition ka2 from the bridge');
    await lab.partition(ka2);
    await waitMaster(lab, ka2);
    await sleep(1500);
    step('heal');
    await lab.heal(ka2);
    await lab.waitForState(ka2, 'BACKUP');
    await sleep(1500);

    step('SIGHUP reload of ka2');
    await lab.reloadKeepalived(ka2);
    await lab.waitForState(ka2, 'BACKUP');
    await sleep(1000);

    step('SIGTERM ka1 (priority 0 advert): ka2 takes over');
    await lab.killKeepalived(ka1, 'SIGTERM');
    await waitMaster(lab, ka2);
    step('restart ka1: preempts');
    await lab.startKeepalived(ka1);
    await waitMaster(lab, ka1);
    await lab.waitForState(ka2, 'BACKUP');
    step('SIGKILL ka1 (crash): ka2 takes over after the master-down timer');
    await lab.killKeepalived(ka1, 'SIGKILL');
    await waitMaster(lab, ka2);
    step(`VIP holders after SIGKILL: ${JSON.stringify(await lab.vipHolders())}`);
    step('restart ka1');
    await lab.startKeepalived(ka1);
    await waitMaster(lab, ka1);
    await lab.waitForState(ka2, 'BACKUP');
    step(`VIP holders: ${JSON.stringify(await lab.vipHolders())}`);
    await sleep(1000);
    step('stop lab (SIGTERM both)');
    for (const n of [ka2, ka1]) await lab.killKeepalived(n, 'SIGTERM');
    await sleep(300);
    mon.kill('SIGTERM');

    fs.writeFileSync(path.join(out, 'dbus.txt'), dbusParts.join('\n') + '\n### $ dbus-monitor --address <ka2 bus> "type=\'signal\',sender=\'org.keepalived.Vrrp1\'" "type=\'signal\',member=\'NameOwnerChanged\',arg0=\'org.keepalived.Vrrp1\'"   (on ka2, during all the steps in steps.txt, ending with keepalived SIGTERM)\n' + fs.readFileSync(path.join(lab.dir, 'dbus-monitor.txt'), 'utf8'));
    const scrub = (s: string) => s.replaceAll(lab.dir, '/run/kwlab/capture');
    fs.writeFileSync(path.join(out, 'log-2x.txt'), scrub(fs.readFileSync(ka1.logPath, 'utf8')));
    fs.writeFileSync(path.join(out, 'log-2x-ka2.txt'), scrub(fs.readFileSync(ka2.logPath, 'utf8')));
    fs.writeFileSync(path.join(out, 'fifo.txt'), fifos[0].lines.join('\n') + '\n');
    fs.writeFileSync(path.join(out, 'fifo-ka2.txt'), fifos[1].lines.join('\n') + '\n');
    fs.writeFileSync(path.join(out, 'hook.txt'), fs.readFileSync(hookOut));
    fs.writeFileSync(path.join(out, 'keepalived-ka1.conf'), scrub(fs.readFileSync(ka1.confPath, 'utf8')));
    fs.writeFileSync(path.join(out, 'steps.txt'), steps.join('\n') + '\n');
  } finally {
    for (const f of fifos) f.close();
    await lab.stop();
  }
}

async function syncGroup(): Promise<void> {
  // Two instances in one vrrp_sync_group: the FIFO then carries GROUP lines too.
  const lab = await startLab({
    id: 'capgrp', fifo: true, keepalived: false,
    keepalivedExtra: () => '',
    blocksExtra: (n) => `vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority ${n.priority}
  advert_int 1
  virtual_ipaddress {
    192.0.2.101/24 dev eth0
  }
  notify_priority_changes
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
  notify_priority_changes
}
`,
  });
  const [ka1, ka2] = lab.nodes;
  const fifos = lab.nodes.map((n) => lab.ensureFifo(n));
  try {
    await Promise.all(lab.nodes.map((n) => lab.startKeepalived(n)));
    await waitMaster(lab, ka1);
    await lab.stopNginx(ka1);
    await lab.waitForState(ka1, 'FAULT');
    await waitMaster(lab, ka2);
    await lab.startNginx(ka1);
    await waitMaster(lab, ka1, 20000);
    await lab.waitForState(ka2, 'BACKUP');
    await sleep(1000);
    for (const n of [ka2, ka1]) await lab.killKeepalived(n, 'SIGTERM');
    await sleep(300);
    fs.writeFileSync(path.join(out, 'fifo-group.txt'), fifos[0].lines.join('\n') + '\n');
    fs.writeFileSync(path.join(out, 'log-2x-group.txt'), fs.readFileSync(ka1.logPath, 'utf8').replaceAll(lab.dir, '/run/kwlab/capgrp'));
  } finally {
    for (const f of fifos) f.close();
    await lab.stop();
  }
}

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const which = process.argv[3] ?? 'all';
  if (which === 'all' || which === 'single') await singleInstance();
  if (which === 'all' || which === 'group') await syncGroup();
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${out}`);
})().catch((e) => { console.error(e); process.exit(1); });
