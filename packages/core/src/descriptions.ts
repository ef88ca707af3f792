/**
 * Descriptions (docs/protocol.md §4.5, §4.8): building and signing the own description, and parsing,
 * verifying and interpreting other nodes' descriptions once their contents are resolved.
 */
import {
  type ContentRef,
  type ContentRefTlv,
  type Description,
  type DescTlv,
  decodeDescription,
  decodeTlvBody,
  descriptionSignedBytes,
  encodeDescription,
  encodeTlvBody,
  fillDescriptionSignature,
  type Hna6Entry,
  type MetricTlv,
  TLV_TYPE,
  type TlvValue,
} from '@bmx7/codec';
import { descriptionHash, type RsaPrivateKey, signDescription, verifyDescription } from '@bmx7/crypto';
import { type ContentItem, type ContentStore, prepareRef, resolveRef } from './contents.js';
import { umetricFromFm16, umetricToFm16 } from './fm16.js';
import { hex } from './hex.js';
import { DEFAULT_METRIC_PARAMS, type MetricParams } from './metrics.js';

export interface OwnDescriptionInput {
  nodeKey: RsaPrivateKey;
  descSqn: number;
  bootSqn: number;
  ogmSqnRange: number;
  /** VERSION anchor: link(0) 14 ‖ seed 14. */
  anchor: Uint8Array;
  compatibility: number;
  /** Expanded TLV bodies by type (everything but the mandatory three), any order. */
  bodies: Map<number, Uint8Array>;
}

export interface BuiltDescription {
  bytes: Uint8Array;
  dHash: Uint8Array;
  contents: ContentItem[];
}

/** Builds and signs the own description (§4.5: mandatory TLVs, then ascending types). */
export function buildOwnDescription(d: OwnDescriptionInput): BuiltDescription {
  const contents: ContentItem[] = [];
  let virtLength = 0;
  let virtContents = 0;
  const refTlv = (type: number, body: Uint8Array): DescTlv | undefined => {
    const p = prepareRef(type, body);
    if (!p) return undefined;
    contents.push(...p.items);
    virtLength += p.virtLength;
    virtContents += p.virtContents;
    return { type: TLV_TYPE.CONTENT_HASH, ref: p.ref } as ContentRefTlv;
  };
  const pub = d.nodeKey.publicContent;
  const first = refTlv(TLV_TYPE.NODE_PUBKEY, pub)!;
  const rest: DescTlv[] = [];
  for (const type of [...d.bodies.keys()].sort((a, b) => a - b)) {
    const body = d.bodies.get(type)!;
    if (body.length === 0) continue;
    const t = refTlv(type, body);
    if (t) rest.push(t);
    else {
      const dec = decodeTlvBody(type, body);
      rest.push(dec.ok ? dec.value : ({ type, unknown: true, raw: body } as unknown as TlvValue));
    }
  }
  const sigLen = pub.length - 1;
  const tlvs: DescTlv[] = [
    first,
    { type: TLV_TYPE.DSC_SIGNATURE, keyType: d.nodeKey.type, signature: new Uint8Array(sigLen) },
    {
      type: TLV_TYPE.VERSION,
      cv: d.compatibility,
      capabilities: 0x02, // §4.5/6: the reference's byte-swap artefact
      bootSqn: d.bootSqn,
      descSqn: d.descSqn,
      ogmSqnRange: d.ogmSqnRange,
      anchorLink: d.anchor.subarray(0, 14),
      anchorSeed: d.anchor.subarray(14, 28),
      virtLength,
      virtContents,
    },
    ...rest,
  ];
  const bytes = encodeDescription(tlvs);
  const sig = signDescription(d.nodeKey, descriptionSignedBytes(bytes));
  fillDescriptionSignature(bytes, sig.subarray(1)); // signDescription returns type ‖ signature
  return { bytes, dHash: descriptionHash(bytes), contents };
}

