/** The WIREGUARD TLV (24, bmx7d extension, docs/protocol.md §4.13): the four kinds of codec test. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extensionTlv } from '../test/extension-tlv.js';
import { fromHex } from './bytes.js';
import { MSG_SIZE, TLV_TYPE, WIREGUARD_FLAG } from './constants.js';
import { decodeTlvBody, encodeTlvBody } from './tlv.js';
import type { WireguardTlv } from './tlv-plugins.js';

const T = TLV_TYPE.WIREGUARD;

const key = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

const typical: WireguardTlv = {
  type: T,
  version: 1,
  flags: 0,
  listenPort: 6271,
  publicKey: key,
  extra: new Uint8Array(0),
};

/** The bytes of `typical`, written out by hand. */
const golden = fromHex(
  '01' + // version 1
    '00' + // capability flags: none
    '187f' + // listen port 6271 = 0x187f, big-endian
    '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20', // X25519 public key
);

const ext = extensionTlv(T);
const { refused } = ext;

describe('WIREGUARD TLV (24)', () => {
  it('golden vector: version 1, flags 0, port 6271, key 01..20', () => {
    expect(golden.length).toBe(MSG_SIZE.WIREGUARD);
    ext.golden(typical, golden);
  });

  it('golden vector: a version-2 body with the PQ flag, an unknown flag and 3 appended bytes', () => {
    const later = fromHex(
      '02' + // version 2 (a later version: fields after byte 36 are its own)
        '81' + // flags: bit 0 (PQ_KEM) and bit 7 (unknown, ignored)
        'ffff' + // listen port 65535
        'ee'.repeat(32) + // public key
        'aabbcc', // a later version's fields, kept as extra
    );
    const v = ext.golden<WireguardTlv>(
      {
        type: T,
        version: 2,
        flags: 0x81,
        listenPort: 65535,
        publicKey: new Uint8Array(32).fill(0xee),
        extra: fromHex('aabbcc'),
      },
      later,
    );
    expect(v.flags & WIREGUARD_FLAG.PQ_KEM).toBe(1);
  });

  it('round trip: decode(encode(v)) = v', () => {
    const values = fc
      .record({
        version: fc.integer({ min: 1, max: 255 }),
        flags: fc.integer({ min: 0, max: 255 }),
        listenPort: fc.integer({ min: 0, max: 0xffff }),
        publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        extra: fc.uint8Array({ maxLength: 64 }),
      })
      .map((f): WireguardTlv => ({ type: T, ...f }));
    ext.fuzzValues(values, (v) => MSG_SIZE.WIREGUARD + v.extra.length, { numRuns: 1000 });
  });

  it('property (seeded): random bodies never throw, lossless when they decode', () => {
    ext.fuzzBodies(100, { numRuns: 20_000, seed: 24 });
  });

  it('truncation and bit-flip sweep: never throws, every prefix under 36 bytes refused', () => {
    for (let n = 0; n < golden.length; n++) refused(golden.subarray(0, n), 'ERR_LENGTH');
    // only the flip that clears version 1 to 0 is refused; all others decode losslessly
    expect(ext.bitFlipSweep(golden)).toEqual([0]);
  });

  it('size edge cases: 35 refused, 36 and 36 + n accepted, version 0 refused, encoder checks its input', () => {
    const b = new Uint8Array(36);
    b[0] = 1;
    refused(b.subarray(0, 35), 'ERR_LENGTH');
    expect(decodeTlvBody(T, b).ok).toBe(true);
    const long = new Uint8Array(1000);
    long[0] = 7;
    const r = decodeTlvBody(T, long);
    expect(r.ok && (r.value as WireguardTlv).extra.length).toBe(964);
    refused(new Uint8Array(36), 'ERR_VALUE');
    const v: WireguardTlv = { ...typical, listenPort: 1 };
    expect(() => encodeTlvBody({ ...v, publicKey: new Uint8Array(31) })).toThrow();
    expect(() => encodeTlvBody({ ...v, listenPort: 65536 })).toThrow();
    expect(() => encodeTlvBody({ ...v, version: 0 })).toThrow();
    expect(() => encodeTlvBody({ ...v, flags: 256 })).toThrow();
  });

  it('is an extension: a description with a valid, bad or misplaced type 24 decodes as the reference decodes it', () => {
    // corrupt bodies: too short, version 0
    ext.inDescriptions(
      [typical],
      [new Uint8Array(5).fill(1), new Uint8Array(1), new Uint8Array(MSG_SIZE.WIREGUARD)],
    );
  });

  it('the reference captures carry no type 24, inline or referenced', () => {
    ext.noneInCaptures();
  });
});
