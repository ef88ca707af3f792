/**
 * Building an own description (docs/protocol.md §4.5), the sender side of content.ts: every TLV body is
 * referenced and compressed as the policy says (the reference's by default), the TLVs are put in
 * ascending type order behind the three mandatory ones, the VERSION virtual sizes are counted,
 * and the DSC_SIGNATURE is reserved with zeros. Sign `toSign` with the node key (RSASSA-PKCS1-v1_5,
 * SHA-224) and finish with `withSignature`.
 */
import { MAX_DESC_ROOT_SIZE, RSA_KEY_LEN, TLV_TYPE } from './constants.js';
import {
  buildContent,
  type ContentItem,
  type DeflateFn,
  defaultTlvPolicy,
  type HashFn,
  hashKey,
  type TlvPolicy,
} from './content.js';
import {
  type Description,
  type DescTlv,
  decodeDescription,
  descriptionSignedBytes,
  encodeDescription,
  fillDescriptionSignature,
} from './description.js';
import { CodecError, ensure, type Result } from './result.js';
import { encodeTlvBody, type PubkeyTlv, type TlvValue, type VersionTlv } from './tlv.js';

export interface BuildDescriptionOptions {
  /** The node's public key (NODE_PUBKEY): its content hash becomes the node id. */
  readonly nodeKey: PubkeyTlv;
  /** VERSION fields; the virtual sizes are counted here. */
  readonly version: Omit<VersionTlv, 'type' | 'virtLength' | 'virtContents'>;
  /** All other TLVs (not NODE_PUBKEY, DSC_SIGNATURE or VERSION), in any order, one per type. */
  readonly tlvs: readonly TlvValue[];
  readonly hash: HashFn;
  /** Needed when a policy compresses. */
  readonly deflate?: DeflateFn;
  /** Referencing and compression per TLV type (default: the reference's, `defaultTlvPolicy`). */
  readonly policy?: (type: number) => TlvPolicy;
}

export interface BuiltDescription {
  /** The description with a zero signature. */
  readonly bytes: Uint8Array;
  /** The root TLVs, in order. */
  readonly tlvs: readonly DescTlv[];
  /** The content items to serve on CONTENT_REQ (node key, chunks, hash lists), deduplicated. */
  readonly items: readonly ContentItem[];
  /** The bytes the node key signs: from the VERSION TLV header to the end. */
  readonly toSign: Uint8Array;
  /** A copy of `bytes` with the signature filled in. */
  withSignature(signature: Uint8Array): Uint8Array;
}

export function buildDescription(o: BuildDescriptionOptions): BuiltDescription {
  const policy = o.policy ?? defaultTlvPolicy;
  ensure(o.nodeKey.type === TLV_TYPE.NODE_PUBKEY, 'nodeKey must be a NODE_PUBKEY TLV');
  const sigLen = RSA_KEY_LEN[o.nodeKey.keyType];
  if (sigLen === undefined)
    throw new CodecError('ERR_CODEC_INPUT', `node key type ${o.nodeKey.keyType} is not RSA`);
  const items = new Map<string, ContentItem>();
  let virtLength = 0;
  let virtContents = 0;
  const place = (v: TlvValue, p: TlvPolicy): DescTlv => {
    const body = encodeTlvBody(v);
    const b = buildContent(body, {
      type: v.type,
      level: p.level,
      compress: p.compress,
      hash: o.hash,
      ...(o.deflate ? { deflate: o.deflate } : {}),
    });
    for (const it of b.items) if (!items.has(hashKey(it.hash))) items.set(hashKey(it.hash), it);
    virtLength += b.virtLength;
    virtContents += b.virtContents;
    return b.ref ? { type: TLV_TYPE.CONTENT_HASH, ref: b.ref } : v;
  };
  // The node key is always referenced at level 1 without compression (get_desc_id).
  const keyTlv = place(o.nodeKey, { level: 1, compress: false });
  const sorted = [...o.tlvs].sort((a, b) => a.type - b.type);
  sorted.forEach((v, i) => {
    if (v.type <= TLV_TYPE.VERSION)
      throw new CodecError('ERR_CODEC_INPUT', `TLV type ${v.type} is set by buildDescription`);
    if (i > 0 && sorted[i - 1]!.type === v.type)
      throw new CodecError('ERR_CODEC_INPUT', `TLV type ${v.type} given twice`);
  });
  const rest = sorted.map((v) => place(v, policy(v.type)));
  const version: VersionTlv = { type: TLV_TYPE.VERSION, ...o.version, virtLength, virtContents };
  const tlvs: DescTlv[] = [
    keyTlv,
    { type: TLV_TYPE.DSC_SIGNATURE, keyType: o.nodeKey.keyType, signature: new Uint8Array(sigLen) },
    version,
    ...rest,
  ];
  const bytes = encodeDescription(tlvs);
  if (bytes.length > MAX_DESC_ROOT_SIZE) throw new CodecError('ERR_CODEC_SIZE', 'description too large');
  return {
    bytes,
    tlvs,
    items: [...items.values()],
    toSign: descriptionSignedBytes(bytes),
    withSignature(signature) {
      const out = bytes.slice();
      fillDescriptionSignature(out, signature);
      return out;
    },
  };
}

/** A Description (as a DESC_ADV frame carries it) from root TLVs: encodes, then decodes with all checks. */
export function makeDescription(tlvs: readonly DescTlv[]): Result<Description> {
  return decodeDescription(encodeDescription(tlvs));
}
