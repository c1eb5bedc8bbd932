// Scrapes one /metrics URL the way Prometheus does, for bench/scrapeCost.ts: Prometheus's Accept
// and Accept-Encoding headers, one kept-alive connection, scrapes spaced apart (a 15 s cadence
// compressed: what matters is what happened in between). Before each scrape it can make a store
// change in the agent (a line written to its notify FIFO, as keepalived writes them), so the
// answer cannot be the one kept from the scrape before: what every 15 s scrape meets, since the
// probes and dumps change the store every few seconds. Runs inside the node's network namespace
// (node.exec), on 127.0.0.1, and prints one JSON object.
//
// argv[2]: JSON { url, pids, count, gapMs, settleMs, fifo?, fifoLine?, changeMetric? }
//   pids: the processes serving the scrape (the exporter, and nginx's for the nginx exporter's
//   live scrape), whose on-CPU time (/proc/<pid>/task/*/schedstat, nanoseconds, all threads) is
//   read just before each request and just after its answer ends.
//   changeMetric: a counter read from each answer (uncompressed only) to show the change was seen.
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const zlib = require('node:zlib');

const cfg = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** On-CPU nanoseconds of every thread of pid (schedstat's first field: exact, not 10 ms ticks). */
function cpuNs(pid) {
  let sum = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      sum += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch { /* a thread that ended */ }
  }
  return sum;
}

// Prometheus 2.x's scrape request headers.
const HEADERS = {
  Accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  'Accept-Encoding': 'gzip',
  'X-Prometheus-Scrape-Timeout-Seconds': '10',
  'User-Agent': 'Prometheus/2.42.0',
};
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: HEADERS, timeout: 10_000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, wire: Buffer.concat(chunks), gzip: res.headers['content-encoding'] === 'gzip' }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function change() {
  const fd = fs.openSync(cfg.fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  try { fs.writeSync(fd, `${cfg.fifoLine}\n`); } finally { fs.closeSync(fd); }
}

function counter(text, name) {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

(async () => {
  await get(cfg.url); // the connection opened, as Prometheus keeps it between scrapes
  const scrapes = [];
  for (let i = 0; i < cfg.count; i++) {
    await sleep(cfg.gapMs);
    if (cfg.fifo) change();
    await sleep(cfg.settleMs);
    const c0 = cfg.pids.map(cpuNs);
    const t0 = process.hrtime.bigint();
    const r = await get(cfg.url);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpuByPidMs = cfg.pids.map((p, k) => (cpuNs(p) - c0[k]) / 1e6);
    const cpuMs = cpuByPidMs.reduce((a, b) => a + b, 0);
    if (r.status !== 200) throw new Error(`${cfg.url}: HTTP ${r.status}`);
    const text = r.gzip ? zlib.gunzipSync(r.wire).toString('utf8') : r.wire.toString('utf8');
    scrapes.push({ ms, cpuMs, cpuByPidMs, wireBytes: r.wire.length, bytes: Buffer.byteLength(text), gzip: r.gzip, change: cfg.changeMetric ? counter(text, cfg.changeMetric) : null });
  }
  agent.destroy();
  process.stdout.write(JSON.stringify({ scrapes }) + '\n');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
