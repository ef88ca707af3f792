/**
 * @bmx7/crypto benchmark: RSA sign/verify per key size, DHM agreement and MAC, SHA-224 (node:crypto
 * against @noble/hashes, side by side), X25519 and OGM chain creation. One JSON object per result,
 * operations per second as the median of several timed rounds. `pnpm bench crypto [--quick]`.
 */
import { createHash, hash as nodeHash } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  chainOgmFor,
  createChainVerifier,
  createDhmKey,
  createOgmChain,
  dhmMac,
  dhmSecret,
  findChainSqn,
  generateRsaKey,
  ogmChainConstant,
  rsaSign,
  rsaVerify,
  sha224,
  wgGeneratePrivateKey,
  wgPublicKey,
} from '@bmx7/crypto';

// @noble/* are dependencies of @bmx7/crypto, not of the bench package: resolve them from there.
const fromCrypto = createRequire(import.meta.resolve('@bmx7/crypto'));
const { sha224: nobleSha224 } = (await import(fromCrypto.resolve('@noble/hashes/sha2.js'))) as {
  sha224: (d: Uint8Array) => Uint8Array;
};
const { x25519 } = (await import(fromCrypto.resolve('@noble/curves/ed25519.js'))) as {
  x25519: { getSharedSecret: (a: Uint8Array, b: Uint8Array) => Uint8Array };
};

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const ROUND_MS = quick ? 100 : 300;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median operations per second of fn over ROUNDS rounds of about ROUND_MS each. */
function opsPerSec(fn: () => unknown): number {
  const rates: number[] = [];
  fn();
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    do {
      for (let i = 0; i < 8; i++) fn();
      n += 8;
      t = performance.now();
    } while (t - t0 < ROUND_MS);
    rates.push((n * 1000) / (t - t0));
  }
  return median(rates);
}

function report(name: string, value: number, extra: Record<string, unknown> = {}): void {
  console.log(
    JSON.stringify({
      bench: 'crypto',
      name,
      unit: 'ops/s',
      median: Math.round(value),
      rounds: ROUNDS,
      ...extra,
    }),
  );
}

const digest = sha224(new TextEncoder().encode('packet'));

for (const [bits, type] of [
  [1024, 4],
  [2048, 6],
  [4096, 8],
] as const) {
  const key = generateRsaKey(type);
  const sig = rsaSign(key, digest);
  const pub = key.publicContent;
  if (!rsaVerify(pub, digest, sig)) throw new Error('RSA self-check failed');
  report(
    `rsa${bits}.sign`,
    opsPerSec(() => rsaSign(key, digest)),
  );
  report(
    `rsa${bits}.verify`,
    opsPerSec(() => rsaVerify(pub, digest, sig)),
  );
}

for (const [bits, type] of [
  [2048, 17],
  [3072, 18],
] as const) {
  const a = createDhmKey(type);
  const b = createDhmKey(type);
  const pb = b.publicValue;
  report(
    `dhm${bits}.keygen`,
    opsPerSec(() => createDhmKey(type)),
  );
  report(
    `dhm${bits}.secret`,
    opsPerSec(() => dhmSecret(a, pb)),
  );
}
{
  const s = dhmSecret(createDhmKey(17), createDhmKey(17).publicValue);
  if (!s.ok) throw new Error(s.reason);
  report(
    'dhm.mac',
    opsPerSec(() => dhmMac(digest, s.value)),
  );
}

for (const size of [64, 1024]) {
  const data = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
  if (Buffer.compare(sha224(data), nobleSha224(data)) !== 0) throw new Error('sha224 outputs differ');
  // Side by side, interleaved rounds so machine noise hits all alike.
  const rates: Record<string, number[]> = { used: [], nodeHash: [], nodeCreateHash: [], noble: [] };
  for (let r = 0; r < ROUNDS; r++) {
    rates.used!.push(opsPerSecOnce(() => sha224(data)));
    rates.nodeHash!.push(opsPerSecOnce(() => nodeHash('sha224', data, 'buffer')));
    rates.nodeCreateHash!.push(opsPerSecOnce(() => createHash('sha224').update(data).digest()));
    rates.noble!.push(opsPerSecOnce(() => nobleSha224(data)));
  }
  const med = Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, median(v)]));
  report(`sha224.${size}B.bmx7-crypto`, med.used!);
  report(`sha224.${size}B.node-crypto.hash`, med.nodeHash!);
  report(`sha224.${size}B.node-crypto.createHash`, med.nodeCreateHash!);
  report(`sha224.${size}B.noble`, med.noble!, {
    ratioNodeHashToNoble: +(med.nodeHash! / med.noble!).toFixed(2),
  });
}

function opsPerSecOnce(fn: () => unknown): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    for (let i = 0; i < 16; i++) fn();
    n += 16;
    t = performance.now();
  } while (t - t0 < ROUND_MS / 2);
  return (n * 1000) / (t - t0);
}

{
  const k = wgGeneratePrivateKey();
  const peer = wgPublicKey(wgGeneratePrivateKey());
  report(
    'x25519.publicKey',
    opsPerSec(() => wgPublicKey(k)),
  );
  report(
    'x25519.sharedSecret',
    opsPerSec(() => x25519.getSharedSecret(k, peer)),
  );
}

{
  const nodeId = sha224(Uint8Array.of(1));
  for (const range of [6000, 8192]) {
    report(
      `ogmChain.create.${range}`,
      opsPerSec(() => createOgmChain({ nodeId, descSqn: 11, range })),
    );
  }
  const chain = createOgmChain({ nodeId, descSqn: 11, range: 6000 });
  const dHash = sha224(Uint8Array.of(2));
  const c = ogmChainConstant(dHash, chain.anchor, nodeId, 11);
  report(
    'ogmChain.chainOgmFor',
    opsPerSec(() => chainOgmFor(chain, c, 4321)),
  );
  const ogm = chainOgmFor(chain, c, 5);
  report(
    'ogmChain.find.next',
    opsPerSec(() => {
      const v = createChainVerifier({
        descriptionHash: dHash,
        anchor: chain.anchor,
        nodeId,
        descSqn: 11,
        range: 6000,
      });
      return findChainSqn(v, ogm);
    }),
  );
  const far = chainOgmFor(chain, c, 6000);
  report(
    'ogmChain.find.fullRange6000',
    opsPerSec(() => {
      const v = createChainVerifier({
        descriptionHash: dHash,
        anchor: chain.anchor,
        nodeId,
        descSqn: 11,
        range: 6000,
      });
      return findChainSqn(v, far, { fullRange: true });
    }),
  );
}
