/**
 * WireGuard keys: X25519 private keys (clamped as `wg genkey` clamps them), public keys, pre-shared
 * keys, and their two text forms: base64 as `wg` prints them, hex as the UAPI socket wants them
 * (https://www.wireguard.com/xplatform/).
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';

/** Length in bytes of every WireGuard key (private, public, pre-shared). */
export const WG_KEY_LEN = 32;

/** A 32-byte WireGuard key in raw form. */
export type WgKey = Uint8Array;

export class WgKeyError extends Error {
  override readonly name = 'WgKeyError';
  readonly code = 'ERR_WG_KEY';
}

function check(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== WG_KEY_LEN) {
    throw new WgKeyError(
      `${what} must be ${WG_KEY_LEN} bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`,
    );
  }
}

/** Clamps an X25519 scalar in place as RFC 7748 section 5 and `wg genkey` do; returns it. */
export function wgClamp(key: WgKey): WgKey {
  check(key, 'private key');
  key[0]! &= 248;
  key[31]! = (key[31]! & 127) | 64;
  return key;
}

/** A new random private key, clamped. */
export function wgGeneratePrivateKey(random: (n: number) => Uint8Array = randomBytes): WgKey {
  return wgClamp(Uint8Array.from(random(WG_KEY_LEN)));
}

/** A new random pre-shared key (32 random bytes, `wg genpsk`). */
export function wgGeneratePresharedKey(random: (n: number) => Uint8Array = randomBytes): WgKey {
  const k = Uint8Array.from(random(WG_KEY_LEN));
  check(k, 'pre-shared key');
  return k;
}

/** The public key of a private key (`wg pubkey`). */
export function wgPublicKey(privateKey: WgKey): WgKey {
  check(privateKey, 'private key');
  return x25519.getPublicKey(privateKey);
}

/** base64 with padding, 44 characters, as `wg` prints keys. */
export function wgKeyToBase64(key: WgKey): string {
  check(key, 'key');
  return Buffer.from(key).toString('base64');
}

const B64_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** Parses a base64 key as `wg` accepts it (exactly 44 characters, canonical padding). */
export function wgKeyFromBase64(text: string): WgKey {
  if (typeof text !== 'string' || !B64_KEY.test(text))
    throw new WgKeyError('key is not 44 characters of base64');
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** 64 lower-case hex characters, as the UAPI socket prints keys. */
export function wgKeyToHex(key: WgKey): string {
  check(key, 'key');
  return Buffer.from(key).toString('hex');
}

/** Parses a 64-character hex key (either case, as the UAPI socket accepts). */
export function wgKeyFromHex(text: string): WgKey {
  if (typeof text !== 'string' || !/^[0-9a-fA-F]{64}$/.test(text))
    throw new WgKeyError('key is not 64 hex characters');
  return new Uint8Array(Buffer.from(text, 'hex'));
}
