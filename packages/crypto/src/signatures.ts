/**
 * Description signatures (docs/protocol.md §4.5) and packet authentication (§4.4): RSA signatures with
 * the node key over descriptions, with the RSA link key over packet digests.
 */
import { requireBytes } from './bytes.js';
import { CryptoInputError } from './errors.js';
import { SHA224_LEN, sha224 } from './hash.js';
import { RSA_KEY_TYPES, type RsaPrivateKey, type RsaPublicKey, rsaSign, rsaVerify } from './rsa.js';

/** Length of the SIGNATURE_ADV frame's data header: descSqn u32, burstSqn u32, devIdx u8. */
export const SIGNATURE_HEADER_LEN = 9;

/**
 * DSC_SIGNATURE message over a description: key type u8 ‖ RSA signature of SHA-224(signed bytes),
 * where the signed bytes run from the VERSION TLV header to the end of the description (4.5).
 */
export function signDescription(key: RsaPrivateKey, signedBytes: Uint8Array): Uint8Array {
  if (!(signedBytes instanceof Uint8Array)) throw new CryptoInputError('signed bytes must be a Uint8Array');
  return typeAndSignature(key, rsaSign(key, sha224(signedBytes)));
}

/**
 * Verifies a DSC_SIGNATURE message (type u8 ‖ signature) over the signed description bytes with
 * the node's public-key content (type ‖ modulus). The message type must equal the key's type.
 * False for anything malformed; never throws on wire input.
 */
export function verifyDescription(
  pubkey: Uint8Array | RsaPublicKey,
  signatureMessage: Uint8Array,
  signedBytes: Uint8Array,
): boolean {
  if (!(signedBytes instanceof Uint8Array)) return false;
  return verifyTyped(pubkey, signatureMessage, sha224(signedBytes));
}

/**
 * The packet digest the reference signs (4.4): SHA-224(sender's link-local address 16 ‖ SIGNATURE
 * data header 9 ‖ all frame bytes after the SIGNATURE frame, headers included).
 */
export function packetDigest(
  linkLocal: Uint8Array,
  signatureHeader: Uint8Array,
  afterBytes: Uint8Array,
): Uint8Array {
  requireBytes(linkLocal, 16, 'link-local address');
  requireBytes(signatureHeader, SIGNATURE_HEADER_LEN, 'signature header');
  if (!(afterBytes instanceof Uint8Array)) throw new CryptoInputError('frame bytes must be a Uint8Array');
  return sha224(linkLocal, signatureHeader, afterBytes);
}

/** RSA SIGNATURE_ADV message over a packet digest with the RSA link key: type u8 ‖ signature. */
export function signPacketRsa(linkKey: RsaPrivateKey, digest: Uint8Array): Uint8Array {
  return typeAndSignature(linkKey, rsaSign(linkKey, digest));
}

/**
 * Verifies an RSA SIGNATURE_ADV message (type u8 ‖ signature) against a packet digest with the
 * sender's RSA link public-key content (RSA_LINK_PUBKEY TLV body). False for anything malformed.
 */
export function verifyPacketRsa(
  linkPubkey: Uint8Array | RsaPublicKey,
  message: Uint8Array,
  digest: Uint8Array,
): boolean {
  return verifyTyped(linkPubkey, message, digest);
}

function typeAndSignature(key: RsaPrivateKey, sig: Uint8Array): Uint8Array {
  const m = new Uint8Array(1 + sig.length);
  m[0] = key.type;
  m.set(sig, 1);
  return m;
}

function verifyTyped(pub: Uint8Array | RsaPublicKey, message: Uint8Array, digest: Uint8Array): boolean {
  if (!(message instanceof Uint8Array) || message.length < 2 || digest.length !== SHA224_LEN) return false;
  const type = message[0]!;
  const keyType = pub instanceof Uint8Array ? pub[0] : pub.type;
  if (keyType !== type || !(type in RSA_KEY_TYPES)) return false;
  return rsaVerify(pub, digest, message.subarray(1));
}
