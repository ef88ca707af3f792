/**
 * Descriptions (docs/protocol.md §4.5): a TLV list of at most 1198 bytes whose first three TLVs are the
 * content reference to the node key (its expanded hash is the node id), DSC_SIGNATURE and a
 * 44-byte VERSION. Other TLVs are inline or replaced by content references (type 0, "chash").
 *
 * decodeDescription applies the checks of the reference's get_desc_id and frame iterator: the
 * mandatory first three TLVs, strictly ascending (expanded) types for known types, valid chash
 * headers, and the generic size rules of inline TLVs of known types.
 */
import { put16, put32, take, u32 } from './bytes.js';
import {
  CHASH_HEADER_SIZE,
  COMPATIBILITY_VERSION,
  DESC_ADV_MIN_SIZE,
  FRAME_HEADER_SIZE,
  MAX_DESC_ROOT_SIZE,
  MAX_REF_NESTING,
  RSA_KEY_LEN,
  SHA_LEN,
  TLV_TYPE,
  type UnknownTlvType,
  VERSION_SIZE,
  VRT_FRAME_DATA_SIZE_DEFAULT,
  VRT_FRAME_DATA_SIZE_MAX,
} from './constants.js';
import { frameHeaderWord, readFrameHeader } from './header.js';
import { ensure, fail, ok, type Result } from './result.js';
import {
  checkTlvBounds,
  type DscSignatureTlv,
  decodeTlvBody,
  encodeTlvBody,
  isExtensionTlvType,
  isKnownTlvType,
  type TlvValue,
  type VersionTlv,
} from './tlv.js';

/**
 * A content reference, the body of a type-0 TLV (4.5): the expanded TLV (type, length, hash of
 * `0x00 ‖ data`) and how to get it — inline zlib data (nesting 0), the chunk hashes (nesting 1) or
 * the hashes of hash lists (nesting 2). Nesting 1 without gzip and without hashes means the single
 * chunk *is* the expanded content (fetched by the expanded hash).
 */
export interface ContentRef {
  readonly expandedHash: Uint8Array;
  readonly expandedLength: number;
  readonly expandedType: number;
  readonly nesting: number;
  readonly gzip: boolean;
  /** Nesting ≥ 1: hashes of chunks (1) or of hash lists (2). */
  readonly hashes: readonly Uint8Array[];
  /** Nesting 0: the zlib data. */
  readonly inline: Uint8Array;
}

/** A type-0 TLV of a description root. */
export interface ContentRefTlv {
  readonly type: typeof TLV_TYPE.CONTENT_HASH;
  readonly ref: ContentRef;
}

/** One TLV of a description root: a content reference or an inline TLV body. */
export type DescTlv = ContentRefTlv | TlvValue;

/** Where a TLV sits in its description. */
export interface Span {
  /** Offset of the 2-byte TLV (or frame) header. */
  readonly offset: number;
  /** Length including the header. */
  readonly length: number;
}

export type DecodedDescTlv = DescTlv & Span;

export interface Description {
  readonly tlvs: readonly DecodedDescTlv[];
  /** Node id: the expanded hash of the first TLV (the public-key content). */
  readonly nodeId: Uint8Array;
  readonly signature: DscSignatureTlv;
  readonly version: VersionTlv;
  /** Offset of the VERSION TLV header: the description signature covers bytes from here to the end. */
  readonly versionOffset: number;
  /** Total length in bytes. */
  readonly length: number;
}

export interface DescriptionOptions {
  /** Accepted compatibility versions (default 20-22: own ±1). */
  readonly minVersion?: number;
  readonly maxVersion?: number;
  /** Largest expanded length of one content reference (default 100548, `descVirtFrameSizeIn`). */
  readonly expandedLengthMax?: number;
}

/** The "expanded type" a root TLV stands for (for ordering): the ref's type for chash TLVs. */
export function expandedTypeOf(t: DescTlv): number {
  return t.type === TLV_TYPE.CONTENT_HASH ? (t as ContentRefTlv).ref.expandedType : t.type;
}

