/** ML-KEM-768 (FIPS 203) through @noble/post-quantum: vectors, round trips and caller errors. */
import { createHash } from 'node:crypto';
import { sha3_256, shake128 } from '@noble/hashes/sha3.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { describe, expect, it } from 'vitest';
import { CryptoError, CryptoInputError } from './errors.js';
import { MLKEM768, mlkemDecapsulate, mlkemEncapsulate, mlkemGenerateSeed, mlkemKeyPair } from './mlkem.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array) => hex(createHash('sha256').update(b).digest());
/** The fixed seed of the vectors: bytes 0x00 … 0x3f (d = 00…1f, z = 20…3f). */
const seed0 = Uint8Array.from({ length: 64 }, (_, i) => i);
const fill = (n: number, x: number) => new Uint8Array(n).fill(x);

/** The error `f` throws (fails the test if it does not throw). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

/** No key bytes in a message: neither hex nor base64 of the input, nor any long hex or base64 run. */
function noBytesIn(message: string, ...inputs: Uint8Array[]): void {
  expect(message).not.toMatch(/[0-9a-f]{16,}/i);
  expect(message).not.toMatch(/[A-Za-z0-9+/]{20,}={0,2}/);
  for (const b of inputs) {
    if (b.length < 4) continue;
    expect(message).not.toContain(hex(b.subarray(0, 4)));
    expect(message).not.toContain(Buffer.from(b.subarray(0, 6)).toString('base64'));
  }
}

/**
 * C2SP CCTV's accumulated ML-KEM vectors (https://c2sp.org/CCTV/ML-KEM, derived from the
 * pq-crystals reference implementation, final FIPS 203): a SHAKE-128 stream of empty input gives,
 * per test, d, z, m and a random ciphertext; ek, dk, ct, K and the implicit-rejection K of the
 * random ciphertext are absorbed into a second SHAKE-128 whose first 32 bytes are the result.
 */
function accumulated(n: number): string {
  const rng = shake128.create({});
  const acc = shake128.create({});
  for (let i = 0; i < n; i++) {
    const seed = rng.xof(64); // d ‖ z
    const pair = mlkemKeyPair(seed);
    acc.update(pair.publicKey).update(pair.secretKey);
    const m = rng.xof(32);
    const { ciphertext, sharedSecret } = mlkemEncapsulate(pair.publicKey, () => m);
    acc.update(ciphertext).update(sharedSecret);
    expect(hex(mlkemDecapsulate(ciphertext, pair.secretKey))).toBe(hex(sharedSecret));
    acc.update(mlkemDecapsulate(rng.xof(MLKEM768.ciphertextBytes), pair.secretKey));
  }
  return hex(acc.xof(32));
}

