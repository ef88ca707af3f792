/**
 * Description TLV bodies (docs/protocol.md §4.8): one table entry per type with its decoder, encoder
 * and the reference's size bounds (the handler's data header, minimum message size and whether
 * messages have a fixed size). A TLV body is what follows the 2-byte TLV header, either inline in
 * the description root or assembled from referenced content (content.ts).
 *
 * Every byte of a body maps to a field (reserved ones included), so encode(decode(b)) = b. The
 * plugins' TLVs are in tlv-plugins.ts, the codecs' shared building blocks in tlv-codec.ts.
 */
import { fromLatin1, latin1, put16, put32, take, u16, u32 } from './bytes.js';
import {
  METRIC_SIZE,
  MSG_SIZE,
  SHA_LEN,
  SHA112_LEN,
  TLV_TYPE,
  type UnknownTlvType,
  VERSION_SIZE,
} from './constants.js';
import { CodecError, ensure, fail, ok, type Result } from './result.js';
import { addrList, byte, fixedBytes, listCodec, type TlvCodec } from './tlv-codec.js';
import {
  type CryptTunTlv,
  PLUGIN_TLV_CODECS,
  type PqKemTlv,
  type SmsTlv,
  type TopologyTlv,
  type Tun6Tlv,
  type TunIngressTlv,
  type TunNetTlv,
  type TunSrcTlv,
  type WireguardTlv,
} from './tlv-plugins.js';

export type { TlvBounds, TlvCodec } from './tlv-codec.js';

/** NODE_PUBKEY (1) and RSA_LINK_PUBKEY (5): key type + RSA modulus (exponent is always 65537). */
export interface PubkeyTlv {
  readonly type: typeof TLV_TYPE.NODE_PUBKEY | typeof TLV_TYPE.RSA_LINK_PUBKEY;
  readonly keyType: number;
  readonly key: Uint8Array;
}

/** DSC_SIGNATURE (2): key type + PKCS#1 v1.5 SHA-224 signature from the VERSION TLV header to the end. */
export interface DscSignatureTlv {
  readonly type: typeof TLV_TYPE.DSC_SIGNATURE;
  readonly keyType: number;
  readonly signature: Uint8Array;
}

/** VERSION (3), 44 bytes (4.5). */
export interface VersionTlv {
  readonly type: typeof TLV_TYPE.VERSION;
  /** Compatibility version (21). */
  readonly cv: number;
  /** Observed 0x02 (a byte-swap artefact of the reference); receivers ignore it. */
  readonly capabilities: number;
  readonly bootSqn: number;
  readonly descSqn: number;
  readonly ogmSqnRange: number;
  /** OGM hash-chain anchor link (14 bytes). */
  readonly anchorLink: Uint8Array;
  /** OGM hash-chain seed (14 bytes). */
  readonly anchorSeed: Uint8Array;
  /** Total expanded length of referenced contents (21 bits). */
  readonly virtLength: number;
  /** Number of contents (11 bits). */
  readonly virtContents: number;
}

/** DHM_LINK_PUBKEY (6): key type + DH public value (exactly key-length bytes). */
export interface DhmLinkKeyTlv {
  readonly type: typeof TLV_TYPE.DHM_LINK_PUBKEY;
  readonly keyType: number;
  readonly gx: Uint8Array;
}

export interface TrustEntry {
  readonly nodeId: Uint8Array;
  /** Trust/support level, top 2 bits of the u16. */
  readonly level: number;
  /** The low 14 bits. */
  readonly reserved: number;
}

/** SUPPORTS (9) and TRUSTS (10): 30-byte messages. */
export interface TrustTlv {
  readonly type: typeof TLV_TYPE.SUPPORTS | typeof TLV_TYPE.TRUSTS;
  readonly entries: readonly TrustEntry[];
}

export interface PathInterference {
  readonly channelDistance: number;
  /** 3 bits. */
  readonly hopDistance: number;
  /** 5 bits. */
  readonly independence: number;
}

