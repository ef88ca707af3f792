/**
 * Post-quantum PSK benchmark (docs/pq-psk.md): what agreeing and rotating a WireGuard PSK with
 * ML-KEM-768 costs. Three parts, all in one process with the real primitives of @bmx7/crypto:
 *
 * 1. One peer: an initiator and a responder session (createPqSession) exchange INIT → RESP →
 *    CONFIRM in-process until both installed the same PSK, `--runs` times (one rotation each, on a
 *    manual clock): median and p90 of the whole exchange, of each step and of each primitive, next
 *    to X25519 timed in the same loop (noble, the same pure-JS family as the ML-KEM, and node:crypto,
 *    native) so the figures have a scale.
 * 2. A gateway with `--peers` clients: one responder manager (createPqManager) with a session per
 *    client, and one initiator manager per client, over createMemoryPqBus on a virtual clock, the
 *    clients' rotations spread over the interval. process.cpuUsage around every call into a manager
 *    (datagram handlers and timers) is booked to its side; after two warm-up intervals, `--rounds`
 *    windows of one interval (120 s) each give the CPU one full rotation round costs the gateway and
 *    each client, and that as the average share of one core.
 * 3. Bytes per rotation: the sizes of the INIT, RESP and CONFIRM the sessions produced (and the
 *    bytes the managers sent in part 2), as UDP payload and with IPv6 + UDP headers, next to the
 *    message sizes the Rosenpass whitepaper documents.
 *
 * One JSON object per result on stdout, a compact table on stderr. Timings are noisy on shared
 * hosts: read medians and ratios measured side by side in this run, never absolute speeds.
 * `pnpm bench psk [--quick] [--runs=N] [--peers=N] [--rounds=N]`.
 */
import { diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Clock } from '@bmx7/core';
import {
  derivePqPsk,
  mlkemDecapsulate,
  mlkemEncapsulate,
  mlkemGenerateSeed,
  mlkemKeyPair,
  pqConfirmTag,
  pqTagEqual,
  wgGeneratePrivateKey,
  wgPublicKey,
} from '@bmx7/crypto';
import { createVirtualClock } from '@bmx7/testkit';
// @bmx7/plugin-wg is not a dependency of the bench package: its sources are imported directly
// (tsx runs them as the other benches run theirs).
import { createPqManager } from '../../packages/wg/src/pq/manager.js';
import { decodePqMessage } from '../../packages/wg/src/pq/messages.js';
import {
  createPqSession,
  DEFAULT_PQ_PSK_INTERVAL_MS,
  type PqCrypto,
  type PqOutput,
} from '../../packages/wg/src/pq/session.js';
import { createMemoryPqBus, type PqTransport } from '../../packages/wg/src/pq/transport.js';

// noble is a dependency of @bmx7/crypto, not of the bench package: resolve it from there.
const fromCrypto = createRequire(import.meta.resolve('@bmx7/crypto'));
const { x25519 } = (await import(fromCrypto.resolve('@noble/curves/ed25519.js'))) as {
  x25519: { getSharedSecret: (a: Uint8Array, b: Uint8Array) => Uint8Array };
};

const arg = (name: string, dflt: number): number => {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  const n = a === undefined ? dflt : Number(a.slice(name.length + 3));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const quick = process.argv.includes('--quick');
const RUNS = arg('runs', quick ? 40 : 200);
const WARMUP = Math.min(20, RUNS);
const PEERS = arg('peers', 100);
const ROUNDS = arg('rounds', quick ? 2 : 5);
const INTERVAL_MS = DEFAULT_PQ_PSK_INTERVAL_MS;
/** One-way delay of the in-memory bus (virtual ms). */
const LATENCY_MS = 5;
/** IPv6 header (40) + UDP header (8) per datagram. */
const IP6_UDP = 48;
/** X25519 scalar multiplications of one side of a WireGuard handshake (static-static precomputed). */
const X25519_PER_WG_SIDE = 4;

const emit = (o: object) => process.stdout.write(`${JSON.stringify({ bench: 'psk', ...o })}\n`);
const table: string[][] = [];
const row = (...cells: (string | number)[]) => table.push(cells.map(String));

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}
const median = (xs: readonly number[]) => quantile(xs, 0.5);
const p90 = (xs: readonly number[]) => quantile(xs, 0.9);
const ms = (x: number, digits = 3) => +x.toFixed(digits);
const ratio = (a: number, b: number) => `${(a / b).toFixed(a / b < 10 ? 2 : 1)}×`;

