/**
 * The post-quantum WireGuard pre-shared key of one peer pair and epoch (docs/pq-psk.md), from the
 * two ML-KEM-768 shared secrets the peers exchanged (mlkem.ts) and bound to everything public about
 * the exchange: both node ids, both announced KEM public keys (PQ_KEM TLV, docs/protocol.md §4.13),
 * both ciphertexts and the epoch. HKDF and HMAC with SHA-256 come from @noble/hashes.
 *
 * Derivation (‖ is concatenation, u32 is big-endian):
 *
 *   PRK  = HKDF-Extract(salt = ASCII "bmx7d pq-psk v1", IKM = ssResponder ‖ ssInitiator)
 *   info = ASCII "psk" ‖ initiatorId ‖ responderId ‖ SHA-256(initiatorKem) ‖ SHA-256(responderKem)
 *          ‖ SHA-256(ctToResponder) ‖ SHA-256(ctToInitiator) ‖ u32(epoch)
 *   OKM  = HKDF-Expand(SHA-256, PRK, info, 64)
 *   psk = OKM[0..32], confirmKey = OKM[32..64]
 *
 *   tag(role, epoch) = HMAC-SHA256(confirmKey, ASCII "init" or "resp" ‖ u32(epoch))
 *
 * ssResponder is the secret the initiator encapsulated to the responder's key (in ctToResponder),
 * ssInitiator the one the responder encapsulated to the initiator's key (in ctToInitiator); both
 * ends know both once the ciphertexts have crossed. A tampered ciphertext decapsulates to an
 * unrelated secret (implicit rejection), so the two ends derive different keys and their confirm
 * tags do not verify: the tags, not the KEM, detect it.
 */
import { expand, extract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { requireBytes } from './bytes.js';
import { CryptoInputError } from './errors.js';
import { SHA224_LEN, timingSafeEqual } from './hash.js';
import { MLKEM768 } from './mlkem.js';

/** Everything one PSK derivation takes; all of it but the two shared secrets is public. */
export interface PqPskInput {
  /** The initiator's node id, 28 bytes. */
  readonly initiatorId: Uint8Array;
  /** The responder's node id, 28 bytes. */
  readonly responderId: Uint8Array;
  /** The initiator's announced ML-KEM-768 public key, 1184 bytes. */
  readonly initiatorKem: Uint8Array;
  /** The responder's announced ML-KEM-768 public key, 1184 bytes. */
  readonly responderKem: Uint8Array;
  /** 1088 bytes: the initiator encapsulated to the responder's key. */
  readonly ctToResponder: Uint8Array;
  /** 1088 bytes: the responder encapsulated to the initiator's key. */
  readonly ctToInitiator: Uint8Array;
  /** 32 bytes: the secret in ctToResponder. */
  readonly ssResponder: Uint8Array;
  /** 32 bytes: the secret in ctToInitiator. */
  readonly ssInitiator: Uint8Array;
  /** The key epoch, u32. */
  readonly epoch: number;
}

/** Length of the PSK, the confirm key and a confirm tag. */
const KEY_BYTES = 32;
const SALT = new TextEncoder().encode('bmx7d pq-psk v1');
const INFO_LABEL = new TextEncoder().encode('psk');
const INITIATOR_LABEL = new TextEncoder().encode('init');
const RESPONDER_LABEL = new TextEncoder().encode('resp');

function u32be(epoch: number): Uint8Array {
  if (!(Number.isInteger(epoch) && epoch >= 0 && epoch <= 0xffffffff))
    throw new CryptoInputError(`epoch must be an integer 0-4294967295, got ${epoch}`);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, epoch);
  return b;
}

/**
 * The WireGuard pre-shared key of a peer pair and epoch, and the key of its confirm tags (both 32
 * bytes); both ends compute the same from the same input. Throws a CryptoInputError naming the
 * field on a wrong length or an epoch outside u32.
 */
export function derivePqPsk(i: PqPskInput): { psk: Uint8Array; confirmKey: Uint8Array } {
  requireBytes(i.initiatorId, SHA224_LEN, 'initiatorId');
  requireBytes(i.responderId, SHA224_LEN, 'responderId');
  requireBytes(i.initiatorKem, MLKEM768.publicKeyBytes, 'initiatorKem');
  requireBytes(i.responderKem, MLKEM768.publicKeyBytes, 'responderKem');
  requireBytes(i.ctToResponder, MLKEM768.ciphertextBytes, 'ctToResponder');
  requireBytes(i.ctToInitiator, MLKEM768.ciphertextBytes, 'ctToInitiator');
  requireBytes(i.ssResponder, MLKEM768.sharedSecretBytes, 'ssResponder');
  requireBytes(i.ssInitiator, MLKEM768.sharedSecretBytes, 'ssInitiator');
  const epoch = u32be(i.epoch);
  const ikm = concatBytes(i.ssResponder, i.ssInitiator);
  const prk = extract(sha256, ikm, SALT);
  const info = concatBytes(
    INFO_LABEL,
    i.initiatorId,
    i.responderId,
    sha256(i.initiatorKem),
    sha256(i.responderKem),
    sha256(i.ctToResponder),
    sha256(i.ctToInitiator),
    epoch,
  );
  const okm = expand(sha256, prk, info, 2 * KEY_BYTES);
  const out = { psk: okm.slice(0, KEY_BYTES), confirmKey: okm.slice(KEY_BYTES) };
  ikm.fill(0);
  prk.fill(0);
  okm.fill(0);
  return out;
}

/**
 * The key-confirmation tag one end sends for an epoch (32 bytes): HMAC-SHA256 over "init" or
 * "resp" and the epoch. The other end recomputes it with its own confirm key and compares with
 * `pqTagEqual`; equal tags mean both derived the same PSK.
 */
export function pqConfirmTag(
  confirmKey: Uint8Array,
  role: 'initiator' | 'responder',
  epoch: number,
): Uint8Array {
  requireBytes(confirmKey, KEY_BYTES, 'confirmKey');
  const label = role === 'initiator' ? INITIATOR_LABEL : role === 'responder' ? RESPONDER_LABEL : undefined;
  if (!label) throw new CryptoInputError(`role must be 'initiator' or 'responder'`);
  return hmac(sha256, confirmKey, concatBytes(label, u32be(epoch)));
}

/**
 * Compares two confirm tags in time that depends only on their lengths; tags of different lengths
 * (or not byte strings) are unequal.
 */
export function pqTagEqual(a: Uint8Array, b: Uint8Array): boolean {
  return timingSafeEqual(a, b);
}
