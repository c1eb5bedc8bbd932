// CPU of a process together with everything it starts: the agent's arping, `ip monitor`,
// `nginx -T` and its long-lived /bin/sh are its children, and their CPU is the agent's cost too.
// Two ways, best first: a cgroup v2 of its own (cpu.stat counts every process in it, alive or
// exited, in microseconds), or /proc: the process and all its live descendants, each with its
// utime+stime plus cutime+cstime (the CPU of its children that exited and were reaped), so a child
// that lived and died between two samples is counted in its parent.
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLK_TCK, readProcStat, type ProcStat } from './lib';

export interface TreeCpu {
  at: number;
  /** user + system seconds of the whole tree, exited children included. */
  cpuSec: number;
  userSec: number;
  systemSec: number;
  /** The root process's own utime + stime: what the figures before counted. */
  rootCpuSec: number;
  /** Names (comm) of the live descendants at this sample, for the record. */
  children: string[];
}

/** Every process's stat, by pid, in one pass over /proc. */
function allStats(): Map<number, ProcStat> {
  const all = new Map<number, ProcStat>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = readProcStat(Number(d)); // undefined: gone between readdir and read
    if (st) all.set(st.pid, st);
  }
  return all;
}

/** root's live descendants in `all`, root excluded. */
function descendants(all: Map<number, ProcStat>, root: number): ProcStat[] {
  const kids = new Map<number, ProcStat[]>();
  for (const st of all.values()) kids.set(st.ppid, [...(kids.get(st.ppid) ?? []), st]);
  const out: ProcStat[] = [];
  const stack = [root];
  while (stack.length) for (const c of kids.get(stack.pop()!) ?? []) { out.push(c); stack.push(c.pid); }
  return out;
}

/** The tree under `root` from /proc; undefined when root is gone. */
export function procTreeCpu(root: number): TreeCpu | undefined {
  const all = allStats();
  const top = all.get(root);
  if (!top) return undefined;
  const kids = descendants(all, root);
  let user = 0;
  let system = 0;
  for (const st of [top, ...kids]) {
    user += st.utime + st.cutime;
    system += st.stime + st.cstime;
  }
  const children = kids.map((st) => st.comm);
  return { at: Date.now(), cpuSec: (user + system) / CLK_TCK, userSec: user / CLK_TCK, systemSec: system / CLK_TCK, rootCpuSec: (top.utime + top.stime) / CLK_TCK, children: children.sort() };
}

/** Where the CPU of a tree is read from: a cgroup when one could be made, else /proc. */
export interface TreeMeter {
  method: string;
  sample(): TreeCpu | undefined;
  close(): void;
}

/**
 * A cgroup v2 holding `root` and its descendants when /sys/fs/cgroup is a writable cgroup2
 * hierarchy (children started later are born in it); else the /proc sum. `method` says which,
 * for the output and the JSON.
 */
export function treeMeter(root: number, name: string, cgroupRoot = '/sys/fs/cgroup'): TreeMeter {
  const proc: TreeMeter = { method: 'process tree from /proc (the agent and its descendants: utime+stime, plus cutime+cstime of reaped children)', sample: () => procTreeCpu(root), close: () => undefined };
  if (!existsSync(join(cgroupRoot, 'cgroup.controllers'))) return proc;
  const dir = join(cgroupRoot, name);
  try {
    mkdirSync(dir, { recursive: true });
    // Every live process of the tree: the ones started from now on follow their parent.
    const pids = [root, ...liveDescendants(root)];
    for (const pid of pids) writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`);
  } catch {
    try { rmdirSync(dir); } catch { /* not made */ }
    return proc;
  }
  // The CPU spent before the move stays where it was: the cgroup's counter starts there at 0,
  // which is all a difference of two samples needs.
  return {
    method: `cgroup v2 ${dir} (cpu.stat: every process in it, exited ones included)`,
    sample() {
      const p = procTreeCpu(root);
      if (!p) return undefined;
      try {
        const stat = readFileSync(join(dir, 'cpu.stat'), 'utf8');
        const usec = (k: string) => Number(new RegExp(`^${k} (\\d+)`, 'm').exec(stat)?.[1] ?? NaN);
        return { ...p, cpuSec: usec('usage_usec') / 1e6, userSec: usec('user_usec') / 1e6, systemSec: usec('system_usec') / 1e6 };
      } catch {
        return undefined;
      }
    },
    close() {
      // A cgroup is removed only when empty: its processes go back to the parent first.
      try {
        for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) writeFileSync(join(cgroupRoot, 'cgroup.procs'), `${pid}\n`);
        rmdirSync(dir);
      } catch { /* the processes are gone with the lab; the empty cgroup is left */ }
    },
  };
}

/** The pids of root's live descendants, from /proc. */
export function liveDescendants(root: number): number[] {
  return descendants(allStats(), root).map((st) => st.pid);
}
