// Preloaded into the agent by the benchmarks (NODE_OPTIONS=--require, since --cpu-prof is not
// allowed in NODE_OPTIONS): starts the V8 CPU profiler at once and writes a .cpuprofile to
// $KW_CPU_PROF_DIR each time the process gets SIGUSR2 (then profiles on, for the next one).
'use strict';
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.KW_CPU_PROF_DIR || '/tmp';
const session = new inspector.Session();
session.connect();
let n = 0;
function start() {
  session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')));
}
start();
process.on('SIGUSR2', () => {
  session.post('Profiler.stop', (err, res) => {
    if (!err) {
      const file = path.join(dir, `keepwatch-${process.pid}-${++n}.cpuprofile`);
      fs.writeFileSync(file, JSON.stringify(res.profile));
      process.stderr.write(`cpu profile written: ${file}\n`);
    }
    start();
  });
});
