/**
 * RSA keys as the reference uses them (docs/protocol.md §4.6, §4.7): types 1-8 = RSA512 … RSA4096,
 * public exponent always 65537 (never transmitted), public-key content = type u8 ‖ modulus
 * (exactly the key length, big-endian), signatures RSASSA-PKCS#1 v1.5 with SHA-224 over a
 * 28-byte digest. Key files are DER PKCS#1 RSAPrivateKey, as the reference reads and writes them.
 *
 * All RSA arithmetic is node:crypto's (OpenSSL): noble has no RSA.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  type KeyObject,
  privateEncrypt,
  publicDecrypt,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { requireBytes } from './bytes.js';
import { CryptoInputError, KeyFileError, KeyTypeError } from './errors.js';
import { contentHash, SHA224_LEN, timingSafeEqual } from './hash.js';
import { writePrivateFile } from './private-file.js';

/** RSA key types of the reference: type number → modulus length in bytes and name. */
export const RSA_KEY_TYPES = {
  1: { len: 64, name: 'RSA512' },
  2: { len: 96, name: 'RSA768' },
  3: { len: 112, name: 'RSA896' },
  4: { len: 128, name: 'RSA1024' },
  5: { len: 192, name: 'RSA1536' },
  6: { len: 256, name: 'RSA2048' },
  7: { len: 384, name: 'RSA3072' },
  8: { len: 512, name: 'RSA4096' },
} as const;
export type RsaKeyType = keyof typeof RSA_KEY_TYPES;

export const RSA512 = 1;
export const RSA768 = 2;
export const RSA896 = 3;
export const RSA1024 = 4;
export const RSA1536 = 5;
export const RSA2048 = 6;
export const RSA3072 = 7;
export const RSA4096 = 8;
/** Node-key types the reference accepts by default (`nodeRsaKeys`: RSA1024 … RSA4096). */
export const NODE_RSA_TYPES: readonly RsaKeyType[] = [4, 5, 6, 7, 8];
/** Link-key types the reference sends and accepts by default (`linkRsaKey`: RSA1024 … RSA2048). */
export const LINK_RSA_TYPES: readonly RsaKeyType[] = [4, 5, 6];
/** Default node key type of the reference (RSA2048). */
export const DEFAULT_NODE_KEY_TYPE: RsaKeyType = RSA2048;
/** Default RSA link key type of the reference (RSA1024). */
export const DEFAULT_LINK_KEY_TYPE: RsaKeyType = RSA1024;
/** The public exponent every BMX7 RSA key has. */
export const RSA_PUBLIC_EXPONENT = 65537;

// DER DigestInfo prefix for SHA-224 (RFC 8017 section 9.2, note 1).
const SHA224_DIGEST_INFO = Uint8Array.of(
  0x30,
  0x2d,
  0x30,
  0x0d,
  0x06,
  0x09,
  0x60,
  0x86,
  0x48,
  0x01,
  0x65,
  0x03,
  0x04,
  0x02,
  0x04,
  0x05,
  0x00,
  0x04,
  0x1c,
);

export function isRsaKeyType(t: number): t is RsaKeyType {
  return Number.isInteger(t) && t >= 1 && t <= 8;
}

/** Modulus (and signature) length in bytes of an RSA key type. */
export function rsaKeyLength(type: number): number {
  if (!isRsaKeyType(type)) throw new KeyTypeError(`not an RSA key type: ${type} (1-8)`);
  return RSA_KEY_TYPES[type].len;
}

/** The RSA key type with this modulus length in bytes, or undefined. */
export function rsaKeyTypeOfLength(len: number): RsaKeyType | undefined {
  for (const t of [1, 2, 3, 4, 5, 6, 7, 8] as const) if (RSA_KEY_TYPES[t].len === len) return t;
  return undefined;
}

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
const KEY = Symbol('rsa private key');

/**
 * An RSA private key (node key or RSA link key). Opaque: its text forms (`toString`, `toJSON`,
 * `util.inspect`) show the type and short id, never key material. Make one with
 * `generateRsaKey`, `loadNodeKey` or `rsaKeyFromDer`.
 */
export interface RsaPrivateKey {
  /** Key type 1-8. */
  readonly type: RsaKeyType;
  /** Public-key content: type u8 ‖ modulus (the NODE_PUBKEY / RSA_LINK_PUBKEY TLV body). */
  readonly publicContent: Uint8Array;
  /** SHA-224(0x00 ‖ publicContent): the node id when this is a node key. */
  readonly id: Uint8Array;
  readonly [KEY]: KeyObject;
}

