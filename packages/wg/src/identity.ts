/**
 * The node's WireGuard identity: an X25519 key pair whose private key lives in the plugin's private
 * file `private.key`, in the form `wg genkey` writes (44 characters of base64 and a newline; see
 * wg(8)), so `wg pubkey < private.key` prints the key the description announces. Created on first
 * start; the file port writes it atomically with mode 0600. The private key never leaves this
 * module's result except to configure the WireGuard device: it is not enumerable, so neither JSON
 * nor a log line or a show table can carry it by accident.
 */
import type { PluginFiles } from '@bmx7/core';
import { type WgKey, wgGeneratePrivateKey, wgKeyFromBase64, wgKeyToBase64, wgPublicKey } from '@bmx7/crypto';

/** The private key's file among the plugin's private files. */
export const WG_PRIVATE_KEY_FILE = 'private.key';

export interface WgIdentity {
  /** X25519 public key, 32 bytes (announced in the WIREGUARD TLV, docs/protocol.md §4.13). */
  readonly publicKey: WgKey;
  /** X25519 private key, 32 bytes (not enumerable). */
  readonly privateKey: WgKey;
}

export class WgIdentityError extends Error {
  override readonly name = 'WgIdentityError';
  readonly code = 'ERR_WG_KEY_FILE';
}

function identityOf(privateKey: WgKey): WgIdentity {
  const id = { publicKey: wgPublicKey(privateKey) } as { publicKey: WgKey; privateKey: WgKey };
  Object.defineProperty(id, 'privateKey', { value: privateKey, enumerable: false });
  return Object.freeze(id);
}

/**
 * Reads the key pair from `private.key`, or creates the file with a new key when it does not exist.
 * A file that holds no valid key is refused (never overwritten: it may be an operator's key).
 */
export function loadWgIdentity(
  files: PluginFiles,
  random?: (n: number) => Uint8Array,
): { identity: WgIdentity; created: boolean } {
  const bytes = files.read(WG_PRIVATE_KEY_FILE);
  if (bytes === undefined) {
    const privateKey = wgGeneratePrivateKey(random);
    files.write(WG_PRIVATE_KEY_FILE, new TextEncoder().encode(`${wgKeyToBase64(privateKey)}\n`));
    return { identity: identityOf(privateKey), created: true };
  }
  const text = new TextDecoder().decode(bytes).trim();
  let privateKey: WgKey;
  try {
    privateKey = wgKeyFromBase64(text);
  } catch (e) {
    // the reason names the file only: its content is key material
    throw new WgIdentityError(`${WG_PRIVATE_KEY_FILE} holds no base64 WireGuard key`, { cause: e });
  }
  return { identity: identityOf(privateKey), created: false };
}
