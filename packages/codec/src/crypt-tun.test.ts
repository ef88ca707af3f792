/** The CRYPT_TUN TLV (25, bmx7d extension, docs/protocol.md §4.13): the four kinds of codec test. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cryptTunEntry } from '../test/arbitraries.js';
import { extensionTlv } from '../test/extension-tlv.js';
import { fromHex } from './bytes.js';
import { CRYPT_TUN_FLAG, CRYPT_TUN_VERSION, MSG_SIZE, TLV_TYPE, tlvTypeName } from './constants.js';
import { decodeTlvBody, encodeTlvBody } from './tlv.js';
import type { CryptTunEntry, CryptTunTlv } from './tlv-plugins.js';

const T = TLV_TYPE.CRYPT_TUN;

const typical: CryptTunTlv = {
  type: T,
  version: 1,
  flags: 0,
  entries: [
    { crypt: 2, flags: CRYPT_TUN_FLAG.SOURCE, family: 4, prefixLen: 24, address: fromHex('0a000100') },
    { crypt: 1, flags: 0, family: 6, prefixLen: 64, address: fromHex('fd700001000000000000000000000000') },
    { crypt: 0, flags: 0, family: 4, prefixLen: 0, address: new Uint8Array(4) },
  ],
};

/** The bytes of `typical`, written out by hand. */
const golden = fromHex(
  '01' + // version 1
    '00' + // flags: none
    // entry 1: encrypted only, SOURCE, IPv4 10.0.1.0/24
    '02' + // crypt 2 = encrypted only
    '01' + // entry flags: SOURCE
    '04' + // family 4
    '18' + // prefix length 24
    '0a000100' + // 10.0.1.0
    '000000000000000000000000' + // IPv4 padding
    // entry 2: plain and encrypted, IPv6 fd70:1::/64
    '01' + // crypt 1 = plain and encrypted
    '00' + // entry flags: none
    '06' + // family 6
    '40' + // prefix length 64
    'fd700001000000000000000000000000' + // fd70:1::
    // entry 3: plain only, IPv4 0.0.0.0/0
    '00' + // crypt 0 = plain only
    '00' + // entry flags: none
    '04' + // family 4
    '00' + // prefix length 0
    '00000000' + // 0.0.0.0
    '000000000000000000000000', // IPv4 padding
);

const ext = extensionTlv(T);
const { refused } = ext;

