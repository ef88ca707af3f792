/**
 * The PQ_KEM TLV (26, bmx7d extension, docs/protocol.md §4.13): the four kinds of codec test, and a
 * whole description that carries one through a content reference (§4.5 "Content references").
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pqKemValue } from '../test/arbitraries.js';
import { allPayloads } from '../test/fixtures.js';
import { buildDescription } from './build.js';
import { bytesEqual, fromHex } from './bytes.js';
import {
  MAX_DESC_ROOT_SIZE,
  MSG_SIZE,
  PQ_KEM_ALG,
  PQ_KEM_VERSION,
  SHA_LEN,
  TLV_TYPE,
  tlvTypeName,
  WIREGUARD_FLAG,
} from './constants.js';
import { expandDescription, hashKey } from './content.js';
import { type DescTlv, decodeDescription, encodeDescription } from './description.js';
import { decodePacket } from './packet.js';
import { decodeTlvBody, encodeTlvBody, isExtensionTlvType, isKnownTlvType, type PubkeyTlv } from './tlv.js';
import type { CryptTunTlv, PqKemTlv, WireguardTlv } from './tlv-plugins.js';
import { deflate, inflate } from './zlib.js';

const T = TLV_TYPE.PQ_KEM;
const KEY: number = MSG_SIZE.PQ_KEM_ML_KEM_768_KEY;

/** A short deterministic key pattern: these 16 bytes 74 times (1184 bytes). */
const PATTERN = '0123456789abcdeffedcba9876543210';
const patternKey = fromHex(PATTERN.repeat(74));

const typical: PqKemTlv = { type: T, version: 1, alg: PQ_KEM_ALG.ML_KEM_768, publicKey: patternKey };

/** The bytes of `typical`, written out by hand. */
const golden = fromHex(
  '01' + // version 1
    '01' + // alg 1 = ML-KEM-768
    '0000' + // reserved, sent as 0
    PATTERN.repeat(74), // the 1184-byte public key
);

/** A decode that must fail with `code`, without throwing. */
function refused(body: Uint8Array, code: 'ERR_LENGTH' | 'ERR_VALUE'): void {
  const r = decodeTlvBody(T, body);
  expect(r.ok).toBe(false);
  if (!r.ok) {
    expect(r.code).toBe(code);
    expect(r.reason).toMatch(/^PQ_KEM/);
  }
}

/** Decoding never throws; what decodes re-encodes to the same bytes. */
function lossless(body: Uint8Array): boolean {
  const r = decodeTlvBody(T, body);
  if (!r.ok) {
    expect(['ERR_LENGTH', 'ERR_VALUE']).toContain(r.code);
    return false;
  }
  expect(bytesEqual(encodeTlvBody(r.value), body)).toBe(true);
  return true;
}

/** A version-1 ML-KEM-768 body with the given header (hex, 4 bytes) and key length. */
const body = (head: string, keyLen = KEY) => {
  const b = new Uint8Array(4 + keyLen).fill(0x5a);
  b.set(fromHex(head));
  return b;
};

/** 1184 bytes that do not compress: SHA-256 in counter mode (test data, not a real ML-KEM key). */
const noisyKey = (() => {
  const out = new Uint8Array(KEY);
  for (let i = 0; i < KEY / 32; i++)
    out.set(createHash('sha256').update(`pq-kem test key ${i}`).digest(), 32 * i);
  return out;
})();

