import { FakeClock } from '../../helpers/fakeClock';
import { silentLogger } from '../../../agent/logger';
import { ProbeScheduler, type CronScheduler } from '../../../agent/probes/scheduler';
import type { Probe } from '../../../agent/probes/probe';
import type { NodeEvent, ProbeRunEvent } from '../../../agent/state/types';
import { sleep } from '../../helpers/wait';

/** A test probe: its run, and a judge that finds nothing wrong unless the test gives one. */
function probeOf(name: string, run: Probe['run'], extra: Partial<Probe> = {}): Probe {
  return { name, source: name === 'arp' ? 'arp_probe' : name === 'vip' ? 'vip_probe' : 'nginx_probe', run, judge: () => undefined, ...extra };
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function setup(probe: Probe, o: { intervalMs?: number; schedule?: string; timeoutMs?: number; cron?: CronScheduler; runAtStart?: boolean } = {}) {
  const clock = new FakeClock();
  const events: NodeEvent[] = [];
  let cpu = 0;
  const sched = new ProbeScheduler(
    [{ probe, intervalMs: o.intervalMs ?? 1000, schedule: o.schedule, timeoutMs: o.timeoutMs ?? 500, runAtStart: o.runAtStart }],
    {
      clock,
      log: silentLogger(),
      emit: (ev) => events.push(ev),
      cron: o.cron,
      monotonicNow: () => clock.now(),
      // Every reading adds 2 ms of CPU: a run that starts and ends costs 2 ms.
      cpuUsage: (prev) => {
        cpu += 2000;
        return prev ? { user: cpu - prev.user, system: 0 } : { user: cpu, system: 0 };
      },
    },
  );
  const runs = () => events.filter((e): e is ProbeRunEvent => e.kind === 'probe_run');
  return { clock, events, sched, runs };
}

describe('ProbeScheduler', () => {
  test('runs at start and on every interval, with duration and CPU', async () => {
    let n = 0;
    const probe = probeOf('nginx_status', async () => {
      n++;
      return [{ kind: 'nginx_status', source: 'nginx_probe', at: 0, up: true }];
    });
    const { clock, sched, runs, events } = setup(probe);
    await sched.start();
    await flush();
    expect(n).toBe(1);
    clock.advance(1000);
    await flush();
    clock.advance(1000);
    await flush();
    expect(n).toBe(3);
    expect(runs()).toHaveLength(3);
    expect(runs()[0]).toMatchObject({ probe: 'nginx_status', ok: true, source: 'nginx_probe', durationMs: 0, cpuMs: 2, overlapSkips: 0 });
    expect(events.filter((e) => e.kind === 'nginx_status')).toHaveLength(3);
    await sched.stop();
    expect(clock.pending()).toBe(0);
  });

  test('never overlaps itself: due runs while one is going are skipped and counted', async () => {
    const gates: Array<ReturnType<typeof deferred<NodeEvent[]>>> = [];
    const probe = probeOf('vip', () => {
      const d = deferred<NodeEvent[]>();
      gates.push(d);
      return d.promise;
    });
    const { clock, sched, runs } = setup(probe, { intervalMs: 100, timeoutMs: 10_000 });
    await sched.start();
    expect(gates).toHaveLength(1);
    clock.advance(350); // three due times pass while the first run hangs
    await flush();
    expect(gates).toHaveLength(1);
    expect(sched.skipped('vip')).toBe(3);
    gates[0].resolve([]);
    await flush();
    expect(runs()).toHaveLength(1);
    expect(runs()[0]).toMatchObject({ ok: true, overlapSkips: 3, durationMs: 350 });
    clock.advance(100);
    await flush();
    expect(gates).toHaveLength(2);
    gates[1].resolve([]);
    await sched.stop();
  });

  test('a timeout aborts the signal and is a failed result at once, not an exception', async () => {
    let seen: AbortSignal | undefined;
    const probe = probeOf('nginx_health', (signal) => {
      seen = signal;
      return new Promise((_res, rej) => signal.addEventListener('abort', () => rej(signal.reason)));
    });
    const { clock, sched, runs } = setup(probe, { intervalMs: 5000, timeoutMs: 300 });
    await sched.start();
    clock.advance(299);
    await flush();
    expect(runs()).toHaveLength(0);
    clock.advance(1);
    await flush();
    expect(seen?.aborted).toBe(true);
    expect(runs()).toHaveLength(1);
    expect(runs()[0]).toMatchObject({ ok: false, reason: 'timed out after 300 ms', durationMs: 300 });
    await sched.stop();
  });

  test('a probe that ignores its signal blocks only itself; its late events still count, one result', async () => {
    const d = deferred<NodeEvent[]>();
    const probe = probeOf('nginx_config', () => d.promise);
    const { clock, sched, runs, events } = setup(probe, { intervalMs: 1000, timeoutMs: 200 });
    await sched.start();
    clock.advance(1500);
    await flush();
    expect(runs()).toEqual([expect.objectContaining({ ok: false, reason: 'timed out after 200 ms' })]);
    expect(sched.skipped('nginx_config')).toBe(1);
    d.resolve([{ kind: 'nginx_config', source: 'nginx_probe', at: 1, valid: true, hash: 'x' }]);
    await flush();
    expect(runs()).toHaveLength(1);
    expect(events.some((e) => e.kind === 'nginx_config')).toBe(true);
    await sched.stop();
  });

  test('a thrown error (sync or async) becomes ok:false with the reason', async () => {
    let i = 0;
    const probe = probeOf('arp', () => {
      i++;
      if (i === 1) throw new Error('sync boom');
      return Promise.reject(new Error('async boom'));
    });
    const { clock, sched, runs } = setup(probe);
    await sched.start();
    await flush();
    clock.advance(1000);
    await flush();
    expect(runs().map((r) => [r.ok, r.reason, r.source])).toEqual([
      [false, 'sync boom', 'arp_probe'],
      [false, 'async boom', 'arp_probe'],
    ]);
    await sched.stop();
  });

  test("the probe's own judge decides: its reason fails the run, a throw in it too, nothing is success", async () => {
    const verdicts = ['connect ECONNREFUSED 127.0.0.1:80', undefined, 'boom'];
    let i = 0;
    const probe = probeOf('nginx_status', async () => [{ kind: 'nginx_status', source: 'nginx_probe', at: 0, up: false, reason: 'whatever the probe says' }], {
      judge: () => {
        const v = verdicts[i++];
        if (v === 'boom') throw new Error('boom');
        return v;
      },
    });
    const { clock, sched, runs } = setup(probe);
    await sched.start();
    await flush();
    clock.advance(1000);
    await flush();
    clock.advance(1000);
    await flush();
    expect(runs().map((r) => [r.ok, r.reason])).toEqual([
      [false, 'connect ECONNREFUSED 127.0.0.1:80'],
      [true, undefined],
      [false, 'judging the result failed: boom'],
    ]);
    await sched.stop();
  });

  test('trigger runs at once, or once more right after a running run', async () => {
    const gates: Array<ReturnType<typeof deferred<NodeEvent[]>>> = [];
    const probe = probeOf('nginx_config', () => {
      const d = deferred<NodeEvent[]>();
      gates.push(d);
      return d.promise;
    });
    const { sched } = setup(probe, { schedule: '*/5 * * * *', cron: { schedule: () => ({ stop() {} }) }, runAtStart: false });
    await sched.start();
    expect(gates).toHaveLength(0);
    expect(sched.trigger('nginx_config')).toBe(true);
    expect(gates).toHaveLength(1);
    sched.trigger('nginx_config');
    sched.trigger('nginx_config');
    expect(gates).toHaveLength(1);
    gates[0].resolve([]);
    await flush();
    expect(gates).toHaveLength(2); // one rerun, however many triggers came in
    gates[1].resolve([]);
    await flush();
    expect(gates).toHaveLength(2);
    expect(sched.trigger('nope')).toBe(false);
    await sched.stop();
  });

  test('a probe may ask for an early run after a finding; the interval goes on; stop cancels it', async () => {
    let n = 0;
    let found = true;
    const probe = probeOf(
      'arp',
      async () => {
        n++;
        return [{ kind: 'vip_duplicate', source: 'arp_probe', at: 0, vip: '192.0.2.100', duplicate: found }];
      },
      { followUpMs: (evs) => (evs.some((e) => e.kind === 'vip_duplicate' && e.duplicate) ? 300 : undefined) },
    );
    const { clock, sched } = setup(probe, { intervalMs: 10_000 });
    await sched.start();
    await flush();
    expect(n).toBe(1);
    clock.advance(299);
    await flush();
    expect(n).toBe(1);
    clock.advance(1);
    await flush();
    expect(n).toBe(2); // the follow-up, 300 ms after the finding
    found = false;
    clock.advance(300);
    await flush();
    expect(n).toBe(3); // the second run still found it: one more follow-up, which finds nothing
    clock.advance(5_000);
    await flush();
    expect(n).toBe(3); // no more follow-ups once the finding is gone
    clock.advance(4_400);
    await flush();
    expect(n).toBe(4); // the regular interval, unchanged
    found = true;
    clock.advance(10_000);
    await flush();
    expect(n).toBe(5);
    await sched.stop();
    clock.advance(1_000);
    await flush();
    expect(n).toBe(5); // stopped: the pending follow-up never runs
  });

  test('cron schedule through node-cron, for real (every second)', async () => {
    let n = 0;
    const probe = probeOf('nginx_config', async () => {
      n++;
      return [];
    });
    const sched = new ProbeScheduler([{ probe, schedule: '* * * * * *', timeoutMs: 500, runAtStart: false }], {
      clock: new FakeClock(),
      log: silentLogger(),
      emit: () => undefined,
    });
    await sched.start();
    await sleep(2300);
    await sched.stop();
    const after = n;
    expect(after).toBeGreaterThanOrEqual(1);
    await sleep(1200);
    expect(n).toBe(after); // stopped means stopped
  });

  test('bad schedules are refused when built', () => {
    const probe = probeOf('x', async () => []);
    const mk = (o: object) => () => new ProbeScheduler([{ probe, timeoutMs: 1, ...o }], { clock: new FakeClock(), log: silentLogger(), emit: () => undefined });
    expect(mk({ schedule: 'every minute' })).toThrow(/invalid cron schedule "every minute"/);
    expect(mk({})).toThrow(/needs an interval or a schedule/);
  });
});
