/**
 * Startup time and memory of bmx7ctl and bmx7d: unbundled (apps/<app>/dist, after `pnpm build`)
 * against the bundle (tools/bundle.mjs, built into a temporary directory by this run), on a
 * converged mesh of 9 bmx7d daemons in network namespaces:
 *
 *   n1 ── n2 ── n3 ── n4 ── n5 ── n6 ── n7 ── n8 ── n9 ── (n1)     ring:9, every node 2 neighbours
 *   │                                                              odd nodes run the bundle,
 *   n10  the reference bmx7 (only with BMX7_REF_BIN)               even nodes apps/bmx7d/dist
 *
 * 1. Whole-process calls, `--calls` rounds (default 20) after 2 warm-up rounds, the commands of a
 *    round in turn: `node -e 0`; bmx7ctl unbundled and bundled `show originators` against n5's
 *    daemon; with BMX7_REF_BIN, the reference's own client `-c show=originators` against the
 *    reference daemon n10 (which lists the same 10 nodes). Wall time from spawn to exit seen by
 *    this process; medians, p10/p90, and each median over the median of `node -e 0`.
 * 2. bmx7d exec → first answered control request: n5's daemon is stopped and started again
 *    `--restarts` times per variant (default 20; the variants alternate, the first one alternating
 *    too), its key and descSqn kept; from the spawn (through `ip netns exec`, the same for both)
 *    until a `version` request on its socket is answered, tried every 2 ms. Medians.
 * 3. Memory, `--settle` seconds (default 60) after the mesh converged again: per daemon, from
 *    /proc/PID/status, smaps_rollup and smaps (RSS, anonymous, file-backed, the node binary's
 *    text, koffi's native module, other libraries, anonymous mappings), and from inside the
 *    process (bench/startup/probe.cjs, loaded with NODE_OPTIONS=--require: V8 heap used and total,
 *    code space, external and array buffers, worker threads started). The reference daemon's RSS
 *    beside it. A separate process measures what one worker thread like the daemon's netlink
 *    reader costs: RSS before and after starting three of them.
 *
 * One JSON object per result on stdout, a compact table on stderr. Needs root (namespaces).
 * `pnpm bench startup [-- --calls=N --restarts=N --settle=S --node-options='FLAGS']` (FLAGS: extra
 * Node options for every daemon, to compare V8 settings run against run).
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMesh, type DaemonSpec, type MeshNode } from '@bmx7/testbed';
import { fixture, netnsSkipReason } from '@bmx7/testenv/env';
import { waitFor } from '@bmx7/testenv/netns';
import { bundle } from '../../tools/bundle.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROBE = fileURLToPath(new URL('./probe.cjs', import.meta.url));
const DIST = {
  bmx7d: join(ROOT, 'apps', 'bmx7d', 'dist', 'main.js'),
  bmx7ctl: join(ROOT, 'apps', 'bmx7ctl', 'dist', 'main.js'),
};
const REF = process.env.BMX7_REF_BIN;

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  const n = a === undefined ? dflt : Number(a.slice(name.length + 3));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const CALLS = arg('calls', 20);
const RESTARTS = arg('restarts', 20);
const SETTLE_S = arg('settle', 60);
/** Extra Node options for every daemon (NODE_OPTIONS), to try V8 flags: `--node-options='--max-semi-space-size=1'`. */
const NODE_OPTS =
  process.argv.find((s) => s.startsWith('--node-options='))?.slice('--node-options='.length) ?? '';
const NODES = 9;
const TIMED = 'n5';

const emit = (o: object) => process.stdout.write(`${JSON.stringify({ bench: 'startup', ...o })}\n`);
const note = (s: string) => process.stderr.write(`startup: ${s}\n`);

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (i - lo);
}
const median = (xs: readonly number[]) => quantile(xs, 0.5);
const r2 = (x: number) => Math.round(x * 100) / 100;
const mb = (kb: number) => Math.round(kb / 102.4) / 10;

type Variant = 'unbundled' | 'bundled';

function daemonArgs(n: MeshNode): string[] {
  return [
    `runtimeDir=${n.dir}/run`,
    'nodeRsaKey=6',
    `/keyPath=${n.dir}/rsa.der`,
    `hostname=${n.name}`,
    ...n.links.map((l) => `dev=${l.iface}`),
    `descSqnPath=${n.dir}/descSqn`,
  ];
}

