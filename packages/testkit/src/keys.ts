/**
 * RSA keys for simulated nodes. A real engine needs a node key (and usually an RSA link key);
 * generating them is the slow part of building a large simulation (RSA1024 takes ~15 ms, RSA2048
 * ~400 ms). Keys are handed out by label (e.g. `node:n5`), memoised in the process and, unless
 * disabled, cached on disk in the system's temporary directory (mode 0600, test keys only), so a
 * label gets the same key in every run on this machine and the simulation replays exactly.
 * Never use these keys outside tests.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRsaKey, RSA1024, type RsaPrivateKey, rsaKeyFromDer, rsaKeyToDer } from '@bmx7/crypto';

export interface TestKeyOptions {
  /** RSA key type 1-8 (default 4, RSA1024: the smallest the reference accepts as a node key). */
  type?: number;
  /** Directory of the disk cache; false for none. Default: `bmx7-testkit-keys` in the temp directory. */
  cacheDir?: string | false;
}

const memo = new Map<string, RsaPrivateKey>();

export function defaultKeyCacheDir(): string {
  return join(tmpdir(), 'bmx7-testkit-keys');
}

/** The test key for `label`: the same key for the same label and type, generated once. */
export function testRsaKey(label: string, options: TestKeyOptions = {}): RsaPrivateKey {
  const type = options.type ?? RSA1024;
  const id = `${type}-${label}`;
  const hit = memo.get(id);
  if (hit) return hit;
  const dir = options.cacheDir === undefined ? defaultKeyCacheDir() : options.cacheDir;
  const file = dir === false ? undefined : join(dir, `${encodeURIComponent(id)}.der`);
  let key: RsaPrivateKey | undefined;
  if (file) {
    try {
      key = rsaKeyFromDer(readFileSync(file), file);
      if (key.type !== type) key = undefined;
    } catch {
      key = undefined; // absent or unreadable: make a new one
    }
  }
  if (!key) {
    key = generateRsaKey(type);
    if (file && dir !== false) {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        // Write then rename: parallel test workers never read half a file.
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, rsaKeyToDer(key), { mode: 0o600 });
        renameSync(tmp, file);
      } catch {
        // A cache that cannot be written only costs time.
      }
    }
  }
  memo.set(id, key);
  return key;
}
