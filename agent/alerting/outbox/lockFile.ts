// A directory (the outbox, the hook's deliverer) belongs to one process at a time: a lock file
// naming its holder by pid, start time and boot id. A pid alone is not a holder: pids are reused
// (pid 1 after a reboot held a lock "for good"), so a lock whose pid now runs another process is
// stale. Taking over a stale lock goes through one claim file (link(2): exactly one winner), so two
// processes starting together cannot both replace it.
// Pid + /proc start time + link(2) rather than flock(2): Node has no flock, and a native addon
// would need a compiler on every host; this is exact for every case but a claimer dying inside the
// few microseconds of a takeover (its claim is then judged like a lock).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { readBootId, readProcStat, processStartMs } from '../../procStat';

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock is held by a live process. */
export class LockHeldError extends Error {
  constructor(readonly pid: number, message: string) {
    super(message);
    this.name = 'LockHeldError';
  }
}

interface LockContent {
  text: string;
  ino: number;
  mtimeMs: number;
  pid: number;
  /** Absent in a lock written by an older keepwatch (pid only): judged by the file's mtime. */
  startTicks?: number;
  bootId?: string;
}

export interface LockFileOptions {
  /** /proc, injectable for tests. */
  procRoot?: string;
  /** Runs between judging a lock stale and taking it over (tests replay a racing process here). */
  onStale?: (holderPid: number) => void;
}

const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
const CREATE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

export class LockFile {
  private held: string | undefined;
  private readonly procRoot: string;
  private readonly onStale?: (holderPid: number) => void;

  /** what: how errors name the thing locked ("outbox /var/lib/keepwatch/outbox"). */
  constructor(readonly path: string, private readonly what: string, opts: LockFileOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.onStale = opts.onStale;
  }

  get isHeld(): boolean {
    return this.held !== undefined;
  }

  /** Takes the lock; throws LockHeldError when a live process holds it, an Error when it cannot be written. */
  acquire(): void {
    if (this.held) return;
    const me = this.identity();
    const cand = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
    writeNew(cand, me);
    const claim = `${this.path}.takeover`;
    try {
      for (let attempt = 0; attempt < 4; attempt++) {
        if (linkNew(cand, this.path)) {
          this.held = me;
          return;
        }
        const cur = this.read(this.path);
        if (!cur) continue; // released meanwhile
        if (this.alive(cur)) throw new LockHeldError(cur.pid, `${this.what} is in use by process ${cur.pid}`);
        this.onStale?.(cur.pid);
        if (!linkNew(cand, claim)) {
          const other = this.read(claim);
          if (other && this.alive(other)) throw new LockHeldError(other.pid, `${this.what}: process ${other.pid} is taking over its stale lock`);
          if (other) unlinkQuiet(claim); // a claimer that died mid-takeover
          continue;
        }
        try {
          // Under the claim no one else replaces the lock: replace it only if it is still the stale one we judged.
          const again = this.read(this.path);
          if (again && again.ino === cur.ino && again.text === cur.text) {
            fs.renameSync(cand, this.path);
            this.held = me;
            return;
          }
        } finally {
          unlinkQuiet(claim);
        }
      }
      throw new Error(`cannot take the lock ${this.path} for ${this.what}: it kept changing`);
    } finally {
      unlinkQuiet(cand);
    }
  }

  release(): void {
    if (!this.held) return;
    const cur = this.read(this.path);
    if (cur && cur.text === this.held) unlinkQuiet(this.path);
    this.held = undefined;
  }

  private identity(): string {
    const self = readProcStat(process.pid, this.procRoot);
    return `${process.pid} ${self?.startTicks ?? '-'} ${readBootId(this.procRoot) || '-'} ${randomBytes(8).toString('hex')}\n`;
  }

  private read(file: string): LockContent | undefined {
    let fd: number;
    try {
      fd = fs.openSync(file, READ_FLAGS);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP') throw new Error(`${file} (lock of ${this.what}) is a symbolic link: refusing to follow it`);
      throw e;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new Error(`${file} (lock of ${this.what}) is not a regular file`);
      const buf = Buffer.alloc(256);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      const text = buf.subarray(0, n).toString('utf8');
      const [pidText, start, boot] = text.trim().split(/\s+/);
      const startTicks = start !== undefined && /^\d+$/.test(start) ? Number(start) : undefined;
      return { text, ino: st.ino, mtimeMs: st.mtimeMs, pid: /^\d+$/.test(pidText ?? '') ? Number(pidText) : NaN, startTicks, bootId: boot && boot !== '-' ? boot : undefined };
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Whether the process a lock names is the one that wrote it and still runs. */
  private alive(c: LockContent): boolean {
    if (!Number.isSafeInteger(c.pid) || c.pid <= 0) return false; // empty or torn: its writer died mid-write
    if (c.pid === process.pid) return false; // an earlier instance in this process that did not release
    if (!pidAlive(c.pid)) return false;
    const stat = readProcStat(c.pid, this.procRoot);
    if (!stat) return true; // /proc hidden (hidepid): trust signal 0
    if (stat.state === 'Z' || stat.state === 'X') return false;
    if (c.bootId !== undefined && c.bootId !== readBootId(this.procRoot)) return false;
    if (c.startTicks !== undefined) return stat.startTicks === c.startTicks;
    // Pid only: a process that started after the lock was written cannot be its writer (1 s: btime's rounding).
    const started = processStartMs(stat, this.procRoot);
    return started === undefined || started <= c.mtimeMs + 1000;
  }
}

/** The outbox's lock: <dir>/lock. */
export class OutboxLock extends LockFile {
  constructor(dir: string, opts?: LockFileOptions) {
    super(join(dir, 'lock'), `outbox ${dir}`, opts);
  }
}

function writeNew(file: string, content: string): void {
  const fd = fs.openSync(file, CREATE_FLAGS, 0o600);
  try {
    fs.writeSync(fd, content);
  } catch (e) {
    // A full disk takes the file but not its content: leave no empty candidate behind.
    fs.closeSync(fd);
    unlinkQuiet(file);
    throw e;
  }
  fs.closeSync(fd);
}

/** link(2): creates `to` only if it does not exist (never follows a link at `to`). */
function linkNew(from: string, to: string): boolean {
  try {
    fs.linkSync(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

function unlinkQuiet(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    /* gone */
  }
}
