// The heartbeat against a real HTTP server on loopback: pinged on each tick of its schedule (an
// injected cron first, then node-cron itself with a seconds schedule), never two at once, failures
// counted and shown without the URL (it is the credential of a dead man's switch).
import { Heartbeat } from '../../../agent/alerting/heartbeat';
import { heartbeatSchema } from '../../../agent/config/schema';
import { systemClock } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import type { CronScheduler } from '../../../agent/probes/scheduler';
import { startServer, waitFor, type TestServer } from './servers';

jest.setTimeout(20_000);

/** A cron the test ticks by hand. */
function manualCron() {
  const tasks: Array<{ expression: string; fn: () => void; stopped: boolean }> = [];
  const cron: CronScheduler = {
    schedule(expression, fn) {
      const t = { expression, fn, stopped: false };
      tasks.push(t);
      return { stop: () => void (t.stopped = true) };
    },
  };
  return { cron, tasks, tick: () => tasks.filter((t) => !t.stopped).forEach((t) => t.fn()) };
}

describe('heartbeat', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer((_req, _body, res, s) => {
      res.writeHead(s.mode === '500' ? 500 : 200);
      res.end('OK');
    });
  });
  afterEach(async () => {
    await server.close();
  });

  test('each tick pings the URL (GET by default); a failure is counted and shown without the URL; one ping at a time', async () => {
    const { cron, tasks, tick } = manualCron();
    const url = `${server.url}ping/secret-uuid`;
    const hb = new Heartbeat({ cfg: heartbeatSchema.parse({ url }), clock: systemClock, log: silentLogger(), cron });
    hb.start();
    expect(tasks.map((t) => t.expression)).toEqual(['* * * * *']); // every minute by default
    tick();
    await waitFor(() => hb.status().pings === 1, { what: 'the first ping' });
    expect(server.requests.map((r) => `${r.headers['user-agent']?.split('/')[0]} ${r.path}`)).toEqual(['keepwatch /ping/secret-uuid']);
    server.mode = '500';
    tick();
    await waitFor(() => hb.status().pings === 2, { what: 'the failed ping' });
    expect(hb.status()).toMatchObject({ pings: 2, failures: 1, lastOk: false, lastError: 'heartbeat: HTTP 500 OK' });
    expect(JSON.stringify(hb.status())).not.toContain('secret-uuid');
    // A ping that hangs: the next tick does not start another.
    server.mode = 'hang';
    tick();
    tick();
    await waitFor(() => server.requests.length === 3, { what: 'the hanging ping' });
    await hb.stop();
    expect(server.requests).toHaveLength(3);
    expect(tasks[0].stopped).toBe(true);
  });

  test('node-cron drives it for real: a seconds schedule pings every second, POST when asked', async () => {
    const hb = new Heartbeat({ cfg: heartbeatSchema.parse({ url: server.url, schedule: '* * * * * *', method: 'POST', timeout: '2s' }), clock: systemClock, log: silentLogger() });
    hb.start();
    try {
      await waitFor(() => server.requests.length >= 2, { timeoutMs: 10_000, what: 'two pings from node-cron' });
    } finally {
      await hb.stop();
    }
    const after = server.requests.length;
    expect(hb.status()).toMatchObject({ lastOk: true, failures: 0 });
    expect(server.requests.every((r) => r.headers['content-length'] === '0')).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    expect(server.requests.length).toBe(after); // stopped: no more
  });

  test('the config refuses a bad schedule and says how to write one', () => {
    const r = heartbeatSchema.safeParse({ url: 'https://hc.example.com/x', schedule: 'every minute' });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['schedule'], message: expect.stringMatching(/^not a cron expression: "every minute"/) });
  });
});
