/**
 * Test helpers for bmx7d's extension TLVs (WIREGUARD 24, CRYPT_TUN 25, PQ_KEM 26, docs/protocol.md
 * §4.13): the checks each of their codec tests makes, parametrised by the TLV type and its values.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { expect } from 'vitest';
import { buildDescription } from '../src/build.js';
import { bytesEqual, fromHex } from '../src/bytes.js';
import { RSA_KEY_LEN, TLV_TYPE, tlvTypeName, WIREGUARD_FLAG } from '../src/constants.js';
import {
  type DecodedDescTlv,
  type DescTlv,
  decodeDescription,
  encodeDescription,
} from '../src/description.js';
import { decodePacket } from '../src/packet.js';
import {
  decodeTlvBody,
  encodeTlvBody,
  type InfoTlv,
  isExtensionTlvType,
  isKnownTlvType,
  type TlvValue,
} from '../src/tlv.js';
import type { CryptTunTlv, Tun6Tlv, WireguardTlv } from '../src/tlv-plugins.js';
import { allPayloads } from './fixtures.js';

/** The type of a bmx7d extension TLV. */
export type ExtensionType = typeof TLV_TYPE.WIREGUARD | typeof TLV_TYPE.CRYPT_TUN | typeof TLV_TYPE.PQ_KEM;

/** SHA-224, the description hash. */
export const sha224 = (d: Uint8Array) => new Uint8Array(createHash('sha224').update(d).digest());

/** What `buildDescription` needs besides the TLVs: an RSA node key of `keyType` (default RSA1024). */
export function descriptionBase(keyType = 4) {
  return {
    nodeKey: { type: TLV_TYPE.NODE_PUBKEY, keyType, key: new Uint8Array(RSA_KEY_LEN[keyType]!).fill(9) },
    version: {
      cv: 21,
      capabilities: 2,
      bootSqn: 11,
      descSqn: 11,
      ogmSqnRange: 6000,
      anchorLink: new Uint8Array(14),
      anchorSeed: new Uint8Array(14),
    },
    hash: sha224,
  } as const;
}

/** The three mandatory TLVs of a description (the node key's content hash, a zero signature, VERSION). */
export function descriptionHead(keyType = 4): DescTlv[] {
  return [...buildDescription({ ...descriptionBase(keyType), tlvs: [] }).tlvs];
}

