import { sha224 as nobleSha224 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentHash, descriptionHash, SHA224_LEN, sha224, timingSafeEqual } from './hash.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('sha224', () => {
  it('matches the FIPS 180-4 example vectors', () => {
    expect(hex(sha224(new TextEncoder().encode('abc')))).toBe(
      '23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7',
    );
    expect(hex(sha224(new Uint8Array()))).toBe('d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f');
  });

  it('node:crypto (the hot path) and @noble/hashes give identical outputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2100 }), (data) => {
        expect(hex(sha224(data))).toBe(hex(nobleSha224(data)));
      }),
      { numRuns: 300 },
    );
    for (const n of [64, 76, 84, 1024]) {
      const d = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 0xff);
      expect(hex(sha224(d))).toBe(hex(nobleSha224(d)));
    }
  });

  it('hashes the concatenation of its parts', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 5 }), (parts) => {
        expect(hex(sha224(...parts))).toBe(hex(nobleSha224(Buffer.concat(parts))));
      }),
    );
  });

  it('returns plain 28-byte Uint8Arrays', () => {
    const h = sha224(Uint8Array.of(1));
    expect(h.length).toBe(SHA224_LEN);
    expect(h).toBeInstanceOf(Uint8Array);
  });
});

describe('content and description hashes', () => {
  it('content hash = SHA-224(header byte ‖ body)', () => {
    const body = Uint8Array.of(1, 2, 3);
    expect(hex(contentHash(0, body))).toBe(hex(nobleSha224(Uint8Array.of(0, 1, 2, 3))));
    expect(hex(contentHash(2, body))).toBe(hex(nobleSha224(Uint8Array.of(2, 1, 2, 3))));
  });
  it('rejects a header byte outside 0-255', () => {
    expect(() => contentHash(256, new Uint8Array())).toThrow(
      expect.objectContaining({ code: 'ERR_CRYPTO_INPUT' }),
    );
    expect(() => contentHash(-1, new Uint8Array())).toThrow();
  });
  it('description hash = SHA-224 of the description', () => {
    const d = Uint8Array.of(9, 8, 7);
    expect(hex(descriptionHash(d))).toBe(hex(nobleSha224(d)));
  });
});

describe('timingSafeEqual', () => {
  it('is byte equality, false for different lengths or non-bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        expect(timingSafeEqual(a, b)).toBe(Buffer.from(a).equals(b));
        expect(timingSafeEqual(a, a.slice())).toBe(true);
      }),
    );
    expect(timingSafeEqual(Uint8Array.of(1), 'x' as unknown as Uint8Array)).toBe(false);
  });
});