const randomId = () => Uint8Array.from(randomBytes(28));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const real: PqCrypto = { mlkemEncapsulate, mlkemDecapsulate, derivePqPsk, pqConfirmTag, pqTagEqual };

// ---------------------------------------------------------------- 1. one peer

/** Durations (ms) of every primitive call, by primitive. */
const calls = {
  encapsulate: [] as number[],
  decapsulate: [] as number[],
  derive: [] as number[],
  tag: [] as number[],
};
const timed = <A extends unknown[], R>(into: number[], fn: (...a: A) => R) => {
  return (...a: A): R => {
    const t0 = performance.now();
    try {
      return fn(...a);
    } finally {
      into.push(performance.now() - t0);
    }
  };
};
const timedCrypto: PqCrypto = {
  mlkemEncapsulate: timed(calls.encapsulate, real.mlkemEncapsulate),
  mlkemDecapsulate: timed(calls.decapsulate, real.mlkemDecapsulate),
  derivePqPsk: timed(calls.derive, real.derivePqPsk),
  pqConfirmTag: timed(calls.tag, real.pqConfirmTag),
  // the constant-time compare of two 32-byte tags: counted with the tags
  pqTagEqual: timed(calls.tag, real.pqTagEqual),
};

const kemClient = mlkemKeyPair(mlkemGenerateSeed());
const kemGateway = mlkemKeyPair(mlkemGenerateSeed());
const idClient = randomId();
const idGateway = randomId();
let manualNow = 0;
const manualClock = { now: () => manualNow };
const initiator = createPqSession({
  role: 'initiator',
  selfId: idClient,
  peerId: idGateway,
  selfKem: kemClient,
  peerKem: kemGateway.publicKey,
  crypto: timedCrypto,
  clock: manualClock,
});
const responder = createPqSession({
  role: 'responder',
  selfId: idGateway,
  peerId: idClient,
  selfKem: kemGateway,
  peerKem: kemClient.publicKey,
  crypto: timedCrypto,
  clock: manualClock,
});
responder.start(); // a responder without a key asks for an exchange (REKEY): not needed here

const only = (o: PqOutput, what: string): Uint8Array => {
  if (o.send.length !== 1) throw new Error(`${what}: expected one datagram, got ${o.send.length}`);
  return o.send[0]!;
};

const steps = {
  total: [] as number[],
  init: [] as number[],
  resp: [] as number[],
  confirm: [] as number[],
  finish: [] as number[],
};
/** Every primitive call of the measured runs. */
const perCall = {
  encapsulate: [] as number[],
  decapsulate: [] as number[],
  derive: [] as number[],
  tag: [] as number[],
};
const x25519Noble: number[] = [];
const x25519Node: number[] = [];
/** The messages of the last run. */
const last: Record<'init' | 'resp' | 'confirm', Uint8Array> = {
  init: new Uint8Array(),
  resp: new Uint8Array(),
  confirm: new Uint8Array(),
};

const wgA = wgGeneratePrivateKey();
const wgB = wgPublicKey(wgGeneratePrivateKey());
const nodeA = generateKeyPairSync('x25519');
const nodeB = generateKeyPairSync('x25519');

