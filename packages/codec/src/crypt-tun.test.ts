/** The CRYPT_TUN TLV (25, bmx7d extension, docs/protocol.md §4.13): the four kinds of codec test. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cryptTunEntry } from '../test/arbitraries.js';
import { allPayloads } from '../test/fixtures.js';
import { bytesEqual, fromHex } from './bytes.js';
import { CRYPT_TUN_FLAG, CRYPT_TUN_VERSION, MSG_SIZE, SHA_LEN, TLV_TYPE, tlvTypeName } from './constants.js';
import { type DescTlv, decodeDescription, encodeDescription } from './description.js';
import { decodePacket } from './packet.js';
import { decodeTlvBody, encodeTlvBody, isExtensionTlvType, isKnownTlvType } from './tlv.js';
import type { CryptTunEntry, CryptTunTlv, WireguardTlv } from './tlv-plugins.js';

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

/** A decode that must fail with `code`, without throwing. */
function refused(body: Uint8Array, code: 'ERR_LENGTH' | 'ERR_VALUE'): void {
  const r = decodeTlvBody(T, body);
  expect(r.ok).toBe(false);
  if (!r.ok) {
    expect(r.code).toBe(code);
    expect(r.reason).toMatch(/^CRYPT_TUN/);
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
    expect(bytesEqual(encodeTlvBody(typical), golden)).toBe(true);
    const r = decodeTlvBody(T, golden);
    expect(r.ok && r.value).toEqual(typical);
  });

  it('golden vector: a version-2 header, unknown header and entry flags, no entries or one', () => {
    const empty = fromHex('0100');
    const e = decodeTlvBody(T, empty);
    expect(e.ok && e.value).toEqual({ type: T, version: 1, flags: 0, entries: [] });
    const later = fromHex(
      '02' + // version 2: read with the version-1 layout, since the length fits
        '80' + // flags: an unknown bit, ignored
        '02' + // crypt 2
        'fe' + // entry flags: every bit but SOURCE (unknown, ignored)
        '06' + // family 6
        '80' + // prefix length 128
        '20010db8000000000000000000000001', // 2001:db8::1
    );
    const r = decodeTlvBody(T, later);
    if (!r.ok) throw new Error(r.reason);
    const v = r.value as CryptTunTlv;
    expect(v).toEqual({
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
    });
    expect(v.entries[0]!.flags & CRYPT_TUN_FLAG.SOURCE).toBe(0);
    expect(bytesEqual(encodeTlvBody(v), later)).toBe(true);
  });

  it('round trip of typical values: decode(encode(v)) = v and encode(decode(b)) = b', () => {
    const b = encodeTlvBody(typical);
    const r = decodeTlvBody(T, b);
    if (!r.ok) throw new Error(r.reason);
    expect(r.value).toEqual(typical);
    expect(bytesEqual(encodeTlvBody(r.value), b)).toBe(true);
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
        const rr = decodeTlvBody(T, encodeTlvBody(v));
        expect(rr.ok && rr.value).toEqual(v);
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
    let decoded = 0;
    for (let bit = 0; bit < golden.length * 8; bit++) {
      const b = golden.slice();
      b[bit >> 3]! ^= 1 << (bit & 7);
      if (lossless(b)) decoded++;
    }
    // addresses and flags take any bits; version 0, crypt, family, prefix and padding flips refuse
    expect(decoded).toBeGreaterThan(golden.length * 4);
    expect(decoded).toBeLessThan(golden.length * 8);
  });

  it('property (seeded): random bodies never throw, random valid values round-trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 130 }), (b) => {
        lossless(b);
      }),
      { numRuns: 20_000, seed: 25 },
    );
    // bodies of the right length with plausible entry headers: many decode
    let decoded = 0;
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 5 })
          .chain((n) => fc.uint8Array({ minLength: 2 + 20 * n, maxLength: 2 + 20 * n })),
        fc.boolean(),
        (b, tidy) => {
          if (tidy)
            for (let o = 2; o < b.length; o += 20) {
              b[o]! %= 4;
              b[o + 2] = b[o + 2]! & 1 ? 6 : 4;
              b[o + 3]! %= 140;
              if (b[o + 2] === 4 && b[o + 3]! & 1) b.fill(0, o + 8, o + 20);
            }
          if (lossless(b)) decoded++;
        },
      ),
      { numRuns: 20_000, seed: 2525 },
    );
    expect(decoded).toBeGreaterThan(1000);
    fc.assert(
      fc.property(
        fc.record({
          version: fc.integer({ min: 1, max: 255 }),
          flags: fc.integer({ min: 0, max: 255 }),
          entries: fc.array(cryptTunEntry, { maxLength: 8 }),
        }),
        (f) => {
          const v: CryptTunTlv = { type: T, ...f };
          const b = encodeTlvBody(v);
          expect(b.length).toBe(2 + 20 * f.entries.length);
          const r = decodeTlvBody(T, b);
          expect(r.ok && r.value).toEqual(v);
          if (r.ok) expect(bytesEqual(encodeTlvBody(r.value), b)).toBe(true);
        },
      ),
      { numRuns: 2000, seed: 25 },
    );
  });

  it('is an extension: a description with a valid, bad or misplaced type 25 decodes as the reference decodes it', () => {
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
      {
        type: TLV_TYPE.VERSION,
        cv: 21,
        capabilities: 2,
        bootSqn: 1,
        descSqn: 1,
        ogmSqnRange: 6000,
        anchorLink: new Uint8Array(14),
        anchorSeed: new Uint8Array(14),
        virtLength: 129,
        virtContents: 1,
      },
    ];
    const tun6: DescTlv = { type: TLV_TYPE.TUN6, endpoints: [new Uint8Array(16).fill(7)] };
    const wg: WireguardTlv = {
      type: TLV_TYPE.WIREGUARD,
      version: 1,
      flags: 0,
      listenPort: 6271,
      publicKey: new Uint8Array(32).fill(9),
      extra: new Uint8Array(0),
    };
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
    // among the others, in type order: decoded into fields
    const good = decodeDescription(encodeDescription([...head, tun6, wg, typical, info]));
    if (!good.ok) throw new Error(good.reason);
    expect(good.value.tlvs.map((t) => t.type)).toEqual([0, 2, 3, 17, 24, 25, 28]);
    expect(good.value.tlvs[5]).toMatchObject(typical);
    // corrupt bodies (bad length, version 0, crypt 3): the description decodes, the TLV is kept raw
    const v0 = golden.slice();
    v0[0] = 0;
    const crypt3 = golden.slice();
    crypt3[2] = 3;
    for (const raw of [new Uint8Array(5).fill(1), v0, crypt3, new Uint8Array(1)]) {
      const bad: DescTlv = { type: 25, unknown: true, raw };
      const r = decodeDescription(encodeDescription([...head, tun6, wg, bad, info]));
      if (!r.ok) throw new Error(r.reason);
      expect(r.value.tlvs[5]).toMatchObject({ type: 25, unknown: true, raw });
    }
    // after INFO (28): the reference checks no order for a type it skips (§4.13)
    const r30: DescTlv = { type: 30, unknown: true, raw: new Uint8Array(3) };
    expect(decodeDescription(encodeDescription([...head, info, typical])).ok).toBe(true);
    expect(decodeDescription(encodeDescription([...head, r30, typical])).ok).toBe(true);
  });

  it('the reference captures carry no type 25, inline or referenced', () => {
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
