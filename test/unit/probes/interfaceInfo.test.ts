// Interface metadata for /api/v1/interfaces: systeminformation for real, in one long-lived worker
// thread so the agent's loop stays free; one read shared by concurrent requests; cached for maxAgeMs.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { FakeClock } from '../../helpers/fakeClock';
import { createInterfaceInfo, workerInterfaceReader, type InterfaceData } from '../../../agent/probes/interfaceInfo';

const lo: InterfaceData = { iface: 'lo', mac: '00:00:00:00:00:00', operstate: 'unknown', speed: null, mtu: 65536, type: 'virtual', virtual: true, ip4: '127.0.0.1', ip6: '::1' };

describe('interface info', () => {
  test('concurrent requests share one read; the result is served from cache until maxAgeMs, then read again', async () => {
    const clock = new FakeClock();
    let reads = 0;
    let release: () => void = () => undefined;
    const info = createInterfaceInfo({
      clock,
      maxAgeMs: 10_000,
      read: () => {
        reads++;
        return new Promise((r) => (release = () => r([lo])));
      },
    });
    const a = info.get();
    const b = info.get();
    release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(reads).toBe(1);
    expect(ra).toBe(rb);
    expect(ra.interfaces).toEqual([lo]);
    clock.advance(10_000);
    await info.get();
    expect(reads).toBe(1);
    clock.advance(1);
    const c = info.get();
    release();
    await c;
    expect(reads).toBe(2);
  });

  test('a failed read is not cached: the next request reads again', async () => {
    const clock = new FakeClock();
    let reads = 0;
    const info = createInterfaceInfo({ clock, read: async () => (++reads === 1 ? Promise.reject(new Error('boom')) : [lo]) });
    await expect(info.get()).rejects.toThrow('boom');
    await expect(info.get()).resolves.toMatchObject({ interfaces: [lo] });
    expect(reads).toBe(2);
  });

  test('the worker reader runs systeminformation for real (in a worker thread): loopback is listed with its metadata', async () => {
    const reader = workerInterfaceReader();
    try {
      const list = await reader.read();
      expect(list.find((i) => i.iface === 'lo')).toMatchObject({ iface: 'lo', ip4: '127.0.0.1' });
    } finally {
      await reader.close();
    }
  }, 30_000);
});

/** A stand-in for the worker's code: answers with its thread id and how many requests it got;
 *  request 'hang' is never answered, 'exit' ends the thread. */
const probeCode = (behaviour: Record<number, 'hang' | 'exit'> = {}) => `
  const { parentPort, threadId } = require('node:worker_threads');
  const behaviour = ${JSON.stringify(behaviour)};
  let n = 0;
  parentPort.on('message', ({ id }) => {
    n++;
    if (behaviour[id] === 'hang') return;
    if (behaviour[id] === 'exit') process.exit(3);
    setTimeout(() => parentPort.postMessage({ id, ok: true, list: [{ iface: threadId + ':' + n }] }), 20);
  });`;

describe('the long-lived interface worker', () => {
  test('one thread answers every read; reads while one is in flight share it', async () => {
    const reader = workerInterfaceReader({ code: probeCode() });
    try {
      const [a, b] = await Promise.all([reader.read(), reader.read()]);
      expect(a).toBe(b);
      const [thread, n] = a[0].iface.split(':');
      expect(n).toBe('1');
      const c = await reader.read();
      expect(c[0].iface).toBe(`${thread}:2`);
    } finally {
      await reader.close();
    }
  });

  test('a read with no answer in time fails, and the next read gets a new thread', async () => {
    const reader = workerInterfaceReader({ timeoutMs: 300, code: probeCode({ 1: 'hang' }) });
    try {
      await expect(reader.read()).rejects.toThrow('no answer within 300 ms');
      const [thread, n] = (await reader.read())[0].iface.split(':');
      // A fresh thread: the hung one got a request too, so it would count 2.
      expect(n).toBe('1');
      expect(thread).not.toBe('');
    } finally {
      await reader.close();
    }
  });

  test('a thread idle for idleMs is ended; the next read starts another', async () => {
    const reader = workerInterfaceReader({ idleMs: 200, code: probeCode() });
    try {
      const [first] = (await reader.read())[0].iface.split(':');
      expect((await reader.read())[0].iface).toBe(`${first}:2`);
      await new Promise((r) => setTimeout(r, 600));
      const [thread, n] = (await reader.read())[0].iface.split(':');
      expect(thread).not.toBe(first);
      expect(n).toBe('1');
    } finally {
      await reader.close();
    }
  });

  test('a thread that dies fails its read; the next read restarts it', async () => {
    const reader = workerInterfaceReader({ code: probeCode({ 1: 'exit' }) });
    try {
      await expect(reader.read()).rejects.toThrow('worker exited (code 3)');
      expect((await reader.read())[0].iface).toMatch(/^\d+:1$/);
    } finally {
      await reader.close();
    }
  });

  test('close() fails the read in flight and every later one', async () => {
    const reader = workerInterfaceReader({ code: probeCode({ 1: 'hang' }) });
    const failed = expect(reader.read()).rejects.toThrow('stopped');
    await reader.close();
    await failed;
    await expect(reader.read()).rejects.toThrow('stopped');
  });

  test('the thread never holds the process open: a process that read once and never closed exits', () => {
    const mod = join(__dirname, '../../../agent/probes/interfaceInfo.ts');
    const script = `require(${JSON.stringify(mod)}).workerInterfaceReader().read().then((l) => console.log('read', l.length))`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal).toBeNull(); // not killed by the timeout: it ended on its own
    expect(r.stdout).toMatch(/^read \d+/);
    expect(r.status).toBe(0);
  }, 30_000);
});
