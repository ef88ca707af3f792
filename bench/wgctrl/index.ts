/**
 * @bmx7/wgctrl: time to configure 1,000 peers and the latency of a device read, per backend that
 * runs here (kernel where the module exists, UAPI with wireguard-go, the `wg` tool). Devices live
 * in a throwaway network namespace. Prints one JSON object per result (medians), then ratios of
 * each backend against the UAPI measured in the same run.
 *
 *   pnpm bench wgctrl [--reps=N]
 */
import { randomBytes } from 'node:crypto';
import { wgGeneratePrivateKey, wgKeyToBase64 } from '@bmx7/crypto';
import { kernelSkipReason, wireguardGoPath } from '@bmx7/testenv/env';
import { createNetnsBed } from '@bmx7/testenv/netns';
import { createWgctrl, type Wgctrl, type WgPeerConfig } from '@bmx7/wgctrl';

const repsArg = process.argv.find((a) => a.startsWith('--reps='));
const REPS = repsArg ? Number(repsArg.slice(7)) : 5;
const READS = 200;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function peers(n: number): WgPeerConfig[] {
  return Array.from({ length: n }, (_, i) => ({
    publicKey: randomBytes(32).toString('base64'),
    endpoint: `[fd79:5::${(i + 1).toString(16)}]:${20000 + i}`,
    allowedIps: [`10.${100 + (i >> 8)}.${i & 255}.0/24`],
  }));
}

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

type Row = { bench: 'wgctrl'; backend: string; metric: string; median: number; unit: string; n: number };
const rows: Row[] = [];
const emit = (r: Row) => {
  rows.push(r);
  console.log(JSON.stringify(r));
};

async function measure(backend: string, w: Wgctrl, dev: string): Promise<void> {
  await w.configureDevice(dev, {
    privateKey: wgKeyToBase64(wgGeneratePrivateKey()),
    listenPort: 0,
    peers: peers(1),
  });
  const small: number[] = [];
  for (let i = 0; i < READS; i++) small.push(await timeMs(() => w.getDevice(dev)));
  emit({
    bench: 'wgctrl',
    backend,
    metric: 'read-device-1-peer',
    median: median(small) * 1000,
    unit: 'us',
    n: READS,
  });

  const cfg: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const set = peers(1000);
    cfg.push(await timeMs(() => w.configureDevice(dev, { replacePeers: true, peers: set })));
  }
  emit({
    bench: 'wgctrl',
    backend,
    metric: 'configure-1000-peers',
    median: median(cfg),
    unit: 'ms',
    n: REPS,
  });

  const big: number[] = [];
  for (let i = 0; i < Math.max(REPS, 10); i++) big.push(await timeMs(() => w.getDevice(dev)));
  const dev1000 = await w.getDevice(dev);
  if (dev1000.peers.length !== 1000) throw new Error(`${backend}: read back ${dev1000.peers.length} peers`);
  emit({
    bench: 'wgctrl',
    backend,
    metric: 'read-device-1000-peers',
    median: median(big),
    unit: 'ms',
    n: big.length,
  });
}

const bed = createNetnsBed('wgb');
try {
  const ns = bed.ns('a');
  const backends: { name: string; make: () => Wgctrl; dev: string; create: Wgctrl }[] = [];
  if (!kernelSkipReason('wireguard')) {
    const k = createWgctrl({ backend: 'kernel', netns: ns });
    backends.push({ name: 'kernel', make: () => k, dev: bed.name('k0'), create: k });
  }
  if (wireguardGoPath()) {
    const u = createWgctrl({ backend: 'uapi', netns: ns, wireguardGoEnv: { LOG_LEVEL: 'error' } });
    backends.push({ name: 'uapi', make: () => u, dev: bed.name('u0'), create: u });
    // The wg tool against a wireguard-go device (on this kernel `wg` has no kernel device to drive).
    backends.push({
      name: 'wg',
      make: () => createWgctrl({ backend: 'wg', netns: ns }),
      dev: bed.name('u1'),
      create: u,
    });
  }
  for (const b of backends) {
    await b.create.createDevice(b.dev, { up: true });
    await measure(b.name, b.make(), b.dev);
    await b.create.deleteDevice(b.dev);
  }
  for (const b of backends) await b.create.close();
  const base = (metric: string) => rows.find((r) => r.backend === 'uapi' && r.metric === metric)?.median;
  for (const r of rows) {
    const u = base(r.metric);
    if (r.backend !== 'uapi' && u) {
      console.log(
        JSON.stringify({
          bench: 'wgctrl',
          metric: r.metric,
          ratio: `${r.backend}/uapi`,
          value: Number((r.median / u).toFixed(2)),
        }),
      );
    }
  }
} finally {
  bed.cleanup();
}