/** A received description after decoding and signature checking. */
export interface ParsedDescription {
  bytes: Uint8Array;
  dHash: Uint8Array;
  dHashHex: string;
  nodeId: Uint8Array;
  descSqn: number;
  bootSqn: number;
  /** The compatibility version it was made for (VERSION TLV, §4.5). */
  compatibility: number;
  ogmSqnRange: number;
  anchor: Uint8Array;
  /** Content references (excluding the node key) to resolve. */
  refs: ContentRef[];
  /** Inline TLV bodies by type (after the mandatory three). */
  inline: Map<number, Uint8Array>;
  /** The decoded form (for re-sending it in DESC_ADV frames). */
  decoded: Description | undefined;
}

export type ParseResult = { ok: true; value: ParsedDescription } | { ok: false; reason: string };

/**
 * Node id and descSqn of an encoded description without decoding it (to drop known ones cheaply);
 * undefined when the mandatory layout is not there (the full decoder then reports why).
 */
export function peekDescription(b: Uint8Array): { id: Uint8Array; descSqn: number } | undefined {
  if (b.length < 83) return undefined;
  const l0 = ((b[0]! << 8) | b[1]!) & 0x7ff;
  if (l0 !== 34) return undefined;
  const l1 = ((b[l0]! << 8) | b[l0 + 1]!) & 0x7ff;
  const v = l0 + l1;
  if (v + 12 > b.length) return undefined;
  const at = v + 2 + 6;
  return {
    id: b.subarray(2, 30),
    descSqn: ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0,
  };
}

/** Decodes a description and checks its signature with the node's public-key content (§4.5 (1), (5)). */
export function parseDescription(
  bytes: Uint8Array,
  pubkey: Uint8Array | undefined,
  compatibility: number,
): ParseResult {
  const r = decodeDescription(bytes, { minVersion: compatibility - 1, maxVersion: compatibility + 1 });
  if (!r.ok) return { ok: false, reason: r.reason };
  const d = r.value;
  if (d.version.ogmSqnRange > 8192 || d.version.ogmSqnRange < 1) return { ok: false, reason: 'ogmSqnRange' };
  if (pubkey) {
    const sigTlv = d.tlvs[1]!;
    const msg = bytes.subarray(sigTlv.offset + 2, sigTlv.offset + sigTlv.length);
    if (!verifyDescription(pubkey, msg, bytes.subarray(d.versionOffset)))
      return { ok: false, reason: 'signature' };
  }
  const refs: ContentRef[] = [];
  const inline = new Map<number, Uint8Array>();
  for (let i = 3; i < d.tlvs.length; i++) {
    const t = d.tlvs[i]!;
    if (t.type === TLV_TYPE.CONTENT_HASH) refs.push((t as unknown as ContentRefTlv).ref);
    else inline.set(t.type, bytes.slice(t.offset + 2, t.offset + t.length));
  }
  const anchor = new Uint8Array(28);
  anchor.set(d.version.anchorLink, 0);
  anchor.set(d.version.anchorSeed, 14);
  const dHash = descriptionHash(bytes);
  return {
    ok: true,
    value: {
      bytes,
      dHash,
      dHashHex: hex(dHash),
      nodeId: d.nodeId,
      descSqn: d.version.descSqn,
      bootSqn: d.version.bootSqn,
      compatibility: d.version.cv,
      ogmSqnRange: d.version.ogmSqnRange,
      anchor,
      refs,
      inline,
      decoded: d,
    },
  };
}

/** Resolves all references; returns the missing hashes, a failure, or every expanded body by type. */
export function resolveDescription(
  p: ParsedDescription,
  store: ContentStore,
):
  | { status: 'missing'; hashes: Uint8Array[] }
  | { status: 'bad'; reason: string }
  | { status: 'ok'; bodies: Map<number, Uint8Array> } {
  const bodies = new Map(p.inline);
  const missing: Uint8Array[] = [];
  for (const ref of p.refs) {
    const r = resolveRef(ref, store);
    if (r.status === 'missing') missing.push(...r.hashes);
    else if (r.status === 'bad') return r;
    else bodies.set(ref.expandedType, r.data);
  }
  if (missing.length) return { status: 'missing', hashes: missing };
  return { status: 'ok', bodies };
}

