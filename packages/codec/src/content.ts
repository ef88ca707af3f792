/**
 * Content addressing (docs/protocol.md §4.5; reference content.c): splitting a TLV body into chunks
 * and hash lists for sending, and assembling it again on receipt with all the reference's checks.
 *
 * Pure functions: SHA-224 and zlib come in as functions, so the codec has no crypto or zlib
 * dependency. `@bmx7/codec/zlib` offers node:zlib defaults for `deflate` and `inflate`.
 *
 * A content item is what CONTENT_ADV carries: a 1-byte header (reserved << 3 | nesting << 1 |
 * gzip) and a body of 1-1197 bytes; its hash is SHA-224(header ‖ body). Chunks have header 0x00
 * (also when they carry zlib data: the gzip flag lives in the TLV), hash lists 0x02.
 */
import { concatBytes } from './bytes.js';
import {
  HASHES_PER_LIST,
  MAX_REF_NESTING,
  REF_CONTENT_BODY_SIZE_MAX,
  SHA_LEN,
  TLV_TYPE,
} from './constants.js';
import type { ContentRef, Description } from './description.js';
import { CodecError, ensure, fail, ok, type Result } from './result.js';
import { decodeTlvBody, encodeTlvBody, type TlvValue } from './tlv.js';

/** SHA-224 over the given bytes (28-byte result). */
export type HashFn = (data: Uint8Array) => Uint8Array;
/** zlib (RFC 1950) compression at the default level. */
export type DeflateFn = (data: Uint8Array) => Uint8Array;
/** zlib decompression; undefined on corrupt input or when the output would exceed `maxLength`. */
export type InflateFn = (data: Uint8Array, maxLength: number) => Uint8Array | undefined;

/** A content item as CONTENT_ADV carries it. */
export interface ContentItem {
  readonly hash: Uint8Array;
  readonly nesting: number;
  readonly gzip: boolean;
  readonly body: Uint8Array;
}

/** The 1-byte content header: reserved << 3 | nesting << 1 | gzip. */
export function contentHeaderByte(nesting: number, gzip: boolean, reserved = 0): number {
  return ((reserved & 0x1f) << 3) | ((nesting & 3) << 1) | (gzip ? 1 : 0);
}

/** Content hash = SHA-224(header byte ‖ body). */
export function contentHash(
  hash: HashFn,
  body: Uint8Array,
  nesting = 0,
  gzip = false,
  reserved = 0,
): Uint8Array {
  return hash(concatBytes([Uint8Array.of(contentHeaderByte(nesting, gzip, reserved)), body]));
}

export interface BuildContentOptions {
  /** Expanded TLV type (1-31). */
  readonly type: number;
  /** Referencing level 0-2 (policy per TLV type, 4.5). */
  readonly level: number;
  /** Try zlib; used only if it makes the data smaller. */
  readonly compress: boolean;
  readonly hash: HashFn;
  /** Needed when `compress` is set. */
  readonly deflate?: DeflateFn;
}

export interface BuiltContent {
  /** The reference TLV, or undefined when the data goes inline (level 0, not compressed). */
  readonly ref?: ContentRef;
  /**
   * The items a sender must be able to serve, deduplicated: the expanded content (header 0x00,
   * the data itself — served only if it fits a CONTENT_ADV), then chunks, then hash lists.
   */
  readonly items: readonly ContentItem[];
  /** What this TLV adds to the VERSION virtual sizes (expanded length, number of contents). */
  readonly virtLength: number;
  readonly virtContents: number;
}

/**
 * The reference sender's algorithm (content.c create_chash_tlv): level L, compression z; gz only
 * if the zlib output is shorter; L = 0 and gz = 0 → inline; L = 0 and gz = 1 → nesting 0 with the
 * zlib data inline; L ≥ 1 → 1197-byte chunks, nesting 1 if L = 1 or (L = 2, gz = 0, one chunk),
 * else 2 with the chunk hashes grouped 42 per hash list.
 */