async function main(): Promise<void> {
  const skip = netnsSkipReason();
  if (skip) throw new Error(`needs network namespaces: ${skip}`);
  for (const f of Object.values(DIST))
    if (!existsSync(f)) throw new Error(`${f} is missing: run pnpm build first`);

  const work = mkdtempSync(join(tmpdir(), 'bmx7-bench-startup-'));
  const probeDir = join(work, 'probe');
  mkdirSync(probeDir);
  const tree = await bundle(join(work, 'tree'));
  const BUNDLE = { bmx7d: tree.bmx7d, bmx7ctl: tree.bmx7ctl };

  const edges: [number, number][] = [];
  for (let i = 1; i <= NODES; i++) edges.push([i, (i % NODES) + 1]);
  if (REF) edges.push([1, NODES + 1]);
  const mesh = createMesh({ kind: 'edges', edges }, { prefix: 'su' });
  const children = new Map<string, ChildProcess>();
  const variantOf = (name: string): Variant => (Number(name.slice(1)) % 2 === 1 ? 'bundled' : 'unbundled');
  const spec =
    (variant: Variant, probe: boolean) =>
    (n: MeshNode): DaemonSpec => {
      const opts = `${NODE_OPTS} ${probe ? `--require ${PROBE}` : ''}`.trim();
      const env: Record<string, string> = {
        ...(opts ? { NODE_OPTIONS: opts } : {}),
        ...(probe ? { BMX7_BENCH_PROBE: probeDir } : {}),
      };
      return variant === 'bundled'
        ? { cmd: BUNDLE.bmx7d, args: daemonArgs(n), env }
        : { cmd: process.execPath, args: [DIST.bmx7d, ...daemonArgs(n)], env };
    };
  const refNode = `n${NODES + 1}`;
  const sock = (name: string) => join(mesh.node(name).dir, 'run', 'sock');

  try {
    for (let i = 1; i <= NODES; i++) {
      const name = `n${i}`;
      children.set(name, mesh.start(name, spec(variantOf(name), true)));
    }
    if (REF) {
      const n = mesh.node(refNode);
      copyFileSync(fixture('keys/n1.der'), join(n.dir, 'rsa.der'));
      mkdirSync(join(n.dir, 'run'), { recursive: true });
      // the reference's order classes (docs/protocol.md §5.2); debug=0 keeps it in the foreground
      const a = daemonArgs(n);
      a.splice(1, 0, 'debug=0');
      a.splice(
        a.findIndex((x) => x.startsWith('dev=')),
        0,
        'syslog=0',
      );
      children.set(
        refNode,
        mesh.start(refNode, () => ({ cmd: 'sh', args: ['-c', 'cd "$0" && exec "$@"', n.dir, REF, ...a] })),
      );
    }
    const total = NODES + (REF ? 1 : 0);
    const converged = async (what: string) => {
      const t0 = performance.now();
      let missing = '';
      try {
        await waitFor(
          what,
          () => {
            for (let i = 1; i <= NODES; i++) {
              const run = join(mesh.node(`n${i}`).dir, 'run');
              const r = spawnSync(
                process.execPath,
                [DIST.bmx7ctl, '--runtime-dir', run, '--json', 'show', 'originators'],
                {
                  encoding: 'utf8',
                  timeout: 10_000,
                },
              );
              if (r.status !== 0) {
                missing = `n${i}: bmx7ctl exited ${r.status}: ${r.stderr.trim()}`;
                return false;
              }
              const rows = (JSON.parse(r.stdout) as { rows: { name: string; dev: string }[] }).rows;
              const routed = rows.filter((x) => x.name !== `n${i}` && x.dev !== '---');
              if (rows.length !== total || routed.length !== total - 1) {
                missing = `n${i} routes to ${routed.map((x) => x.name).join(' ') || 'none'} (${rows.length} originators)`;
                return false;
              }
            }
            if (REF) {
              // the reference's own table, as its client prints it: routed rows name a device
              const run = join(mesh.node(refNode).dir, 'run');
              const r = spawnSync(REF, [`runtimeDir=${run}`, '-c', 'show=originators'], {
                encoding: 'utf8',
                timeout: 10_000,
              });
              const [, head, ...rows] = (r.stdout ?? '').split('\n').filter((l) => l.trim());
              const dev = (head ?? '').trim().split(/\s+/).indexOf('dev');
              const routed = rows.filter((l) => (l.trim().split(/\s+/)[dev] ?? '---') !== '---');
              if (r.status !== 0 || dev < 0 || rows.length !== total || routed.length !== total - 1) {
                missing = `${refNode} (reference) lists ${rows.length} originators, ${routed.length} routed`;
                return false;
              }
            }
            return true;
          },
          { timeoutMs: 300_000, intervalMs: 1000 },
        );
      } catch (e) {
        const log = (n: string) => readFileSync(join(mesh.node(n).dir, 'daemon.log'), 'utf8').slice(-1500);
        throw new Error(
          `${(e as Error).message}: ${missing}${REF ? `\n--- ${refNode} ---\n${log(refNode)}` : ''}`,
        );
      }
      note(`${what} after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    };
    await converged('every node routes to every other');

    // 1. whole-process calls
    const calls: Record<string, { cmd: string; args: string[] }> = {
      'node -e 0': { cmd: process.execPath, args: ['-e', '0'] },
      'bmx7ctl unbundled': {
        cmd: process.execPath,
        args: [DIST.bmx7ctl, '--runtime-dir', join(mesh.node(TIMED).dir, 'run'), 'show', 'originators'],
      },
      'bmx7ctl bundled': {
        cmd: BUNDLE.bmx7ctl,
        args: ['--runtime-dir', join(mesh.node(TIMED).dir, 'run'), 'show', 'originators'],
      },
      ...(REF
        ? {
            'reference client': {
              cmd: REF,
              args: [`runtimeDir=${join(mesh.node(refNode).dir, 'run')}`, '-c', 'show=originators'],
            },
          }
        : {}),
    };
    const times = new Map<string, number[]>(Object.keys(calls).map((k) => [k, []]));
    for (let round = -2; round < CALLS; round++) {
      for (const [name, c] of Object.entries(calls)) {
        const t0 = performance.now();
        const r = spawnSync(c.cmd, c.args, { encoding: 'utf8', timeout: 20_000 });
        const ms = performance.now() - t0;
        if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
        if (name !== 'node -e 0' && (r.stdout.match(/\bfd70:/g) ?? []).length < total)
          throw new Error(`${name}: not every originator listed:\n${r.stdout}`);
        if (round >= 0) times.get(name)?.push(ms);
      }
    }
    const base = median(times.get('node -e 0') ?? []);
    const ctlRows: [string, number, number, number, number][] = [];
    for (const [name, xs] of times) {
      const m = median(xs);
      emit({
        part: 'calls',
        command: name,
        calls: xs.length,
        medianMs: r2(m),
        p10Ms: r2(quantile(xs, 0.1)),
        p90Ms: r2(quantile(xs, 0.9)),
        ratioToNode: r2(m / base),
      });
      ctlRows.push([name, m, quantile(xs, 0.1), quantile(xs, 0.9), m / base]);
    }

    // 2. bmx7d exec → first answered control request
    const answered = (path: string) =>
      new Promise<boolean>((resolve) => {
        const s = net.createConnection(path);
        let buf = '';
        const done = (ok: boolean) => {
          s.destroy();
          resolve(ok);
        };
        s.on('connect', () => s.write('{"id":1,"op":"version","args":{}}\n'));
        s.on('data', (d) => {
          buf += d.toString();
          if (buf.includes('\n')) done(buf.includes('"type":"reply"') && buf.includes('"ok":true'));
        });
        s.on('error', () => done(false));
        s.on('close', () => done(false));
      });
    const startTimes: Record<Variant, number[]> = { unbundled: [], bundled: [] };
    const restartOnce = async (variant: Variant, probe: boolean): Promise<number> => {
      await mesh.stop(TIMED);
      rmSync(sock(TIMED), { force: true });
      const t0 = performance.now();
      const child = mesh.start(TIMED, spec(variant, probe));
      children.set(TIMED, child);
      const deadline = t0 + 60_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`${TIMED} (${variant}) exited ${child.exitCode}`);
        if (existsSync(sock(TIMED)) && (await answered(sock(TIMED)))) return performance.now() - t0;
        if (performance.now() > deadline) throw new Error(`${TIMED} (${variant}): no answer in 60 s`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    for (let round = 0; round < RESTARTS; round++) {
      const order: Variant[] = round % 2 === 0 ? ['unbundled', 'bundled'] : ['bundled', 'unbundled'];
      for (const v of order) startTimes[v].push(await restartOnce(v, false));
    }
    for (const v of ['unbundled', 'bundled'] as const) {
      const xs = startTimes[v];
      emit({
        part: 'daemon-start',
        variant: v,
        restarts: xs.length,
        medianMs: r2(median(xs)),
        p10Ms: r2(quantile(xs, 0.1)),
        p90Ms: r2(quantile(xs, 0.9)),
      });
    }
    await restartOnce(variantOf(TIMED), true);
    await converged('converged again');

    // 3. memory
    note(`settling ${SETTLE_S} s`);
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
    const nodeBin = realpathSync(process.execPath);
    const mem: Record<Variant, Record<string, number>[]> = { unbundled: [], bundled: [] };
    for (let i = 1; i <= NODES; i++) {
      const name = `n${i}`;
      const pid = children.get(name)?.pid;
      if (pid === undefined) throw new Error(`no pid for ${name}`);
      const probeFile = join(probeDir, `${pid}.json`);
      rmSync(probeFile, { force: true });
      process.kill(pid, 'SIGUSR2');
      const p = await waitFor(`${name}'s probe`, () => existsSync(probeFile) && readProbe(probeFile), {
        timeoutMs: 10_000,
        intervalMs: 20,
      });
      const m = { ...procMemory(pid, nodeBin, tree.lib), ...p };
      emit({ part: 'memory', node: name, variant: variantOf(name), ...m });
      mem[variantOf(name)].push(m);
    }
    let refRss: number | undefined;
    if (REF) {
      const pid = children.get(refNode)?.pid;
      if (pid !== undefined) {
        refRss = statusKb(pid).VmRSS;
        emit({ part: 'memory', node: refNode, variant: 'reference', rssKb: refRss, ...statusKb(pid) });
      }
    }
    const worker = workerCost(join(tree.lib, 'koffi.cjs'));
    emit({ part: 'worker', ...worker });

    // the summary table
    process.stderr.write('\nstartup (noisy shared host: medians side by side, not absolute speeds)\n');
    process.stderr.write(`whole-process calls, ${CALLS} rounds     median    p10    p90   ÷ node -e 0\n`);
    for (const [name, m, lo, hi, ratio] of ctlRows)
      process.stderr.write(
        `  ${name.padEnd(33)}${m.toFixed(1).padStart(7)}${lo.toFixed(1).padStart(7)}${hi.toFixed(1).padStart(7)} ms ${ratio.toFixed(2).padStart(6)}×\n`,
      );
    process.stderr.write(`bmx7d exec → answered control request, ${RESTARTS} starts each\n`);
    for (const v of ['unbundled', 'bundled'] as const)
      process.stderr.write(`  ${v.padEnd(33)}${median(startTimes[v]).toFixed(1).padStart(7)} ms\n`);
    const keys: [string, string][] = [
      ['rssKb', 'RSS'],
      ['pssKb', '  PSS (shared pages in part)'],
      ['anonKb', '  anonymous'],
      ['fileKb', '  file-backed'],
      ['nodeTextKb', '  node binary text'],
      ['nodeOtherKb', '  node binary data'],
      ['koffiKb', '  koffi.node'],
      ['libsKb', '  other libraries'],
      ['anonMapsKb', '  anonymous mappings'],
      ['mallocHeapKb', '  [heap] (malloc)'],
      ['v8TotalKb', 'V8 heap total (main isolate)'],
      ['v8UsedKb', '  used'],
      ['v8CodeKb', '  code space'],
      ['v8NewKb', '  new space'],
      ['externalKb', 'external'],
      ['arrayBuffersKb', '  array buffers'],
      ['workers', 'worker threads'],
    ];
    process.stderr.write(`memory after ${SETTLE_S} s, medians of nodes    unbundled   bundled (MB)\n`);
    for (const [k, label] of keys) {
      const cell = (v: Variant) => {
        const x = median(mem[v].map((m) => m[k] ?? 0));
        return (k === 'workers' ? String(x) : mb(x).toFixed(1)).padStart(10);
      };
      process.stderr.write(`  ${label.padEnd(33)}${cell('unbundled')}${cell('bundled')}\n`);
    }
    if (refRss !== undefined)
      process.stderr.write(`  reference bmx7 RSS${' '.repeat(16)}${mb(refRss).toFixed(1)}\n`);
    process.stderr.write(
      `one worker thread (koffi, poll loop): +${mb(worker.rssPerWorkerKb).toFixed(1)} MB RSS, V8 heap ${mb(worker.workerHeapTotalKb).toFixed(1)} MB total\n`,
    );
  } finally {
    mesh.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

function readProbe(file: string): Record<string, number> | false {
  try {
    const p = JSON.parse(readFileSync(file, 'utf8')) as {
      memoryUsage: NodeJS.MemoryUsage;
      heap: { total_heap_size: number; used_heap_size: number };
      spaces: { space_name: string; space_size: number; space_used_size: number }[];
      workers: { started: number; live: number };
    };
    const space = (n: string) => p.spaces.find((s) => s.space_name === n);
    return {
      v8TotalKb: p.heap.total_heap_size / 1024,
      v8UsedKb: p.heap.used_heap_size / 1024,
      v8CodeKb: (space('code_space')?.space_size ?? 0) / 1024,
      v8NewKb: (space('new_space')?.space_size ?? 0) / 1024,
      externalKb: p.memoryUsage.external / 1024,
      arrayBuffersKb: p.memoryUsage.arrayBuffers / 1024,
      workers: p.workers.live,
      workersStarted: p.workers.started,
    };
  } catch {
    return false;
  }
}

/** The kB fields of /proc/PID/status. */
function statusKb(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(l);
    if (m) out[m[1] as string] = Number(m[2]);
    const t = /^Threads:\s+(\d+)$/.exec(l);
    if (t) out.Threads = Number(t[1]);
  }
  return out;
}