/** The parts of a resolved description the core uses (§4.8), or a rejection reason. */
export interface DescriptionFacts {
  llips: string[];
  hna: Hna6Entry[];
  metric: MetricParams;
  rsaLinkKey: Uint8Array | undefined;
  dhmKey: { type: number; gx: Uint8Array } | undefined;
  /** Node id (hex) → trust level of the TRUSTS TLV; undefined without one (everybody). */
  trusts: ReadonlyMap<string, number> | undefined;
  /** Node id (hex) → support level of the SUPPORTS TLV; undefined without one (everybody). */
  supports: ReadonlyMap<string, number> | undefined;
  name: string;
}

function metricFromTlv(m: MetricTlv): MetricParams | undefined {
  if (m.rxExpNumerator > 3 || m.txExpNumerator > 3) return undefined;
  if (m.rxExpDivisor < 1 || m.rxExpDivisor > 2 || m.txExpDivisor < 1 || m.txExpDivisor > 2) return undefined;
  if (m.hopHistorySize > 10 || m.ogmIntervalSec > 60) return undefined;
  const min = umetricFromFm16(m.fmetricMin);
  if (min < 65n) return undefined;
  return {
    pathMetricMin: min,
    algo: m.algo,
    flags: m.flags,
    rxExpNumerator: m.rxExpNumerator,
    rxExpDivisor: m.rxExpDivisor,
    txExpNumerator: m.txExpNumerator,
    txExpDivisor: m.txExpDivisor,
    lqTx: m.lqTxPoint,
    lqTy: m.lqTyPoint,
    lqT1: m.lqT1Point,
    linkRateEfficiency: m.linkRateEfficiency,
    ogmHistorySize: m.hopHistorySize,
    maxHops: m.hopsMax,
    hopPenalty: m.hopPenalty,
    pathSqnBestHysteresis: m.sqnBestHysteresis,
    pathLateHysteresis100ms: m.sqnLateHysteresis100ms,
    newPathMetricHysteresis: m.metricHysteresisNewPath,
    oldPathMetricHysteresis: m.metricHysteresisOldPath,
    ogmIntervalSec: m.ogmIntervalSec,
    pathSqnDiffMax: m.sqnDiffMax,
    linkThroughputEfficiency: m.linkThroughputEfficiency,
    interference: m.pathInterference.map((p) => ({ ...p })),
  };
}

/** The METRIC TLV body of own parameters (§4.8). */
export function encodeMetricTlv(p: MetricParams): Uint8Array {
  const pi = [...p.interference];
  while (pi.length < 4) pi.push({ channelDistance: 0, hopDistance: 0, independence: 0 });
  return encodeTlvBody({
    type: TLV_TYPE.METRIC,
    fmetricMin: umetricToFm16(p.pathMetricMin),
    reserved0: 0,
    algo: p.algo,
    flags: p.flags,
    rxExpNumerator: p.rxExpNumerator,
    rxExpDivisor: p.rxExpDivisor,
    txExpNumerator: p.txExpNumerator,
    txExpDivisor: p.txExpDivisor,
    lqTxPoint: p.lqTx,
    lqTyPoint: p.lqTy,
    lqT1Point: p.lqT1,
    linkRateEfficiency: p.linkRateEfficiency,
    hopHistorySize: p.ogmHistorySize,
    hopsMax: p.maxHops,
    hopPenalty: p.hopPenalty,
    sqnBestHysteresis: p.pathSqnBestHysteresis,
    sqnLateHysteresis100ms: p.pathLateHysteresis100ms,
    metricHysteresisNewPath: p.newPathMetricHysteresis,
    metricHysteresisOldPath: p.oldPathMetricHysteresis,
    ogmIntervalSec: p.ogmIntervalSec,
    sqnDiffMax: p.pathSqnDiffMax,
    reserved1: 0,
    linkThroughputEfficiency: p.linkThroughputEfficiency,
    reserved3: 0,
    pathInterference: pi.slice(0, 4),
    optional: new Uint8Array(0),
  } as MetricTlv);
}

const isLinkLocal = (a: Uint8Array) => a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;

/**
 * Interprets a resolved description (§4.8 receiver tests): LLIP fe80::/10 only (≤ 255), HNA6 valid,
 * not link-local, fd70::/12 entries only the node's own /128, no duplicates; METRIC in range.
 */