describe('ML-KEM-768', () => {
  it('the sizes are FIPS 203 Table 3 and noble agrees', () => {
    expect(MLKEM768).toEqual({
      publicKeyBytes: 1184,
      secretKeyBytes: 2400,
      ciphertextBytes: 1088,
      sharedSecretBytes: 32,
      seedBytes: 64,
    });
    expect(ml_kem768.lengths).toMatchObject({ publicKey: 1184, secretKey: 2400, cipherText: 1088, seed: 64 });
  });

  it('C2SP CCTV accumulated vectors: the first 100 tests', () => {
    // CCTV publishes the 10,000-test hash (f959d18d…, the opt-in test below: about 25 s); this
    // 100-test prefix was computed here, by the same code whose 10,000-test run gives CCTV's hash.
    expect(accumulated(100)).toBe('8d65b902f28edc683cebee2872962fd165a4d197c9e24ec74caa4470270df0b7');
  }, 30_000);

  it.skipIf(process.env.BMX7_MLKEM_ACCUMULATED !== '10000')(
    'C2SP CCTV accumulated vectors: 10,000 tests (opt-in: BMX7_MLKEM_ACCUMULATED=10000)',
    () => {
      expect(accumulated(10_000)).toBe('f959d18d3d1180121433bf0e05f11e7908cf9d03edc150b2b07cb90bef5bc1c1');
    },
    300_000,
  );

  it('a fixed seed gives fixed keys; a fixed message a fixed ciphertext and secret', () => {
    const pair = mlkemKeyPair(seed0);
    expect(pair.publicKey.length).toBe(1184);
    expect(pair.secretKey.length).toBe(2400);
    expect(hex(pair.publicKey.subarray(0, 16))).toBe('298aa10d423c8dda069d02bc59e6cdf0');
    expect(sha256(pair.publicKey)).toBe('0b7934c83125c788995e2ba6bd761e33046b3e40571be53e023309a29f398cc9');
    expect(sha256(pair.secretKey)).toBe('dac268bde6a8dd238e9887117d6b664e7a7a9350ad6b7c08a948e504809572a5');
    // the secret key is dk_PKE ‖ ek ‖ H(ek) ‖ z (FIPS 203 Algorithm 16)
    expect(hex(pair.secretKey.subarray(1152, 1152 + 1184))).toBe(hex(pair.publicKey));
    expect(hex(pair.secretKey.subarray(2336, 2368))).toBe(hex(sha3_256(pair.publicKey)));
    expect(hex(pair.secretKey.subarray(2368))).toBe(hex(seed0.subarray(32)));
    // the same seed, the same pair
    expect(hex(mlkemKeyPair(seed0.slice()).publicKey)).toBe(hex(pair.publicKey));
    // encapsulation with m = 22…22 (the initiator's message of pq-psk.test.ts's vector)
    const seed1 = Uint8Array.from({ length: 64 }, (_, i) => 0x40 + i);
    const e = mlkemEncapsulate(pair.publicKey, (n) => fill(n, 0x22));
    expect(e.ciphertext.length).toBe(1088);
    expect(sha256(e.ciphertext)).toBe('7f7d017a163f9a98d7037cce88fb79ef9a30ff8c8d6fcc5620c7982fbe15ce11');
    expect(hex(e.sharedSecret)).toBe('d63680e92c0bca92f44bfb7d15eae2ecb7fec2bcacd1ddc5ca6c2bcb25166611');
    expect(hex(mlkemDecapsulate(e.ciphertext, pair.secretKey))).toBe(hex(e.sharedSecret));
    expect(sha256(mlkemKeyPair(seed1).publicKey)).toBe(
      '9af96e00098351ae9c790abe15d80d96e294dbca80f99039d9320f3152e5cdbf',
    );
  });

  it('random keys and messages round-trip; fresh randomness gives fresh keys and ciphertexts', () => {
    const s1 = mlkemGenerateSeed();
    const s2 = mlkemGenerateSeed();
    expect(s1.length).toBe(64);
    expect(hex(s1)).not.toBe(hex(s2));
    const a = mlkemKeyPair(s1);
    const b = mlkemKeyPair(s2);
    expect(hex(a.publicKey)).not.toBe(hex(b.publicKey));
    const e1 = mlkemEncapsulate(a.publicKey);
    const e2 = mlkemEncapsulate(a.publicKey);
    expect(hex(e1.ciphertext)).not.toBe(hex(e2.ciphertext));
    expect(hex(e1.sharedSecret)).not.toBe(hex(e2.sharedSecret));
    expect(hex(mlkemDecapsulate(e1.ciphertext, a.secretKey))).toBe(hex(e1.sharedSecret));
    expect(hex(mlkemDecapsulate(e2.ciphertext, a.secretKey))).toBe(hex(e2.sharedSecret));
    // another key pair decapsulates to another secret, without an error
    expect(hex(mlkemDecapsulate(e1.ciphertext, b.secretKey))).not.toBe(hex(e1.sharedSecret));
    // the seed generator asks its source for 64 bytes and copies them
    const asked: number[] = [];
    const src = fill(64, 7);
    const s3 = mlkemGenerateSeed((n) => {
      asked.push(n);
      return src;
    });
    expect(asked).toEqual([64]);
    expect(hex(s3)).toBe(hex(src));
    expect(s3).not.toBe(src);
    // the encapsulation message: 32 bytes asked, used once
    const msgAsked: number[] = [];
    const e3 = mlkemEncapsulate(a.publicKey, (n) => {
      msgAsked.push(n);
      return fill(n, 0x33);
    });
    expect(msgAsked).toEqual([32]);
    expect(hex(mlkemEncapsulate(a.publicKey, (n) => fill(n, 0x33)).ciphertext)).toBe(hex(e3.ciphertext));
  });

  it('implicit rejection: a ciphertext with one bit flipped decapsulates to an unrelated secret', () => {
    const pair = mlkemKeyPair(seed0);
    const e = mlkemEncapsulate(pair.publicKey, (n) => fill(n, 0x22));
    const secrets = new Set<string>([hex(e.sharedSecret)]);
    for (const bit of [0, 7, 8 * 500 + 3, 8 * 1087 + 7]) {
      const ct = e.ciphertext.slice();
      ct[bit >> 3]! ^= 1 << (bit & 7);
      const ss = mlkemDecapsulate(ct, pair.secretKey);
      expect(ss.length).toBe(32);
      // deterministic: the same tampered ciphertext, the same rejection secret
      expect(hex(mlkemDecapsulate(ct, pair.secretKey))).toBe(hex(ss));
      secrets.add(hex(ss));
    }
    expect(secrets.size).toBe(5);
  });

  it('the secret key is not enumerable; the pair is frozen', () => {
    const pair = mlkemKeyPair(seed0);
    expect(Object.keys(pair)).toEqual(['publicKey']);
    expect(JSON.stringify(pair)).not.toContain('secretKey');
    expect({ ...pair }).not.toHaveProperty('secretKey');
    expect(Object.isFrozen(pair)).toBe(true);
    expect(pair.secretKey.length).toBe(2400);
  });

  it('caller errors are CryptoErrors with stable codes and no key bytes in their messages', () => {
    const pair = mlkemKeyPair(seed0);
    const e = mlkemEncapsulate(pair.publicKey, (n) => fill(n, 0x22));
    const cases: [() => unknown, string, Uint8Array[]][] = [
      [() => mlkemKeyPair(seed0.subarray(0, 32)), 'ERR_CRYPTO_INPUT', [seed0]],
      [() => mlkemKeyPair(new Uint8Array(65)), 'ERR_CRYPTO_INPUT', []],
      [() => mlkemKeyPair('seed' as unknown as Uint8Array), 'ERR_CRYPTO_INPUT', []],
      [() => mlkemGenerateSeed(() => new Uint8Array(32)), 'ERR_CRYPTO_INPUT', []],
      [() => mlkemEncapsulate(pair.publicKey.subarray(0, 1183)), 'ERR_CRYPTO_INPUT', [pair.publicKey]],
      [() => mlkemEncapsulate(new Uint8Array(800)), 'ERR_CRYPTO_INPUT', []],
      [() => mlkemEncapsulate(pair.publicKey, () => new Uint8Array(31)), 'ERR_CRYPTO_INPUT', []],
      [() => mlkemDecapsulate(e.ciphertext.subarray(1), pair.secretKey), 'ERR_CRYPTO_INPUT', [e.ciphertext]],
      [
        () => mlkemDecapsulate(e.ciphertext, pair.secretKey.subarray(0, 2399)),
        'ERR_CRYPTO_INPUT',
        [pair.secretKey],
      ],
    ];
    // FIPS 203's modulus check: the first 12-bit coefficient set to 4095 (≥ q = 3329)
    const badModulus = pair.publicKey.slice();
    badModulus[0] = 0xff;
    badModulus[1] = badModulus[1]! | 0x0f;
    cases.push([() => mlkemEncapsulate(badModulus), 'ERR_KEY_INVALID', [badModulus]]);
    // a secret key whose embedded H(ek) does not match its ek
    const badSecret = pair.secretKey.slice();
    badSecret[2336]! ^= 1;
    cases.push([() => mlkemDecapsulate(e.ciphertext, badSecret), 'ERR_KEY_INVALID', [badSecret]]);
    for (const [f, code, inputs] of cases) {
      const err = thrown(f);
      expect(err).toBeInstanceOf(CryptoError);
      expect((err as CryptoError).code).toBe(code);
      if (code === 'ERR_CRYPTO_INPUT') expect(err).toBeInstanceOf(CryptoInputError);
      expect(err.message).toMatch(/ML-KEM-768/);
      noBytesIn(err.message, ...inputs);
    }
    // a key that passes the modulus check still encapsulates
    expect(() => mlkemEncapsulate(pair.publicKey)).not.toThrow();
  });
});
