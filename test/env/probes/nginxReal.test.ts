// The nginx probes against a real nginx (nginx-light) on 127.0.0.1 with a temporary config. What
// a run costs is measured by bench/probeCost.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { FakeClock } from '../../helpers/fakeClock';
import { freePort } from '../../helpers/freePort';
import { waitFor } from '../../helpers/wait';
import { describeNeeding, firstFile, needs, testNeeding } from '../../helpers/needs';
import { NodeStore } from '../../../agent/state/store';
import { createHttpGet, type HttpGet } from '../../../agent/probes/httpGet';
import { NginxStatusProbe } from '../../../agent/probes/nginxStatusProbe';
import { NginxHealthProbe } from '../../../agent/probes/nginxHealthProbe';
import { NginxProcessProbe } from '../../../agent/probes/nginxProcessProbe';
import { NginxConfigProbe } from '../../../agent/probes/nginxConfigProbe';
import { runCommand } from '../../../agent/probes/runCommand';
import type { NginxConfigEvent, NginxStatusEvent, NodeEvent } from '../../../agent/state/types';

const NGINX_PATHS = ['/usr/sbin/nginx', '/usr/bin/nginx'];
const NGINX = firstFile(NGINX_PATHS);

const sig = () => AbortSignal.timeout(3000);

function conf(dir: string, port: number, extra = ''): string {
  return `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server {
    listen 127.0.0.1:${port};
    location = /nginx_status { stub_status; }
    location = /health { return 200 "ok\\n"; }
    location = /broken { return 503; }
    ${extra}
  }
}
`;
}

describeNeeding([needs.file(NGINX_PATHS, 'apt-get install nginx-light')], 'nginx probes against a real nginx', () => {
  let dir: string;
  let port: number;
  let child: ChildProcess | undefined;
  let http: HttpGet & { close(): void };
  const clock = new FakeClock();

  const startNginx = async () => {
    child = spawn(NGINX as string, ['-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
    await waitFor(() => http(`http://127.0.0.1:${port}/health`, { signal: sig() }).then(() => true), { what: 'nginx answering', stepMs: 20 }).catch((e) => {
      throw new Error(`nginx did not start: ${(e as Error).message}\n${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
    });
  };
  const stopNginx = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill('SIGTERM');
    });
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-nginx-'));
    fs.mkdirSync(path.join(dir, 'tmp'));
    port = await freePort();
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf(dir, port));
    http = createHttpGet();
    await startNginx();
  });
  afterAll(async () => {
    await stopNginx();
    http.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('status, health, process and config while nginx runs; a reload is noticed and re-checked', async () => {
    const status = new NginxStatusProbe({ url: `http://127.0.0.1:${port}/nginx_status`, http, clock });
    const [st] = (await status.run(sig())) as NginxStatusEvent[];
    expect(st).toMatchObject({ up: true });
    expect(st.status!.accepted).toBeGreaterThanOrEqual(1);
    expect(st.status!.requests).toBeGreaterThanOrEqual(1);
    expect(st.status!.active).toBeGreaterThanOrEqual(1);

    const store = new NodeStore('n1', clock);
    const health = new NginxHealthProbe({ url: `http://127.0.0.1:${port}/health`, viaVip: true, store, http, clock });
    expect(await health.run(sig())).toEqual([expect.objectContaining({ target: 'local', up: true, statusCode: 200 })]);
    const broken = new NginxHealthProbe({ url: `http://127.0.0.1:${port}/broken`, viaVip: false, store, http, clock });
    expect(await broken.run(sig())).toEqual([expect.objectContaining({ target: 'local', up: false, statusCode: 503 })]);

    const changes: string[] = [];
    const proc = new NginxProcessProbe({ pidFile: path.join(dir, 'nginx.pid'), clock, onMasterChange: (w) => changes.push(w) });
    expect(await proc.run(sig())).toEqual([expect.objectContaining({ up: true, pid: child!.pid })]);

    const cfg = new NginxConfigProbe({ binary: NGINX as string, config: path.join(dir, 'nginx.conf'), clock });
    const [c1] = (await cfg.run(sig())) as NginxConfigEvent[];
    expect(c1).toMatchObject({ valid: true, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const [c2] = (await cfg.run(sig())) as NginxConfigEvent[];
    expect(c2.hash).toBe(c1.hash);

    // Edit and reload: new workers -> onMasterChange; the config hash follows the edit.
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf(dir, port, 'location = /new { return 204; }'));
    process.kill(child!.pid as number, 'SIGHUP');
    await waitFor(async () => (await proc.run(sig()), changes.length > 0), { what: 'the reload noticed', stepMs: 50 }).catch(() => undefined);
    expect(changes).toEqual(['nginx workers replaced (reload)']);
    const [c3] = (await cfg.run(sig())) as NginxConfigEvent[];
    expect(c3.valid).toBe(true);
    expect(c3.hash).not.toBe(c1.hash);
    // Keep-alive connections survive the reload (or are retried once): health stays up.
    expect(await health.run(sig())).toEqual([expect.objectContaining({ up: true })]);

    // A broken edit: invalid with nginx's own words, file and line.
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf(dir, port, 'bogus_directive on;'));
    const [c4] = (await cfg.run(sig())) as NginxConfigEvent[];
    expect(c4).toMatchObject({ valid: false, reason: `[emerg] unknown directive "bogus_directive" in ${dir}/nginx.conf:15` });
    expect(c4.hash).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf(dir, port));
  }, 20000);

  testNeeding([needs.root('to run nginx -T as nobody'), needs.command('setpriv', 'util-linux')], 'nginx -T without nginx\'s permissions (as nobody): a failed check, not an invalid configuration', async () => {
    const cfg = new NginxConfigProbe({
      binary: NGINX as string,
      config: path.join(dir, 'nginx.conf'),
      clock,
      run: (argv, o) => runCommand(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...argv], o),
    });
    await expect(cfg.run(sig())).rejects.toThrow(/^cannot check the nginx configuration as this user .*\(13: Permission denied\)$/);
  });

  test('nginx stopped: status, health and process all down with the reason', async () => {
    await stopNginx();
    const store = new NodeStore('n1', clock);
    const evs: NodeEvent[] = [
      ...(await new NginxStatusProbe({ url: `http://127.0.0.1:${port}/nginx_status`, http, clock }).run(sig())),
      ...(await new NginxHealthProbe({ url: `http://127.0.0.1:${port}/health`, viaVip: true, store, http, clock }).run(sig())),
      ...(await new NginxProcessProbe({ pidFile: path.join(dir, 'nginx.pid'), clock }).run(sig())),
    ];
    expect(evs).toEqual([
      expect.objectContaining({ kind: 'nginx_status', up: false, reason: expect.stringContaining('ECONNREFUSED') }),
      expect.objectContaining({ kind: 'nginx_health', up: false, reason: expect.stringContaining('ECONNREFUSED') }),
      expect.objectContaining({ kind: 'nginx_process', up: false, reason: expect.stringContaining('no pid file') }),
    ]);
    expect(spawnSync('true').status).toBe(0);
  });
});