describe('CRYPT_TUN TLV (25)', () => {
  it('the constants', () => {
    expect(T).toBe(25);
    expect(CRYPT_TUN_VERSION).toBe(1);
    expect(CRYPT_TUN_FLAG.SOURCE).toBe(1);
    expect(MSG_SIZE.CRYPT_TUN_HEADER).toBe(2);
    expect(MSG_SIZE.CRYPT_TUN_ENTRY).toBe(20);
    expect(tlvTypeName(T)).toBe('CRYPT_TUN');
  });

  it('golden vector: version 1, three entries (IPv4 source, IPv6, IPv4 default)', () => {
    expect(golden.length).toBe(MSG_SIZE.CRYPT_TUN_HEADER + 3 * MSG_SIZE.CRYPT_TUN_ENTRY);
    ext.golden(typical, golden);
  });

  it('golden vector: a version-2 header, unknown header and entry flags, no entries or one', () => {
    ext.golden({ type: T, version: 1, flags: 0, entries: [] }, fromHex('0100'));
    const later = fromHex(
      '02' + // version 2: read with the version-1 layout, since the length fits
        '80' + // flags: an unknown bit, ignored
        '02' + // crypt 2
        'fe' + // entry flags: every bit but SOURCE (unknown, ignored)
        '06' + // family 6
        '80' + // prefix length 128
        '20010db8000000000000000000000001', // 2001:db8::1
    );
    const v = ext.golden<CryptTunTlv>(
      {
        type: T,
        version: 2,
        flags: 0x80,
        entries: [
          {
            crypt: 2,
            flags: 0xfe,
            family: 6,
            prefixLen: 128,
            address: fromHex('20010db8000000000000000000000001'),
          },
        ],
      },
      later,
    );
    expect(v.entries[0]!.flags & CRYPT_TUN_FLAG.SOURCE).toBe(0);
  });

  it('round trip of typical values: decode(encode(v)) = v and encode(decode(b)) = b', () => {
    ext.roundTrip(typical);
    // one network per crypt value and family, at the largest prefix lengths
    for (const crypt of [0, 1, 2] as const)
      for (const [family, prefixLen, len] of [
        [4, 32, 4],
        [6, 128, 16],
      ] as const) {
        const v: CryptTunTlv = {
          type: T,
          version: CRYPT_TUN_VERSION,
          flags: 0,
          entries: [
            {
              crypt,
              flags: CRYPT_TUN_FLAG.SOURCE,
              family,
              prefixLen,
              address: new Uint8Array(len).fill(0xab),
            },
          ],
        };
        ext.roundTrip(v);
      }
  });

  it('malformed bodies are refused with their stable code, never thrown', () => {
    // lengths that are not 2 + 20n
    for (const n of [0, 1, 3, 21, 23, 41, 43, 61]) {
      const b = new Uint8Array(n);
      if (n) b[0] = 1;
      refused(b, 'ERR_LENGTH');
    }
    for (let n = 0; n < golden.length; n++)
      if ((n - 2) % 20 || n < 2) refused(golden.subarray(0, n), 'ERR_LENGTH');
    refused(Uint8Array.of(...golden, 0), 'ERR_LENGTH');
    // version 0, with and without entries
    refused(fromHex('0000'), 'ERR_VALUE');
    const v0 = golden.slice();
    v0[0] = 0;
    refused(v0, 'ERR_VALUE');
    /** A version-1 body of one entry: crypt, flags, family, prefix length (hex), then 10.0.1.0. */
    const ip4Entry = (head: string) => fromHex(`0100${head}0a000100000000000000000000000000`);
    /** The same with 2001:db8::1. */
    const ip6Entry = (head: string) => fromHex(`0100${head}20010db8000000000000000000000001`);
    // crypt above 2
    refused(ip4Entry('03000418'), 'ERR_VALUE');
    refused(ip4Entry('ff000418'), 'ERR_VALUE');
    refused(ip6Entry('03000640'), 'ERR_VALUE');
    // family other than 4 or 6
    refused(ip4Entry('00000518'), 'ERR_VALUE');
    refused(ip4Entry('00000018'), 'ERR_VALUE');
    refused(ip6Entry('00001018'), 'ERR_VALUE');
    // prefix length beyond the family
    refused(ip4Entry('00000421'), 'ERR_VALUE');
    refused(ip4Entry('000004ff'), 'ERR_VALUE');
    refused(ip6Entry('00000681'), 'ERR_VALUE');
    expect(decodeTlvBody(T, ip4Entry('02010420')).ok).toBe(true);
    expect(decodeTlvBody(T, ip6Entry('02010680')).ok).toBe(true);
    // non-zero IPv4 padding, in each of its 12 bytes
    for (let i = 0; i < 12; i++) {
      const b = ip4Entry('00000418');
      b[2 + 8 + i] = 1;
      refused(b, 'ERR_VALUE');
    }
    // a bad second entry refuses the whole TLV
    const bad2 = golden.slice();
    bad2[22] = 3;
    refused(bad2, 'ERR_VALUE');
  });

  it('the encoder checks its input', () => {
    const e: CryptTunEntry = { crypt: 0, flags: 0, family: 4, prefixLen: 8, address: fromHex('0a000000') };
    const v = (entry: Partial<CryptTunEntry>, head: Partial<CryptTunTlv> = {}): CryptTunTlv => ({
      type: T,
      version: 1,
      flags: 0,
      entries: [{ ...e, ...entry } as CryptTunEntry],
      ...head,
    });
    expect(() => encodeTlvBody(v({}))).not.toThrow();
    expect(() => encodeTlvBody(v({}, { version: 0 }))).toThrow();
    expect(() => encodeTlvBody(v({}, { version: 256 }))).toThrow();
    expect(() => encodeTlvBody(v({}, { flags: 256 }))).toThrow();
    expect(() => encodeTlvBody(v({ crypt: 3 as 0 }))).toThrow();
    expect(() => encodeTlvBody(v({ flags: -1 }))).toThrow();
    expect(() => encodeTlvBody(v({ family: 5 as 4 }))).toThrow();
    expect(() => encodeTlvBody(v({ prefixLen: 33 }))).toThrow();
    expect(() => encodeTlvBody(v({ family: 6, prefixLen: 129, address: new Uint8Array(16) }))).toThrow();
    expect(() => encodeTlvBody(v({ family: 6, prefixLen: 128, address: new Uint8Array(16) }))).not.toThrow();
    expect(() => encodeTlvBody(v({ address: new Uint8Array(16) }))).toThrow();
    expect(() => encodeTlvBody(v({ family: 6, address: new Uint8Array(4) }))).toThrow();
  });

  it('bit-flip sweep of the golden vector: never throws, lossless when it decodes', () => {
    const decoded = golden.length * 8 - ext.bitFlipSweep(golden).length;
    // addresses and flags take any bits; version 0, crypt, family, prefix and padding flips refuse
    expect(decoded).toBeGreaterThan(golden.length * 4);
    expect(decoded).toBeLessThan(golden.length * 8);
  });

  it('property (seeded): random bodies never throw, random valid values round-trip', () => {
    ext.fuzzBodies(130, { numRuns: 20_000, seed: 25 });
    // bodies of the right length with plausible entry headers: many decode
    const tidy = (b: Uint8Array) => {
      for (let o = 2; o < b.length; o += 20) {
        b[o]! %= 4;
        b[o + 2] = b[o + 2]! & 1 ? 6 : 4;
        b[o + 3]! %= 140;
        if (b[o + 2] === 4 && b[o + 3]! & 1) b.fill(0, o + 8, o + 20);
      }
    };
    const lengths = fc.integer({ min: 0, max: 5 }).map((n) => 2 + 20 * n);
    const decoded = ext.fuzzPlausibleBodies(lengths, tidy, { numRuns: 20_000, seed: 2525 });
    expect(decoded).toBeGreaterThan(1000);
    const values = fc
      .record({
        version: fc.integer({ min: 1, max: 255 }),
        flags: fc.integer({ min: 0, max: 255 }),
        entries: fc.array(cryptTunEntry, { maxLength: 8 }),
      })
      .map((f): CryptTunTlv => ({ type: T, ...f }));
    ext.fuzzValues(values, (v) => 2 + 20 * v.entries.length, { numRuns: 2000, seed: 25 });
  });

  it('is an extension: a description with a valid, bad or misplaced type 25 decodes as the reference decodes it', () => {
    // corrupt bodies: bad length, version 0, crypt 3
    const v0 = golden.slice();
    v0[0] = 0;
    const crypt3 = golden.slice();
    crypt3[2] = 3;
    ext.inDescriptions([typical], [new Uint8Array(5).fill(1), v0, crypt3, new Uint8Array(1)]);
  });

  it('the reference captures carry no type 25, inline or referenced', () => {
    ext.noneInCaptures();
  });
});