for (let run = -WARMUP - 1; run < RUNS; run++) {
  const first = run === -WARMUP - 1;
  if (!first) manualNow += INTERVAL_MS;
  for (const k of Object.keys(calls) as (keyof typeof calls)[]) calls[k].length = 0;
  const t0 = performance.now();
  // the first run starts the session; every later one is a rotation, interval after the install
  const init = only(first ? initiator.start() : initiator.tick(), 'INIT');
  const t1 = performance.now();
  const resp = only(responder.receive(init), 'RESP');
  const t2 = performance.now();
  const c = initiator.receive(resp);
  const confirm = only(c, 'CONFIRM');
  const t3 = performance.now();
  const f = responder.receive(confirm);
  const t4 = performance.now();
  if (!c.install || !f.install || Buffer.compare(c.install.psk, f.install.psk) !== 0)
    throw new Error('the two ends did not install the same PSK');
  // X25519 in the same loop, so machine noise hits both alike
  const x0 = performance.now();
  for (let i = 0; i < X25519_PER_WG_SIDE; i++) x25519.getSharedSecret(wgA, wgB);
  const x1 = performance.now();
  for (let i = 0; i < X25519_PER_WG_SIDE; i++)
    diffieHellman({ privateKey: nodeA.privateKey, publicKey: nodeB.publicKey });
  const x2 = performance.now();
  if (run < 0) continue;
  steps.total.push(t4 - t0);
  steps.init.push(t1 - t0);
  steps.resp.push(t2 - t1);
  steps.confirm.push(t3 - t2);
  steps.finish.push(t4 - t3);
  x25519Noble.push((x1 - x0) / X25519_PER_WG_SIDE);
  x25519Node.push((x2 - x1) / X25519_PER_WG_SIDE);
  last.init = init;
  last.resp = resp;
  last.confirm = confirm;
  perCall.encapsulate.push(...calls.encapsulate);
  perCall.decapsulate.push(...calls.decapsulate);
  perCall.derive.push(...calls.derive);
  perCall.tag.push(...calls.tag);
}

const oneMedian = median(steps.total);
const x25519NobleMedian = median(x25519Noble);
const x25519NodeMedian = median(x25519Node);
emit({
  name: 'exchange.onePeer',
  unit: 'ms',
  runs: RUNS,
  median: ms(oneMedian),
  p90: ms(p90(steps.total)),
  steps: Object.fromEntries(
    (['init', 'resp', 'confirm', 'finish'] as const).map((k) => [
      k,
      { median: ms(median(steps[k])), p90: ms(p90(steps[k])) },
    ]),
  ),
  initiatorSideMedian: ms(median(steps.init.map((x, i) => x + steps.confirm[i]!))),
  responderSideMedian: ms(median(steps.resp.map((x, i) => x + steps.finish[i]!))),
});
for (const [k, xs] of Object.entries(perCall)) {
  emit({
    name: `primitive.${k}`,
    unit: 'ms',
    perExchange: { encapsulate: 2, decapsulate: 2, derive: 2, tag: 6 }[k],
    median: ms(median(xs), 4),
    p90: ms(p90(xs), 4),
  });
}
emit({
  name: 'x25519.sharedSecret',
  unit: 'ms',
  runs: RUNS,
  noble: { median: ms(x25519NobleMedian, 4), p90: ms(p90(x25519Noble), 4) },
  nodeCrypto: { median: ms(x25519NodeMedian, 4), p90: ms(p90(x25519Node), 4) },
  ratioExchangeTo: {
    nobleX25519: +(oneMedian / x25519NobleMedian).toFixed(2),
    nodeX25519: +(oneMedian / x25519NodeMedian).toFixed(2),
    nobleWgHandshakeX25519: +(oneMedian / (2 * X25519_PER_WG_SIDE * x25519NobleMedian)).toFixed(2),
    nodeWgHandshakeX25519: +(oneMedian / (2 * X25519_PER_WG_SIDE * x25519NodeMedian)).toFixed(2),
  },
});

