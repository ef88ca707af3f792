import { verify as nodeVerify, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha224 } from './hash.js';
import { nodeIdOf } from './identity.js';
import {
  generateRsaKey,
  generateRsaKeyAsync,
  importRsaPublicKey,
  loadNodeKey,
  RSA_KEY_TYPES,
  type RsaKeyType,
  type RsaPrivateKey,
  rsaKeyFromDer,
  rsaKeyLength,
  rsaKeyToDer,
  rsaKeyTypeOfLength,
  rsaSign,
  rsaVerify,
  saveNodeKey,
} from './rsa.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const big = (b: Uint8Array) => BigInt(`0x${hex(b) || '0'}`);
function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

/** EMSA-PKCS1-v1_5 encoding (RFC 8017 9.2) of a SHA-224 digest, built here independently. */
function emsa(digest: Uint8Array, len: number): bigint {
  const t = Buffer.concat([Buffer.from('302d300d06096086480165030402040500041c', 'hex'), digest]);
  const em = Buffer.concat([Buffer.of(0, 1), Buffer.alloc(len - t.length - 3, 0xff), Buffer.of(0), t]);
  return big(em);
}

const TYPES = [1, 2, 3, 4, 5, 6, 7, 8] as const;
const keys = new Map<RsaKeyType, RsaPrivateKey>();
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bmx7-crypto-'));
  // Generated in parallel on the thread pool: RSA3072 and RSA4096 take a while.
  const made = await Promise.all(TYPES.map((t) => generateRsaKeyAsync(t)));
  for (const k of made) keys.set(k.type, k);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RSA key types', () => {
  it('map type numbers to modulus lengths as the reference does', () => {
    expect(TYPES.map(rsaKeyLength)).toEqual([64, 96, 112, 128, 192, 256, 384, 512]);
    for (const t of TYPES) expect(rsaKeyTypeOfLength(RSA_KEY_TYPES[t].len)).toBe(t);
    expect(rsaKeyTypeOfLength(100)).toBeUndefined();
    expect(() => rsaKeyLength(9)).toThrow(
      expect.objectContaining({ code: 'ERR_KEY_TYPE', name: 'KeyTypeError' }),
    );
    expect(() => generateRsaKey(0)).toThrow(expect.objectContaining({ code: 'ERR_KEY_TYPE' }));
  });
});

describe.each(TYPES)('RSA key type %i', (type) => {
  it('has public content type ‖ modulus of the exact length, id = SHA-224(0 ‖ content)', () => {
    const k = keys.get(type)!;
    expect(k.type).toBe(type);
    expect(k.publicContent.length).toBe(1 + RSA_KEY_TYPES[type].len);
    expect(k.publicContent[0]).toBe(type);
    expect(k.publicContent[1]! & 0x80).toBe(0x80);
    expect(hex(k.id)).toBe(hex(nodeIdOf(k.publicContent)));
  });

  it('signs digests as PKCS#1 v1.5 / SHA-224 (checked by modular arithmetic and by node:crypto verify)', () => {
    const k = keys.get(type)!;
    const len = RSA_KEY_TYPES[type].len;
    const msg = randomBytes(100);
    const digest = sha224(msg);
    const sig = rsaSign(k, digest);
    expect(sig.length).toBe(len);
    expect(hex(rsaSign(k, digest))).toBe(hex(sig)); // deterministic
    const n = big(k.publicContent.subarray(1));
    expect(modPow(big(sig), 65537n, n)).toBe(emsa(digest, len));
    const pub = importRsaPublicKey(k.publicContent);
    if (!pub.ok) throw new Error(pub.reason);
    expect(rsaVerify(pub.value, digest, sig)).toBe(true);
    expect(rsaVerify(k.publicContent, digest, sig)).toBe(true);
    // node:crypto hashing the message itself agrees (the digest is SHA-224 of the message).
    const jwkKey = {
      key: {
        kty: 'RSA',
        n: Buffer.from(n.toString(16).padStart(len * 2, '0'), 'hex').toString('base64url'),
        e: 'AQAB',
      },
      format: 'jwk',
    } as const;
    expect(nodeVerify('sha224', msg, jwkKey, sig)).toBe(true);
  });

  it('rejects a flipped byte anywhere, and malformed input, without throwing', () => {
    const k = keys.get(type)!;
    const digest = sha224(Uint8Array.of(type));
    const sig = rsaSign(k, digest);
    for (const at of [0, 1, sig.length >> 1, sig.length - 1]) {
      const bad = sig.slice();
      bad[at]! ^= 0x80;
      expect(rsaVerify(k.publicContent, digest, bad)).toBe(false);
    }
    const d2 = digest.slice();
    d2[27]! ^= 1;
    expect(rsaVerify(k.publicContent, d2, sig)).toBe(false);
    expect(rsaVerify(k.publicContent, digest.subarray(1), sig)).toBe(false);
    expect(rsaVerify(k.publicContent, digest, sig.subarray(1))).toBe(false);
    expect(rsaVerify(k.publicContent, digest, new Uint8Array(sig.length).fill(0xff))).toBe(false);
    const other = keys.get(type === 8 ? 7 : ((type + 1) as RsaKeyType))!;
    expect(rsaVerify(other.publicContent, digest, sig)).toBe(false);
  });

  it('round-trips through the DER key-file form', () => {
    const k = keys.get(type)!;
    const der = rsaKeyToDer(k);
    const back = rsaKeyFromDer(der);
    expect(hex(back.publicContent)).toBe(hex(k.publicContent));
    expect(hex(rsaKeyToDer(back))).toBe(hex(der));
  });
});

