/** The WIREGUARD TLV (24, bmx7d extension, docs/protocol.md §4.13): the four kinds of codec test. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allPayloads } from '../test/fixtures.js';
import { bytesEqual, fromHex } from './bytes.js';
import { MSG_SIZE, SHA_LEN, TLV_TYPE, WIREGUARD_FLAG } from './constants.js';
import { type DescTlv, decodeDescription, encodeDescription } from './description.js';
import { decodePacket } from './packet.js';
import { decodeTlvBody, encodeTlvBody, isKnownTlvType } from './tlv.js';
import type { WireguardTlv } from './tlv-plugins.js';

const key = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

describe('WIREGUARD TLV (24)', () => {
  it('golden vector: version 1, flags 0, port 6271, key 01..20', () => {
    const golden = fromHex(
      '01' + // version 1
        '00' + // capability flags: none
        '187f' + // listen port 6271 = 0x187f, big-endian
        '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20', // X25519 public key
    );
    expect(golden.length).toBe(MSG_SIZE.WIREGUARD);
    const v: WireguardTlv = {
      type: TLV_TYPE.WIREGUARD,
      version: 1,
      flags: 0,
      listenPort: 6271,
      publicKey: key,
      extra: new Uint8Array(0),
    };
    expect(bytesEqual(encodeTlvBody(v), golden)).toBe(true);
    const r = decodeTlvBody(TLV_TYPE.WIREGUARD, golden);
    expect(r.ok && r.value).toEqual(v);
  });

  it('golden vector: a version-2 body with the PQ flag, an unknown flag and 3 appended bytes', () => {
    const golden = fromHex(
      '02' + // version 2 (a later version: fields after byte 36 are its own)
        '81' + // flags: bit 0 (PQ_KEM) and bit 7 (unknown, ignored)
        'ffff' + // listen port 65535
        'ee'.repeat(32) + // public key
        'aabbcc', // a later version's fields, kept as extra
    );
    const r = decodeTlvBody(TLV_TYPE.WIREGUARD, golden);
    if (!r.ok) throw new Error(r.reason);
    const v = r.value as WireguardTlv;
    expect(v.version).toBe(2);
    expect(v.flags & WIREGUARD_FLAG.PQ_KEM).toBe(1);
    expect(v.listenPort).toBe(65535);
    expect(v.publicKey).toEqual(new Uint8Array(32).fill(0xee));
    expect(v.extra).toEqual(fromHex('aabbcc'));
    expect(bytesEqual(encodeTlvBody(v), golden)).toBe(true);
  });

  it('round trip: decode(encode(v)) = v', () => {
    fc.assert(
      fc.property(
        fc.record({
          version: fc.integer({ min: 1, max: 255 }),
          flags: fc.integer({ min: 0, max: 255 }),
          listenPort: fc.integer({ min: 0, max: 0xffff }),
          publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          extra: fc.uint8Array({ maxLength: 64 }),
        }),
        (f) => {
          const v: WireguardTlv = { type: TLV_TYPE.WIREGUARD, ...f };
          const r = decodeTlvBody(TLV_TYPE.WIREGUARD, encodeTlvBody(v));
          expect(r.ok && r.value).toEqual(v);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('truncation and bit-flip sweep: never throws, every prefix under 36 bytes refused', () => {
    const body = encodeTlvBody({
      type: TLV_TYPE.WIREGUARD,
      version: 1,
      flags: 0,
      listenPort: 6271,
      publicKey: key,
      extra: new Uint8Array(0),
    });
    for (let n = 0; n < body.length; n++)
      expect(decodeTlvBody(TLV_TYPE.WIREGUARD, body.subarray(0, n)).ok).toBe(false);
    for (let bit = 0; bit < body.length * 8; bit++) {
      const b = body.slice();
      b[bit >> 3]! ^= 1 << (bit & 7);
      const r = decodeTlvBody(TLV_TYPE.WIREGUARD, b);
      // only the flip that clears version 1 to 0 is refused; all others decode losslessly
      expect(r.ok).toBe(bit !== 0);
      if (r.ok) expect(bytesEqual(encodeTlvBody(r.value), b)).toBe(true);
    }
  });

  it('size edge cases: 35 refused, 36 and 36 + n accepted, version 0 refused, encoder checks its input', () => {
    const b = new Uint8Array(36);
    b[0] = 1;
    expect(decodeTlvBody(TLV_TYPE.WIREGUARD, b.subarray(0, 35)).ok).toBe(false);
    expect(decodeTlvBody(TLV_TYPE.WIREGUARD, b).ok).toBe(true);
    const long = new Uint8Array(1000);
    long[0] = 7;
    const r = decodeTlvBody(TLV_TYPE.WIREGUARD, long);
    expect(r.ok && (r.value as WireguardTlv).extra.length).toBe(964);
    expect(decodeTlvBody(TLV_TYPE.WIREGUARD, new Uint8Array(36)).ok).toBe(false);
    const v: WireguardTlv = {
      type: TLV_TYPE.WIREGUARD,
      version: 1,
      flags: 0,
      listenPort: 1,
      publicKey: key,
      extra: new Uint8Array(0),
    };
    expect(() => encodeTlvBody({ ...v, publicKey: new Uint8Array(31) })).toThrow();
    expect(() => encodeTlvBody({ ...v, listenPort: 65536 })).toThrow();
    expect(() => encodeTlvBody({ ...v, version: 0 })).toThrow();
    expect(() => encodeTlvBody({ ...v, flags: 256 })).toThrow();
  });

  it('is an extension: a description with a bad or misplaced type 24 decodes as the reference decodes it', () => {
    expect(isKnownTlvType(TLV_TYPE.WIREGUARD)).toBe(false);
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
    const bad: DescTlv = { type: 24, unknown: true, raw: new Uint8Array(5).fill(1) };
    const short = decodeDescription(encodeDescription([...head, bad]));
    expect(short.ok && short.value.tlvs[3]).toMatchObject({ type: 24, unknown: true });
    // after INFO (28): the reference checks no order for a type it skips (§4.13)
    const info: DescTlv = { type: 30, unknown: true, raw: new Uint8Array(3) };
    const wg: DescTlv = {
      type: TLV_TYPE.WIREGUARD,
      version: 1,
      flags: 0,
      listenPort: 6271,
      publicKey: key,
      extra: new Uint8Array(0),
    };
    expect(decodeDescription(encodeDescription([...head, info, wg])).ok).toBe(true);
    const good = decodeDescription(encodeDescription([...head, wg]));
    expect(good.ok && good.value.tlvs[3]).toMatchObject({ type: 24, listenPort: 6271 });
  });

  it('the reference captures carry no type 24, inline or referenced', () => {
    let descriptions = 0;
    for (const p of allPayloads()) {
      const r = decodePacket(p);
      if (!r.ok) continue;
      for (const f of r.value.frames) {
        if (f.type !== 2) continue;
        descriptions++;
        for (const t of f.description.tlvs) {
          expect(t.type).not.toBe(TLV_TYPE.WIREGUARD);
          if (t.type === 0) expect(t.ref.expandedType).not.toBe(TLV_TYPE.WIREGUARD);
        }
      }
    }
    expect(descriptions).toBeGreaterThan(0);
  });
});
