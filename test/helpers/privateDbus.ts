// A private dbus-daemon on a socket in a temp dir (no root needed), restartable, for tests of
// D-Bus clients without the lab. Always stop() it (afterAll).
import { spawn, type ChildProcess } from 'child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';

export class PrivateDbus {
  readonly dir: string;
  readonly socket: string;
  readonly address: string;
  private child: ChildProcess | undefined;

  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'kw-bus-'));
    this.socket = path.join(this.dir, 'bus.sock');
    this.address = `unix:path=${this.socket}`;
    writeFileSync(
      path.join(this.dir, 'bus.conf'),
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${this.socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`,
    );
  }

  static available(): boolean {
    const r = require('child_process').spawnSync('dbus-daemon', ['--version']) as { status: number | null };
    return r.status === 0;
  }

  async start(): Promise<void> {
    try {
      unlinkSync(this.socket);
    } catch {
      // none
    }
    const child = spawn('dbus-daemon', ['--nofork', '--nopidfile', `--config-file=${path.join(this.dir, 'bus.conf')}`, '--print-address=1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      const t = setTimeout(() => reject(new Error(`dbus-daemon did not start: ${err}`)), 10_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          clearTimeout(t);
          resolve();
        }
      });
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.once('exit', (c) => {
        clearTimeout(t);
        reject(new Error(`dbus-daemon exited ${c}: ${err}`));
      });
    });
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
