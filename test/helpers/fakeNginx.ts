// An nginx for unit tests on the fake clock: its pid file and /proc entries in memory, its life
// (start, kill, reload, restart) under the test's control, and the answers of its HTTP port. The
// nginx probes read it through their injectable readFile/fileStamp/signal0/http.
import type { HttpGet } from '../../agent/probes/httpGet';

export class FakeNginx {
  readonly pidFile = '/run/nginx.pid';
  readonly procRoot = '/proc';
  /** The HTTP status the site answers while nginx serves. */
  status = 200;
  /** File reads so far, per path (the watch must not re-read the pid file while nothing changes). */
  readonly reads = new Map<string, number>();
  private readonly files = new Map<string, string>();
  private readonly stamps = new Map<string, number>();
  private readonly alive = new Set<number>();
  private stampSeq = 0;
  private master?: number;
  private workerSeq = 0;

  /** A master with this pid writes its pid file and serves. */
  start(pid: number): void {
    this.master = pid;
    this.alive.add(pid);
    this.write(`${this.procRoot}/${pid}/comm`, 'nginx\n');
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[0] = 'S';
    fields[22 - 3] = String(1000 + pid);
    this.write(`${this.procRoot}/${pid}/stat`, `${pid} (nginx) ${fields.join(' ')}\n`);
    this.newWorkers();
    this.write(this.pidFile, `${pid}\n`);
  }

  /** The master exits: SIGKILL leaves the pid file behind, a clean stop removes it. A zombie has
   *  exited but is not reaped yet: signal 0 still reaches it, its stat says Z. */
  kill(opts: { keepPidFile?: boolean; zombie?: boolean } = {}): void {
    if (this.master === undefined) return;
    if (opts.zombie) {
      const stat = this.files.get(`${this.procRoot}/${this.master}/stat`)!;
      this.write(`${this.procRoot}/${this.master}/stat`, stat.replace(') S ', ') Z '));
      this.write(`${this.procRoot}/${this.master}/comm`, 'nginx\n');
      if (!opts.keepPidFile) this.files.delete(this.pidFile);
      this.master = undefined;
      return;
    }
    this.alive.delete(this.master);
    for (const f of [...this.files.keys()]) if (f.startsWith(`${this.procRoot}/${this.master}/`)) this.files.delete(f);
    if (!opts.keepPidFile) this.files.delete(this.pidFile);
    this.master = undefined;
  }

  /** SIGHUP: same master, new workers; the port never closes. */
  reload(): void {
    this.newWorkers();
  }

  get serving(): boolean {
    return this.master !== undefined;
  }

  readonly readFile = (p: string): string => {
    this.reads.set(p, (this.reads.get(p) ?? 0) + 1);
    const t = this.files.get(p);
    if (t === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${p}'`), { code: 'ENOENT' });
    return t;
  };

  readonly fileStamp = (p: string): string | undefined => (this.files.has(p) ? String(this.stamps.get(p)) : undefined);

  readonly signal0 = (pid: number): void => {
    if (!this.alive.has(pid)) throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
  };

  readonly http: HttpGet = async (url) => {
    const u = new URL(url);
    if (!this.serving) throw Object.assign(new Error(`connect ECONNREFUSED ${u.host}`), { code: 'ECONNREFUSED' });
    if (u.pathname === '/nginx_status') return { status: 200, body: 'Active connections: 1 \nserver accepts handled requests\n 10 10 20 \nReading: 0 Writing: 1 Waiting: 0 \n' };
    return { status: this.status, body: 'ok' };
  };

  private newWorkers(): void {
    if (this.master === undefined) return;
    const w = [++this.workerSeq, ++this.workerSeq].map((n) => this.master! + n);
    this.write(`${this.procRoot}/${this.master}/task/${this.master}/children`, `${w.join(' ')} `);
  }

  private write(p: string, text: string): void {
    this.files.set(p, text);
    this.stamps.set(p, ++this.stampSeq);
  }
}
