import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../../agent/config/load';
import { systemClock } from '../../../agent/context';
import { silentLogger } from '../../../agent/logger';
import type { WiringCtx } from '../../../agent/module';
import { NodeStore } from '../../../agent/state/store';
import { fifoLogModule } from '../../../agent/wiring/fifoLog';
import { sleep } from '../../helpers/wait';

test('fifo_log module: builds the sources the config names, and they feed the store', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-fifolog-'));
  try {
    const fifo = path.join(dir, 'notify.fifo');
    const log = path.join(dir, 'keepalived.log');
    const config = parseConfig(`node: n1\nkeepalived:\n  notify_fifo: ${fifo}\n  log: ${log}\n  state_dir: ${dir}/state\n`);
    const store = new NodeStore('n1', systemClock);
    const w = { config, store, clock: systemClock, log: silentLogger() } as unknown as WiringCtx;
    const mod = await fifoLogModule.build(w);
    expect(mod.components?.map((c) => c.name)).toEqual(['fifo', 'log']);
    for (const c of mod.components ?? []) await c.start();
    try {
      expect(fs.statSync(fifo).isFIFO()).toBe(true);
      expect(store.state.sources.fifo?.up).toBe(true);
      expect(store.state.sources.log).toMatchObject({ up: false, error: expect.stringMatching(/does not exist/) });
      const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
      fs.writeSync(fd, 'INSTANCE "VI_1" MASTER 150\n');
      fs.closeSync(fd);
      const end = Date.now() + 5000;
      while (store.state.instances.VI_1?.state !== 'MASTER' && Date.now() < end) await sleep(10);
      expect(store.state.instances.VI_1).toMatchObject({ state: 'MASTER', source: 'fifo', effectivePriority: 150 });
    } finally {
      for (const c of mod.components ?? []) await c.stop();
    }
    expect(fifoLogModule.slice(config)).toEqual({ fifo, log, state_dir: `${dir}/state` });
    const none = await fifoLogModule.build({ ...w, config: parseConfig('node: n1\n') } as WiringCtx);
    expect(none.components).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
