/**
 * DHM link keys and MACs (docs/protocol.md §4.4, §4.7): finite-field Diffie-Hellman over the RFC 3526
 * MODP groups (type 17 = 2048-bit, type 18 = 3072-bit, generator 2), pairwise secret =
 * SHA-224(shared value in minimal-length big-endian form), MAC = first 14 bytes of
 * SHA-224(packet digest ‖ pairwise secret). The group arithmetic is node:crypto's (noble has no
 * finite-field DH).
 */
import { createDiffieHellman, getDiffieHellman } from 'node:crypto';

import { requireBytes } from './bytes.js';
import { CryptoInputError, type CryptoResult, KeyTypeError } from './errors.js';
import { SHA112_LEN, SHA224_LEN, sha224, timingSafeEqual } from './hash.js';

/** What a key pair needs of node:crypto's DH objects (groups cannot take a given private key). */
interface DhState {
  computeSecret(other: NodeJS.ArrayBufferView): Buffer;
  getPublicKey(): Buffer;
}

/** DHM key types of the reference: type → group and public-value length in bytes. */
export const DHM_KEY_TYPES = {
  17: { len: 256, group: 'modp14', name: 'DH2048M112' },
  18: { len: 384, group: 'modp15', name: 'DH3072M112' },
} as const;
export type DhmKeyType = keyof typeof DHM_KEY_TYPES;
export const DHM2048 = 17;
export const DHM3072 = 18;
/** The reference's default `linkDhmKey` type. */
export const DEFAULT_DHM_KEY_TYPE: DhmKeyType = DHM2048;
/** Length of a DHM MAC in a SIGNATURE_ADV message (type u8 ‖ MAC 14 = 15 bytes). */
export const DHM_MAC_LEN = SHA112_LEN;

export function isDhmKeyType(t: number): t is DhmKeyType {
  return t === 17 || t === 18;
}

const primes = new Map<DhmKeyType, bigint>();
function primeOf(type: DhmKeyType): bigint {
  let p = primes.get(type);
  if (p === undefined) {
    p = BigInt(`0x${getDiffieHellman(DHM_KEY_TYPES[type].group).getPrime('hex')}`);
    primes.set(type, p);
  }
  return p;
}

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
const DH = Symbol('dhm state');

/**
 * A DHM link key pair. Opaque: text forms show the type only. `publicValue` is the
 * DHM_LINK_PUBKEY value: exactly the group length, never with a leading zero byte.
 */
export interface DhmKey {
  readonly type: DhmKeyType;
  readonly publicValue: Uint8Array;
  readonly [DH]: DhState;
}

class DhmKeyPair implements DhmKey {
  readonly type: DhmKeyType;
  readonly #public: Uint8Array;
  readonly [DH]: DhState;
  constructor(type: DhmKeyType, dh: DhState, pub: Uint8Array) {
    this.type = type;
    this[DH] = dh;
    this.#public = pub;
    Object.defineProperty(this, DH, { enumerable: false });
  }
  get publicValue(): Uint8Array {
    return this.#public.slice();
  }
  toString(): string {
    return `DhmKey(${DHM_KEY_TYPES[this.type].name})`;
  }
  toJSON(): { type: DhmKeyType; name: string } {
    return { type: this.type, name: DHM_KEY_TYPES[this.type].name };
  }
  [inspectSymbol](): string {
    return this.toString();
  }
}

function checkedType(type: number): DhmKeyType {
  if (!isDhmKeyType(type)) throw new KeyTypeError(`not a DHM key type: ${type} (17 or 18)`);
  return type;
}

/** Public value as the wire carries it, or undefined if it would need a leading zero byte. */
function fullLengthPublic(dh: DhState, type: DhmKeyType): Uint8Array | undefined {
  // getPublicKey() is minimal-length; a 255-byte value (about 1 in 256) is one the reference cannot
  // take: as sender it crashes, as receiver it demotes us (4.7). Such a key is never published.
  const pub = dh.getPublicKey();
  return pub.length === DHM_KEY_TYPES[type].len ? new Uint8Array(pub) : undefined;
}

/**
 * A new DHM link key of the given type (17 or 18). Regenerates until the public value has no
 * leading zero byte. The private exponent is OpenSSL's choice for the named group.
 */
