// keepalived's own transitions as the benchmarks' start marks: its D-Bus VrrpStatusChange signals,
// timestamped by dbus-monitor on the node's bus (the kernel clock the namespaces share).
import type { ChildProcess } from 'node:child_process';
import type { LabNode } from '../test/lab/lab';
import { waitUntil } from '../test/lab/agents';

/** One VrrpStatusChange: state 1 BACKUP, 2 MASTER, 3 FAULT (keepalived's numbering). */
export interface Signal {
  node: string;
  at: number;
  state: number;
}

/** dbus-monitor on a node's bus: keepalived's VrrpStatusChange signals with the bus's own timestamps. */
export function watchSignals(node: LabNode, out: Signal[]): ChildProcess {
  const p = node.spawn(['dbus-monitor', '--address', node.busAddress, '--monitor', "type='signal',interface='org.keepalived.Vrrp1.Instance',member='VrrpStatusChange'"], { pipe: true });
  let buf = '';
  let pending: number | undefined;
  p.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const t = /^signal time=(\d+\.\d+) .*member=VrrpStatusChange/.exec(line);
      if (t) {
        pending = Number(t[1]) * 1000;
        continue;
      }
      const u = /^\s+uint32 (\d+)/.exec(line);
      if (u && pending !== undefined) {
        out.push({ node: node.name, at: pending, state: Number(u[1]) });
        pending = undefined;
      }
    }
  });
  p.stderr!.resume();
  return p;
}

export async function masterSignal(signals: Signal[], node: string, since: number, timeoutMs: number): Promise<Signal> {
  let s: Signal | undefined;
  await waitUntil(() => (s = signals.find((x) => x.node === node && x.state === 2 && x.at > since)), timeoutMs, 10, `${node} MASTER signal`);
  return s!;
}
