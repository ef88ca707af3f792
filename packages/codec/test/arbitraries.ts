/** fast-check arbitraries for every frame and TLV type (tests only). */
import fc from 'fast-check';
import { makeDescription } from '../src/build.js';
import {
  DHM_KEY_LEN,
  FRAME_TYPE,
  MAX_DESC_ROOT_SIZE,
  MSG_SIZE,
  PQ_KEM_ALG,
  RSA_KEY_LEN,
  SHA_LEN,
  TLV_TYPE,
} from '../src/constants.js';
import { type ContentRef, type ContentRefTlv, type DescTlv, encodeDescTlv } from '../src/description.js';
import type { Frame, Ogm, SignatureMessage } from '../src/frames.js';
import type { TlvValue } from '../src/tlv.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const someBytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const hash = bytes(SHA_LEN);
const ip6 = bytes(16);
const ip4 = bytes(4);
const fm16 = fc
  .tuple(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 63 }))
  .map(([e, m]) => (e << 8) | m);
const latin1 = (min: number, max: number) =>
  fc
    .array(fc.integer({ min: 0, max: 255 }), { minLength: min, maxLength: max })
    .map((cs) => String.fromCharCode(...cs));

const rsaType = fc.integer({ min: 1, max: 8 });
const rsaKey = rsaType.chain((t) => bytes(RSA_KEY_LEN[t]!).map((k) => ({ keyType: t, key: k })));

/**
 * 24, 25 and 26 are left out: they are bmx7d extensions (WIREGUARD, CRYPT_TUN, PQ_KEM), so a raw body
 * decodes as the extension or is refused by its codec.
 */
export const unknownTlvType = fc.constantFrom(4, 7, 8, 11, 12, 16, 30, 31);

/** A CRYPT_TUN entry (§4.13): IPv4 or IPv6, any valid crypt and prefix length. */
export const cryptTunEntry = fc.oneof(
  fc.record({
    crypt: fc.constantFrom(0 as const, 1 as const, 2 as const),
    flags: u8,
    family: fc.constant(4 as const),
    prefixLen: fc.integer({ min: 0, max: 32 }),
    address: ip4,
  }),
  fc.record({
    crypt: fc.constantFrom(0 as const, 1 as const, 2 as const),
    flags: u8,
    family: fc.constant(6 as const),
    prefixLen: fc.integer({ min: 0, max: 128 }),
    address: ip6,
  }),
);

/**
 * A PQ_KEM value (§4.13): any version ≥ 1, ML-KEM-768 with a 1184-byte key; the reserved u16 is
 * absent (sent as 0) or non-zero, as the decoder gives it.
 */
export const pqKemValue = fc
  .record({
    version: fc.integer({ min: 1, max: 255 }),
    publicKey: bytes(MSG_SIZE.PQ_KEM_ML_KEM_768_KEY),
    reserved: fc.option(fc.integer({ min: 1, max: 0xffff }), { nil: undefined }),
  })
  .map(({ reserved, ...v }) => ({
    type: TLV_TYPE.PQ_KEM,
    alg: PQ_KEM_ALG.ML_KEM_768,
    ...v,
    ...(reserved === undefined ? {} : { reserved }),
  }));