row('1. one peer, INIT → RESP → CONFIRM', 'median ms', 'p90 ms');
row('  exchange until both installed', ms(oneMedian), ms(p90(steps.total)));
row('  I: build INIT (encapsulate)', ms(median(steps.init)), ms(p90(steps.init)));
row('  R: INIT → RESP (decap, encap, derive, 2 tags)', ms(median(steps.resp)), ms(p90(steps.resp)));
row('  I: RESP → CONFIRM (decap, derive, 2 tags)', ms(median(steps.confirm)), ms(p90(steps.confirm)));
row('  R: CONFIRM → install (tag compare)', ms(median(steps.finish)), ms(p90(steps.finish)));
row('  ML-KEM-768 encapsulate (each)', ms(median(perCall.encapsulate), 4), ms(p90(perCall.encapsulate), 4));
row('  ML-KEM-768 decapsulate (each)', ms(median(perCall.decapsulate), 4), ms(p90(perCall.decapsulate), 4));
row('  derivePqPsk, HKDF-SHA256 (each)', ms(median(perCall.derive), 4), ms(p90(perCall.derive), 4));
row('  confirm tag / compare (each)', ms(median(perCall.tag), 4), ms(p90(perCall.tag), 4));
row('  X25519 shared secret, noble (each)', ms(x25519NobleMedian, 4), ms(p90(x25519Noble), 4));
row('  X25519 shared secret, node:crypto (each)', ms(x25519NodeMedian, 4), ms(p90(x25519Node), 4));
row('  exchange ÷ X25519 (ratios of the medians)', 'noble', 'node:crypto');
row('    ÷ one X25519', ratio(oneMedian, x25519NobleMedian), ratio(oneMedian, x25519NodeMedian));
row(
  `    ÷ ${2 * X25519_PER_WG_SIDE} X25519 (a WireGuard handshake's)`,
  ratio(oneMedian, 2 * X25519_PER_WG_SIDE * x25519NobleMedian),
  ratio(oneMedian, 2 * X25519_PER_WG_SIDE * x25519NodeMedian),
);

// ---------------------------------------------------------------- 2. a gateway with PEERS clients

/** What one side (the gateway, or all clients together) spent and did. */
interface Side {
  cpuUs: number;
  calls: number;
  datagrams: number;
  bytes: number;
  installs: number;
}
const side = (): Side => ({ cpuUs: 0, calls: 0, datagrams: 0, bytes: 0, installs: 0 });
const gateway = side();
const clients = side();

/** Runs a call into a manager, booking its CPU (user + system) to a side. */
const booked = (s: Side, fn: () => void): void => {
  const c0 = process.cpuUsage();
  try {
    fn();
  } finally {
    const d = process.cpuUsage(c0);
    s.cpuUs += d.user + d.system;
    s.calls++;
  }
};

const vclock = createVirtualClock();
const bus = createMemoryPqBus({ defer: (fn) => vclock.post(LATENCY_MS, fn) });
/** The virtual clock, with every timer callback booked to a side. */
const clockOf = (s: Side): Clock => ({
  now: () => vclock.now(),
  schedule: (delayMs, fn) => vclock.schedule(delayMs, () => booked(s, fn)),
});
/** A bus transport whose deliveries are booked to a side, counting what it sends. */
const transportOf = (ip: string, s: Side): PqTransport => {
  const t = bus.transport(ip);
  return {
    send(toIp, payload) {
      s.datagrams++;
      s.bytes += payload.length;
      t.send(toIp, payload);
    },
    onMessage(fn) {
      t.onMessage((from, payload) => booked(s, () => fn(from, payload)));
    },
    close: () => t.close(),
  };
};

const gwIp = 'fd70::1';
const gwId = hex(randomId());
const gwKem = mlkemKeyPair(mlkemGenerateSeed());
const peers = Array.from({ length: PEERS }, (_, i) => ({
  id: hex(randomId()),
  ip: `fd70::1:${(i + 1).toString(16)}`,
  kem: mlkemKeyPair(mlkemGenerateSeed()),
}));

const gwManager = createPqManager({
  selfId: gwId,
  selfKem: gwKem,
  crypto: real,
  clock: clockOf(gateway),
  transport: transportOf(gwIp, gateway),
  onInstall: () => gateway.installs++,
});
booked(gateway, () =>
  gwManager.setPairs(peers.map((p) => ({ nodeId: p.id, role: 'responder', ip: p.ip, kem: p.kem.publicKey }))),
);
const clientManagers = peers.map((p, i) => {
  const m = createPqManager({
    selfId: p.id,
    selfKem: p.kem,
    crypto: real,
    clock: clockOf(clients),
    transport: transportOf(p.ip, clients),
    onInstall: () => clients.installs++,
  });
  // clients come up spread over one interval, so their rotations stay spread as in a real mesh
  vclock.post(Math.floor((i * INTERVAL_MS) / PEERS), () =>
    booked(clients, () => m.setPairs([{ nodeId: gwId, role: 'initiator', ip: gwIp, kem: gwKem.publicKey }])),
  );
  return m;
});

