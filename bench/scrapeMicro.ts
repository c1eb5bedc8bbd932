// In-process scrape cost (no HTTP, no lab): the agent's full collector set over a store holding
// N instances with counters, timing Daemon.scrape(). Shows where /metrics time goes (with
// --cpu-prof) and guards the hot path's before/after figures.
// Run: npx tsx bench/scrapeMicro.ts [--instances=16] [--iterations=2000]
import { startInProcessAgent, healthyMasterEvents } from '../test/helpers/inProcessAgent';
import { VRRP_COUNTER_NAMES } from '../agent/state/types';
import { fmt, opt, percentile, writeResult } from './lib';

export interface MicroResult { instances: number; bytes: number; unchangedMeanUs: number; unchangedP99Us: number; changedMeanUs: number; changedP99Us: number }

/** unchanged: scrapes back to back (what a scrape flood sees); changed: a store event before each
 *  scrape (a counters update, as the dumps bring every few seconds), so everything is rebuilt. */
export async function scrapeMicro(instances: number, iterations: number): Promise<MicroResult> {
  const agent = await startInProcessAgent();
  try {
    const at = Date.now();
    for (const ev of healthyMasterEvents(at)) agent.apply(ev);
    for (let k = 2; k <= instances; k++) {
      const iname = `VI_X${k}`;
      agent.apply({ kind: 'instance', at, source: 'dbus', key: { iname, intf: 'eth0', vrid: k, family: 'IPv4' }, vips: [`192.0.2.${100 + (k % 150)}`], priority: 150, advertIntervalMs: 1000 });
      agent.apply({ kind: 'transition', at, source: 'dbus', iname, state: 'BACKUP', priority: 150 });
    }
    for (let k = 1; k <= instances; k++) {
      const counters = Object.fromEntries(VRRP_COUNTER_NAMES.map((n, i) => [n, 1000 + i * k]));
      agent.apply({ kind: 'counters', at, source: 'dumps', iname: k === 1 ? 'VI_1' : `VI_X${k}`, counters });
    }
    let bytes = 0;
    for (let i = 0; i < 200; i++) bytes = Buffer.byteLength((await agent.daemon.scrape()).body); // warm-up
    const run = async (change: boolean) => {
      const times: number[] = [];
      for (let i = 0; i < iterations; i++) {
        if (change) agent.apply({ kind: 'counters', at, source: 'dumps', iname: 'VI_1', counters: { advertisements_sent: 5000 + i } });
        const t0 = performance.now();
        await agent.daemon.scrape();
        times.push((performance.now() - t0) * 1000);
      }
      return { mean: times.reduce((a, b) => a + b, 0) / times.length, p99: percentile(times, 99) };
    };
    const u = await run(false);
    const c = await run(true);
    return { instances, bytes, unchangedMeanUs: u.mean, unchangedP99Us: u.p99, changedMeanUs: c.mean, changedP99Us: c.p99 };
  } finally {
    await agent.stop();
  }
}

if (require.main === module) {
  (async () => {
    const sizes = opt('instances', '1,16,255').split(',').map(Number);
    const iterations = opt('iterations', 2000);
    const rows = [];
    for (const n of sizes) {
      const r = await scrapeMicro(n, iterations);
      rows.push(r);
      console.log(`${n} instance(s): ${r.bytes} bytes; scrape (${iterations} in-process) unchanged store: mean ${fmt(r.unchangedMeanUs, 0)} us, p99 ${fmt(r.unchangedP99Us, 0)} us; changed store: mean ${fmt(r.changedMeanUs, 0)} us, p99 ${fmt(r.changedP99Us, 0)} us`);
    }
    writeResult('scrapeMicro', { options: { sizes, iterations }, rows }, { options: { sizes, iterations }, rows });
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
