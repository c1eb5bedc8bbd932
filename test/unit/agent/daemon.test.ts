import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Daemon } from '../../../agent/daemon';
import { silentLogger } from '../../../agent/logger';
import { coreModule } from '../../../agent/wiring/core';
import type { ModuleFactory } from '../../../agent/module';

function writeConfig(file: string, extra = ''): void {
  writeFileSync(file, `node: ka1\nweb: {listen_address: "127.0.0.1:0"}\n${extra}`);
}

describe('Daemon', () => {
  let dir: string;
  let file: string;
  let daemon: Daemon;
  let base: string;
  const builds: string[] = [];
  const probe: ModuleFactory = {
    name: 'probe',
    slice: (c) => c.rules.no_master_for,
    build: (w) => {
      builds.push(`built ${w.config.rules.no_master_for}`);
      return {};
    },
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kwd-'));
    file = join(dir, 'keepwatch.yml');
    writeConfig(file);
    builds.length = 0;
    daemon = new Daemon({ configFile: file, log: silentLogger(), modules: [coreModule, probe] });
    await daemon.start();
    base = `http://127.0.0.1:${daemon.http.address()!.port}`;
  });
  afterEach(() => daemon.stop());

  test('serves /metrics, /healthz, /api/v1/state; unknown paths 404, wrong methods 405', async () => {
    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain/);
    const body = await m.text();
    expect(body).toMatch(/^keepalived_up 0$/m);
    expect(body).toMatch(/^keepwatch_build_info\{version="[^"]+",revision="[^"]+",branch="[^"]+",nodejs="v\d+[^"]*"\} 1$/m);
    expect(body).toMatch(/^keepwatch_scrape_collector_success\{collector="keepalived"\} 1$/m);
    expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok\n');
    const state = await (await fetch(`${base}/api/v1/state`)).json();
    expect(state).toMatchObject({ node: 'ka1', keepalived: { up: false } });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'DELETE' })).status).toBe(405);
  });

  test('POST /-/reload: a bad config is rejected and the old one kept; a good one rebuilds only what changed', async () => {
    const lifecycle = 'web: {listen_address: "127.0.0.1:0", enable_lifecycle: true}\nalerting: {api_token: reload-token-0123456789}\n';
    const auth = { authorization: 'Bearer reload-token-0123456789' };
    writeFileSync(file, `node: ka1\n${lifecycle}`);
    await daemon.reload();
    base = `http://127.0.0.1:${daemon.http.address()!.port}`;
    writeFileSync(file, `node: ka1\n${lifecycle}rules: {no_master_for: banana}\n`);
    const bad = await fetch(`${base}/-/reload`, { method: 'POST', headers: auth });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/rules\.no_master_for/);
    expect(daemon.lastReload.error).toMatch(/rules\.no_master_for: not a duration/);
    expect(builds).toEqual(['built 5000']);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^keepwatch_config_last_reload_successful 0$/m);

    writeFileSync(file, `node: ka1\n${lifecycle}rules: {no_master_for: 9s}\n`);
    const ok = await fetch(`${base}/-/reload`, { method: 'POST', headers: auth });
    expect(ok.status).toBe(200);
    expect(builds).toEqual(['built 5000', 'built 9000']);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^keepwatch_config_last_reload_successful 1$/m);
  });

  test('the node name cannot change on reload', async () => {
    writeFileSync(file, 'node: other\nweb: {listen_address: "127.0.0.1:0"}\n');
    await expect(daemon.reload()).rejects.toThrow(/node: cannot change on reload/);
    expect(builds).toEqual(['built 5000']);
    expect(daemon.lastReload).toMatchObject({ ok: false, error: expect.stringMatching(/node: cannot change/) });
    expect(((await (await fetch(`${base}/api/v1/state`)).json()) as { node: string }).node).toBe('ka1');
  });

  test('basic auth on web routes when basic_auth_users is set; /healthz stays open', async () => {
    // bcrypt of "s3cret" (cost 4 keeps the test fast)
    const hash = bcrypt.hashSync('s3cret', 4);
    writeFileSync(file, `node: ka1\nweb: {listen_address: "127.0.0.1:0", basic_auth_users: {prom: "${hash}"}}\n`);
    await daemon.reload();
    base = `http://127.0.0.1:${daemon.http.address()!.port}`;
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const auth = 'Basic ' + Buffer.from('prom:s3cret').toString('base64');
    const wrong = 'Basic ' + Buffer.from('prom:nope').toString('base64');
    expect((await fetch(`${base}/metrics`, { headers: { authorization: wrong } })).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: auth } })).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