/** The header word of a chash TLV: len·256 + type·8 + nesting·2 + gzip. */
export function contentRefWord(
  r: Pick<ContentRef, 'expandedLength' | 'expandedType' | 'nesting' | 'gzip'>,
): number {
  return ((r.expandedLength << 8) | (r.expandedType << 3) | (r.nesting << 1) | (r.gzip ? 1 : 0)) >>> 0;
}

/**
 * Decodes a chash TLV body with the reference's checks (msg.c rx_frame_iterate, content.c
 * descContent_assemble): word ≠ 0, expanded type ≠ 0, nesting ≤ 2, expanded length bounded, hash
 * list a multiple of 28, list sizes per nesting/gzip, inline data only with nesting 0 and gzip.
 */
export function decodeContentRef(body: Uint8Array, opts: DescriptionOptions = {}): Result<ContentRef> {
  if (body.length < CHASH_HEADER_SIZE)
    return fail('ERR_LENGTH', `content reference of ${body.length} bytes, needs ${CHASH_HEADER_SIZE}`);
  const w = u32(body, SHA_LEN);
  const expandedLength = w >>> 8;
  const expandedType = (w >> 3) & 0x1f;
  const nesting = (w >> 1) & 3;
  const gzip = (w & 1) === 1;
  const rest = body.length - CHASH_HEADER_SIZE;
  const max = opts.expandedLengthMax ?? VRT_FRAME_DATA_SIZE_DEFAULT;
  if (w === 0) return fail('ERR_VALUE', 'content reference: zero header word');
  if (expandedType === TLV_TYPE.CONTENT_HASH) return fail('ERR_VALUE', 'content reference: expanded type 0');
  if (expandedLength > max)
    return fail('ERR_VALUE', `content reference: expanded length ${expandedLength} > ${max}`);
  if (nesting > MAX_REF_NESTING) return fail('ERR_VALUE', `content reference: nesting ${nesting} > 2`);
  const hashes: Uint8Array[] = [];
  if (nesting === 0) {
    if (!gzip || rest === 0)
      return fail('ERR_VALUE', 'content reference: nesting 0 needs gzip and inline data');
    return ok({
      expandedHash: take(body, 0, SHA_LEN),
      expandedLength,
      expandedType,
      nesting,
      gzip,
      hashes,
      inline: take(body, 32, rest),
    });
  }
  if (rest % SHA_LEN) return fail('ERR_LENGTH', `content reference: hash list of ${rest} bytes`);
  const n = rest / SHA_LEN;
  if (n === 0 && (nesting !== 1 || gzip))
    return fail(
      'ERR_VALUE',
      `content reference: nesting ${nesting}${gzip ? ' with gzip' : ''} needs a hash list`,
    );
  if (n === 1 && nesting === 1 && !gzip)
    return fail('ERR_VALUE', 'content reference: a 1-hash list at nesting 1');
  for (let i = 0; i < n; i++) hashes.push(take(body, CHASH_HEADER_SIZE + i * SHA_LEN, SHA_LEN));
  return ok({
    expandedHash: take(body, 0, SHA_LEN),
    expandedLength,
    expandedType,
    nesting,
    gzip,
    hashes,
    inline: new Uint8Array(0),
  });
}