/** Inline TLVs a description carries around an extension: TUN6, WIREGUARD, CRYPT_TUN and INFO. */
export const tun6: Tun6Tlv = { type: TLV_TYPE.TUN6, endpoints: [new Uint8Array(16).fill(7)] };
export const wireguard: WireguardTlv = {
  type: TLV_TYPE.WIREGUARD,
  version: 1,
  flags: WIREGUARD_FLAG.PQ_KEM,
  listenPort: 6271,
  publicKey: new Uint8Array(32).fill(9),
  extra: new Uint8Array(0),
};
export const cryptTun: CryptTunTlv = {
  type: TLV_TYPE.CRYPT_TUN,
  version: 1,
  flags: 0,
  entries: [{ crypt: 2, flags: 1, family: 4, prefixLen: 24, address: fromHex('0a000100') }],
};
export const info: InfoTlv = {
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

/** The root TLVs of a description that decodes with all checks. */
function decoded(tlvs: readonly DescTlv[]): readonly DecodedDescTlv[] {
  const r = decodeDescription(encodeDescription(tlvs));
  if (!r.ok) throw new Error(r.reason);
  return r.value.tlvs;
}

/** fast-check's run count and seed (none: a new seed each run). */
export interface Runs {
  readonly numRuns: number;
  readonly seed?: number;
}

/** The checks of one extension TLV type, each a piece of its codec test. */
export interface ExtensionTlvChecks {
  readonly type: ExtensionType;
  /** Decoding `body` fails with `code` and a reason that names the type, without throwing. */
  refused(body: Uint8Array, code: 'ERR_LENGTH' | 'ERR_VALUE'): void;
  /** Decoding never throws; what decodes re-encodes to the same bytes. Whether it decoded. */
  lossless(body: Uint8Array): boolean;
  /** A golden vector: `value` encodes to `bytes`, and `bytes` decodes to `value` (which is returned). */
  golden<V extends TlvValue>(value: V, bytes: Uint8Array): V;
  /** decode(encode(v)) = v and encode(decode(b)) = b; the bytes of `v`. */
  roundTrip(v: TlvValue): Uint8Array;
  /**
   * Every single-bit flip of `golden`: decoding never throws and is lossless when it succeeds. The
   * bits whose flip is refused, in ascending order.
   */
  bitFlipSweep(golden: Uint8Array): number[];
  /** Random bodies of up to `maxLength` bytes: decoding never throws, what decodes is lossless. */
  fuzzBodies(maxLength: number, runs: Runs): void;
  /**
   * Random bodies of the `lengths` given, half of them first made plausible by `tidy` (in place):
   * never thrown, lossless when they decode. How many decoded.
   */
  fuzzPlausibleBodies(lengths: fc.Arbitrary<number>, tidy: (b: Uint8Array) => void, runs: Runs): number;
  /** Random valid values: each encodes to `length(v)` bytes, decodes to itself and re-encodes the same. */
  fuzzValues<V extends TlvValue>(values: fc.Arbitrary<V>, length: (v: V) => number, runs: Runs): void;
  /**
   * The type in whole descriptions, which a node without the extension skips (§4.13): `valid` values
   * (inline) and `corrupt` bodies (which the codec refuses), each alone behind the three mandatory
   * TLVs and among the others of `tun6`, `wireguard`, `cryptTun` and `info` in type order. The
   * description decodes, with a valid value decoded into its fields and a corrupt body kept raw.
   * After INFO (28) or an unknown type 30, out of type order, it decodes too.
   */
  inDescriptions(valid: readonly TlvValue[], corrupt: readonly Uint8Array[]): void;
  /** The captures of fixtures/bmx7-ref carry no TLV of this type, inline or behind a content hash. */
  noneInCaptures(): void;
}

export function extensionTlv(type: ExtensionType): ExtensionTlvChecks {
  const name = new RegExp(`^${tlvTypeName(type)}`);
  const checks: ExtensionTlvChecks = {
    type,
    refused(body, code) {
      const r = decodeTlvBody(type, body);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.code).toBe(code);
        expect(r.reason).toMatch(name);
      }
    },
    lossless(body) {
      const r = decodeTlvBody(type, body);
      if (!r.ok) {
        expect(['ERR_LENGTH', 'ERR_VALUE']).toContain(r.code);
        return false;
      }
      expect(bytesEqual(encodeTlvBody(r.value), body)).toBe(true);
      return true;
    },
    golden(value, bytes) {
      expect(value.type).toBe(type);
      expect(bytesEqual(encodeTlvBody(value), bytes)).toBe(true);
      const r = decodeTlvBody(type, bytes);
      if (!r.ok) throw new Error(r.reason);
      expect(r.value).toEqual(value);
      return r.value as typeof value;
    },
    roundTrip(v) {
      expect(v.type).toBe(type);
      const b = encodeTlvBody(v);
      const r = decodeTlvBody(type, b);
      if (!r.ok) throw new Error(r.reason);
      expect(r.value).toEqual(v);
      expect(bytesEqual(encodeTlvBody(r.value), b)).toBe(true);
      return b;
    },
    bitFlipSweep(golden) {
      const refused: number[] = [];
      for (let bit = 0; bit < golden.length * 8; bit++) {
        const b = golden.slice();
        b[bit >> 3]! ^= 1 << (bit & 7);
        if (!checks.lossless(b)) refused.push(bit);
      }
      return refused;
    },
    fuzzBodies(maxLength, runs) {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength }), (b) => {
          checks.lossless(b);
        }),
        runs,
      );
    },
    fuzzPlausibleBodies(lengths, tidy, runs) {
      let decoded = 0;
      fc.assert(
        fc.property(
          lengths.chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
          fc.boolean(),
          (b, tidied) => {
            if (tidied) tidy(b);
            if (checks.lossless(b)) decoded++;
          },
        ),
        runs,
      );
      return decoded;
    },
    fuzzValues(values, length, runs) {
      fc.assert(
        fc.property(values, (v) => {
          expect(v.type).toBe(type);
          const b = encodeTlvBody(v);
          expect(b.length).toBe(length(v));
          const r = decodeTlvBody(type, b);
          expect(r.ok && r.value).toEqual(v);
          if (r.ok) expect(bytesEqual(encodeTlvBody(r.value), b)).toBe(true);
        }),
        runs,
      );
    },
    inDescriptions(valid, corrupt) {
      expect(isKnownTlvType(type)).toBe(false);
      expect(isExtensionTlvType(type)).toBe(true);
      const head = descriptionHead();
      const among = [tun6, wireguard, cryptTun, info].filter((t) => t.type !== type);
      const types = [0, 2, 3, ...[type, ...among.map((t) => t.type)].sort((a, b) => a - b)];
      const at = types.indexOf(type);
      const withOthers = (t: DescTlv) => [...head, ...[...among, t].sort((a, b) => a.type - b.type)];
      const raw = corrupt.map((raw): DescTlv => ({ type, unknown: true, raw }));
      for (const t of [...valid, ...raw]) {
        expect(decoded([...head, t])[3]).toMatchObject(t);
        const all = decoded(withOthers(t));
        expect(all.map((x) => x.type)).toEqual(types);
        expect(all[at]).toMatchObject(t);
        // after INFO (28): the order of a type that is skipped is not checked (§4.13)
        for (const before of [info, { type: 30, unknown: true, raw: new Uint8Array(3) } as const])
          expect(decoded([...head, before, t]).map((x) => x.type)).toEqual([0, 2, 3, before.type, type]);
      }
    },
    noneInCaptures() {
      let descriptions = 0;
      for (const p of allPayloads()) {
        const r = decodePacket(p);
        if (!r.ok) continue;
        for (const f of r.value.frames) {
          if (f.type !== 2) continue;
          descriptions++;
          for (const t of f.description.tlvs) {
            expect(t.type).not.toBe(type);
            if (t.type === 0) expect(t.ref.expandedType).not.toBe(type);
          }
        }
      }
      expect(descriptions).toBeGreaterThan(0);
    },
  };
  return checks;
}
