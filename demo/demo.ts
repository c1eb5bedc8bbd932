// The keepwatch demo: a real two-node Keepalived + Nginx pair in network namespaces, one agent per
// node, a pager that prints what the agents send; then a failover and a split brain, live.
// Options: --once (walk through and exit; used by the demo's test), --id <lab id>.
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { startLab, type Lab } from '../test/lab/lab';
import { startAgents, waitUntil, type LabAgent } from '../test/lab/agents';
import { sleep } from '../test/helpers/wait';

const args = process.argv.slice(2);
const once = args.includes('--once');
const id = args.includes('--id') ? args[args.indexOf('--id') + 1] : 'demo';
const RECEIVER_PORT = 9099;
const REPO = resolve(__dirname, '..');

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s: string) => process.stdout.write(`\n${bold('== ' + s)}\n`);

let lab: Lab | undefined;
let stopping = false;

async function teardown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('tearing down the lab');
    await lab?.stop().catch(() => undefined);
  }
  process.exit(code);
}

async function roles(agents: LabAgent[]): Promise<string> {
  const parts: string[] = [];
  for (const a of agents) {
    try {
      const s = await a.getJson<{ keepalived: { up: boolean }; instances: Record<string, { state: string }> }>('/api/v1/state');
      parts.push(`${a.node.name}: ${s.keepalived.up ? s.instances.VI_1?.state ?? '?' : 'keepalived DOWN'}`);
    } catch {
      parts.push(`${a.node.name}: agent unreachable`);
    }
  }
  return parts.join(', ');
}

async function main(): Promise<void> {
  process.once('SIGINT', () => void teardown(0));
  process.once('SIGTERM', () => void teardown(0));

  say('starting the lab: namespaces ka1 (192.0.2.11, priority 150) and ka2 (192.0.2.12, priority 100), VIP 192.0.2.100');
  lab = await startLab({ id, fifo: true });

  // The pager runs in the client namespace (192.0.2.50), reachable from both agents.
  const receiver = lab.client.spawn([process.execPath, join(REPO, 'demo/receiver.js'), String(RECEIVER_PORT)], { pipe: true });
  const paged: string[] = [];
  createInterface({ input: receiver.stdout! }).on('line', (l) => {
    paged.push(l);
    process.stdout.write(`  ${l}\n`);
  });

  const agents = await startAgents(lab, {
    config: () => ({
      alerting: {
        receivers: [{ name: 'demo-pager', type: 'webhook', url: `http://${lab!.client.ip}:${RECEIVER_PORT}/` }],
        route: { receiver: 'demo-pager' },
      },
    }),
  });
  say('agents running');
  for (const a of agents) {
    process.stdout.write(`  ${a.node.name}: status page ${a.url}/   metrics ${a.url}/metrics   state ${a.url}/api/v1/state\n`);
  }
  process.stdout.write(`  now: ${await roles(agents)}\n`);
  await sleep(3000);

  const [ka1, ka2] = lab.nodes;
  say('1. failover: killing keepalived on the master ka1 (SIGKILL, as a crash)');
  await lab.killKeepalived(ka1, 'SIGKILL');
  await lab.waitForState(ka2, 'MASTER', 15_000);
  process.stdout.write(`  ka2 took over. now: ${await roles(agents)}\n`);
  await sleep(4000);
  say('   restarting keepalived on ka1: it preempts back (higher priority)');
  await lab.startKeepalived(ka1);
  await lab.waitForState(ka1, 'MASTER', 20_000);
  await waitUntil(async () => (await roles(agents)).includes('ka2: BACKUP'), 10_000, 100, 'ka2 back to BACKUP').catch(() => undefined);
  process.stdout.write(`  now: ${await roles(agents)}\n`);
  await sleep(4000);

  say('2. split brain: a firewall on ka2 drops VRRP only (the agents still talk over HTTP)');
  await lab.blockVrrp(ka2);
  await lab.waitForState(ka2, 'MASTER', 15_000);
  process.stdout.write(`  both MASTER, both hold the VIP: ${(await lab.vipHolders()).join(' + ')}. now: ${await roles(agents)}\n`);
  await sleep(6000);
  say('   removing the firewall: the pair heals');
  await lab.unblockVrrp(ka2);
  await lab.waitForState(ka2, 'BACKUP', 15_000);
  process.stdout.write(`  now: ${await roles(agents)}\n`);
  // The incident's end comes once it has been quiet for group_interval (10 s).
  await waitUntil(() => paged.some((l) => / RESOLVED SplitBrain /.test(l)), 20_000, 100, 'the end of the incident').catch(() => undefined);
  await sleep(1000);

  if (once) await teardown(0);
  say('the lab keeps running: open the status pages above; Ctrl-C tears it all down');
  await new Promise(() => undefined);
}

main().catch(async (e) => {
  process.stderr.write(`demo failed: ${(e as Error).stack ?? e}\n`);
  await teardown(1);
});