/** METRIC (13): 36 mandatory bytes (4.8 table) + optional tail kept as bytes. */
export interface MetricTlv {
  readonly type: typeof TLV_TYPE.METRIC;
  /** Minimum path metric as FM16. */
  readonly fmetricMin: number;
  readonly reserved0: number;
  readonly algo: number;
  readonly flags: number;
  readonly rxExpNumerator: number;
  readonly rxExpDivisor: number;
  readonly txExpNumerator: number;
  readonly txExpDivisor: number;
  readonly lqTxPoint: number;
  readonly lqTyPoint: number;
  readonly lqT1Point: number;
  readonly linkRateEfficiency: number;
  readonly hopHistorySize: number;
  readonly hopsMax: number;
  readonly hopPenalty: number;
  readonly sqnBestHysteresis: number;
  readonly sqnLateHysteresis100ms: number;
  readonly metricHysteresisNewPath: number;
  readonly metricHysteresisOldPath: number;
  readonly ogmIntervalSec: number;
  /** 2 bits. */
  readonly sqnDiffMax: number;
  /** The low 6 bits of byte 24. */
  readonly reserved1: number;
  readonly linkThroughputEfficiency: number;
  readonly reserved3: number;
  readonly pathInterference: readonly PathInterference[];
  readonly optional: Uint8Array;
}

/** LLIP (14): link-local addresses, 16 bytes each. */
export interface LlipTlv {
  readonly type: typeof TLV_TYPE.LLIP;
  readonly addresses: readonly Uint8Array[];
}

export interface Hna6Entry {
  readonly prefixLen: number;
  /** 0x01 = no route (HNA6_FLAG_NO_ROUTE). */
  readonly flags: number;
  readonly address: Uint8Array;
}

/** HNA6 (15): 18-byte entries; the first is the primary address. */
export interface Hna6Tlv {
  readonly type: typeof TLV_TYPE.HNA6;
  readonly entries: readonly Hna6Entry[];
}

/** INFO (28): 20-byte header then name and mail (no terminators). */
export interface InfoTlv {
  readonly type: typeof TLV_TYPE.INFO;
  /** 0 (other values are ignored by the reference). */
  readonly infoType: number;
  /** 20. */
  readonly infoOffset: number;
  readonly codeRevision: number;
  readonly reservedA: number;
  readonly reservedB: number;
  readonly reservedC: number;
  /** Host name (bytes as Latin-1 characters). */
  readonly name: string;
  readonly mail: string;
  /** Bytes after name and mail (none from the reference). */
  readonly extra: Uint8Array;
}

/** A TLV type nobody handles, relayed unchanged. */
export interface UnknownTlv {
  readonly type: UnknownTlvType;
  readonly unknown: true;
  readonly raw: Uint8Array;
}

/** A decoded TLV body, discriminated on `type`. */
export type TlvValue =
  | PubkeyTlv
  | DscSignatureTlv
  | VersionTlv
  | DhmLinkKeyTlv
  | TrustTlv
  | MetricTlv
  | LlipTlv
  | Hna6Tlv
  | Tun6Tlv
  | TunIngressTlv
  | TunSrcTlv
  | TunNetTlv
  | TopologyTlv
  | InfoTlv
  | SmsTlv
  | WireguardTlv
  | CryptTunTlv
  | PqKemTlv
  | UnknownTlv;

function keyCodec<T extends PubkeyTlv | DscSignatureTlv | DhmLinkKeyTlv>(
  name: string,
  field: 'key' | 'signature' | 'gx',
): TlvCodec<T> {
  return {
    name,
    bounds: { header: 0, minMsg: 1, fixed: false },
    decode(type, body) {
      if (body.length < 1) return fail('ERR_LENGTH', `${name}: empty`);
      return ok({ type, keyType: body[0]!, [field]: take(body, 1, body.length - 1) } as unknown as T);
    },
    encode(v) {
      const data = (v as unknown as Record<string, Uint8Array>)[field]!;
      const out = new Uint8Array(1 + data.length);
      out[0] = byte(v.keyType, `${name} keyType`);
      out.set(data, 1);
      return out;
    },
  };
}

