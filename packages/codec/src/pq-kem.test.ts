/**
 * The PQ_KEM TLV (26, bmx7d extension, docs/protocol.md §4.13): the four kinds of codec test, and a
 * whole description that carries one through a content reference (§4.5 "Content references").
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pqKemValue } from '../test/arbitraries.js';
import {
  cryptTun,
  descriptionBase,
  descriptionHead,
  extensionTlv,
  sha224,
  wireguard,
} from '../test/extension-tlv.js';
import { buildDescription } from './build.js';
import { bytesEqual, fromHex } from './bytes.js';
import {
  MAX_DESC_ROOT_SIZE,
  MSG_SIZE,
  PQ_KEM_ALG,
  PQ_KEM_VERSION,
  TLV_TYPE,
  tlvTypeName,
  WIREGUARD_FLAG,
} from './constants.js';
import { expandDescription, hashKey } from './content.js';
import { decodeDescription, encodeDescription } from './description.js';
import { decodeTlvBody, encodeTlvBody } from './tlv.js';
import type { PqKemTlv } from './tlv-plugins.js';
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

const ext = extensionTlv(T);
const { refused } = ext;

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
    const v = ext.golden(typical, golden);
    expect('reserved' in v).toBe(false);
  });

  it('golden vector: a version-2 header with non-zero reserved bits is read with the version-1 layout', () => {
    const later = fromHex(
      '02' + // version 2: read with the version-1 layout, since the length fits
        '01' + // alg 1
        'beef' + // reserved: ignored, but kept so the TLV re-encodes to these bytes
        PATTERN.repeat(74),
    );
    ext.golden<PqKemTlv>({ type: T, version: 2, alg: 1, publicKey: patternKey, reserved: 0xbeef }, later);
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
      expect(ext.roundTrip(v).length).toBe(4 + KEY);
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
    // refused: the flip of version 1 to 0 and the 8 flips of the algorithm; the rest decodes
    expect(ext.bitFlipSweep(golden)).toEqual([0, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('property (seeded): random bodies never throw, random valid values round-trip', () => {
    ext.fuzzBodies(1300, { numRuns: 3000, seed: 26 });
    // bodies of ML-KEM-768's length and around it, with plausible headers: many decode
    const tidy = (b: Uint8Array) => {
      b[0] = 1 + (b[0]! & 1);
      b[1] = b[1]! & 1;
    };
    const lengths = fc.integer({ min: -2, max: 2 }).map((d) => 1188 + d);
    const decoded = ext.fuzzPlausibleBodies(lengths, tidy, { numRuns: 3000, seed: 2626 });
    expect(decoded).toBeGreaterThan(80);
    ext.fuzzValues(pqKemValue, () => 4 + KEY, { numRuns: 500, seed: 26 });
  });

  it('in a whole description: referenced (level 2, zlib when smaller), the root stays small, the TLV round-trips', () => {
    for (const [publicKey, gzip, rootBytes] of [
      // the pattern compresses: a hash list of one zlib chunk (32 + 28 bytes of reference)
      [patternKey, true, 62],
      // a key of random-looking bytes does not: one plain chunk (a 32-byte reference)
      [noisyKey, false, 34],
      // (each with its 2-byte TLV header)
    ] as const) {
      const pq: PqKemTlv = { ...typical, publicKey };
      const built = buildDescription({ ...descriptionBase(), tlvs: [pq, cryptTun, wireguard], deflate });
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
    // even with the smallest signature (RSA512, 64 bytes)
    expect(() => encodeDescription([...descriptionHead(1), typical])).toThrow(/exceeds 1198/);
  });

  it('is an extension: a description with a bad or misplaced type 26 decodes as the reference decodes it', () => {
    // corrupt bodies inline (short, version 0, algorithm 2, a key too short): kept raw
    ext.inDescriptions(
      [],
      [
        new Uint8Array(1),
        fromHex('0102'),
        fromHex('010100'),
        fromHex('00010000'),
        body('01020000', 16),
        body('01010000', 64),
      ],
    );
  });

  it('the reference captures carry no type 26, inline or referenced', () => {
    ext.noneInCaptures();
  });
});