export function createDhmKey(type: number = DEFAULT_DHM_KEY_TYPE): DhmKey {
  const t = checkedType(type);
  for (let attempt = 0; attempt < 64; attempt++) {
    const dh = getDiffieHellman(DHM_KEY_TYPES[t].group);
    dh.generateKeys();
    const pub = fullLengthPublic(dh, t);
    if (pub) return new DhmKeyPair(t, dh, pub);
  }
  throw new CryptoInputError('could not generate a DHM key without a leading zero byte');
}

/**
 * A DHM key from a given private exponent (big-endian), e.g. to restore one or for fixed test
 * vectors. Throws if its public value would have a leading zero byte (choose another).
 */
export function dhmKeyFromPrivate(type: number, privateKey: Uint8Array): DhmKey {
  const t = checkedType(type);
  if (
    !(privateKey instanceof Uint8Array) ||
    privateKey.length === 0 ||
    privateKey.length > DHM_KEY_TYPES[t].len
  ) {
    throw new CryptoInputError('DHM private key must be 1 to group-length bytes');
  }
  const group = getDiffieHellman(DHM_KEY_TYPES[t].group);
  const dh = createDiffieHellman(group.getPrime(), group.getGenerator());
  dh.setPrivateKey(Buffer.from(privateKey));
  dh.generateKeys();
  const pub = fullLengthPublic(dh, t);
  if (!pub) throw new CryptoInputError('this private key gives a public value with a leading zero byte');
  return new DhmKeyPair(t, dh, pub);
}

/** The public value of a DHM key (type-length bytes). */
export function dhmPublicValue(key: DhmKey): Uint8Array {
  return key.publicValue;
}

/**
 * Checks a neighbour's DHM public value as the reference does: the length of my key's group,
 * no leading zero byte (the reference's size check), and 2 ≤ value ≤ p − 2.
 */
export function checkDhmPublicValue(type: DhmKeyType, value: Uint8Array): CryptoResult<Uint8Array> {
  if (!(value instanceof Uint8Array)) return { ok: false, reason: 'not bytes' };
  const len = DHM_KEY_TYPES[type].len;
  if (value.length !== len)
    return { ok: false, reason: `DHM type ${type} needs ${len} bytes, got ${value.length}` };
  if (value[0] === 0) return { ok: false, reason: 'DHM public value has a leading zero byte' };
  const y = BigInt(`0x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`);
  if (y < 2n || y > primeOf(type) - 2n) return { ok: false, reason: 'DHM public value out of range' };
  return { ok: true, value };
}

/**
 * The pairwise secret with a neighbour (4.4): SHA-224 of the shared value g^(xy) mod p written in
 * minimal-length big-endian form (leading zero bytes stripped, as mbedtls writes it; node:crypto's
 * computeSecret pads to the prime's length). Like the reference, a shared value shorter than 3/4
 * of the group length is refused. Wire input: never throws.
 */
export function dhmSecret(my: DhmKey, peerPublic: Uint8Array): CryptoResult<Uint8Array> {
  const checked = checkDhmPublicValue(my.type, peerPublic);
  if (!checked.ok) return checked;
  let shared: Buffer;
  try {
    shared = my[DH].computeSecret(Buffer.from(peerPublic));
  } catch {
    return { ok: false, reason: 'DHM public value rejected' };
  }
  let start = 0;
  while (start < shared.length && shared[start] === 0) start++;
  const len = DHM_KEY_TYPES[my.type].len;
  if (shared.length - start < (len / 4) * 3) {
    shared.fill(0);
    return { ok: false, reason: 'unexpected DHM secret length' };
  }
  const secret = sha224(shared.subarray(start));
  shared.fill(0);
  return { ok: true, value: secret };
}

/** DHM MAC (4.4): the first 14 bytes of SHA-224(packet digest 28 ‖ pairwise secret 28). */
export function dhmMac(digest: Uint8Array, secret: Uint8Array): Uint8Array {
  requireBytes(digest, SHA224_LEN, 'packet digest');
  requireBytes(secret, SHA224_LEN, 'DHM secret');
  return sha224(digest, secret).subarray(0, DHM_MAC_LEN);
}

/** Compares a received 14-byte MAC with the expected one in constant time; false if malformed. */
export function verifyDhmMac(digest: Uint8Array, secret: Uint8Array, mac: Uint8Array): boolean {
  if (!(digest instanceof Uint8Array) || digest.length !== SHA224_LEN) return false;
  if (!(secret instanceof Uint8Array) || secret.length !== SHA224_LEN) return false;
  return timingSafeEqual(dhmMac(digest, secret), mac);
}
