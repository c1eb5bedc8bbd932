import * as fs from 'node:fs';
import * as path from 'node:path';
import { FakeClock } from '../../helpers/fakeClock';
import { silentLogger } from '../../../agent/logger';
import { NodeStore } from '../../../agent/state/store';
import { ArpProbe, IPV6_UNSUPPORTED } from '../../../agent/probes/arpProbe';
import type { CommandResult, CommandRunner } from '../../../agent/probes/runCommand';
import type { VipDuplicateEvent } from '../../../agent/state/types';
import pino from 'pino';

const FIX = path.join(__dirname, '../../fixtures/probes');

function fixtureRun(file: string): CommandResult {
  const lines = fs.readFileSync(path.join(FIX, file), 'utf8').trimEnd().split('\n');
  const code = Number(/^exit (\d+)$/.exec(lines.pop() as string)![1]);
  const isErr = (l: string) => l.startsWith('arping:');
  return { code, signal: null, stdout: lines.filter((l) => !isErr(l)).join('\n'), stderr: lines.filter(isErr).join('\n'), truncated: false };
}

function holding(clock: FakeClock, vips: Array<[string, string | null]>) {
  const store = new NodeStore('n1', clock);
  store.apply({ kind: 'vip', source: 'vip_probe', at: 1, vips: vips.map(([vip, intf]) => ({ iname: 'VI_1', vip, intf })) });
  return store;
}

describe('ArpProbe', () => {
  test('probes only VIPs held here, with arping -D on their device; answer -> duplicate with the MAC', async () => {
    const clock = new FakeClock();
    const store = holding(clock, [['192.0.2.100', 'eth0'], ['192.0.2.101', null], ['192.0.2.102', 'eth1']]);
    const calls: string[][] = [];
    const run: CommandRunner = async (argv) => {
      calls.push(argv);
      return fixtureRun(argv.at(-1) === '192.0.2.100' ? 'arping-answered.txt' : 'arping-unanswered.txt');
    };
    const p = new ArpProbe({ store, clock, log: silentLogger(), run, ownMacs: () => new Set(['76:44:a9:c0:fb:a9']) });
    const evs = (await p.run(new AbortController().signal)) as VipDuplicateEvent[];
    expect(calls).toEqual([
      ['arping', '-D', '-c', '2', '-w', '2', '-I', 'eth0', '192.0.2.100'],
      ['arping', '-D', '-c', '2', '-w', '2', '-I', 'eth1', '192.0.2.102'],
    ]);
    expect(evs.map((e) => [e.vip, e.duplicate, e.mac, e.error])).toEqual([
      ['192.0.2.100', true, 'a2:91:7f:ee:ba:bb', undefined],
      ['192.0.2.102', false, undefined, undefined],
    ]);
    expect(p.judge(evs)).toBeUndefined();
    for (const e of evs) store.apply(e);
    expect(store.state.vips['VI_1|192.0.2.100'].duplicate).toMatchObject({ duplicate: true, mac: 'a2:91:7f:ee:ba:bb' });
  });

  test("another host answers: the addresses this node's neighbour table knows its MAC by (not the VIP's own), none when the table cannot be read", async () => {
    const clock = new FakeClock();
    const table = ['IP address       HW type     Flags       HW address            Mask     Device', '192.0.2.11       0x1         0x2         a2:91:7f:ee:ba:bb     *        eth0', '192.0.2.100      0x1         0x2         a2:91:7f:ee:ba:bb     *        eth0'].join('\n');
    const probe = (readNeighbours: () => string) =>
      new ArpProbe({ store: holding(clock, [['192.0.2.100', 'eth0']]), clock, log: silentLogger(), run: async () => fixtureRun('arping-answered.txt'), ownMacs: () => new Set(), readNeighbours });
    const [ev] = (await probe(() => table).run(new AbortController().signal)) as VipDuplicateEvent[];
    expect(ev).toMatchObject({ duplicate: true, mac: 'a2:91:7f:ee:ba:bb', macAddresses: ['192.0.2.11'] });
    const store = holding(clock, [['192.0.2.100', 'eth0']]);
    store.apply(ev);
    expect(store.state.vips['VI_1|192.0.2.100'].duplicate?.macAddresses).toEqual(['192.0.2.11']);
    const [blind] = (await probe(() => { throw new Error('ENOENT'); }).run(new AbortController().signal)) as VipDuplicateEvent[];
    expect(blind).toMatchObject({ duplicate: true, mac: 'a2:91:7f:ee:ba:bb' });
    expect(blind.macAddresses).toBeUndefined();
  });

  test('an answer from our own MAC (VMAC interface) is not a duplicate', async () => {
    const clock = new FakeClock();
    const p = new ArpProbe({ store: holding(clock, [['192.0.2.100', 'eth0']]), clock, log: silentLogger(), run: async () => fixtureRun('arping-answered.txt'), ownMacs: () => new Set(['a2:91:7f:ee:ba:bb']) });
    expect(await p.run(new AbortController().signal)).toEqual([{ kind: 'vip_duplicate', source: 'arp_probe', at: clock.now(), vip: '192.0.2.100', duplicate: false }]);
  });

  test('no CAP_NET_RAW / arping missing: an error saying so on every result, logged once; the run fails', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const log = pino({ level: 'error' }, { write: (s: string) => void lines.push(s) });
    const store = holding(clock, [['192.0.2.100', 'eth0'], ['192.0.2.102', 'eth0']]);
    const p = new ArpProbe({ store, clock, log, run: async () => fixtureRun('arping-no-permission.txt'), ownMacs: () => new Set() });
    const evs = (await p.run(new AbortController().signal)) as VipDuplicateEvent[];
    await p.run(new AbortController().signal);
    expect(evs.every((e) => e.error === 'arping has no permission to send raw packets: it needs CAP_NET_RAW (arping: socket: Operation not permitted)')).toBe(true);
    expect(lines).toHaveLength(1);
    expect(p.judge(evs)).toMatch(/^192\.0\.2\.100: .*CAP_NET_RAW/);

    const missing = new ArpProbe({ store, clock, log: silentLogger(), command: (d, v) => ['/nonexistent/arping', '-D', '-I', d, v], ownMacs: () => new Set() });
    const ev2 = (await missing.run(new AbortController().signal)) as VipDuplicateEvent[];
    expect(ev2[0].error).toBe('/nonexistent/arping not found: install iputils-arping');
  });

  test('IPv6 VIPs: not probed, error "not supported for IPv6", not a failed run', async () => {
    const clock = new FakeClock();
    let called = false;
    const p = new ArpProbe({ store: holding(clock, [['2001:db8::100', 'eth0']]), clock, log: silentLogger(), run: async () => { called = true; return fixtureRun('arping-unanswered.txt'); }, ownMacs: () => new Set() });
    const evs = await p.run(new AbortController().signal);
    expect(called).toBe(false);
    expect(evs).toEqual([expect.objectContaining({ vip: '2001:db8::100', duplicate: false, error: IPV6_UNSUPPORTED })]);
    expect(p.judge(evs)).toBeUndefined();
  });

  test('nothing held: nothing probed', async () => {
    const clock = new FakeClock();
    const p = new ArpProbe({ store: holding(clock, [['192.0.2.100', null]]), clock, log: silentLogger(), run: async () => { throw new Error('must not run'); } });
    expect(await p.run(new AbortController().signal)).toEqual([]);
  });
});