/** A TLV body value of every known type and of unknown types. */
export const tlvValue: fc.Arbitrary<TlvValue> = fc.oneof(
  rsaKey.map((k) => ({ type: TLV_TYPE.NODE_PUBKEY, ...k })),
  rsaKey.map((k) => ({ type: TLV_TYPE.RSA_LINK_PUBKEY, ...k })),
  rsaKey.map((k) => ({ type: TLV_TYPE.DSC_SIGNATURE, keyType: k.keyType, signature: k.key })),
  fc
    .record({
      cv: u8,
      capabilities: u8,
      bootSqn: u32,
      descSqn: u32,
      ogmSqnRange: u16,
      anchorLink: bytes(14),
      anchorSeed: bytes(14),
      virtLength: fc.integer({ min: 0, max: 2 ** 21 - 1 }),
      virtContents: fc.integer({ min: 0, max: 0x7ff }),
    })
    .map((v) => ({ type: TLV_TYPE.VERSION, ...v })),
  fc
    .constantFrom(17, 18)
    .chain((t) => bytes(DHM_KEY_LEN[t]!).map((gx) => ({ type: TLV_TYPE.DHM_LINK_PUBKEY, keyType: t, gx }))),
  fc
    .tuple(
      fc.constantFrom(TLV_TYPE.SUPPORTS, TLV_TYPE.TRUSTS),
      fc.array(
        fc.record({
          nodeId: hash,
          level: fc.integer({ min: 0, max: 3 }),
          reserved: fc.integer({ min: 0, max: 0x3fff }),
        }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
    )
    .map(([type, entries]) => ({ type, entries })),
  fc
    .record({
      fmetricMin: u16,
      reserved0: u16,
      algo: u16,
      flags: u16,
      rxExpNumerator: fc.integer({ min: 0, max: 3 }),
      rxExpDivisor: fc.integer({ min: 0, max: 3 }),
      txExpNumerator: fc.integer({ min: 0, max: 3 }),
      txExpDivisor: fc.integer({ min: 0, max: 3 }),
      lqTxPoint: u8,
      lqTyPoint: u8,
      lqT1Point: u8,
      linkRateEfficiency: u8,
      hopHistorySize: u8,
      hopsMax: u8,
      hopPenalty: u8,
      sqnBestHysteresis: u8,
      sqnLateHysteresis100ms: u8,
      metricHysteresisNewPath: u16,
      metricHysteresisOldPath: u16,
      ogmIntervalSec: u16,
      sqnDiffMax: fc.integer({ min: 0, max: 3 }),
      reserved1: fc.integer({ min: 0, max: 63 }),
      linkThroughputEfficiency: u8,
      reserved3: u16,
      pathInterference: fc.array(
        fc.record({
          channelDistance: u8,
          hopDistance: fc.integer({ min: 0, max: 7 }),
          independence: fc.integer({ min: 0, max: 31 }),
        }),
        { minLength: 4, maxLength: 4 },
      ),
      optional: someBytes(0, 8),
    })
    .map((v) => ({ type: TLV_TYPE.METRIC, ...v })),
  fc.array(ip6, { minLength: 1, maxLength: 4 }).map((addresses) => ({ type: TLV_TYPE.LLIP, addresses })),
  fc
    .array(fc.record({ prefixLen: u8, flags: u8, address: ip6 }), { minLength: 1, maxLength: 4 })
    .map((entries) => ({ type: TLV_TYPE.HNA6, entries })),
  fc.array(ip6, { minLength: 1, maxLength: 3 }).map((endpoints) => ({ type: TLV_TYPE.TUN6, endpoints })),
  fc
    .array(fc.record({ tun6Id: u8, prefixLen: u8, prefix: ip4 }), { minLength: 1, maxLength: 3 })
    .map((entries) => ({ type: TLV_TYPE.TUN4IN6_INGRESS, entries })),
  fc
    .array(fc.record({ tun6Id: u8, prefixLen: u8, prefix: ip6 }), { minLength: 1, maxLength: 3 })
    .map((entries) => ({ type: TLV_TYPE.TUN6IN6_INGRESS, entries })),
  fc
    .array(fc.record({ tun6Id: u8, srcType: u8, srcPrefixMin: u8, prefixLen: u8, prefix: ip4 }), {
      minLength: 1,
      maxLength: 3,
    })
    .map((entries) => ({ type: TLV_TYPE.TUN4IN6_SRC, entries })),
  fc
    .array(fc.record({ tun6Id: u8, srcType: u8, srcPrefixMin: u8, prefixLen: u8, prefix: ip6 }), {
      minLength: 1,
      maxLength: 3,
    })
    .map((entries) => ({ type: TLV_TYPE.TUN6IN6_SRC, entries })),
  fc
    .array(fc.record({ tun6Id: u8, protoType: u8, bandwidth: u8, networkLen: u8, network: ip4 }), {
      minLength: 1,
      maxLength: 3,
    })
    .map((entries) => ({ type: TLV_TYPE.TUN4IN6_NET, entries })),
  fc
    .array(fc.record({ tun6Id: u8, protoType: u8, bandwidth: u8, networkLen: u8, network: ip6 }), {
      minLength: 1,
      maxLength: 3,
    })
    .map((entries) => ({ type: TLV_TYPE.TUN6IN6_NET, entries })),
  fc
    .record({
      topoType: u8,
      reserved: u8,
      links: fc.array(
        fc.record({
          nbId: hash,
          nbDescSqn: u32,
          nbIdx: u8,
          idx: u8,
          txBw: u8,
          rxBw: u8,
          tq: u8,
          rq: u8,
          signal: fc.integer({ min: -128, max: 127 }),
          noise: fc.integer({ min: -128, max: 127 }),
          channel: u8,
          reserved1: u8,
          reserved2: u16,
        }),
        { maxLength: 3 },
      ),
    })
    .map((v) => ({ type: TLV_TYPE.TOPOLOGY, ...v })),
  fc
    .record({
      infoType: u8,
      infoOffset: u8,
      codeRevision: u32,
      reservedA: u32,
      reservedB: u32,
      reservedC: u32,
      name: latin1(0, 40),
      mail: latin1(0, 20),
      extra: someBytes(0, 4),
    })
    .map((v) => ({ type: TLV_TYPE.INFO, ...v })),
  fc
    .array(
      fc.record({
        name: latin1(0, 16).filter((s) => !s.endsWith('\0')),
        data: someBytes(0, 40),
      }),
      { minLength: 1, maxLength: 3 },
    )
    .map((messages) => ({ type: TLV_TYPE.SMS, messages })),
  fc
    .record({
      version: fc.integer({ min: 1, max: 255 }),
      flags: u8,
      listenPort: u16,
      publicKey: bytes(32),
      extra: someBytes(0, 8),
    })
    .map((v) => ({ type: TLV_TYPE.WIREGUARD, ...v })),
  fc
    .record({
      version: fc.integer({ min: 1, max: 255 }),
      flags: u8,
      entries: fc.array(cryptTunEntry, { maxLength: 4 }),
    })
    .map((v) => ({ type: TLV_TYPE.CRYPT_TUN, ...v })),
  pqKemValue,
  fc.tuple(unknownTlvType, someBytes(1, 40)).map(([type, raw]) => ({ type, unknown: true as const, raw })),
) as fc.Arbitrary<TlvValue>;

const contentRef: fc.Arbitrary<ContentRef> = fc.oneof(
  // nesting 0: inline zlib data
  fc
    .record({
      expandedHash: hash,
      expandedLength: fc.integer({ min: 1, max: 100548 }),
      expandedType: fc.integer({ min: 1, max: 31 }),
      inline: someBytes(1, 30),
    })
    .map((r) => ({ ...r, nesting: 0, gzip: true, hashes: [] })),
  // nesting 1 single chunk, no list
  fc
    .record({
      expandedHash: hash,
      expandedLength: fc.integer({ min: 1, max: 1197 }),
      expandedType: fc.integer({ min: 1, max: 31 }),
    })
    .map((r) => ({ ...r, nesting: 1, gzip: false, hashes: [], inline: new Uint8Array(0) })),
  // lists
  fc
    .record({
      expandedHash: hash,
      expandedLength: fc.integer({ min: 1, max: 100548 }),
      expandedType: fc.integer({ min: 1, max: 31 }),
      nesting: fc.constantFrom(1, 2),
      gzip: fc.boolean(),
      hashes: fc.array(hash, { minLength: 2, maxLength: 4 }),
    })
    .map((r) => ({ ...r, inline: new Uint8Array(0) })),
);

/** A valid description root: the three mandatory TLVs, then ascending other types. */
export const descTlvs: fc.Arbitrary<DescTlv[]> = fc
  .record({
    nodeId: hash,
    sig: rsaType.chain((t) => bytes(RSA_KEY_LEN[t]!).map((s) => ({ keyType: t, signature: s }))),
    version: tlvValue.filter((v) => v.type === TLV_TYPE.VERSION),
    cv: fc.integer({ min: 20, max: 22 }),
    rest: fc.array(
      fc.oneof(
        tlvValue,
        contentRef.map((ref): ContentRefTlv => ({ type: 0, ref })),
      ),
      { maxLength: 6 },
    ),
  })
  .map(({ nodeId, sig, version, cv, rest }) => {
    const first: ContentRefTlv = {
      type: 0,
      ref: {
        expandedHash: nodeId,
        expandedLength: 257,
        expandedType: 1,
        nesting: 1,
        gzip: false,
        hashes: [],
        inline: new Uint8Array(0),
      },
    };
    const byType = new Map<number, DescTlv>();
    for (const t of rest) {
      const x = t.type === 0 ? (t as ContentRefTlv).ref.expandedType : t.type;
      if (x > 3 && !byType.has(x)) byType.set(x, t);
    }
    const sorted = [...byType.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t);
    const out: DescTlv[] = [
      first,
      { type: TLV_TYPE.DSC_SIGNATURE, ...sig },
      { ...version, cv } as TlvValue,
      ...sorted,
    ];
    let n = 0;
    return out.filter((t, i) => {
      const len = encodeDescTlv(t).length;
      if (i >= 3 && n + len > MAX_DESC_ROOT_SIZE) return false;
      n += len;
      return true;
    });
  });

const sigMessages: fc.Arbitrary<SignatureMessage[]> = fc.oneof(
  fc.constant([] as SignatureMessage[]),
  rsaKey.map((k) => [{ keyType: k.keyType, signature: k.key }]),
  fc.array(
    bytes(14).map((mac) => ({ keyType: 17, signature: mac })),
    { minLength: 1, maxLength: 5 },
  ),
  fc.array(
    bytes(14).map((mac) => ({ keyType: 18, signature: mac })),
    { minLength: 1, maxLength: 2 },
  ),
);

const ogm: fc.Arbitrary<Ogm> = fc.record({
  chainOgm: bytes(14),
  iid: fc.integer({ min: 0, max: 0x3fff }),
  hops: fc.integer({ min: 0, max: 63 }),
  metric: fm16,
  history: fc.array(fc.record({ metric: fm16, directional: fc.boolean(), channel: u8 }), { maxLength: 10 }),
});

const descAdv: fc.Arbitrary<Frame> = descTlvs.map((tlvs) => {
  const d = makeDescription(tlvs);
  if (!d.ok) throw new Error(d.reason);
  return { type: FRAME_TYPE.DESC_ADV, description: d.value };
});

/** A frame of every type. */
export const frame: fc.Arbitrary<Frame> = fc.oneof(
  descAdv,
  someBytes(1, 30).map((data) => ({ type: FRAME_TYPE.TRASH_ADV, data })),
  someBytes(1, 30).map((data) => ({ type: FRAME_TYPE.NOP, data })),
  fc
    .record({
      descSqn: u32,
      burstSqn: u32,
      devIdx: u8,
      messages: sigMessages,
      rest: fc.option(
        fc.tuple(fc.constantFrom(0, 9, 15, 19, 200), someBytes(0, 5)).map(([t, b]) => Uint8Array.of(t, ...b)),
        { nil: undefined },
      ),
    })
    .map(({ rest, ...f }) =>
      rest ? { type: FRAME_TYPE.SIGNATURE_ADV, ...f, rest } : { type: FRAME_TYPE.SIGNATURE_ADV, ...f },
    ),
  fc.record({ max: u16, size: u16 }).map((f) => ({ type: FRAME_TYPE.OGM_AGG_SQN_ADV, ...f })),
  u16.map((helloSqn) => ({ type: FRAME_TYPE.HELLO_ADV, helloSqn })),
  fc
    .array(fc.record({ dhash: hash, rxLq: u8, receiverDevIdx: u8 }), { minLength: 1, maxLength: 4 })
    .map((replies) => ({ type: FRAME_TYPE.HELLO_REPLY_DHASH, replies })),
  fc
    .array(fc.record({ iid: u16, descSqn: u32, chainOgm: bytes(14), nodeId: hash }), {
      minLength: 1,
      maxLength: 3,
    })
    .map((advs) => ({ type: FRAME_TYPE.IID_ADV, advs })),
  fc
    .record({ aggSqn: u16, ogms: fc.array(ogm, { maxLength: 4 }) })
    .map((f) => ({ type: FRAME_TYPE.OGM_ADV, ...f })),
  fc
    .record({
      aggSqn: u16,
      unparsed: fc.constantFrom(
        new Uint8Array(20),
        Uint8Array.from({ length: 18 }, (_, i) => (i === 14 ? 0x80 : 0)),
      ),
    })
    .map((f) => ({
      type: FRAME_TYPE.OGM_ADV,
      ...f,
      ogms: [],
    })),
  fc
    .record({ dest: hash, aggSqns: fc.array(u16, { minLength: 1, maxLength: 4 }) })
    .map((f) => ({ type: FRAME_TYPE.OGM_REQ, ...f })),
  fc
    .record({ dest: hash, iids: fc.array(u16, { maxLength: 4 }) })
    .map((f) => ({ type: FRAME_TYPE.IID_REQ, ...f })),
  fc
    .record({ dest: hash, nodeIds: fc.array(hash, { minLength: 1, maxLength: 3 }) })
    .map((f) => ({ type: FRAME_TYPE.DESC_REQ, ...f })),
  fc
    .record({ dest: hash, hashes: fc.array(hash, { minLength: 1, maxLength: 5 }) })
    .map((f) => ({ type: FRAME_TYPE.CONTENT_REQ, ...f })),
  fc
    .record({
      gzip: fc.boolean(),
      nesting: fc.integer({ min: 0, max: 3 }),
      reserved: fc.integer({ min: 0, max: 31 }),
      n: fc.integer({ min: 1, max: 10 }),
    })
    .chain((h) =>
      (h.nesting ? bytes(28 * h.n) : someBytes(1, 300)).map((body) => ({
        type: FRAME_TYPE.CONTENT_ADV,
        gzip: h.gzip,
        nesting: h.nesting,
        reserved: h.reserved,
        body,
      })),
    ),
  fc
    .tuple(
      fc.constantFrom(0, 3, 5, 6, 7, 10, 11, 14, 15, 16, 17, 18, 20, 22, 23, 24, 25, 26),
      someBytes(1, 30),
    )
    .map(([type, raw]) => ({ type, unknown: true as const, raw }) as Frame),
) as fc.Arbitrary<Frame>;
