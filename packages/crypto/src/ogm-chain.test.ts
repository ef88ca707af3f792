import { inspect } from 'node:util';
import { sha224 as nobleSha224 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chainOgmAt,
  chainOgmFor,
  createChainVerifier,
  createOgmChain,
  findChainSqn,
  type OgmChain,
  ogmChainConstant,
  ogmChainLink,
} from './ogm-chain.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const nodeId = nobleSha224(Uint8Array.of(0, 6, 1, 2, 3));
const dHash = nobleSha224(Uint8Array.of(42));

/** One chain step, written out with @noble/hashes as an independent oracle (docs/protocol.md §4.9). */
function step(link: Uint8Array, seed: Uint8Array, id: Uint8Array, descSqn: number): Uint8Array {
  const sqn = new Uint8Array(4);
  new DataView(sqn.buffer).setUint32(0, descSqn);
  return nobleSha224(Buffer.concat([link, seed, id, sqn])).subarray(0, 14);
}

function fixedRandom(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
}

function sender(range: number, descSqn = 112): { chain: OgmChain; c: Uint8Array } {
  const chain = createOgmChain({ nodeId, descSqn, range });
  return { chain, c: ogmChainConstant(dHash, chain.anchor, nodeId, descSqn) };
}

function receiver(chain: OgmChain) {
  return createChainVerifier({
    descriptionHash: dHash,
    anchor: chain.anchor,
    nodeId,
    descSqn: chain.descSqn,
    range: chain.range,
  });
}