export function encodeContentRef(r: ContentRef): Uint8Array {
  ensure(r.expandedHash.length === SHA_LEN, 'content reference: expandedHash must be 28 bytes');
  ensure(
    Number.isInteger(r.expandedLength) &&
      r.expandedLength >= 0 &&
      r.expandedLength <= Math.min(0xffffff, VRT_FRAME_DATA_SIZE_MAX),
    'content reference: expandedLength out of range',
  );
  ensure(r.expandedType > 0 && r.expandedType <= 31, 'content reference: expandedType out of range 1-31');
  ensure(r.nesting >= 0 && r.nesting <= 3, 'content reference: nesting out of range');
  const payload = r.nesting === 0 ? r.inline.length : r.hashes.length * SHA_LEN;
  const b = new Uint8Array(CHASH_HEADER_SIZE + payload);
  b.set(r.expandedHash, 0);
  put32(b, SHA_LEN, contentRefWord(r));
  if (r.nesting === 0) b.set(r.inline, CHASH_HEADER_SIZE);
  else
    r.hashes.forEach((h, i) => {
      ensure(h.length === SHA_LEN, 'content reference: hashes must be 28 bytes');
      b.set(h, CHASH_HEADER_SIZE + i * SHA_LEN);
    });
  return b;
}

/** Decodes a description root (the body of a DESC_ADV frame). */
export function decodeDescription(b: Uint8Array, opts: DescriptionOptions = {}): Result<Description> {
  const minV = opts.minVersion ?? COMPATIBILITY_VERSION - 1;
  const maxV = opts.maxVersion ?? COMPATIBILITY_VERSION + 1;
  if (b.length < DESC_ADV_MIN_SIZE || b.length > MAX_DESC_ROOT_SIZE)
    return fail(
      'ERR_LENGTH',
      `description of ${b.length} bytes, must be ${DESC_ADV_MIN_SIZE}-${MAX_DESC_ROOT_SIZE}`,
    );
  const tlvs: DecodedDescTlv[] = [];
  let prev = -1;
  let pos = 0;
  let versionOffset = -1;
  while (pos < b.length) {
    if (pos + FRAME_HEADER_SIZE >= b.length)
      return fail('ERR_TRAILING', `description: ${b.length - pos} stray byte(s) at ${pos}`);
    const { type, length } = readFrameHeader(b, pos);
    if (length <= FRAME_HEADER_SIZE || pos + length > b.length)
      return fail(
        'ERR_LENGTH',
        `description TLV ${type} at ${pos}: length ${length} invalid (${b.length - pos} left)`,
      );
    const body = b.subarray(pos + FRAME_HEADER_SIZE, pos + length);
    const i = tlvs.length;
    // get_desc_id: the first three TLVs are fixed.
    if (i === 0 && !(type === TLV_TYPE.CONTENT_HASH && length === FRAME_HEADER_SIZE + CHASH_HEADER_SIZE))
      return fail(
        'ERR_ORDER',
        'description: first TLV must be the 32-byte content reference of the node key',
      );
    if (i === 1 && type !== TLV_TYPE.DSC_SIGNATURE)
      return fail('ERR_ORDER', 'description: second TLV must be DSC_SIGNATURE');
    if (i === 2 && !(type === TLV_TYPE.VERSION && length === FRAME_HEADER_SIZE + VERSION_SIZE))
      return fail('ERR_ORDER', 'description: third TLV must be a 44-byte VERSION');
    let entry: DescTlv;
    let expanded: number;
    if (type === TLV_TYPE.CONTENT_HASH) {
      const r = decodeContentRef(body, opts);
      if (!r.ok) return fail(r.code, `description TLV at ${pos}: ${r.reason}`);
      entry = { type: TLV_TYPE.CONTENT_HASH, ref: r.value };
      expanded = r.value.expandedType;
    } else {
      const bad = checkTlvBounds(type, body.length);
      if (bad) return fail('ERR_LENGTH', `description TLV at ${pos}: ${bad}`);
      const r = decodeTlvBody(type, body);
      if (r.ok) entry = r.value;
      // An extension the reference skips never refuses a description (§4.13): kept raw.
      else if (isExtensionTlvType(type))
        entry = { type: type as UnknownTlvType, unknown: true, raw: body.slice() };
      else return fail(r.code, `description TLV at ${pos}: ${r.reason}`);
      expanded = type;
    }
    // Strictly ascending (expanded) types; the reference skips the check for types it does not
    // handle, but remembers them as the previous type (msg.c rx_frame_iterate).
    if ((type === TLV_TYPE.CONTENT_HASH || isKnownTlvType(type)) && prev >= expanded)
      return fail('ERR_ORDER', `description: TLV type ${expanded} at ${pos} after type ${prev}`);
    prev = expanded;
    if (i === 2) versionOffset = pos;
    tlvs.push({ ...entry, offset: pos, length });
    pos += length;
  }
  if (tlvs.length < 3) return fail('ERR_ORDER', 'description: fewer than the three mandatory TLVs');
  const first = tlvs[0] as ContentRefTlv;
  if (first.ref.gzip || first.ref.nesting !== 1 || first.ref.expandedType !== TLV_TYPE.NODE_PUBKEY)
    return fail('ERR_VALUE', 'description: first TLV must reference NODE_PUBKEY at nesting 1 without gzip');
  const signature = tlvs[1] as unknown as DscSignatureTlv;
  const keyLen = RSA_KEY_LEN[signature.keyType];
  if (keyLen === undefined || signature.signature.length !== keyLen)
    return fail(
      'ERR_VALUE',
      `description: DSC_SIGNATURE of key type ${signature.keyType} with ${signature.signature.length} bytes`,
    );
  const version = tlvs[2] as unknown as VersionTlv;
  if (version.cv < minV || version.cv > maxV)
    return fail('ERR_VALUE', `description: compatibility version ${version.cv} outside ${minV}-${maxV}`);
  return ok({ tlvs, nodeId: first.ref.expandedHash, signature, version, versionOffset, length: b.length });
}