class PrivateRsaKey implements RsaPrivateKey {
  readonly type: RsaKeyType;
  readonly #content: Uint8Array;
  readonly id: Uint8Array;
  readonly [KEY]: KeyObject;
  constructor(key: KeyObject, type: RsaKeyType, content: Uint8Array) {
    this[KEY] = key;
    this.type = type;
    this.#content = content;
    this.id = contentHash(0, content);
    Object.defineProperty(this, KEY, { enumerable: false });
  }
  get publicContent(): Uint8Array {
    return this.#content.slice();
  }
  toString(): string {
    return `RsaPrivateKey(${RSA_KEY_TYPES[this.type].name} ${Buffer.from(this.id.subarray(0, 4)).toString('hex').toUpperCase()})`;
  }
  toJSON(): { type: RsaKeyType; name: string; id: string } {
    return { type: this.type, name: RSA_KEY_TYPES[this.type].name, id: Buffer.from(this.id).toString('hex') };
  }
  [inspectSymbol](): string {
    return this.toString();
  }
}

function modulusOf(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.n !== 'string') throw new CryptoInputError('not an RSA key');
  return new Uint8Array(Buffer.from(jwk.n, 'base64url'));
}

/** Wraps a node:crypto RSA private key; undefined reason string when it is not a BMX7 key. */
function wrapPrivate(key: KeyObject): RsaPrivateKey | string {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa') return 'not an RSA private key';
  const details = key.asymmetricKeyDetails;
  if (details?.publicExponent !== BigInt(RSA_PUBLIC_EXPONENT)) return 'public exponent is not 65537';
  const n = modulusOf(key);
  const type = rsaKeyTypeOfLength(n.length);
  if (type === undefined || n[0] === 0 || (details.modulusLength ?? 0) !== n.length * 8) {
    return `modulus of ${details.modulusLength} bits is not one of the BMX7 RSA key sizes`;
  }
  const content = new Uint8Array(1 + n.length);
  content[0] = type;
  content.set(n, 1);
  return new PrivateRsaKey(key, type, content);
}

function checkedType(type: number): RsaKeyType {
  if (!isRsaKeyType(type)) throw new KeyTypeError(`not an RSA key type: ${type} (1-8)`);
  return type;
}

/** A new random RSA key of the given type (e = 65537). Blocks; see `generateRsaKeyAsync`. */
export function generateRsaKey(type: number = DEFAULT_NODE_KEY_TYPE): RsaPrivateKey {
  const t = checkedType(type);
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: RSA_KEY_TYPES[t].len * 8,
    publicExponent: RSA_PUBLIC_EXPONENT,
  });
  const k = wrapPrivate(privateKey);
  if (typeof k === 'string') throw new CryptoInputError(`generated key unusable: ${k}`);
  return k;
}

/** Like `generateRsaKey`, on libuv's thread pool (RSA4096 takes about a second). */
export async function generateRsaKeyAsync(type: number = DEFAULT_NODE_KEY_TYPE): Promise<RsaPrivateKey> {
  const t = checkedType(type);
  const privateKey = await new Promise<KeyObject>((resolve, reject) =>
    generateKeyPair(
      'rsa',
      { modulusLength: RSA_KEY_TYPES[t].len * 8, publicExponent: RSA_PUBLIC_EXPONENT },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    ),
  );
  const k = wrapPrivate(privateKey);
  if (typeof k === 'string') throw new CryptoInputError(`generated key unusable: ${k}`);
  return k;
}

/** Node key generation (the reference makes one of `nodeRsaKey` type on first start). */
export const generateNodeKey = generateRsaKey;

/**
 * Parses a private key in the reference's key-file format (DER PKCS#1 RSAPrivateKey); DER PKCS#8
 * and PEM are accepted as well, as the reference's parser accepts them.
 */
export function rsaKeyFromDer(bytes: Uint8Array, path = '<buffer>'): RsaPrivateKey {
  let key: KeyObject | undefined;
  let cause: unknown;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const opts of [
    { format: 'der', type: 'pkcs1' },
    { format: 'der', type: 'pkcs8' },
    { format: 'pem' },
  ] as const) {
    try {
      key = createPrivateKey({ key: buf, ...opts });
      break;
    } catch (e) {
      cause ??= e;
    }
  }
  if (!key) {
    // The cause is OpenSSL's decoder message, which names no key material.
    throw new KeyFileError('ERR_KEY_INVALID', path, 'not an RSA private key (DER PKCS#1 expected)', {
      cause,
    });
  }
  const k = wrapPrivate(key);
  if (typeof k === 'string') throw new KeyFileError('ERR_KEY_INVALID', path, k);
  return k;
}

/** The key's file form: DER PKCS#1 RSAPrivateKey, byte-identical to what the reference writes. */
export function rsaKeyToDer(key: RsaPrivateKey): Uint8Array {
  return new Uint8Array(key[KEY].export({ format: 'der', type: 'pkcs1' }));
}

