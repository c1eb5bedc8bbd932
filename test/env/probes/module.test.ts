/* eslint-disable @typescript-eslint/no-explicit-any */
// The probes module inside the real Daemon (core + probes modules): keepalived.conf read into the
// store, the probes scheduled against a real nginx on loopback, /metrics and the API, and a
// reload that rebuilds only this module.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Daemon } from '../../../agent/daemon';
import { silentLogger } from '../../../agent/logger';
import { coreModule } from '../../../agent/wiring/core';
import { keepalivedConfModule } from '../../../agent/wiring/keepalivedConf';
import { createProbesModule } from '../../../agent/wiring/probes';
import { ARPING_MIN_TIMEOUT_MS } from '../../../agent/probes/arpProbe';
import { runCommand, type CommandRunner } from '../../../agent/probes/runCommand';
import { waitFor } from '../../helpers/wait';
import { freePort } from '../../helpers/freePort';
import { describeNeeding, firstFile, needs } from '../../helpers/needs';

const NGINX_PATHS = ['/usr/sbin/nginx', '/usr/bin/nginx'];
const NGINX = firstFile(NGINX_PATHS);

describeNeeding([needs.file(NGINX_PATHS, 'apt-get install nginx-light')], 'probes module in the daemon', () => {
  let dir: string;
  let nginx: ChildProcess | undefined;
  let daemon: Daemon | undefined;
  let port: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-probesmod-'));
    fs.mkdirSync(path.join(dir, 'tmp'));
    port = await freePort();
    fs.writeFileSync(
      path.join(dir, 'nginx.conf'),
      `daemon off; master_process on; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 64; }
http { access_log off; client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  server { listen 127.0.0.1:${port}; location = /nginx_status { stub_status; } location = /health { return 200 "ok\\n"; } } }
`,
    );
    nginx = spawn(NGINX as string, ['-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
    await waitFor(() => fs.existsSync(path.join(dir, 'nginx.pid')), { what: 'nginx pid file' });
    // The unicast fixture: VI_U with 192.0.2.77, auth_pass present in the file.
    fs.copyFileSync(path.join(__dirname, '../../fixtures/keepalived-conf/unicast.conf'), path.join(dir, 'keepalived.conf'));
  });

  afterAll(async () => {
    await daemon?.stop().catch(() => undefined);
    if (nginx && nginx.exitCode === null) {
      await new Promise<void>((r) => {
        nginx!.once('exit', () => r());
        nginx!.kill('SIGTERM');
      });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const configYaml = (healthPath: string) => `node: ka1
web: {listen_address: "127.0.0.1:0"}
keepalived:
  dbus_enabled: false
  config: ${dir}/keepalived.conf
  pid_file: ${dir}/keepalived.pid
  dumps: {method: "off"}
nginx:
  status_url: http://127.0.0.1:${port}/nginx_status
  health_url: http://127.0.0.1:${port}${healthPath}
  health_via_vip: false
  pid_file: ${dir}/nginx.pid
  binary: ${NGINX}
  config: ${dir}/nginx.conf
probes:
  vip: {interval: 1s}
  arp: {interval: 1s}
  nginx_status: {interval: 500ms}
  nginx_health: {interval: 500ms}
  nginx_process: {interval: 500ms}
vips:
  VI_EXTRA: [192.0.2.99]
`;

  test('metrics, state and API from real probes; reload rebuilds the module', async () => {
    const configFile = path.join(dir, 'keepwatch.yml');
    fs.writeFileSync(configFile, configYaml('/health'));
    const arpCalls: string[][] = [];
    const run: CommandRunner = async (argv, o) => {
      if (argv[0] === 'arping') {
        arpCalls.push(argv);
        return { code: 0, signal: null, stdout: 'Sent 2 probes (2 broadcast(s))\nReceived 0 response(s)\n', stderr: '', truncated: false };
      }
      return runCommand(argv, o);
    };
    // This host's addresses are not the lab's: the VIP 192.0.2.77 is "bound" on eth0 through the reader.
    const mod = createProbesModule({ run, monitorCommand: null, readAddresses: () => new Map([['192.0.2.77', 'eth0']]) });
    daemon = new Daemon({ configFile, log: silentLogger(), modules: [coreModule, keepalivedConfModule, mod] });
    await daemon.start();
    const base = `http://127.0.0.1:${daemon.http.address()!.port}`;
    const metrics = () => fetch(`${base}/metrics`).then((r) => r.text());

    let lastText = '';
    const text = await waitFor(async () => {
      const t = await metrics();
      lastText = t;
      return /nginx_up 1/.test(t) && /keepwatch_nginx_config_valid 1/.test(t) && /keepwatch_vip_duplicate\{vip="192.0.2.77"\} 0/.test(t) ? t : undefined;
    }, { what: 'probe metrics' }).catch(async (e) => {
      const st = await fetch(`${base}/api/v1/state`).then((r) => r.json() as Promise<any>);
      throw new Error(`${(e as Error).message}\n${JSON.stringify(st.nginx.config)}\n${lastText.split('\n').filter((l) => /^(nginx_|keepwatch_(vip|nginx|probe_success|source))/.test(l)).join('\n')}`);
    });
    expect(text).toMatch(/^keepwatch_vip_bound\{iname="VI_U",vip="192.0.2.77",intf="eth0"\} 1$/m);
    expect(text).toMatch(/^keepwatch_vip_bound\{iname="VI_EXTRA",vip="192.0.2.99",intf=""\} 0$/m);
    expect(text).toMatch(/^nginx_connections_accepted \d+$/m);
    expect(text).toMatch(/^keepwatch_nginx_health_up\{target="local"\} 1$/m);
    expect(text).toMatch(/^keepwatch_nginx_process_up 1$/m);
    expect(text).toMatch(/^keepwatch_nginx_config_info\{hash="[0-9a-f]{64}"\} 1$/m);
    expect(text).toMatch(/^keepwatch_probe_success\{probe="nginx_status"\} 1$/m);
    expect(text).toMatch(/^keepwatch_probe_duration_seconds_count\{probe="vip"\} [1-9]/m);
    expect(text).toMatch(/^keepwatch_scrape_collector_success\{collector="nginx_health"\} 1$/m);
    expect(arpCalls[0]).toEqual(['arping', '-D', '-c', '2', '-w', '2', '-I', 'eth0', '192.0.2.77']);

    const state = await fetch(`${base}/api/v1/state`).then((r) => r.json() as Promise<any>);
    expect(state.instances.VI_U).toMatchObject({ vrid: 7, intf: 'ens3', nopreempt: true, preemptDelayS: 30, unicastPeers: ['192.0.2.12', '192.0.2.13'], authType: 'AH', advertIntervalMs: 2000 });
    expect(state.vips['VI_U|192.0.2.77']).toMatchObject({ intf: 'eth0', duplicate: { duplicate: false } });
    const confRes = await fetch(`${base}/api/v1/keepalived/config`);
    const confText = await confRes.text();
    expect(confRes.status).toBe(200);
    expect(JSON.parse(confText).instances[0]).toMatchObject({ name: 'VI_U', authType: 'AH' });
    expect(confText).not.toContain('pa ss#1');
    const ifs = await fetch(`${base}/api/v1/interfaces`).then((r) => r.json() as Promise<any>);
    expect(Array.isArray(ifs.interfaces)).toBe(true);
    expect(ifs.interfaces.some((i: { iface: string }) => i.iface === 'lo')).toBe(true);

    // Reload with a health URL that 404s: the module is rebuilt and health turns 0 within an interval.
    fs.writeFileSync(configFile, configYaml('/missing'));
    await daemon.reload();
    const after = await waitFor(async () => {
      const t = await metrics();
      return /keepwatch_nginx_health_up\{target="local"\} 0/.test(t) ? t : undefined;
    }, { what: 'health down after reload', timeoutMs: 3000 });
    expect(after).toMatch(/^keepwatch_nginx_health_status_code\{target="local"\} 404$/m);
    const st2 = await fetch(`${base}/api/v1/state`).then((r) => r.json() as Promise<any>);
    expect(st2.probes.nginx_health).toMatchObject({ ok: false, reason: expect.stringContaining('answered 404') });

    // nginx stops: nginx_up 0 and the process down within one interval.
    nginx!.kill('SIGTERM');
    const down = await waitFor(async () => {
      const t = await metrics();
      return /^nginx_up 0$/m.test(t) && /keepwatch_nginx_process_up 0/.test(t) ? t : undefined;
    }, { what: 'nginx down', timeoutMs: 3000 });
    expect(down).not.toMatch(/^nginx_connections_active /m);
    await daemon.stop();
    daemon = undefined;
  }, 30000);
});