const versionCodec: TlvCodec<VersionTlv> = {
  name: 'VERSION',
  bounds: { header: 0, minMsg: VERSION_SIZE, fixed: true },
  decode(_type, b) {
    if (b.length !== VERSION_SIZE)
      return fail('ERR_LENGTH', `VERSION: ${b.length} bytes, must be ${VERSION_SIZE}`);
    const sizes = u32(b, 40);
    return ok({
      type: TLV_TYPE.VERSION,
      cv: b[0]!,
      capabilities: b[1]!,
      bootSqn: u32(b, 2),
      descSqn: u32(b, 6),
      ogmSqnRange: u16(b, 10),
      anchorLink: take(b, 12, SHA112_LEN),
      anchorSeed: take(b, 26, SHA112_LEN),
      virtLength: sizes >>> 11,
      virtContents: sizes & 0x7ff,
    });
  },
  encode(v) {
    const b = new Uint8Array(VERSION_SIZE);
    b[0] = byte(v.cv, 'VERSION cv');
    b[1] = byte(v.capabilities, 'VERSION capabilities');
    put32(b, 2, v.bootSqn);
    put32(b, 6, v.descSqn);
    put16(b, 10, v.ogmSqnRange);
    b.set(fixedBytes(v.anchorLink, SHA112_LEN, 'VERSION anchorLink'), 12);
    b.set(fixedBytes(v.anchorSeed, SHA112_LEN, 'VERSION anchorSeed'), 26);
    ensure(v.virtLength >= 0 && v.virtLength < 2 ** 21, 'VERSION virtLength out of 21 bits');
    put32(b, 40, ((v.virtLength << 11) | byte(v.virtContents, 'VERSION virtContents', 0x7ff)) >>> 0);
    return b;
  },
};

const metricCodec: TlvCodec<MetricTlv> = {
  name: 'METRIC',
  bounds: { header: 0, minMsg: METRIC_SIZE, fixed: false },
  decode(_type, b) {
    if (b.length < METRIC_SIZE) return fail('ERR_LENGTH', `METRIC: ${b.length} bytes, needs ${METRIC_SIZE}`);
    const exps = b[8]!;
    const pip: PathInterference[] = [];
    for (let i = 0; i < 4; i++) {
      const x = b[29 + 2 * i]!;
      pip.push({ channelDistance: b[28 + 2 * i]!, hopDistance: x >> 5, independence: x & 0x1f });
    }
    return ok({
      type: TLV_TYPE.METRIC,
      fmetricMin: u16(b, 0),
      reserved0: u16(b, 2),
      algo: u16(b, 4),
      flags: u16(b, 6),
      rxExpNumerator: exps >> 6,
      rxExpDivisor: (exps >> 4) & 3,
      txExpNumerator: (exps >> 2) & 3,
      txExpDivisor: exps & 3,
      lqTxPoint: b[9]!,
      lqTyPoint: b[10]!,
      lqT1Point: b[11]!,
      linkRateEfficiency: b[12]!,
      hopHistorySize: b[13]!,
      hopsMax: b[14]!,
      hopPenalty: b[15]!,
      sqnBestHysteresis: b[16]!,
      sqnLateHysteresis100ms: b[17]!,
      metricHysteresisNewPath: u16(b, 18),
      metricHysteresisOldPath: u16(b, 20),
      ogmIntervalSec: u16(b, 22),
      sqnDiffMax: b[24]! >> 6,
      reserved1: b[24]! & 0x3f,
      linkThroughputEfficiency: b[25]!,
      reserved3: u16(b, 26),
      pathInterference: pip,
      optional: take(b, METRIC_SIZE, b.length - METRIC_SIZE),
    });
  },
  encode(v) {
    const b = new Uint8Array(METRIC_SIZE + v.optional.length);
    put16(b, 0, v.fmetricMin);
    put16(b, 2, v.reserved0);
    put16(b, 4, v.algo);
    put16(b, 6, v.flags);
    b[8] =
      (byte(v.rxExpNumerator, 'rxExpNumerator', 3) << 6) |
      (byte(v.rxExpDivisor, 'rxExpDivisor', 3) << 4) |
      (byte(v.txExpNumerator, 'txExpNumerator', 3) << 2) |
      byte(v.txExpDivisor, 'txExpDivisor', 3);
    b[9] = byte(v.lqTxPoint, 'lqTxPoint');
    b[10] = byte(v.lqTyPoint, 'lqTyPoint');
    b[11] = byte(v.lqT1Point, 'lqT1Point');
    b[12] = byte(v.linkRateEfficiency, 'linkRateEfficiency');
    b[13] = byte(v.hopHistorySize, 'hopHistorySize');
    b[14] = byte(v.hopsMax, 'hopsMax');
    b[15] = byte(v.hopPenalty, 'hopPenalty');
    b[16] = byte(v.sqnBestHysteresis, 'sqnBestHysteresis');
    b[17] = byte(v.sqnLateHysteresis100ms, 'sqnLateHysteresis100ms');
    put16(b, 18, v.metricHysteresisNewPath);
    put16(b, 20, v.metricHysteresisOldPath);
    put16(b, 22, v.ogmIntervalSec);
    b[24] = (byte(v.sqnDiffMax, 'sqnDiffMax', 3) << 6) | byte(v.reserved1, 'reserved1', 0x3f);
    b[25] = byte(v.linkThroughputEfficiency, 'linkThroughputEfficiency');
    put16(b, 26, v.reserved3);
    ensure(v.pathInterference.length === 4, 'METRIC pathInterference must have 4 entries');
    v.pathInterference.forEach((p, i) => {
      b[28 + 2 * i] = byte(p.channelDistance, 'channelDistance');
      b[29 + 2 * i] = (byte(p.hopDistance, 'hopDistance', 7) << 5) | byte(p.independence, 'independence', 31);
    });
    b.set(v.optional, METRIC_SIZE);
    return b;
  },
};

