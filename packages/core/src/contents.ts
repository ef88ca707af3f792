/**
 * Content items (docs/protocol.md §4.5 "Content references"): the engine's view of @bmx7/codec's content
 * module, with SHA-224 from @bmx7/crypto and zlib from @bmx7/codec/zlib injected.
 */
import {
  assembleContent,
  buildContent,
  type ContentRef,
  defaultTlvPolicy,
  missingContent,
} from '@bmx7/codec';
import { deflate, inflate } from '@bmx7/codec/zlib';
import { sha224 } from '@bmx7/crypto';
import { hex } from './hex.js';

/** One content item: header byte (nesting << 1 | gzip) and body. */
export interface ContentItem {
  hash: Uint8Array;
  header: number;
  body: Uint8Array;
}

/** A TLV body prepared for a description: a reference plus the items it needs. */
export interface PreparedRef {
  ref: ContentRef;
  items: ContentItem[];
  virtLength: number;
  virtContents: number;
}

/** The reference sender's policy and algorithm for one TLV; undefined = stays inline. */
export function prepareRef(type: number, data: Uint8Array): PreparedRef | undefined {
  const p = defaultTlvPolicy(type);
  const b = buildContent(data, { type, level: p.level, compress: p.compress, hash: sha224, deflate });
  if (!b.ref) return undefined;
  return {
    ref: b.ref,
    items: b.items.map((i) => ({ hash: i.hash, header: (i.nesting << 1) | (i.gzip ? 1 : 0), body: i.body })),
    virtLength: b.virtLength,
    virtContents: b.virtContents,
  };
}

/** Bodies by content hash (hex). */
/** Stored contents by hash (hex); the hash itself is the key, so entries need not repeat it. */
export type ContentStore = ReadonlyMap<string, Pick<ContentItem, 'header' | 'body'>>;

export type Resolution =
  | { status: 'missing'; hashes: Uint8Array[] }
  | { status: 'ok'; data: Uint8Array }
  | { status: 'bad'; reason: string };

/** Resolves a content reference against the store (§4.5 receiver rules). */
export function resolveRef(ref: ContentRef, store: ContentStore): Resolution {
  const lookup = (h: Uint8Array) => {
    const it = store.get(hex(h));
    return it ? { nesting: it.header >> 1, gzip: (it.header & 1) === 1, body: it.body } : undefined;
  };
  const missing = missingContent(ref, lookup);
  if (missing.length) return { status: 'missing', hashes: missing };
  const r = assembleContent(ref, lookup, { hash: sha224, inflate });
  return r.ok ? { status: 'ok', data: r.value } : { status: 'bad', reason: r.reason };
}