describe('RSA verification of hostile input', () => {
  it('never throws on random public keys, digests and signatures', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 30 }),
        fc.uint8Array({ maxLength: 300 }),
        (p, d, s) => {
          expect(rsaVerify(p, d, s)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('importRsaPublicKey explains what is wrong', () => {
    const c = keys.get(4)!.publicContent;
    expect(importRsaPublicKey(c).ok).toBe(true);
    const wrongType = c.slice();
    wrongType[0] = 5;
    expect(importRsaPublicKey(wrongType)).toMatchObject({ ok: false });
    expect(importRsaPublicKey(Uint8Array.of(9, 1, 2))).toMatchObject({ ok: false });
    const lead0 = c.slice();
    lead0[1] = 0;
    expect(importRsaPublicKey(lead0)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('leading zero'),
    });
    const even = c.slice();
    even[even.length - 1]! &= 0xfe;
    expect(importRsaPublicKey(even)).toMatchObject({ ok: false });
  });
});

describe('key files', () => {
  it('saveNodeKey writes DER atomically with mode 0600 and never replaces a key by default', () => {
    const k = keys.get(6)!;
    const path = join(dir, 'rsa.der');
    saveNodeKey(path, k);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(hex(readFileSync(path))).toBe(hex(rsaKeyToDer(k)));
    expect(hex(loadNodeKey(path).publicContent)).toBe(hex(k.publicContent));
    expect(() => saveNodeKey(path, keys.get(4)!)).toThrow(
      expect.objectContaining({ name: 'KeyFileError', code: 'ERR_KEY_FILE_EXISTS', path }),
    );
    expect(hex(loadNodeKey(path).publicContent)).toBe(hex(k.publicContent));
    saveNodeKey(path, keys.get(4)!, { overwrite: true });
    expect(loadNodeKey(path).type).toBe(4);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('loading reports the path and the problem, never key bytes', () => {
    const missing = join(dir, 'none.der');
    expect(() => loadNodeKey(missing)).toThrow(
      expect.objectContaining({ code: 'ERR_KEY_FILE', path: missing }),
    );
    const junk = join(dir, 'junk.der');
    writeFileSync(junk, randomBytes(300));
    expect(() => loadNodeKey(junk)).toThrow(expect.objectContaining({ code: 'ERR_KEY_INVALID' }));
    const noDir = join(dir, 'no', 'such', 'dir', 'k.der');
    expect(() => saveNodeKey(noDir, keys.get(4)!)).toThrow(expect.objectContaining({ code: 'ERR_KEY_FILE' }));
  });

  it('accepts PEM and PKCS#8 too, and rejects keys with another exponent or size', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const pem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    expect(rsaKeyFromDer(Buffer.from(pem)).type).toBe(4);
    const e3 = generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 3 }).privateKey;
    expect(() => rsaKeyFromDer(e3.export({ format: 'der', type: 'pkcs1' }))).toThrow(/exponent/);
    const odd = generateKeyPairSync('rsa', { modulusLength: 1000 }).privateKey;
    expect(() => rsaKeyFromDer(odd.export({ format: 'der', type: 'pkcs1' }))).toThrow(/sizes/);
  });
});

describe('private keys stay private', () => {
  it('no text form of a key shows key material', () => {
    const k = keys.get(4)!;
    const der = rsaKeyToDer(k);
    const secrets = [
      hex(der).slice(-200),
      Buffer.from(der).toString('base64').slice(-100),
      hex(k.publicContent).slice(10, 60),
    ];
    const forms = [
      String(k),
      `${k}`,
      JSON.stringify(k),
      inspect(k),
      inspect(k, { showHidden: true, depth: 9 }),
      inspect({ k }),
    ];
    for (const f of forms) {
      for (const s of secrets) expect(f).not.toContain(s);
      expect(f).not.toMatch(/[0-9a-f]{120}/i);
    }
    expect(String(k)).toMatch(/^RsaPrivateKey\(RSA1024 [0-9A-F]{8}\)$/);
    expect(Object.keys(k)).not.toContain('key');
  });
});
