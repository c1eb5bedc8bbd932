import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeClock } from '../../helpers/fakeClock';
import { silentLogger } from '../../../agent/logger';
import { NodeStore } from '../../../agent/state/store';
import { KeepalivedConfSource } from '../../../agent/keepalived/confSource';

describe('KeepalivedConfSource', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-confsrc-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const conf = (vip: string, extra = '') => `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n virtual_ipaddress {\n  ${vip}/24\n }\n${extra}}\n`;

  test('fills the store at start; re-reads on keepalived up and on file change; an error counts once', async () => {
    const file = path.join(dir, 'keepalived.conf');
    fs.writeFileSync(file, conf('192.0.2.100', ' priority high\n'));
    const clock = new FakeClock();
    const store = new NodeStore('n1', clock);
    const src = new KeepalivedConfSource({ path: file, store, clock, log: silentLogger(), checkIntervalMs: 1000 });
    await src.start();
    expect(store.state.instances.VI_1).toMatchObject({ vrid: 51, intf: 'eth0', vips: ['192.0.2.100'], advertIntervalMs: 1000, authType: 'NONE' });
    expect(store.state.sources.keepalived_conf).toMatchObject({ up: true, parseErrors: 1 });
    expect(src.current()?.issues.map((i) => `${path.basename(i.file)}:${i.line}: ${i.message}`)).toEqual(['keepalived.conf:8: priority must be an integer 1-255, got "high"']);

    store.apply({ kind: 'keepalived', source: 'dbus', at: clock.now(), up: true });
    expect(store.state.sources.keepalived_conf?.parseErrors).toBe(1); // re-read, same problem not counted again

    fs.writeFileSync(file, conf('192.0.2.101'));
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    clock.advance(1000);
    expect(store.state.instances.VI_1.vips).toEqual(['192.0.2.101']);
    expect(src.current()?.issues).toEqual([]);
    expect(src.current()?.instances[0].vips[0].address).toBe('192.0.2.101');
    await src.stop();
    expect(clock.pending()).toBe(0);
  });
});