describe('own OGM chain', () => {
  it('steps down from random link(range) ‖ seed to the anchor, as the oracle computes', () => {
    const range = 50;
    const chain = createOgmChain({ nodeId, descSqn: 7, range, random: fixedRandom });
    const start = fixedRandom(28);
    const seed = start.subarray(14);
    let link = start.subarray(0, 14);
    expect(hex(ogmChainLink(chain, range))).toBe(hex(link));
    for (let s = range - 1; s >= 0; s--) {
      link = step(link, seed, nodeId, 7);
      expect(hex(ogmChainLink(chain, s))).toBe(hex(link));
    }
    expect(hex(chain.anchor)).toBe(hex(Buffer.concat([link, seed])));
  });

  it('chainOgm(s) = link(s) XOR C[0..14], C = SHA-224(dHash ‖ anchor ‖ node id ‖ descSqn)', () => {
    const { chain, c } = sender(100, 0x01020304);
    expect(hex(c)).toBe(
      hex(nobleSha224(Buffer.concat([dHash, chain.anchor, nodeId, Buffer.of(1, 2, 3, 4)]))),
    );
    const l = ogmChainLink(chain, 5);
    expect(hex(chainOgmFor(chain, c, 5))).toBe(hex(l.map((b, i) => b ^ c[i]!)));
    expect(() => chainOgmFor(chain, c, 0)).toThrow(expect.objectContaining({ code: 'ERR_CRYPTO_INPUT' }));
    expect(() => chainOgmFor(chain, c, 101)).toThrow();
  });

  it('supports the full range of 8192 and rejects more', () => {
    const { chain, c } = sender(8192);
    const v = receiver(chain);
    expect(findChainSqn(v, chainOgmFor(chain, c, 8192), { fullRange: true })).toBe(8192);
    expect(() => createOgmChain({ nodeId, descSqn: 1, range: 8193 })).toThrow();
    expect(() => createOgmChain({ nodeId, descSqn: 1, range: 0 })).toThrow();
    // A received VERSION may announce range 0 (accepted by the reference, verifies nothing) …
    const v0 = createChainVerifier({
      descriptionHash: dHash,
      anchor: chain.anchor,
      nodeId,
      descSqn: 112,
      range: 0,
    });
    expect(findChainSqn(v0, chainOgmFor(chain, c, 1), { fullRange: true })).toBe(0);
    // … but not more than 8192.
    expect(() =>
      createChainVerifier({
        descriptionHash: dHash,
        anchor: chain.anchor,
        nodeId,
        descSqn: 112,
        range: 8193,
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_CRYPTO_INPUT' }));
    expect(() => createOgmChain({ nodeId: nodeId.subarray(1), descSqn: 1 })).toThrow();
  });

  it('does not show its links', () => {
    const { chain } = sender(20);
    const secret = hex(ogmChainLink(chain, 20));
    for (const f of [String(chain), JSON.stringify(chain), inspect(chain, { showHidden: true })]) {
      expect(f).not.toContain(secret);
    }
  });
});

describe('receiver search (chainOgmFind)', () => {
  it('follows consecutive OGMs with the default deviation and advances maxRcvd', () => {
    const { chain, c } = sender(6000);
    const v = receiver(chain);
    for (let s = 1; s <= 40; s++) {
      expect(findChainSqn(v, chainOgmFor(chain, c, s))).toBe(s);
      expect(v.maxRcvd).toBe(s);
      expect(hex(v.linkMaxRcvd)).toBe(hex(ogmChainLink(chain, s)));
    }
  });

  it('finds jumps up to ogmSqnDeviation (10), beyond that only with the full range (IID_ADV)', () => {
    const { chain, c } = sender(6000);
    const v = receiver(chain);
    expect(findChainSqn(v, chainOgmFor(chain, c, 10))).toBe(10);
    expect(findChainSqn(v, chainOgmFor(chain, c, 21))).toBe(0);
    expect(v.maxRcvd).toBe(10);
    expect(findChainSqn(v, chainOgmFor(chain, c, 21), { deviation: 11 })).toBe(21);
    expect(findChainSqn(v, chainOgmFor(chain, c, 5000))).toBe(0);
    expect(findChainSqn(v, chainOgmFor(chain, c, 5000), { fullRange: true })).toBe(5000);
    expect(findChainSqn(v, chainOgmFor(chain, c, 6000), { fullRange: true })).toBe(6000);
  });

  it('finds older sqns below maxRcvd (searching down from maxRcvd and up from the anchor)', () => {
    const { chain, c } = sender(6000);
    const v = receiver(chain);
    expect(findChainSqn(v, chainOgmFor(chain, c, 30), { fullRange: true })).toBe(30);
    // Down from maxRcvd 30 k + 1 steps (k < 15, k ≤ 10): 29 … 19; up from the anchor (k ≤ 10): 1 … 10.
    for (const s of [29, 20, 19, 10, 8, 1]) expect(findChainSqn(v, chainOgmFor(chain, c, s))).toBe(s);
    for (const s of [18, 15, 14, 11]) expect(findChainSqn(v, chainOgmFor(chain, c, s))).toBe(0);
    for (const s of [18, 15, 14, 11])
      expect(findChainSqn(v, chainOgmFor(chain, c, s), { fullRange: true })).toBe(s);
    expect(v.maxRcvd).toBe(30);
  });

  it('never finds the anchor itself, a wrong constant, another description or a flipped byte', () => {
    const { chain, c } = sender(100);
    const v = receiver(chain);
    expect(
      findChainSqn(
        v,
        chain.anchor.subarray(0, 14).map((b, i) => b ^ c[i]!),
        { fullRange: true },
      ),
    ).toBe(0);
    const other = sender(100);
    expect(findChainSqn(v, chainOgmFor(other.chain, other.c, 3), { fullRange: true })).toBe(0);
    const wrongC = c.slice();
    wrongC[0]! ^= 1;
    expect(findChainSqn(v, chainOgmFor(chain, wrongC, 3), { fullRange: true })).toBe(0);
    const ogm = chainOgmFor(chain, c, 3);
    ogm[13]! ^= 0x40;
    expect(findChainSqn(v, ogm, { fullRange: true })).toBe(0);
    expect(findChainSqn(v, ogm.subarray(1), { fullRange: true })).toBe(0);
    expect(v.maxRcvd).toBe(0);
  });

  it('chainOgmAt gives what the originator sent, for any sqn up to maxRcvd', () => {
    const { chain, c } = sender(300);
    const v = receiver(chain);
    findChainSqn(v, chainOgmFor(chain, c, 77), { fullRange: true });
    for (const s of [77, 76, 40, 1]) expect(hex(chainOgmAt(v, s)!)).toBe(hex(chainOgmFor(chain, c, s)));
    expect(chainOgmAt(v, 78)).toBeUndefined();
  });

  it('a found sqn is always the sent one (property, against a model of the reference search)', () => {
    const { chain, c } = sender(400);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 30 }),
        (known, s, dev) => {
          const v = receiver(chain);
          if (known > 0)
            expect(findChainSqn(v, chainOgmFor(chain, c, known), { fullRange: true })).toBe(known);
          const found = findChainSqn(v, chainOgmFor(chain, c, s), { deviation: dev });
          const half = Math.floor(known / 2);
          const expected =
            s >= known && s - known <= dev
              ? s === 0
                ? 0
                : s
              : s < known && (known - s - 1 < half ? known - s - 1 <= dev : false)
                ? s
                : s <= half && s <= dev
                  ? s
                  : 0;
          expect(found).toBe(expected);
          expect(v.maxRcvd).toBe(Math.max(known, expected));
        },
      ),
      { numRuns: 150 },
    );
  });
});