/** Reads a node key file (the reference's `nodeRsaKey` file, DER PKCS#1). */
export function loadNodeKey(path: string): RsaPrivateKey {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new KeyFileError(
      'ERR_KEY_FILE',
      path,
      `cannot read key file (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: e,
      },
    );
  }
  return rsaKeyFromDer(bytes, path);
}

/**
 * Writes a key file atomically with mode 0600 (writePrivateFile); an existing file is never
 * replaced unless `overwrite`.
 */
export function saveNodeKey(path: string, key: RsaPrivateKey, options: { overwrite?: boolean } = {}): void {
  const der = rsaKeyToDer(key);
  try {
    writePrivateFile(path, der, options);
  } finally {
    der.fill(0);
  }
}

/** The public-key content (type u8 ‖ modulus) of a key: the NODE_PUBKEY TLV body (4.6). */
export function nodePubkeyContent(key: RsaPrivateKey): Uint8Array {
  return key.publicContent;
}

/** An imported RSA public key (from public-key content), reusable for many verifications. */
export interface RsaPublicKey {
  readonly type: RsaKeyType;
  readonly content: Uint8Array;
  readonly [KEY]: KeyObject;
}

/**
 * Imports public-key content (type u8 ‖ modulus, e = 65537). Wire input: returns a result.
 * The type byte must match the modulus length and the modulus must have its top byte set.
 */
export function importRsaPublicKey(
  content: Uint8Array,
): { ok: true; value: RsaPublicKey } | { ok: false; reason: string } {
  if (!(content instanceof Uint8Array) || content.length < 2)
    return { ok: false, reason: 'public key too short' };
  const type = content[0]!;
  if (!isRsaKeyType(type)) return { ok: false, reason: `unknown RSA key type ${type}` };
  if (content.length !== 1 + RSA_KEY_TYPES[type].len) {
    return {
      ok: false,
      reason: `RSA key type ${type} needs ${RSA_KEY_TYPES[type].len} modulus bytes, got ${content.length - 1}`,
    };
  }
  if (content[1] === 0) return { ok: false, reason: 'modulus has a leading zero byte' };
  if ((content[content.length - 1]! & 1) === 0) return { ok: false, reason: 'modulus is even' };
  try {
    const key = createPublicKey({
      key: { kty: 'RSA', n: Buffer.from(content.subarray(1)).toString('base64url'), e: 'AQAB' },
      format: 'jwk',
    });
    const copy = content.slice();
    return { ok: true, value: Object.freeze({ type, content: copy, [KEY]: key }) };
  } catch {
    return { ok: false, reason: 'invalid RSA public key' };
  }
}

// Small cache of imported public keys (content → key): verifying the same neighbour's packets and
// descriptions again and again must not re-import its key each time.
const PUBLIC_CACHE_MAX = 256;
const publicCache = new Map<string, RsaPublicKey>();

function publicKeyOf(pub: RsaPublicKey | Uint8Array): RsaPublicKey | undefined {
  if (!(pub instanceof Uint8Array)) return pub;
  const tag = Buffer.from(pub.buffer, pub.byteOffset, pub.byteLength).toString('base64');
  const hit = publicCache.get(tag);
  if (hit) {
    publicCache.delete(tag);
    publicCache.set(tag, hit);
    return hit;
  }
  const r = importRsaPublicKey(pub);
  if (!r.ok) return undefined;
  if (publicCache.size >= PUBLIC_CACHE_MAX) publicCache.delete(publicCache.keys().next().value!);
  publicCache.set(tag, r.value);
  return r.value;
}

/**
 * RSASSA-PKCS#1 v1.5 signature with SHA-224 over a 28-byte digest (the reference's
 * `cryptRsaSign`): the signature has exactly the key length. Deterministic.
 */
export function rsaSign(key: RsaPrivateKey, digest: Uint8Array): Uint8Array {
  requireBytes(digest, SHA224_LEN, 'digest');
  const em = Buffer.concat([SHA224_DIGEST_INFO, digest]);
  return new Uint8Array(privateEncrypt({ key: key[KEY], padding: constants.RSA_PKCS1_PADDING }, em));
}

/**
 * Verifies an RSASSA-PKCS#1 v1.5 / SHA-224 signature over a 28-byte digest. `pub` is public-key
 * content (type ‖ modulus) or an imported key. Never throws on wire input: false when anything is
 * malformed (wrong lengths, unknown type, bad padding).
 */
export function rsaVerify(
  pub: RsaPublicKey | Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!(digest instanceof Uint8Array) || digest.length !== SHA224_LEN) return false;
  if (!(signature instanceof Uint8Array)) return false;
  const key = publicKeyOf(pub);
  if (!key || signature.length !== RSA_KEY_TYPES[key.type].len) return false;
  let em: Buffer;
  try {
    // publicDecrypt checks the EMSA-PKCS1-v1_5 type-1 padding (00 01 FF… 00); the rest must be
    // exactly DigestInfo(SHA-224) ‖ digest, i.e. the encoding is compared as a whole.
    em = publicDecrypt({ key: key[KEY], padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
  return timingSafeEqual(em, Buffer.concat([SHA224_DIGEST_INFO, digest]));
}
