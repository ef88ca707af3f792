// Loaded into bmx7d by the startup benchmark (NODE_OPTIONS=--require, bench/startup/index.ts), never
// by the daemon itself. In the main thread it counts the worker threads the daemon starts and, on
// SIGUSR2, writes the V8 figures only the process itself can read to <BMX7_BENCH_PROBE>/<pid>.json.
// Node runs --require preloads in worker threads too: there it does nothing.
'use strict';
const wt = require('node:worker_threads');
const dir = process.env.BMX7_BENCH_PROBE;
if (wt.isMainThread && dir) {
  const fs = require('node:fs');
  const path = require('node:path');
  const v8 = require('node:v8');
  const workers = { started: 0, live: 0 };
  const Original = wt.Worker;
  wt.Worker = class CountedWorker extends Original {
    constructor(...args) {
      super(...args);
      workers.started++;
      workers.live++;
      this.once('exit', () => workers.live--);
    }
  };
  // ES modules importing { Worker } from node:worker_threads see the counting class too
  require('node:module').syncBuiltinESMExports();
  process.on('SIGUSR2', () => {
    const out = {
      pid: process.pid,
      memoryUsage: process.memoryUsage(),
      heap: v8.getHeapStatistics(),
      spaces: v8.getHeapSpaceStatistics(),
      workers,
    };
    const file = path.join(dir, `${process.pid}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(out));
    fs.renameSync(`${file}.tmp`, file);
  });
}