// warm-up: every client up and two rotations done
vclock.runUntil(2 * INTERVAL_MS + 1000);
for (const p of peers) {
  const s = gwManager.status(p.id, 'responder');
  if (s?.pskSource !== 'pq') throw new Error(`gateway has no PSK for a client after warm-up (${s?.state})`);
}

interface Window {
  gwCpuMs: number;
  clCpuMs: number;
  processCpuMs: number;
  wallMs: number;
  gwInstalls: number;
  clInstalls: number;
  gwDatagrams: number;
  clDatagrams: number;
  gwBytes: number;
  clBytes: number;
}
const windows: Window[] = [];
const snap = (s: Side): Side => ({ ...s });
for (let r = 0; r < ROUNDS; r++) {
  const g0 = snap(gateway);
  const c0 = snap(clients);
  const p0 = process.cpuUsage();
  const w0 = performance.now();
  vclock.runUntil(vclock.now() + INTERVAL_MS);
  const pd = process.cpuUsage(p0);
  windows.push({
    gwCpuMs: (gateway.cpuUs - g0.cpuUs) / 1000,
    clCpuMs: (clients.cpuUs - c0.cpuUs) / 1000,
    processCpuMs: (pd.user + pd.system) / 1000,
    wallMs: performance.now() - w0,
    gwInstalls: gateway.installs - g0.installs,
    clInstalls: clients.installs - c0.installs,
    gwDatagrams: gateway.datagrams - g0.datagrams,
    clDatagrams: clients.datagrams - c0.datagrams,
    gwBytes: gateway.bytes - g0.bytes,
    clBytes: clients.bytes - c0.bytes,
  });
}
gwManager.close();
for (const m of clientManagers) m.close();

const col = (k: keyof Window) => windows.map((w) => w[k]);
const gwRoundMs = median(col('gwCpuMs'));
const clRoundMs = median(col('clCpuMs'));
/** Average share of one core: CPU per round over the round's length. */
const pct = (cpuMs: number) => (cpuMs / INTERVAL_MS) * 100;
const expectedGwMs = PEERS * (median(steps.resp) + median(steps.finish));
const expectedClMs = median(steps.init) + median(steps.confirm);
emit({
  name: 'rotation.gateway',
  peers: PEERS,
  intervalMs: INTERVAL_MS,
  rounds: ROUNDS,
  cpuMsPerRound: { median: ms(gwRoundMs, 1), all: col('gwCpuMs').map((x) => ms(x, 1)) },
  cpuPercentOfOneCore: ms(pct(gwRoundMs), 4),
  cpuMsPerExchange: ms(gwRoundMs / median(col('gwInstalls')), 3),
  expectedFromOnePeerMs: ms(expectedGwMs, 1),
  installsPerRound: col('gwInstalls'),
  datagramsSentPerRound: col('gwDatagrams'),
  bytesSentPerRound: col('gwBytes'),
});
emit({
  name: 'rotation.clientPerPeer',
  peers: PEERS,
  cpuMsPerRound: ms(clRoundMs / PEERS, 3),
  cpuPercentOfOneCore: ms(pct(clRoundMs / PEERS), 5),
  expectedFromOnePeerMs: ms(expectedClMs, 3),
  installsPerRound: col('clInstalls'),
  datagramsSentPerRound: col('clDatagrams'),
  bytesSentPerRound: col('clBytes'),
});
emit({
  name: 'rotation.process',
  note: 'both sides, the virtual clock and the bus, per round',
  cpuMsPerRound: ms(median(col('processCpuMs')), 1),
  wallMsPerRound: ms(median(col('wallMs')), 1),
});

row(
  `2. ${PEERS} peers rotating every ${INTERVAL_MS / 1000} s (${ROUNDS} rounds)`,
  'CPU ms/round',
  '% of 1 core',
);
row(`  gateway (responder for ${PEERS} clients)`, ms(gwRoundMs, 1), `${pct(gwRoundMs).toFixed(3)} %`);
row(
  '    expected from part 1 (RESP + finish steps)',
  ms(expectedGwMs, 1),
  `${pct(expectedGwMs).toFixed(3)} %`,
);
row(
  '  one client (initiator for 1 gateway)',
  ms(clRoundMs / PEERS, 3),
  `${pct(clRoundMs / PEERS).toFixed(4)} %`,
);
row(
  '    expected from part 1 (INIT + CONFIRM steps)',
  ms(expectedClMs, 3),
  `${pct(expectedClMs).toFixed(4)} %`,
);
row(
  '  installs per round, gateway / clients',
  `${median(col('gwInstalls'))} / ${median(col('clInstalls'))}`,
  '',
);

