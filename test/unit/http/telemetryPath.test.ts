// --web.telemetry-path: a real agent serves its metrics there (and no longer at /metrics); a path
// that is not canonical or that would take another endpoint's place is refused, naming the flag.
import { coreModule } from '../../../agent/wiring/core';
import { telemetryPathProblem } from '../../../agent/http/telemetryPath';
import { startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';
import { runCli } from '../../helpers/runCli';

describe('--web.telemetry-path', () => {
  let agent: InProcessAgent | undefined;
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });

  test('a real scrape at the configured path; /metrics is gone', async () => {
    agent = await startInProcessAgent({ telemetryPath: '/prometheus/metrics' });
    const res = await fetch(`${agent.url}/prometheus/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toMatch(/^keepwatch_build_info\{/m);
    expect((await fetch(`${agent.url}/metrics`)).status).toBe(404);
    // The status page and the API are where they were.
    expect((await fetch(`${agent.url}/api/v1/status`)).status).toBe(200);
  });

  test('the default is /metrics', async () => {
    agent = await startInProcessAgent({ modules: [coreModule] });
    expect((await fetch(`${agent.url}/metrics`)).status).toBe(200);
  });

  test.each([
    ['/', /--web\.telemetry-path \/: collides with GET \//],
    ['/api/v1/status', /collides with GET \/api\/v1\/status/],
    ['/static/metrics', /collides with GET \/static\/\*/],
    ['/-/reload', /collides with POST \/-\/reload/],
  ])('%s collides with another endpoint: the agent does not start', async (path, message) => {
    await expect(startInProcessAgent({ telemetryPath: path })).rejects.toThrow(message);
  });

  test('the path itself must be a canonical absolute path', () => {
    expect(telemetryPathProblem('/metrics')).toBeUndefined();
    expect(telemetryPathProblem('/a/b-c_d.e')).toBeUndefined();
    expect(telemetryPathProblem('metrics')).toMatch(/must start with "\/"/);
    expect(telemetryPathProblem('/metrics/')).toMatch(/must not end with "\/"/);
    expect(telemetryPathProblem('/metrics?x=1')).toMatch(/without "\?"/);
    expect(telemetryPathProblem('//metrics')).toMatch(/empty segment/);
    expect(telemetryPathProblem('/a/../metrics')).toMatch(/dot segment/);
    expect(telemetryPathProblem('/%6detrics')).toMatch(/escaped/);
  });

  test('keepwatch run refuses a bad path before reading the config (exit 2)', async () => {
    const r = await runCli('run', '--config.file', '/nonexistent/keepwatch.yml', '--web.telemetry-path', 'metrics');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--web\.telemetry-path "metrics": must start with "\/"/);
  });
});