export function descriptionFacts(
  nodeId: Uint8Array,
  bodies: Map<number, Uint8Array>,
  ip6ToString: (a: Uint8Array) => string,
): { ok: true; value: DescriptionFacts } | { ok: false; reason: string } {
  const get = <T extends TlvValue>(type: number): T | undefined | null => {
    const b = bodies.get(type);
    if (!b) return undefined;
    const r = decodeTlvBody(type, b);
    return r.ok ? (r.value as T) : null;
  };
  const llip = get<Extract<TlvValue, { type: typeof TLV_TYPE.LLIP }>>(TLV_TYPE.LLIP);
  if (llip === null) return { ok: false, reason: 'LLIP' };
  const llips: string[] = [];
  for (const a of llip?.addresses ?? []) {
    if (!isLinkLocal(a)) return { ok: false, reason: 'LLIP not link-local' };
    llips.push(ip6ToString(a));
  }
  if (llips.length > 255) return { ok: false, reason: 'LLIP count' };
  const hnaT = get<Extract<TlvValue, { type: typeof TLV_TYPE.HNA6 }>>(TLV_TYPE.HNA6);
  if (hnaT === null) return { ok: false, reason: 'HNA6' };
  const hna: Hna6Entry[] = [];
  const seen = new Set<string>();
  for (const e of hnaT?.entries ?? []) {
    if (e.prefixLen > 128 || isLinkLocal(e.address)) return { ok: false, reason: 'HNA6 entry' };
    // inside fd70::/12 only /128 whose bytes 2–15 equal the id's bytes 0–13 (§4.8, §4.6)
    if (e.address[0] === 0xfd && (e.address[1]! & 0xf0) === 0x70) {
      if (e.prefixLen !== 128) return { ok: false, reason: 'HNA6 auto prefix' };
      for (let i = 2; i < 16; i++)
        if (e.address[i] !== nodeId[i - 2]) return { ok: false, reason: 'HNA6 not own' };
    }
    const k = `${hex(e.address)}/${e.prefixLen}`;
    if (seen.has(k)) return { ok: false, reason: 'HNA6 duplicate' };
    seen.add(k);
    hna.push(e);
  }
  let metric: MetricParams = { ...DEFAULT_METRIC_PARAMS };
  const m = get<MetricTlv>(TLV_TYPE.METRIC);
  if (m === null) return { ok: false, reason: 'METRIC' };
  if (m) {
    const mp = metricFromTlv(m);
    if (!mp) return { ok: false, reason: 'METRIC range' };
    metric = mp;
  }
  const rsa = get<Extract<TlvValue, { type: typeof TLV_TYPE.RSA_LINK_PUBKEY }>>(TLV_TYPE.RSA_LINK_PUBKEY);
  const rsaLinkKey = rsa ? bodies.get(TLV_TYPE.RSA_LINK_PUBKEY) : undefined;
  const dhm = get<Extract<TlvValue, { type: typeof TLV_TYPE.DHM_LINK_PUBKEY }>>(TLV_TYPE.DHM_LINK_PUBKEY);
  // node ids strictly ascending, above the zero id, or the whole description fails (sec.c test_dsc_tlv_trust)
  const trustSet = (type: number): Map<string, number> | undefined | null => {
    const t = get<Extract<TlvValue, { type: typeof TLV_TYPE.SUPPORTS | typeof TLV_TYPE.TRUSTS }>>(type);
    if (t === null) return null;
    if (!t) return undefined;
    let last = '0'.repeat(56);
    const out = new Map<string, number>();
    for (const e of t.entries) {
      const id = hex(e.nodeId);
      if (id <= last) return null;
      last = id;
      out.set(id, e.level);
    }
    return out;
  };
  const trusts = trustSet(TLV_TYPE.TRUSTS);
  const supports = trustSet(TLV_TYPE.SUPPORTS);
  if (trusts === null || supports === null) return { ok: false, reason: 'TRUSTS or SUPPORTS not ascending' };
  const info = get<Extract<TlvValue, { type: typeof TLV_TYPE.INFO }>>(TLV_TYPE.INFO);
  return {
    ok: true,
    value: {
      llips,
      hna,
      metric,
      rsaLinkKey,
      dhmKey: dhm ? { type: dhm.keyType, gx: dhm.gx } : undefined,
      trusts,
      supports,
      name: info?.name ?? '',
    },
  };
}