export function buildContent(data: Uint8Array, o: BuildContentOptions): BuiltContent {
  if (!(o.type > 0 && o.type <= 31))
    throw new CodecError('ERR_CODEC_INPUT', `content type ${o.type} out of range 1-31`);
  if (!(o.level >= 0 && o.level <= MAX_REF_NESTING))
    throw new CodecError('ERR_CODEC_INPUT', `content level ${o.level} out of range 0-2`);
  ensure(data.length > 0, 'content must not be empty');
  let agg = data;
  if (o.compress) {
    ensure(o.deflate !== undefined, 'buildContent: compress needs deflate');
    const z = o.deflate(data);
    if (z.length > 0 && z.length < data.length) agg = z;
  }
  const gzip = agg !== data;
  const chunkCount = Math.ceil(agg.length / REF_CONTENT_BODY_SIZE_MAX);
  if (o.level === 0 && !gzip) return { items: [], virtLength: 0, virtContents: 0 };
  ensure(
    o.level > 0 || agg.length <= REF_CONTENT_BODY_SIZE_MAX,
    'inline compressed content larger than a chunk',
  );
  const nesting = o.level <= 1 ? o.level : gzip || chunkCount > 1 ? 2 : 1;
  const items = new Map<string, ContentItem>();
  const add = (body: Uint8Array, nest: number): Uint8Array => {
    const hash = contentHash(o.hash, body, nest, false);
    const key = hashKey(hash);
    if (!items.has(key)) items.set(key, { hash, nesting: nest, gzip: false, body });
    return hash;
  };
  const expandedHash = add(data, 0);
  let virtContents = 1;
  const base = { expandedHash, expandedLength: data.length, expandedType: o.type, nesting, gzip };
  if (nesting === 0)
    return {
      ref: { ...base, hashes: [], inline: agg },
      items: [...items.values()],
      virtLength: data.length,
      virtContents,
    };
  if (!gzip && chunkCount === 1)
    return {
      ref: { ...base, hashes: [], inline: new Uint8Array(0) },
      items: [...items.values()],
      virtLength: data.length,
      virtContents,
    };
  ensure(
    nesting === 2 || chunkCount <= HASHES_PER_LIST,
    `content of ${chunkCount} chunks needs level 2`,
    'ERR_CODEC_SIZE',
  );
  const chunkHashes: Uint8Array[] = [];
  for (let pos = 0; pos < agg.length; pos += REF_CONTENT_BODY_SIZE_MAX) {
    chunkHashes.push(add(agg.subarray(pos, pos + REF_CONTENT_BODY_SIZE_MAX), 0));
    virtContents++;
  }
  let hashes = chunkHashes;
  if (nesting === 2) {
    hashes = [];
    for (let i = 0; i < chunkHashes.length; i += HASHES_PER_LIST) {
      hashes.push(add(concatBytes(chunkHashes.slice(i, i + HASHES_PER_LIST)), 1));
      virtContents++;
    }
  }
  ensure(
    32 + hashes.length * SHA_LEN <= REF_CONTENT_BODY_SIZE_MAX,
    'content reference does not fit a description',
    'ERR_CODEC_SIZE',
  );
  return {
    ref: { ...base, hashes, inline: new Uint8Array(0) },
    items: [...items.values()],
    virtLength: data.length,
    virtContents,
  };
}

/** Hex key of a hash, for maps keyed by content hash. */
export function hashKey(h: Uint8Array): string {
  let s = '';
  for (const x of h) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
}

/** Looks up a content item by hash (the caller checked it hashes to that key). */
export type ContentLookup = (hash: Uint8Array) => Pick<ContentItem, 'nesting' | 'gzip' | 'body'> | undefined;

export interface AssembleOptions {
  readonly hash: HashFn;
  readonly inflate?: InflateFn;
}

/**
 * The content hashes still needed to assemble `ref`, in the order a receiver would request them
 * (hash lists before the chunks they list, which only become known once the lists arrive).
 */