/** Encodes one root TLV (header included). */
export function encodeDescTlv(t: DescTlv): Uint8Array {
  const body =
    t.type === TLV_TYPE.CONTENT_HASH
      ? encodeContentRef((t as ContentRefTlv).ref)
      : encodeTlvBody(t as TlvValue);
  const out = new Uint8Array(FRAME_HEADER_SIZE + body.length);
  put16(out, 0, frameHeaderWord(t.type, out.length));
  out.set(body, FRAME_HEADER_SIZE);
  return out;
}

/**
 * Encodes a description root from its TLVs, in the given order (the caller keeps the order rules;
 * decodeDescription checks them). The DSC_SIGNATURE may hold zeros first: sign
 * `descriptionSignedBytes(bytes)` and write the signature with `fillDescriptionSignature`.
 */
export function encodeDescription(tlvs: readonly DescTlv[]): Uint8Array {
  const parts = tlvs.map(encodeDescTlv);
  let n = 0;
  for (const p of parts) n += p.length;
  ensure(
    n <= MAX_DESC_ROOT_SIZE,
    `description of ${n} bytes exceeds ${MAX_DESC_ROOT_SIZE}`,
    'ERR_CODEC_SIZE',
  );
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Offset of the VERSION TLV header in an encoded description whose first TLVs are the mandatory ones. */
export function descriptionVersionOffset(b: Uint8Array): number {
  let pos = 0;
  for (let i = 0; i < 2; i++) pos += readFrameHeader(b, pos).length;
  return pos;
}

/** The bytes the description signature covers: from the VERSION TLV header to the end (4.5). */
export function descriptionSignedBytes(b: Uint8Array): Uint8Array {
  return b.subarray(descriptionVersionOffset(b));
}

/** Writes a signature into the DSC_SIGNATURE TLV of an encoded description (same length as reserved). */
export function fillDescriptionSignature(b: Uint8Array, signature: Uint8Array): void {
  const first = readFrameHeader(b, 0).length;
  const sig = readFrameHeader(b, first);
  ensure(sig.type === TLV_TYPE.DSC_SIGNATURE, 'second TLV is not DSC_SIGNATURE');
  ensure(
    sig.length === FRAME_HEADER_SIZE + 1 + signature.length,
    'signature length differs from the reserved one',
  );
  b.set(signature, first + FRAME_HEADER_SIZE + 1);
}