/** RSS by kind of mapping, from /proc/PID/smaps. */
function procMemory(pid: number, nodeBin: string, koffiDir: string): Record<string, number> {
  const st = statusKb(pid);
  const sum = {
    nodeTextKb: 0,
    nodeOtherKb: 0,
    koffiKb: 0,
    libsKb: 0,
    anonMapsKb: 0,
    mallocHeapKb: 0,
    otherKb: 0,
  };
  let kind: keyof typeof sum = 'otherKb';
  for (const l of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S{4}) \S+ \S+ \d+\s*(.*)$/.exec(l);
    if (head) {
      const [, perms, path] = head as unknown as [string, string, string];
      if (path === nodeBin) kind = perms.includes('x') ? 'nodeTextKb' : 'nodeOtherKb';
      else if (path.endsWith('koffi.node')) kind = 'koffiKb';
      else if (/\.so(\.|$)/.test(path)) kind = 'libsKb';
      else if (path === '') kind = 'anonMapsKb';
      else if (path === '[heap]') kind = 'mallocHeapKb';
      else kind = 'otherKb';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(l);
    if (rss) sum[kind] += Number(rss[1]);
  }
  const koffiFromTree = readFileSync(`/proc/${pid}/maps`, 'utf8').includes(koffiDir) ? 1 : 0;
  // PSS: file pages shared with other processes (another node) count in part
  const pss = /^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
  return {
    rssKb: st.VmRSS ?? 0,
    pssKb: Number(pss ?? 0),
    anonKb: st.RssAnon ?? 0,
    fileKb: st.RssFile ?? 0,
    shmemKb: st.RssShmem ?? 0,
    threads: st.Threads ?? 0,
    ...sum,
    koffiFromTree,
  };
}

