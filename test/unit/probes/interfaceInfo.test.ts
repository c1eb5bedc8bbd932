// Interface metadata for /api/v1/interfaces: systeminformation for real, in a worker thread so
// the agent's loop stays free; one read shared by concurrent requests; cached for maxAgeMs.
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
    const list = await workerInterfaceReader()();
    expect(list.find((i) => i.iface === 'lo')).toMatchObject({ iface: 'lo', ip4: '127.0.0.1' });
  }, 30_000);
});