describe('PQ_KEM TLV (26)', () => {
  it('the constants', () => {
    expect(T).toBe(26);
    expect(PQ_KEM_VERSION).toBe(1);
    expect(PQ_KEM_ALG.ML_KEM_768).toBe(1);
    expect(MSG_SIZE.PQ_KEM_HEADER).toBe(4);
    expect(MSG_SIZE.PQ_KEM_ML_KEM_768_KEY).toBe(1184);
    expect(WIREGUARD_FLAG.PQ_KEM).toBe(1);
    expect(tlvTypeName(T)).toBe('PQ_KEM');
    expect(patternKey.length).toBe(KEY);
  });

  it('golden vector: version 1, ML-KEM-768, the 1184-byte pattern key', () => {
    expect(golden.length).toBe(1188);
    expect(bytesEqual(encodeTlvBody(typical), golden)).toBe(true);
    const r = decodeTlvBody(T, golden);
    expect(r.ok && r.value).toEqual(typical);
    if (r.ok) expect('reserved' in r.value).toBe(false);
  });

  it('golden vector: a version-2 header with non-zero reserved bits is read with the version-1 layout', () => {
    const later = fromHex(
      '02' + // version 2: read with the version-1 layout, since the length fits
        '01' + // alg 1
        'beef' + // reserved: ignored, but kept so the TLV re-encodes to these bytes
        PATTERN.repeat(74),
    );
    const r = decodeTlvBody(T, later);
    if (!r.ok) throw new Error(r.reason);
    expect(r.value).toEqual({ type: T, version: 2, alg: 1, publicKey: patternKey, reserved: 0xbeef });
    expect(bytesEqual(encodeTlvBody(r.value), later)).toBe(true);
  });

  it('round trip of typical values: decode(encode(v)) = v and encode(decode(b)) = b', () => {
    for (const v of [
      typical,
      { ...typical, publicKey: noisyKey },
      { ...typical, version: 255 },
      { ...typical, reserved: 1 },
      { ...typical, reserved: 0xffff },
      { ...typical, publicKey: new Uint8Array(KEY) },
      { ...typical, publicKey: new Uint8Array(KEY).fill(0xff) },
    ] as PqKemTlv[]) {
      const b = encodeTlvBody(v);
      expect(b.length).toBe(4 + KEY);
      const r = decodeTlvBody(T, b);
      if (!r.ok) throw new Error(r.reason);
      expect(r.value).toEqual(v);
      expect(bytesEqual(encodeTlvBody(r.value), b)).toBe(true);
    }
    // reserved 0 is sent as 0 and decodes as absent
    const zero = decodeTlvBody(T, encodeTlvBody({ ...typical, reserved: 0 }));
    expect(zero.ok && zero.value).toEqual(typical);
  });

  it('malformed bodies are refused with their stable code, never thrown', () => {
    // shorter than the header
    for (const n of [0, 1, 2, 3]) refused(golden.subarray(0, n), 'ERR_LENGTH');
    // every truncation of the golden vector, and one byte more
    for (let n = 4; n < golden.length; n++) refused(golden.subarray(0, n), 'ERR_LENGTH');
    refused(Uint8Array.of(...golden, 0), 'ERR_LENGTH');
    // ML-KEM-768 keys of other lengths (ML-KEM-512's 800, ML-KEM-1024's 1568 among them)
    for (const n of [0, 1, 32, 800, 1183, 1185, 1568]) refused(body('01010000', n), 'ERR_LENGTH');
    // version 0, with and without a key
    refused(fromHex('00010000'), 'ERR_VALUE');
    refused(body('00010000'), 'ERR_VALUE');
    const v0 = golden.slice();
    v0[0] = 0;
    refused(v0, 'ERR_VALUE');
    // algorithms other than 1, with a key of ML-KEM-768's length or none
    for (const alg of [0, 2, 3, 0x7f, 0xff]) {
      const a = alg.toString(16).padStart(2, '0');
      refused(body(`01${a}0000`), 'ERR_VALUE');
      refused(body(`01${a}0000`, 0), 'ERR_VALUE');
      refused(body(`01${a}0000`, 1568), 'ERR_VALUE');
    }
    // version is checked before the algorithm, the algorithm before the length
    refused(fromHex('00020000'), 'ERR_VALUE');
    refused(fromHex('010200'), 'ERR_LENGTH');
  });

  it('the encoder checks its input', () => {
    const v = (o: Partial<PqKemTlv>): PqKemTlv => ({ ...typical, ...o });
    expect(() => encodeTlvBody(v({}))).not.toThrow();
    expect(() => encodeTlvBody(v({ version: 0 }))).toThrow();
    expect(() => encodeTlvBody(v({ version: 256 }))).toThrow();
    expect(() => encodeTlvBody(v({ alg: 0 }))).toThrow();
    expect(() => encodeTlvBody(v({ alg: 2 }))).toThrow();
    expect(() => encodeTlvBody(v({ reserved: -1 }))).toThrow();
    expect(() => encodeTlvBody(v({ reserved: 0x10000 }))).toThrow();
    expect(() => encodeTlvBody(v({ publicKey: new Uint8Array(KEY - 1) }))).toThrow();
    expect(() => encodeTlvBody(v({ publicKey: new Uint8Array(KEY + 1) }))).toThrow();
    expect(() => encodeTlvBody(v({ publicKey: new Uint8Array(32) }))).toThrow();
  });

  it('bit-flip sweep of the golden vector: never throws, lossless when it decodes', () => {
    let decoded = 0;
    for (let bit = 0; bit < golden.length * 8; bit++) {
      const b = golden.slice();
      b[bit >> 3]! ^= 1 << (bit & 7);
      if (lossless(b)) decoded++;
    }
    // refused: the flip of version 1 to 0 and the 8 flips of the algorithm; the rest decodes
    expect(decoded).toBe(golden.length * 8 - 9);
  });

  it('property (seeded): random bodies never throw, random valid values round-trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1300 }), (b) => {
        lossless(b);
      }),
      { numRuns: 3000, seed: 26 },
    );
    // bodies of ML-KEM-768's length and around it, with plausible headers: many decode
    let decoded = 0;
    fc.assert(
      fc.property(
        fc
          .integer({ min: -2, max: 2 })
          .chain((d) => fc.uint8Array({ minLength: 1188 + d, maxLength: 1188 + d })),
        fc.boolean(),
        (b, tidy) => {
          if (tidy) {
            b[0] = 1 + (b[0]! & 1);
            b[1] = b[1]! & 1;
          }
          if (lossless(b)) decoded++;
        },
      ),
      { numRuns: 3000, seed: 2626 },
    );
    expect(decoded).toBeGreaterThan(80);
    fc.assert(
      fc.property(pqKemValue, (v) => {
        const b = encodeTlvBody(v);
        expect(b.length).toBe(4 + KEY);
        const r = decodeTlvBody(T, b);
        expect(r.ok && r.value).toEqual(v);
        if (r.ok) expect(bytesEqual(encodeTlvBody(r.value), b)).toBe(true);
      }),
      { numRuns: 500, seed: 26 },
    );
  });

  const nodeKey: PubkeyTlv = { type: TLV_TYPE.NODE_PUBKEY, keyType: 4, key: new Uint8Array(128).fill(9) };
  const version = {
    cv: 21,
    capabilities: 2,
    bootSqn: 11,
    descSqn: 11,
    ogmSqnRange: 6000,
    anchorLink: new Uint8Array(14),
    anchorSeed: new Uint8Array(14),
  };
  const sha224 = (d: Uint8Array) => new Uint8Array(createHash('sha224').update(d).digest());
  const wg: WireguardTlv = {
    type: TLV_TYPE.WIREGUARD,
    version: 1,
    flags: WIREGUARD_FLAG.PQ_KEM,
    listenPort: 6271,
    publicKey: new Uint8Array(32).fill(9),
    extra: new Uint8Array(0),
  };
  const cryptTun: CryptTunTlv = {
    type: TLV_TYPE.CRYPT_TUN,
    version: 1,
    flags: 0,
    entries: [{ crypt: 2, flags: 1, family: 4, prefixLen: 24, address: fromHex('0a000100') }],
  };

  it('in a whole description: referenced (level 2, zlib when smaller), the root stays small, the TLV round-trips', () => {
    for (const [publicKey, gzip, rootBytes] of [
      // the pattern compresses: a hash list of one zlib chunk (32 + 28 bytes of reference)
      [patternKey, true, 62],
      // a key of random-looking bytes does not: one plain chunk (a 32-byte reference)
      [noisyKey, false, 34],
      // (each with its 2-byte TLV header)
    ] as const) {
      const pq: PqKemTlv = { ...typical, publicKey };
      const built = buildDescription({
        nodeKey,
        version,
        tlvs: [pq, cryptTun, wg],
        hash: sha224,
        deflate,
      });
      // the three fixed TLVs (211 bytes with an RSA1024 key), then three references
      expect(built.bytes.length).toBeLessThan(MAX_DESC_ROOT_SIZE);
      expect(built.bytes.length).toBeLessThanOrEqual(211 + 3 * 62);
      const d = decodeDescription(built.bytes);
      if (!d.ok) throw new Error(d.reason);
      expect(d.value.tlvs.map((t) => (t.type === 0 ? t.ref.expandedType : t.type))).toEqual([
        1, 2, 3, 24, 25, 26,
      ]);
      const ref = d.value.tlvs[5]!;
      expect(ref.length).toBe(rootBytes);
      expect(ref.type).toBe(TLV_TYPE.CONTENT_HASH);
      if (ref.type !== TLV_TYPE.CONTENT_HASH) return;
      expect(ref.ref).toMatchObject({ expandedType: T, expandedLength: 1188, gzip, nesting: gzip ? 2 : 1 });
      expect(d.value.version.virtLength).toBe(129 + 36 + 22 + 1188);
      // content assembly with the built items gives back the TLV
      const items = new Map(built.items.map((i) => [hashKey(i.hash), i]));
      const x = expandDescription(d.value, (h) => items.get(hashKey(h)), { hash: sha224, inflate });
      if (!x.ok) throw new Error(x.reason);
      expect(x.value.tlvs.map((t) => t.type)).toEqual([1, 2, 3, 24, 25, 26]);
      const got = x.value.tlvs[5]!;
      expect(got).toMatchObject(pq);
      expect(bytesEqual(got.body, encodeTlvBody(pq))).toBe(true);
      expect(x.value.virtLength).toBe(d.value.version.virtLength);
      expect(x.value.virtContents).toBe(d.value.version.virtContents);
      // a content item altered in transit does not assemble
      const bad = new Map(items);
      const k = hashKey(ref.ref.hashes[0] ?? ref.ref.expandedHash);
      const it0 = bad.get(k)!;
      bad.set(k, { ...it0, body: Uint8Array.of(...it0.body.subarray(1), it0.body[0]! ^ 1) });
      expect(expandDescription(d.value, (h) => bad.get(hashKey(h)), { hash: sha224, inflate }).ok).toBe(
        false,
      );
    }
  });

  it('never fits a root inline: 1190 bytes with the three fixed TLVs exceed 1198', () => {
    const first: DescTlv = {
      type: 0,
      ref: {
        expandedHash: new Uint8Array(SHA_LEN).fill(1),
        expandedLength: 129,
        expandedType: 1,
        nesting: 1,
        gzip: false,
        hashes: [],
        inline: new Uint8Array(0),
      },
    };
    const head: DescTlv[] = [
      first,
      { type: TLV_TYPE.DSC_SIGNATURE, keyType: 1, signature: new Uint8Array(64) },
      { type: TLV_TYPE.VERSION, ...version, virtLength: 129, virtContents: 1 },
    ];
    // even with the smallest signature (RSA512, 64 bytes)
    expect(() => encodeDescription([...head, typical])).toThrow(/exceeds 1198/);
  });

  it('is an extension: a description with a bad or misplaced type 26 decodes as the reference decodes it', () => {
    expect(isKnownTlvType(T)).toBe(false);
    expect(isExtensionTlvType(T)).toBe(true);
    const first: DescTlv = {
      type: 0,
      ref: {
        expandedHash: new Uint8Array(SHA_LEN).fill(1),
        expandedLength: 129,
        expandedType: 1,
        nesting: 1,
        gzip: false,
        hashes: [],
        inline: new Uint8Array(0),
      },
    };
    const head: DescTlv[] = [
      first,
      { type: TLV_TYPE.DSC_SIGNATURE, keyType: 4, signature: new Uint8Array(128) },
      { type: TLV_TYPE.VERSION, ...version, virtLength: 129, virtContents: 1 },
    ];
    const info: DescTlv = {
      type: TLV_TYPE.INFO,
      infoType: 0,
      infoOffset: 20,
      codeRevision: 0,
      reservedA: 0,
      reservedB: 0,
      reservedC: 0,
      name: 'n1',
      mail: '',
      extra: new Uint8Array(0),
    };
    // corrupt bodies inline (short, version 0, algorithm 2, a key too short): kept raw
    for (const raw of [
      new Uint8Array(1),
      fromHex('010100'),
      fromHex('00010000'),
      body('01020000', 16),
      body('01010000', 64),
    ]) {
      const bad: DescTlv = { type: 26, unknown: true, raw };
      const r = decodeDescription(encodeDescription([...head, wg, cryptTun, bad, info]));
      if (!r.ok) throw new Error(r.reason);
      expect(r.value.tlvs.map((t) => t.type)).toEqual([0, 2, 3, 24, 25, 26, 28]);
      expect(r.value.tlvs[5]).toMatchObject({ type: 26, unknown: true, raw });
    }
    // after INFO (28): the reference checks no order for a type it skips (§4.13)
    const bad: DescTlv = { type: 26, unknown: true, raw: fromHex('0102') };
    expect(decodeDescription(encodeDescription([...head, info, bad])).ok).toBe(true);
  });

  it('the reference captures carry no type 26, inline or referenced', () => {
    let descriptions = 0;
    for (const p of allPayloads()) {
      const r = decodePacket(p);
      if (!r.ok) continue;
      for (const f of r.value.frames) {
        if (f.type !== 2) continue;
        descriptions++;
        for (const t of f.description.tlvs) {
          expect(t.type).not.toBe(T);
          if (t.type === 0) expect(t.ref.expandedType).not.toBe(T);
        }
      }
    }
    expect(descriptions).toBeGreaterThan(0);
  });
});