// ---------------------------------------------------------------- 3. bytes per rotation

// the sizes are those of the messages the sessions produced in part 1, each decoded once more
for (const [type, bytes] of Object.entries(last)) {
  const d = decodePqMessage(bytes);
  if (!d.ok || d.value.type !== type) throw new Error(`the ${type} of part 1 does not decode as one`);
}
const sizes = { init: last.init.length, resp: last.resp.length, confirm: last.confirm.length };
const perRotation = sizes.init + sizes.resp + sizes.confirm;
const perRotationIp = perRotation + 3 * IP6_UDP;
const sentPerExchange =
  (median(col('gwBytes')) + median(col('clBytes'))) / Math.max(1, median(col('gwInstalls')));
/** Rosenpass message sizes, envelope included (whitepaper, figure "Rosenpass Message Types"). */
const ROSENPASS = { initHello: 1092, respHello: 1132, initConf: 176, emptyData: 64 };
const rpHandshake = ROSENPASS.initHello + ROSENPASS.respHello + ROSENPASS.initConf;
const rpWithAck = rpHandshake + ROSENPASS.emptyData;
const kbitPerS = (bytesPerRound: number) => (bytesPerRound * 8) / (INTERVAL_MS / 1000) / 1000;
emit({
  name: 'bytes.perRotation',
  unit: 'bytes',
  messages: sizes,
  udpPayload: perRotation,
  withIp6Udp: perRotationIp,
  managersSentPerExchange: ms(sentPerExchange, 1),
  gatewayPeers: PEERS,
  gatewayKbitPerS: {
    udpPayload: ms(kbitPerS(PEERS * perRotation), 2),
    withIp6Udp: ms(kbitPerS(PEERS * perRotationIp), 2),
  },
  rosenpass: {
    source: 'Rosenpass whitepaper, figure "Rosenpass Message Types" and section "Dealing with Packet Loss"',
    messages: ROSENPASS,
    handshakeUdpPayload: rpHandshake,
    handshakeWithIp6Udp: rpHandshake + 3 * IP6_UDP,
    withEmptyDataUdpPayload: rpWithAck,
    withEmptyDataWithIp6Udp: rpWithAck + 4 * IP6_UDP,
  },
});

row('3. bytes per rotation and peer', 'UDP payload', '+ IPv6/UDP');
row(
  `  bmx7d: INIT ${sizes.init} + RESP ${sizes.resp} + CONFIRM ${sizes.confirm}`,
  perRotation,
  perRotationIp,
);
row('    sent by the managers in part 2, per exchange', ms(sentPerExchange, 1), '');
row(
  `    ${PEERS} peers every ${INTERVAL_MS / 1000} s, kbit/s`,
  ms(kbitPerS(PEERS * perRotation), 1),
  ms(kbitPerS(PEERS * perRotationIp), 1),
);
row(
  `  Rosenpass: InitHello ${ROSENPASS.initHello} + RespHello ${ROSENPASS.respHello} + InitConf ${ROSENPASS.initConf}`,
  rpHandshake,
  rpHandshake + 3 * IP6_UDP,
);
row(
  `    + EmptyData ${ROSENPASS.emptyData} (the responder's confirmation)`,
  rpWithAck,
  rpWithAck + 4 * IP6_UDP,
);

const widths = [0, 1, 2].map((c) => Math.max(...table.map((r) => (r[c] ?? '').length)));
const line = (r: string[]) =>
  `${r[0]!.padEnd(widths[0]!)}  ${(r[1] ?? '').padStart(widths[1]!)}  ${(r[2] ?? '').padStart(widths[2]!)}`;
process.stderr.write(`\npsk (noisy shared host: medians side by side, not absolute speeds)\n`);
for (const r of table) process.stderr.write(`${r[1] === undefined ? r[0] : line(r)}\n`);
