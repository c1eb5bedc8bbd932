// Preloaded into the agent by bench/footprint.ts --mem-log (NODE_OPTIONS=--require): every 10 s
// appends the agent's memory after a full GC (heap used is then live data, not garbage) to
// $KW_MEM_LOG as JSON lines, to tell a leak (live heap growing) from V8 growing its heap.
'use strict';
const fs = require('node:fs');
const v8 = require('node:v8');
const vm = require('node:vm');
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const file = process.env.KW_MEM_LOG || `/tmp/keepwatch-mem-${process.pid}.jsonl`;
const t = setInterval(() => {
  gc();
  const m = process.memoryUsage();
  fs.appendFileSync(file, JSON.stringify({ at: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers }) + '\n');
}, 10_000);
t.unref();