export function missingContent(ref: ContentRef, lookup: ContentLookup): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  const want = (h: Uint8Array) => {
    const k = hashKey(h);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(h);
    }
  };
  if (ref.nesting === 0) return out;
  if (ref.hashes.length === 0) {
    if (!lookup(ref.expandedHash)) want(ref.expandedHash);
    return out;
  }
  const walk = (hashes: readonly Uint8Array[], level: number) => {
    for (const h of hashes) {
      const it = lookup(h);
      if (!it) want(h);
      else if (
        it.nesting &&
        level + 1 <= Math.min(ref.nesting, MAX_REF_NESTING) &&
        it.body.length % SHA_LEN === 0
      )
        walk(splitHashes(it.body), level + 1);
    }
  };
  walk(ref.hashes, 1);
  return out;
}

function splitHashes(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o + SHA_LEN <= b.length; o += SHA_LEN) out.push(b.subarray(o, o + SHA_LEN));
  return out;
}

function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Assembles the expanded TLV body of a content reference (content.c descContent_assemble,
 * content_attach_references/_data): concatenates chunk bodies through at most `ref.nesting`
 * levels of hash lists, inflates if gzip, and requires exactly the expanded length and hash.
 * Never allocates more than the expanded length (bounded by the reference's maximum).
 */
export function assembleContent(
  ref: ContentRef,
  lookup: ContentLookup,
  o: AssembleOptions,
): Result<Uint8Array> {
  const max = ref.expandedLength;
  const finish = (data: Uint8Array, gzip: boolean): Result<Uint8Array> => {
    let out = data;
    if (gzip) {
      if (!o.inflate) return fail('ERR_CONTENT', 'compressed content but no inflate function');
      const z = o.inflate(data, max);
      if (!z || z.length === 0)
        return fail('ERR_CONTENT', 'zlib data does not inflate within the expanded length');
      out = z;
    }
    if (out.length !== max)
      return fail('ERR_CONTENT', `assembled ${out.length} bytes, expanded length is ${max}`);
    if (!sameHash(contentHash(o.hash, out), ref.expandedHash))
      return fail('ERR_CONTENT', 'assembled data does not match the expanded hash');
    return ok(out);
  };
  if (ref.nesting === 0) {
    if (!ref.gzip || ref.inline.length === 0)
      return fail('ERR_CONTENT', 'nesting 0 needs gzip and inline data');
    return finish(ref.inline, true);
  }
  if (ref.hashes.length === 0) {
    if (ref.gzip || ref.nesting !== 1)
      return fail('ERR_CONTENT', 'no hash list only with nesting 1 and no gzip');
    const it = lookup(ref.expandedHash);
    if (!it) return fail('ERR_CONTENT', 'missing content');
    if (it.gzip || it.nesting || it.body.length !== max)
      return fail('ERR_CONTENT', 'referenced content is nested, compressed or of the wrong length');
    return finish(it.body, false);
  }
  const buf = new Uint8Array(max);
  let len = 0;
  const maxLevel = Math.min(ref.nesting, MAX_REF_NESTING);
  const attach = (hashes: readonly Uint8Array[], level: number): string | undefined => {
    for (const h of hashes) {
      const it = lookup(h);
      if (!it) return 'missing content';
      if (it.nesting) {
        if (level + 1 > maxLevel) return `content nested deeper than ${maxLevel}`;
        if (it.body.length % SHA_LEN) return 'hash list not a multiple of 28 bytes';
        if (it.gzip) return 'compressed hash list';
        const e = attach(splitHashes(it.body), level + 1);
        if (e) return e;
      } else {
        let body = it.body;
        if (it.gzip) {
          const z = o.inflate?.(body, max - len);
          if (!z) return 'compressed chunk does not inflate';
          body = z;
        }
        if (len + body.length > max) return `chunks exceed the expanded length ${max}`;
        buf.set(body, len);
        len += body.length;
      }
    }
    return undefined;
  };
  const err = attach(ref.hashes, 1);
  if (err) return fail('ERR_CONTENT', err);
  return finish(buf.subarray(0, len), ref.gzip);
}

/** One TLV of a description with its body resolved (inline or assembled from content). */
export type ExpandedTlv = TlvValue & {
  /** The content reference it came from, if it was referenced. */
  readonly ref?: ContentRef;
  /** The raw TLV body. */
  readonly body: Uint8Array;
};

export interface ExpandedDescription {
  readonly tlvs: readonly ExpandedTlv[];
  /** Counted virtual sizes (compare with VERSION only when checking sizes, `descChecks` ≥ 1). */
  readonly virtLength: number;
  readonly virtContents: number;
}

/**
 * Resolves every TLV of a description: inline ones as they are, referenced ones assembled from
 * content, then decoded by type. Fails with ERR_CONTENT when an item is missing or a check fails
 * (use `missingDescriptionContent` first to know what to request).
 */
export function expandDescription(
  d: Pick<Description, 'tlvs'>,
  lookup: ContentLookup,
  o: AssembleOptions,
): Result<ExpandedDescription> {
  const out: ExpandedTlv[] = [];
  let virtLength = 0;
  let virtContents = 0;
  for (const t of d.tlvs) {
    let type: number;
    let body: Uint8Array;
    let ref: ContentRef | undefined;
    if (t.type === TLV_TYPE.CONTENT_HASH) {
      ref = (t as { ref: ContentRef }).ref;
      const r = assembleContent(ref, lookup, o);
      if (!r.ok) return fail(r.code, `TLV ${ref.expandedType}: ${r.reason}`);
      type = ref.expandedType;
      body = r.value;
      virtLength += ref.expandedLength;
      virtContents += 1 + countContents(ref, lookup);
    } else {
      type = t.type;
      body = encodeTlvBody(t as TlvValue);
    }
    const v = decodeTlvBody(type, body);
    if (!v.ok) return fail(v.code, `TLV ${type}: ${v.reason}`);
    out.push(ref ? { ...v.value, ref, body } : { ...v.value, body });
  }
  return ok({ tlvs: out, virtLength, virtContents });
}

function countContents(ref: ContentRef, lookup: ContentLookup): number {
  if (ref.nesting === 0 || ref.hashes.length === 0) return 0;
  let n = 0;
  const maxLevel = Math.min(ref.nesting, MAX_REF_NESTING);
  const walk = (hs: readonly Uint8Array[], level: number) => {
    for (const h of hs) {
      n++;
      const it = lookup(h);
      if (it?.nesting && level < maxLevel) walk(splitHashes(it.body), level + 1);
    }
  };
  walk(ref.hashes, 1);
  return n;
}

/** Every content hash a description still needs, across all its references. */
export function missingDescriptionContent(d: Pick<Description, 'tlvs'>, lookup: ContentLookup): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const t of d.tlvs)
    if (t.type === TLV_TYPE.CONTENT_HASH) out.push(...missingContent((t as { ref: ContentRef }).ref, lookup));
  return out;
}

/** Reference sender policy per TLV type (4.5 table): referencing level and compression. */
export interface TlvPolicy {
  readonly level: number;
  readonly compress: boolean;
}

/**
 * The reference's default policy: keys 1 level, never compressed; TRUSTS/SUPPORTS up to 2 levels;
 * DSC_SIGNATURE, VERSION, METRIC inline; everything else `descReferencing` 2 and `descCompression`
 * on (SMS: `refSms` 2, `zipSms` on).
 */
export function defaultTlvPolicy(type: number): TlvPolicy {
  switch (type) {
    case TLV_TYPE.NODE_PUBKEY:
    case TLV_TYPE.RSA_LINK_PUBKEY:
    case TLV_TYPE.DHM_LINK_PUBKEY:
      return { level: 1, compress: false };
    case TLV_TYPE.TRUSTS:
    case TLV_TYPE.SUPPORTS:
      return { level: 2, compress: false };
    case TLV_TYPE.DSC_SIGNATURE:
    case TLV_TYPE.VERSION:
    case TLV_TYPE.METRIC:
      return { level: 0, compress: false };
    default:
      return { level: 2, compress: true };
  }
}