/**
 * What one worker thread like bmx7d's netlink reader costs: a process that loads koffi starts
 * three eval workers that each load koffi, bind poll() and wait in it; RSS before and after.
 */
function workerCost(koffi: string): { rssPerWorkerKb: number; workerHeapTotalKb: number; baseRssKb: number } {
  const code = `
const { Worker } = require('node:worker_threads');
const koffi = require(${JSON.stringify(koffi)});
koffi.load('libc.so.6').func('int getpid()')();
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]);
const src = \`
const { parentPort, workerData: d } = require('node:worker_threads');
const koffi = require(d.koffi);
const poll = koffi.load('libc.so.6').func('int poll(void *, unsigned long, int)');
const ctl = new Int32Array(d.ctl);
parentPort.postMessage(require('node:v8').getHeapStatistics().total_heap_size);
while (Atomics.load(ctl, 0) === 0) poll(null, 0, 50);
\`;
const ctl = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  await sleep(500);
  const base = rss();
  const heaps = [];
  const ws = [];
  for (let i = 0; i < 3; i++) {
    const w = new Worker(src, { eval: true, execArgv: [], workerData: { koffi: ${JSON.stringify(koffi)}, ctl: ctl.buffer } });
    heaps.push(await new Promise((r) => w.once('message', r)));
    ws.push(w);
    await sleep(300);
  }
  await sleep(500);
  const after = rss();
  Atomics.store(ctl, 0, 1);
  await Promise.all(ws.map((w) => new Promise((r) => w.once('exit', r))));
  process.stdout.write(JSON.stringify({ base, after, heap: heaps.reduce((a, b) => a + b, 0) / heaps.length }));
})();`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`worker cost: ${r.stderr}`);
  const o = JSON.parse(r.stdout) as { base: number; after: number; heap: number };
  return { rssPerWorkerKb: (o.after - o.base) / 3, workerHeapTotalKb: o.heap / 1024, baseRssKb: o.base };
}

main().catch((e: unknown) => {
  process.stderr.write(`startup: ${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
