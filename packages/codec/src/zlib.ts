/**
 * node:zlib defaults for the content functions (`@bmx7/codec/zlib`): zlib (RFC 1950) at the
 * default level, as the reference uses. Kept apart from the main entry so the codec itself stays
 * free of Node built-ins; pass these to `buildContent` and `assembleContent`.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import type { DeflateFn, InflateFn } from './content.js';

export const deflate: DeflateFn = (data) => new Uint8Array(deflateSync(data));

/** Inflates at most `maxLength` bytes; undefined on corrupt data or more output than that. */
export const inflate: InflateFn = (data, maxLength) => {
  try {
    return new Uint8Array(inflateSync(data, { maxOutputLength: Math.max(1, maxLength) }));
  } catch {
    return undefined;
  }
};
