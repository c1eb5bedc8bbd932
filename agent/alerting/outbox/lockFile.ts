// The outbox directory belongs to one process at a time: a lock file holding the owner's pid,
// created exclusively. Two agents appending to one journal would corrupt it; a lock left by a
// process that is gone (kill -9) is stale and taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class OutboxLock {
  private readonly path: string;
  private held = false;

  constructor(private readonly dir: string) {
    this.path = join(dir, 'lock');
  }

  /** Takes the lock; throws when another live process holds it or the lock file cannot be written. */
  acquire(): void {
    for (let i = 0; i < 2; i++) {
      try {
        const fd = openSync(this.path, 'wx', 0o600);
        try {
          writeSync(fd, `${process.pid}\n`);
        } catch (e) {
          // A full disk takes the file but not its pid: no lock (an empty one reads as stale), no
          // descriptor left open on the filesystem.
          unlinkSync(this.path);
          throw e;
        } finally {
          closeSync(fd);
        }
        this.held = true;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = parseInt(readFileSync(this.path, 'utf8'), 10);
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
          throw new Error(`outbox ${this.dir} is in use by process ${pid}`);
        }
        unlinkSync(this.path); // stale (kill -9) or our own from an earlier instance
      }
    }
    throw new Error(`cannot take the outbox lock ${this.path}`);
  }

  release(): void {
    if (!this.held) return;
    try {
      unlinkSync(this.path);
    } catch {
      /* gone */
    }
    this.held = false;
  }
}
