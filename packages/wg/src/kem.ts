/**
 * The node's ML-KEM-768 key pair for post-quantum pre-shared keys (docs/pq-psk.md): its 64-byte
 * seed lives in the plugin's private file `kem.key` (base64 and a newline; mode 0600, written
 * atomically by the file port), created on first start. The public key is what the PQ_KEM TLV
 * announces; the secret key is not enumerable, so no log line, table or JSON carries it. Deleting
 * the file and restarting rotates the key.
 */
import type { PluginFiles } from '@bmx7/core';
import { type MlKemKeyPair, mlkemGenerateSeed, mlkemKeyPair } from '@bmx7/crypto';
import { WgIdentityError } from './identity.js';

export const KEM_KEY_FILE = 'kem.key';

export function loadKemKeyPair(
  files: PluginFiles,
  random?: (n: number) => Uint8Array,
): { keys: MlKemKeyPair; created: boolean } {
  const bytes = files.read(KEM_KEY_FILE);
  if (bytes === undefined) {
    const seed = mlkemGenerateSeed(random);
    files.write(KEM_KEY_FILE, new TextEncoder().encode(`${Buffer.from(seed).toString('base64')}\n`));
    return { keys: mlkemKeyPair(seed), created: true };
  }
  const seed = Buffer.from(new TextDecoder().decode(bytes).trim(), 'base64');
  // the reason names the file only: its content is key material
  if (seed.length !== 64) throw new WgIdentityError(`${KEM_KEY_FILE} holds no base64 64-byte ML-KEM seed`);
  return { keys: mlkemKeyPair(new Uint8Array(seed)), created: false };
}
