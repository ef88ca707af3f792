/**
 * ML-KEM-768 (FIPS 203), the post-quantum KEM whose public keys nodes announce in their PQ_KEM TLV
 * (docs/protocol.md §4.13) and to which peers encapsulate to derive WireGuard pre-shared keys
 * (pq-psk.ts, docs/pq-psk.md). A thin facade over @noble/post-quantum's `ml_kem768`: lengths are
 * checked here so every caller error is a CryptoError, and no message carries key bytes.
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { requireBytes } from './bytes.js';
import { CryptoError } from './errors.js';

/** ML-KEM-768 sizes in bytes (FIPS 203 Table 3; the seed is d ‖ z of ML-KEM.KeyGen_internal). */
export const MLKEM768 = {
  publicKeyBytes: 1184,
  secretKeyBytes: 2400,
  ciphertextBytes: 1088,
  sharedSecretBytes: 32,
  seedBytes: 64,
} as const;

/** The 32-byte message m of ML-KEM.Encaps_internal, the randomness of one encapsulation. */
const MESSAGE_BYTES = 32;

/** An ML-KEM-768 key pair. */
export interface MlKemKeyPair {
  /** The encapsulation key, 1184 bytes: what the PQ_KEM TLV announces. */
  readonly publicKey: Uint8Array;
  /** The decapsulation key, 2400 bytes (not enumerable: JSON, logs and inspection never show it). */
  readonly secretKey: Uint8Array;
}

/**
 * A new random 64-byte key-pair seed (d ‖ z) from the CSPRNG, or from `random` (tests). Keep it
 * secret like the key itself: `mlkemKeyPair(seed)` gives the same key pair again.
 */
export function mlkemGenerateSeed(random: (n: number) => Uint8Array = randomBytes): Uint8Array {
  const seed = Uint8Array.from(random(MLKEM768.seedBytes));
  requireBytes(seed, MLKEM768.seedBytes, 'ML-KEM-768 seed');
  return seed;
}

/** The key pair of a 64-byte seed (ML-KEM.KeyGen_internal(d, z)): deterministic. */
export function mlkemKeyPair(seed: Uint8Array): MlKemKeyPair {
  requireBytes(seed, MLKEM768.seedBytes, 'ML-KEM-768 seed');
  const { publicKey, secretKey } = ml_kem768.keygen(seed);
  const pair = { publicKey } as { publicKey: Uint8Array; secretKey: Uint8Array };
  Object.defineProperty(pair, 'secretKey', { value: secretKey, enumerable: false });
  return Object.freeze(pair);
}

/**
 * Encapsulates to a peer's public key: a 1088-byte ciphertext for the peer and the 32-byte shared
 * secret it carries. `random` supplies the 32-byte message m (deterministic vectors only: a reused
 * or guessable m gives away the secret); by default it comes from the CSPRNG. Throws a
 * CryptoInputError (ERR_CRYPTO_INPUT) on a key of the wrong length and a CryptoError
 * (ERR_KEY_INVALID) on one that fails FIPS 203's modulus check (a coefficient not below q).
 */
export function mlkemEncapsulate(
  publicKey: Uint8Array,
  random?: (n: number) => Uint8Array,
): { ciphertext: Uint8Array; sharedSecret: Uint8Array } {
  requireBytes(publicKey, MLKEM768.publicKeyBytes, 'ML-KEM-768 public key');
  let m: Uint8Array | undefined;
  if (random) {
    m = Uint8Array.from(random(MESSAGE_BYTES));
    requireBytes(m, MESSAGE_BYTES, 'ML-KEM-768 encapsulation message');
  }
  try {
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, m);
    return { ciphertext: cipherText, sharedSecret: Uint8Array.from(sharedSecret) };
  } catch (e) {
    // Lengths are checked above; what noble refuses now is the modulus check.
    throw new CryptoError('ERR_KEY_INVALID', 'ML-KEM-768 public key fails the modulus check', { cause: e });
  } finally {
    m?.fill(0);
  }
}

/**
 * The shared secret in a ciphertext (32 bytes). Implicit rejection (FIPS 203): a ciphertext that
 * was not made for this key, or was altered, gives an unrelated secret and no error, so the peers'
 * key confirmation (pq-psk.ts) is what notices. Throws a CryptoInputError on a ciphertext or
 * secret key of the wrong length and a CryptoError (ERR_KEY_INVALID) on a secret key whose
 * embedded public-key hash does not match (FIPS 203's decapsulation key check).
 */
export function mlkemDecapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  requireBytes(ciphertext, MLKEM768.ciphertextBytes, 'ML-KEM-768 ciphertext');
  requireBytes(secretKey, MLKEM768.secretKeyBytes, 'ML-KEM-768 secret key');
  try {
    return ml_kem768.decapsulate(ciphertext, secretKey);
  } catch (e) {
    throw new CryptoError('ERR_KEY_INVALID', 'ML-KEM-768 secret key fails its hash check', { cause: e });
  }
}
