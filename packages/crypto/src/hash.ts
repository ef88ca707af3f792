/**
 * SHA-224, the only hash of BMX7 (docs/protocol.md §4.7), content hashes (§4.5) and constant-time
 * comparison. The hot path uses node:crypto's one-shot `hash()`, which the benchmark
 * (bench/crypto) measured faster than @noble/hashes' sha224 at 64 B and 1 KiB; hash.test.ts proves
 * both give identical outputs.
 */
import { hash as nodeHash, timingSafeEqual as nodeTimingSafeEqual } from 'node:crypto';
import { CryptoInputError } from './errors.js';

/** Length of every BMX7 hash (node id, description hash, content hash). */
export const SHA224_LEN = 28;
/** Length of the truncated "112-bit" items: DHM MACs, OGM chain links. */
export const SHA112_LEN = 14;

function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Reused to join the parts of a hash input: hashing is synchronous, so one buffer serves every call. */
let joined = new Uint8Array(2048);

/** SHA-224 over the concatenation of the given parts. */
export function sha224(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return view(nodeHash('sha224', parts[0]!, 'buffer'));
  let n = 0;
  for (const p of parts) n += p.length;
  if (n > joined.length) joined = new Uint8Array(Math.max(n, joined.length * 2));
  let o = 0;
  for (const p of parts) {
    joined.set(p, o);
    o += p.length;
  }
  return view(nodeHash('sha224', joined.subarray(0, n), 'buffer'));
}

/**
 * Content hash (4.5): SHA-224(header byte ‖ body), header byte = nesting << 1 | gzip. A node id
 * is the content hash of the public-key content with header 0x00 (4.6).
 */
export function contentHash(headerByte: number, body: Uint8Array): Uint8Array {
  if (!Number.isInteger(headerByte) || headerByte < 0 || headerByte > 255) {
    throw new CryptoInputError(`content header byte must be 0-255, got ${headerByte}`);
  }
  return sha224(Uint8Array.of(headerByte), body);
}

/** Description hash (dHash, 4.5): SHA-224 of the complete description bytes. */
export function descriptionHash(description: Uint8Array): Uint8Array {
  return sha224(description);
}

/**
 * Compares two byte strings in time that depends only on their lengths. Different lengths are
 * unequal (and leak only the lengths, which are public for MACs and hashes).
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
  return nodeTimingSafeEqual(a, b);
}
