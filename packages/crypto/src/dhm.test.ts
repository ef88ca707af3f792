import { getDiffieHellman } from 'node:crypto';
import { inspect } from 'node:util';
import { sha224 as nobleSha224 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkDhmPublicValue,
  createDhmKey,
  DHM_KEY_TYPES,
  dhmKeyFromPrivate,
  dhmMac,
  dhmSecret,
  verifyDhmMac,
} from './dhm.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const big = (b: Uint8Array) => BigInt(`0x${hex(b)}`);
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
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
const P2048 = BigInt(`0x${getDiffieHellman('modp14').getPrime('hex')}`);
const P3072 = BigInt(`0x${getDiffieHellman('modp15').getPrime('hex')}`);
/** The shared value as mbedtls writes it: minimal-length big-endian. */
const minimal = (v: bigint) => {
  const h = v.toString(16);
  return bytes(h.length % 2 ? `0${h}` : h);
};

// Two fixed private exponents whose shared value g^(ab) mod p has a leading zero byte in its
// 256-byte form (found by search): the minimal-length rule changes the secret.
const A = '01d3fd9a1abd173bfcc60f872040c65fcac7f80a4923f8dfac7e80f02e';
const B = '14c05f2b3c455988a0e71768ee3097a59eee30bc955110735a5336d1';

describe('DHM link keys', () => {
  it.each([17, 18] as const)('type %i: two key pairs compute the same secret and MAC', (type) => {
    const a = createDhmKey(type);
    const b = createDhmKey(type);
    const len = DHM_KEY_TYPES[type].len;
    expect(a.publicValue.length).toBe(len);
    expect(a.publicValue[0]).not.toBe(0);
    const sa = dhmSecret(a, b.publicValue);
    const sb = dhmSecret(b, a.publicValue);
    if (!sa.ok || !sb.ok) throw new Error('no secret');
    expect(sa.value.length).toBe(28);
    expect(hex(sa.value)).toBe(hex(sb.value));
    const digest = nobleSha224(Uint8Array.of(type));
    expect(hex(dhmMac(digest, sa.value))).toBe(hex(dhmMac(digest, sb.value)));
    expect(dhmMac(digest, sa.value).length).toBe(14);
    // A third party's secret differs.
    const c = createDhmKey(type);
    const sc = dhmSecret(c, b.publicValue);
    expect(sc.ok && hex(sc.value)).not.toBe(hex(sa.value));
  });

  it('the secret and MAC follow the reference rules, with the shared value in minimal-length form', () => {
    const a = dhmKeyFromPrivate(17, bytes(A));
    const b = dhmKeyFromPrivate(17, bytes(B));
    // Independent computation with BigInt arithmetic.
    const ya = modPow(2n, big(bytes(A)), P2048);
    expect(hex(a.publicValue)).toBe(ya.toString(16).padStart(512, '0'));
    const shared = modPow(big(b.publicValue), big(bytes(A)), P2048);
    const sharedMin = minimal(shared);
    expect(sharedMin.length).toBe(255); // the leading-zero case
    const s = dhmSecret(a, b.publicValue);
    if (!s.ok) throw new Error(s.reason);
    expect(hex(s.value)).toBe(hex(nobleSha224(sharedMin)));
    expect(hex(s.value)).not.toBe(hex(nobleSha224(Buffer.concat([Buffer.of(0), sharedMin]))));
    const digest = bytes('5308cd26aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55');
    const mac = dhmMac(digest, s.value);
    expect(hex(mac)).toBe(hex(nobleSha224(Buffer.concat([digest, nobleSha224(sharedMin)])).subarray(0, 14)));
    expect(verifyDhmMac(digest, s.value, mac)).toBe(true);
    const s2 = dhmSecret(b, a.publicValue);
    expect(s2.ok && hex(s2.value)).toBe(hex(s.value));
  });

  it('a flipped MAC, digest or secret byte fails; malformed MAC input is false, not an exception', () => {
    const a = createDhmKey();
    const b = createDhmKey();
    const s = dhmSecret(a, b.publicValue);
    if (!s.ok) throw new Error(s.reason);
    const digest = nobleSha224(Uint8Array.of(1));
    const mac = dhmMac(digest, s.value);
    for (let i = 0; i < 14; i++) {
      const bad = mac.slice();
      bad[i]! ^= 1;
      expect(verifyDhmMac(digest, s.value, bad)).toBe(false);
    }
    const d2 = digest.slice();
    d2[0]! ^= 1;
    expect(verifyDhmMac(d2, s.value, mac)).toBe(false);
    const s2 = s.value.slice();
    s2[27]! ^= 1;
    expect(verifyDhmMac(digest, s2, mac)).toBe(false);
    expect(verifyDhmMac(digest, s.value, mac.subarray(1))).toBe(false);
    expect(verifyDhmMac(digest.subarray(1), s.value, mac)).toBe(false);
    expect(() => dhmMac(digest.subarray(1), s.value)).toThrow(
      expect.objectContaining({ code: 'ERR_CRYPTO_INPUT' }),
    );
  });

  it('never publishes a public value with a leading zero byte', () => {
    for (let i = 0; i < 300; i++) {
      const k = createDhmKey(17);
      expect(k.publicValue.length).toBe(256);
      expect(k.publicValue[0]).not.toBe(0);
    }
  });

  it('refuses a private key whose public value would start with a zero byte', () => {
    // 2^x mod p < 2^2040 for this x (found by search).
    let x = 2n;
    while (modPow(2n, x, P2048) >> 2040n !== 0n) x++;
    expect(() => dhmKeyFromPrivate(17, minimal(x))).toThrow(/leading zero/);
  });

  it('rejects peer values the reference rejects, without throwing', () => {
    const a = createDhmKey(17);
    const p = minimal(P2048);
    const cases: [string, Uint8Array][] = [
      ['short', a.publicValue.subarray(1)],
      ['long', Buffer.concat([a.publicValue, Buffer.of(1)])],
      ['3072-bit value for a 2048-bit key', createDhmKey(18).publicValue],
      ['leading zero', Uint8Array.of(0, ...a.publicValue.subarray(1))],
      ['p', p],
      ['p - 1', minimal(P2048 - 1n)],
      ['all ones', new Uint8Array(256).fill(0xff)],
    ];
    for (const [what, v] of cases) {
      expect(dhmSecret(a, v), what).toMatchObject({ ok: false });
    }
    expect(checkDhmPublicValue(17, minimal(P2048 - 2n)).ok).toBe(true);
    expect(checkDhmPublicValue(18, minimal(P3072 - 2n)).ok).toBe(true);
    expect(checkDhmPublicValue(18, minimal(P3072 - 1n)).ok).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (v) => {
        const r = dhmSecret(a, v);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 100 },
    );
  });

  it('rejects unknown types', () => {
    expect(() => createDhmKey(16)).toThrow(expect.objectContaining({ code: 'ERR_KEY_TYPE' }));
  });

  it('no text form of a key shows key material', () => {
    const k = dhmKeyFromPrivate(17, bytes(A));
    for (const f of [
      String(k),
      JSON.stringify(k),
      inspect(k),
      inspect({ k }, { showHidden: true, depth: 5 }),
    ]) {
      expect(f).not.toContain(A.slice(2, 30));
      expect(f).not.toMatch(/[0-9a-f]{40}/i);
    }
    expect(String(k)).toBe('DhmKey(DH2048M112)');
  });
});
