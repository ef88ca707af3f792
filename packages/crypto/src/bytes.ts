import { CryptoInputError } from './errors.js';

/** Throws CryptoInputError unless b is a Uint8Array of (one of) the given length(s). Internal. */
export function requireBytes(
  b: unknown,
  len: number | readonly number[],
  what: string,
): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array)) throw new CryptoInputError(`${what} must be a Uint8Array`);
  const ok = typeof len === 'number' ? b.length === len : len.includes(b.length);
  if (!ok) throw new CryptoInputError(`${what} must be ${String(len)} bytes, got ${b.length}`);
}