const trustCodec = listCodec<TrustTlv, TrustEntry>(
  'TRUST',
  MSG_SIZE.TRUST,
  (type, entries) => ({ type: type as TrustTlv['type'], entries }),
  (v) => v.entries,
  (b, o) => {
    const w = u16(b, o + SHA_LEN);
    return { nodeId: take(b, o, SHA_LEN), level: w >> 14, reserved: w & 0x3fff };
  },
  (e, out, o) => {
    out.set(fixedBytes(e.nodeId, SHA_LEN, 'TRUST nodeId'), o);
    put16(
      out,
      o + SHA_LEN,
      (byte(e.level, 'TRUST level', 3) << 14) | byte(e.reserved, 'TRUST reserved', 0x3fff),
    );
  },
);

const hnaCodec = listCodec<Hna6Tlv, Hna6Entry>(
  'HNA6',
  MSG_SIZE.HNA6,
  (_t, entries) => ({ type: TLV_TYPE.HNA6, entries }),
  (v) => v.entries,
  (b, o) => ({ prefixLen: b[o]!, flags: b[o + 1]!, address: take(b, o + 2, 16) }),
  (e, out, o) => {
    out[o] = byte(e.prefixLen, 'HNA6 prefixLen');
    out[o + 1] = byte(e.flags, 'HNA6 flags');
    out.set(fixedBytes(e.address, 16, 'HNA6 address'), o + 2);
  },
);

const infoCodec: TlvCodec<InfoTlv> = {
  name: 'INFO',
  bounds: { header: 0, minMsg: MSG_SIZE.INFO_HEADER, fixed: false },
  decode(_t, b) {
    const H = MSG_SIZE.INFO_HEADER;
    if (b.length < H) return fail('ERR_LENGTH', `INFO: ${b.length} bytes, needs ${H}`);
    const nameLen = b[18]!;
    const mailLen = b[19]!;
    // The reference reads name and mail right after the 20-byte header (desc.c process_dsc_tlv_info).
    if (H + nameLen + mailLen > b.length)
      return fail('ERR_LENGTH', `INFO: name ${nameLen} + mail ${mailLen} bytes exceed the TLV`);
    return ok({
      type: TLV_TYPE.INFO,
      infoType: b[0]!,
      infoOffset: b[1]!,
      codeRevision: u32(b, 2),
      reservedA: u32(b, 6),
      reservedB: u32(b, 10),
      reservedC: u32(b, 14),
      name: latin1(b.subarray(H, H + nameLen)),
      mail: latin1(b.subarray(H + nameLen, H + nameLen + mailLen)),
      extra: take(b, H + nameLen + mailLen, b.length - H - nameLen - mailLen),
    });
  },
  encode(v) {
    const name = fromLatin1(v.name);
    const mail = fromLatin1(v.mail);
    ensure(name.length <= 255 && mail.length <= 255, 'INFO name/mail longer than 255');
    const H = MSG_SIZE.INFO_HEADER;
    const b = new Uint8Array(H + name.length + mail.length + v.extra.length);
    b[0] = byte(v.infoType, 'INFO type');
    b[1] = byte(v.infoOffset, 'INFO offset');
    put32(b, 2, v.codeRevision);
    put32(b, 6, v.reservedA);
    put32(b, 10, v.reservedB);
    put32(b, 14, v.reservedC);
    b[18] = name.length;
    b[19] = mail.length;
    b.set(name, H);
    b.set(mail, H + name.length);
    b.set(v.extra, H + name.length + mail.length);
    return b;
  },
};

