/**
 * Simulated convergence at scale, the routing core's benchmark: random geometric meshes of 100, 250,
 * 500 and 1000 real @bmx7/core engines in one process on virtual time. Prints one JSON object per
 * mesh: virtual time to full convergence, wall time, CPU seconds per node per minute of protocol
 * time, heap per node.
 *
 *   pnpm bench sim                 all sizes
 *   pnpm bench sim -- --sizes=100,250 --steady=60000 --timeout=240000 --progress
 *
 * 1000 nodes need a large heap: NODE_OPTIONS=--max-old-space-size=20000 pnpm bench sim.
 */
import { cpuUsage, memoryUsage } from 'node:process';
import { createEngine, type Engine } from '@bmx7/core';
import { createSimulation, type EngineFactory, type SimInstance, testRsaKey } from '@bmx7/testkit';

interface BmxInstance extends SimInstance {
  engine: Engine;
}

const factory: EngineFactory<BmxInstance> = (name, components) => {
  const engine = createEngine({
    nodeKey: testRsaKey(`node:${name}`),
    linkRsaKeyMaterial: testRsaKey(`link:${name}`),
    hostname: name,
  })(components);
  return { engine, primaryAddress: engine.primaryIp };
};

const arg = process.argv.find((a) => a.startsWith('--sizes='));
const sizes = arg ? arg.slice(8).split(',').map(Number) : [100, 250, 500, 1000];
// radius for an average degree of about 8 in the unit square: π r² n ≈ 8
const steadyArg = process.argv.find((a) => a.startsWith('--steady='));
const steadyMs = steadyArg ? Number(steadyArg.slice(9)) : 60_000;
const progress = process.argv.includes('--progress');
const timeoutArg = process.argv.find((a) => a.startsWith('--timeout='));
const timeoutMs = timeoutArg ? Number(timeoutArg.slice(10)) : 240_000;
const radiusFor = (n: number) => Math.sqrt(8 / (Math.PI * n));

for (const n of sizes) {
  // keys first (cached on disk by the testkit), so key generation is not measured
  for (let i = 0; i < n; i++) {
    testRsaKey(`node:m${i}`);
    testRsaKey(`link:m${i}`);
  }
  global.gc?.();
  const heap0 = memoryUsage().heapUsed;
  // the route twins keep no change log: at 1000 nodes it would hold millions of entries
  const sim = createSimulation({ seed: `bench-${n}`, engineFactory: factory, maxRouteChanges: 0 });
  const topo = sim.randomGeometric(n, radiusFor(n), `topo-${n}`, { prefix: 'm' });
  const wall0 = performance.now();
  const cpu0 = cpuUsage();
  sim.start();
  let convergedMs: number | null = null;
  let routedShare = 0;
  try {
    // every second of protocol time (as waitConverged polls): the share of node pairs with a
    // route; on stderr every 5 s with --progress
    const t0 = sim.clock.now();
    const pairs = n * (n - 1);
    for (let step = 0; ; step++) {
      let routed = 0;
      for (const x of sim.nodes()) routed += sim.routesOf(x).length;
      routedShare = routed / pairs;
      const full = routed >= pairs;
      const done = full || sim.clock.now() - t0 >= timeoutMs;
      if (progress && (step % 5 === 0 || done))
        console.error(
          JSON.stringify({
            nodes: n,
            virtualMs: Math.round(sim.clock.now() - t0),
            wallMs: Math.round(performance.now() - wall0),
            routedPairs: Number(routedShare.toFixed(4)),
            heapMB: Math.round(memoryUsage().heapUsed / 1e6),
          }),
        );
      if (full) {
        // every pair routed: convergence as the tests define it (every node reaches every other)
        convergedMs = sim.waitConverged({ timeoutMs: 10_000, pollMs: 1_000, consistent: false });
        break;
      }
      if (done) break;
      sim.run(1_000);
    }
  } catch (e) {
    convergedMs = null;
    console.error(String(e).slice(0, 500));
  }
  const virt = sim.clock.now();
  const cpu = cpuUsage(cpu0);
  const wall = performance.now() - wall0;
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  // steady state: one more protocol minute after convergence
  const cpu1 = cpuUsage();
  const wall1 = performance.now();
  if (convergedMs !== null) sim.run(steadyMs);
  const cpuSteady = cpuUsage(cpu1);
  const wallSteady = performance.now() - wall1;
  const steadyReachable = sim.fullyReachable();
  global.gc?.();
  const heap = memoryUsage().heapUsed - heap0;
  let loopFree = true;
  try {
    sim.assertLoopFree({ allowDeadEnds: true });
  } catch {
    loopFree = false;
  }
  console.log(
    JSON.stringify({
      bench: 'sim',
      nodes: n,
      edges: topo.edges.length,
      converged: convergedMs !== null,
      routedPairs: Number(routedShare.toFixed(5)),
      convergenceVirtualMs: convergedMs === null ? null : Math.round(convergedMs),
      virtualMs: Math.round(virt),
      wallMs: Math.round(wall),
      cpuSecPerNodePerProtocolMinute: Number((cpuSec / n / (virt / 60_000)).toFixed(4)),
      steadyWallMs: Math.round(wallSteady),
      steadyCpuSecPerNodePerProtocolMinute: Number(
        ((cpuSteady.user + cpuSteady.system) / 1e6 / n / (steadyMs / 60_000)).toFixed(4),
      ),
      steadyReachable,
      heapBytesPerNode: Math.round(heap / n),
      loopFree,
    }),
  );
  sim.stopAll();
}
