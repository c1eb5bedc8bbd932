// A real Alertmanager cluster for lab runs: Debian's prometheus-alertmanager members on the host's
// loopback, gossiping with each other, and a relay so that agents inside lab namespaces reach
// them at http://127.0.0.1:<member port> of their own namespace (a socat in the namespace into a
// unix socket the host pipes to the member). Two labs with the same addresses can then page one
// Alertmanager cluster, as two pairs of a site do. Used by the fleet e2e test and bench/fleet.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Lab } from './lab';
import { waitFor } from '../helpers/wait';
import { freePort } from '../helpers/freePort';

export const AM_BIN = '/usr/bin/prometheus-alertmanager';

export interface AmAlert {
  labels: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string; silencedBy: string[]; inhibitedBy: string[] };
}

export class AlertmanagerMember {
  proc?: ChildProcess;
  log = '';
  constructor(
    readonly name: string,
    readonly configFile: string,
    readonly dataDir: string,
    readonly port: number,
    readonly clusterPort: number,
    readonly peerPorts: number[],
  ) {}

  /** The member's URL on the host, and inside a lab namespace once relayed (same port). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.exitCode === null ? this.proc.pid : undefined;
  }

  async start(): Promise<void> {
    this.proc = spawn(
      AM_BIN,
      [
        `--config.file=${this.configFile}`,
        `--storage.path=${this.dataDir}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
        ...(this.peerPorts.length
          ? [`--cluster.listen-address=127.0.0.1:${this.clusterPort}`, `--cluster.advertise-address=127.0.0.1:${this.clusterPort}`, ...this.peerPorts.map((p) => `--cluster.peer=127.0.0.1:${p}`)]
          : ['--cluster.listen-address=']),
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.proc.stderr!.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-4000)));
    await waitFor(async () => this.proc!.exitCode === null && (await fetch(`${this.url}/-/ready`)).ok, { timeoutMs: 30_000, what: `alertmanager ${this.name} ready` }).catch((e) => {
      throw new Error(`${(e as Error).message}: ${this.log}`);
    });
  }

  /** SIGKILL (a crash) and wait for exit. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  async alerts(): Promise<AmAlert[]> {
    return (await (await fetch(`${this.url}/api/v2/alerts`, { signal: AbortSignal.timeout(5000) })).json()) as AmAlert[];
  }
}

export class AlertmanagerCluster {
  private relays: Server[] = [];
  private sockets = new Set<Socket>();
  constructor(readonly dir: string, readonly members: AlertmanagerMember[]) {}

  get urls(): string[] {
    return this.members.map((m) => m.url);
  }

  /** Each member reachable at its URL from every node of the lab (and its client). */
  async relayInto(lab: Lab): Promise<void> {
    for (const m of this.members) {
      const sock = join(this.dir, `relay-${lab.id}-${m.port}.sock`);
      rmSync(sock, { force: true });
      const server = createServer((c) => {
        const up = connect(m.port, '127.0.0.1');
        this.sockets.add(c);
        this.sockets.add(up);
        const done = () => {
          c.destroy();
          up.destroy();
          this.sockets.delete(c);
          this.sockets.delete(up);
        };
        for (const s of [c, up]) s.on('error', done).on('close', done);
        c.pipe(up);
        up.pipe(c);
      });
      await new Promise<void>((r) => server.listen(sock, () => r()));
      this.relays.push(server);
      for (const host of [...lab.nodes, lab.client]) {
        // killed with the namespace's other processes by lab.stop()
        host.spawn(['socat', `TCP-LISTEN:${m.port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`], { logFile: join(host.dir, `am-relay-${m.port}.log`) });
        await waitFor(async () => (await host.exec(['curl', '-sf', `${m.url}/-/ready`])).code === 0, { timeoutMs: 10_000, what: `alertmanager ${m.name} from ${host.ns}` });
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.relays.map((r) => new Promise((res) => r.close(res))));
  }
}

/** n members gossiping on loopback (n = 1: no cluster), an empty blackhole route, in dir. */
export async function startAlertmanagers(dir: string, n: number, config = 'route: {receiver: blackhole}\nreceivers: [{name: blackhole}]\n'): Promise<AlertmanagerCluster> {
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'am.yml');
  writeFileSync(configFile, config);
  const ports: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) ports.push([await freePort(), await freePort()]);
  const members = ports.map(([port, cport], i) => new AlertmanagerMember(`am${i + 1}`, configFile, join(dir, `am${i + 1}`), port, cport, n > 1 ? ports.filter((_, j) => j !== i).map(([, c]) => c) : []));
  const cluster = new AlertmanagerCluster(dir, members);
  try {
    await Promise.all(members.map((m) => m.start()));
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