/** TLV types → codec. Types absent here are unknown and kept raw. */
export const TLV_CODECS: Readonly<Partial<Record<number, TlvCodec>>> = {
  [TLV_TYPE.NODE_PUBKEY]: keyCodec<PubkeyTlv>('NODE_PUBKEY', 'key') as TlvCodec,
  [TLV_TYPE.DSC_SIGNATURE]: keyCodec<DscSignatureTlv>('DSC_SIGNATURE', 'signature') as TlvCodec,
  [TLV_TYPE.VERSION]: versionCodec as TlvCodec,
  [TLV_TYPE.RSA_LINK_PUBKEY]: keyCodec<PubkeyTlv>('RSA_LINK_PUBKEY', 'key') as TlvCodec,
  [TLV_TYPE.DHM_LINK_PUBKEY]: keyCodec<DhmLinkKeyTlv>('DHM_LINK_PUBKEY', 'gx') as TlvCodec,
  [TLV_TYPE.SUPPORTS]: trustCodec as TlvCodec,
  [TLV_TYPE.TRUSTS]: trustCodec as TlvCodec,
  [TLV_TYPE.METRIC]: metricCodec as TlvCodec,
  [TLV_TYPE.LLIP]: addrList<LlipTlv>('LLIP', 'addresses') as TlvCodec,
  [TLV_TYPE.HNA6]: hnaCodec as TlvCodec,
  [TLV_TYPE.INFO]: infoCodec as TlvCodec,
  ...PLUGIN_TLV_CODECS,
};

/** Whether this TLV type is a bmx7d extension the reference skips (§4.13). */
export function isExtensionTlvType(type: number): boolean {
  return TLV_CODECS[type]?.extension === true;
}

/**
 * Whether the reference (with all its plugins) handles this TLV type, so its description-level
 * checks apply; bmx7d extensions are not (§4.13).
 */
export function isKnownTlvType(type: number): boolean {
  const c = TLV_CODECS[type];
  return c !== undefined && !c.extension;
}

/**
 * The reference's generic size check of a TLV of a known type (data header, minimum message,
 * fixed-size messages); undefined when it passes. Messages of zero bytes pass (frame handlers).
 */
export function checkTlvBounds(type: number, dataLength: number): string | undefined {
  const c = TLV_CODECS[type];
  if (!c || c.extension) return undefined;
  const { header, minMsg, fixed } = c.bounds;
  const msgs = dataLength - header;
  if (msgs < minMsg && msgs !== 0) return `${c.name}: ${msgs} message bytes, fewer than ${minMsg}`;
  if (fixed && minMsg && msgs % minMsg)
    return `${c.name}: ${msgs} message bytes, not a multiple of ${minMsg}`;
  return undefined;
}

/** Decodes a TLV body of the given (expanded) type; unknown types give `{ unknown: true, raw }`. */
export function decodeTlvBody(type: number, body: Uint8Array): Result<TlvValue> {
  if (!Number.isInteger(type) || type < 0 || type > 31)
    return fail('ERR_VALUE', `TLV type ${type} out of range`);
  if (type === TLV_TYPE.CONTENT_HASH) return fail('ERR_VALUE', 'a content-hash TLV has no body of its own');
  const c = TLV_CODECS[type];
  if (!c) return ok({ type: type as UnknownTlvType, unknown: true, raw: body.slice() });
  const bad = checkTlvBounds(type, body.length);
  if (bad) return fail('ERR_LENGTH', bad);
  return c.decode(type, body);
}

/** Encodes a TLV body (without the 2-byte header). */
export function encodeTlvBody(v: TlvValue): Uint8Array {
  if ('unknown' in v && v.unknown) return v.raw.slice();
  const c = TLV_CODECS[v.type];
  if (!(c !== undefined)) throw new CodecError('ERR_CODEC_INPUT', `TLV type ${v.type} has no codec`);
  return c.encode(v);
}
