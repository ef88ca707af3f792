import { spawnSync } from 'node:child_process';
import { x25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  WG_KEY_LEN,
  wgClamp,
  wgGeneratePresharedKey,
  wgGeneratePrivateKey,
  wgKeyFromBase64,
  wgKeyFromHex,
  wgKeyToBase64,
  wgKeyToHex,
  wgPublicKey,
} from './wireguard.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const hasWg = spawnSync('wg', ['--version'], { encoding: 'utf8' }).status === 0;

describe('X25519 (RFC 7748)', () => {
  it('section 6.1: Alice and Bob public keys and shared secret', () => {
    const a = bytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const b = bytes('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    expect(hex(wgPublicKey(a))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(hex(wgPublicKey(b))).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(hex(x25519.getSharedSecret(a, wgPublicKey(b)))).toBe(shared);
    expect(hex(x25519.getSharedSecret(b, wgPublicKey(a)))).toBe(shared);
  });

  it('section 5.2: scalar multiplication vectors, and 1 and 1000 iterations', () => {
    expect(
      hex(
        x25519.scalarMult(
          bytes('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'),
          bytes('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'),
        ),
      ),
    ).toBe('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552');
    expect(
      hex(
        x25519.scalarMult(
          bytes('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d'),
          bytes('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493'),
        ),
      ),
    ).toBe('95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957');
    let k = bytes(`09${'00'.repeat(31)}`);
    let u = k;
    for (let i = 1; i <= 1000; i++) {
      const r = x25519.scalarMult(k, u);
      u = k;
      k = r;
      if (i === 1) expect(hex(k)).toBe('422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
    }
    expect(hex(k)).toBe('684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51');
  }, 60_000);
});

describe('WireGuard keys', () => {
  it('private keys are clamped as wg genkey clamps them', () => {
    for (let i = 0; i < 50; i++) {
      const k = wgGeneratePrivateKey();
      expect(k.length).toBe(WG_KEY_LEN);
      expect(k[0]! & 7).toBe(0);
      expect(k[31]! & 0x80).toBe(0);
      expect(k[31]! & 0x40).toBe(0x40);
    }
    const k = wgClamp(new Uint8Array(32).fill(0xff));
    expect(k[0]).toBe(0xf8);
    expect(k[31]).toBe(0x7f);
    expect(hex(wgGeneratePrivateKey(() => new Uint8Array(32)))).toBe(`00${'00'.repeat(30)}40`);
  });

  it('pre-shared keys are 32 random bytes', () => {
    const a = wgGeneratePresharedKey();
    expect(a.length).toBe(32);
    expect(hex(a)).not.toBe(hex(wgGeneratePresharedKey()));
    expect(() => wgGeneratePresharedKey(() => new Uint8Array(31))).toThrow(
      expect.objectContaining({ code: 'ERR_WG_KEY' }),
    );
  });

  it('base64 (as wg prints) and hex (as the UAPI wants) round-trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (k) => {
        const b64 = wgKeyToBase64(k);
        expect(b64).toHaveLength(44);
        expect(b64).toBe(Buffer.from(k).toString('base64'));
        expect(hex(wgKeyFromBase64(b64))).toBe(hex(k));
        const h = wgKeyToHex(k);
        expect(h).toMatch(/^[0-9a-f]{64}$/);
        expect(hex(wgKeyFromHex(h))).toBe(hex(k));
        expect(hex(wgKeyFromHex(h.toUpperCase()))).toBe(hex(k));
      }),
    );
  });

  it('rejects malformed text and lengths with WgKeyError', () => {
    const bad = [
      () => wgKeyFromBase64('abc'),
      () => wgKeyFromBase64(`${'A'.repeat(43)}=`.replace(/A=$/, 'B=')),
      () => wgKeyFromBase64(`${'A'.repeat(44)}`),
      () => wgKeyFromHex('00'),
      () => wgKeyFromHex('zz'.repeat(32)),
      () => wgKeyToHex(new Uint8Array(31)),
      () => wgPublicKey(new Uint8Array(33)),
    ];
    for (const f of bad)
      expect(f).toThrow(expect.objectContaining({ name: 'WgKeyError', code: 'ERR_WG_KEY' }));
  });

  it.skipIf(!hasWg)(
    'wg pubkey agrees with the derived public key for random keys (needs the wg tool)',
    () => {
      for (let i = 0; i < 10; i++) {
        const k = wgGeneratePrivateKey();
        const r = spawnSync('wg', ['pubkey'], { input: `${wgKeyToBase64(k)}\n`, encoding: 'utf8' });
        expect(r.status).toBe(0);
        expect(r.stdout.trim()).toBe(wgKeyToBase64(wgPublicKey(k)));
      }
      // and an unclamped key: wg clamps on use, as X25519 does
      const raw = new Uint8Array(32).fill(0xff);
      const r = spawnSync('wg', ['pubkey'], { input: `${wgKeyToBase64(raw)}\n`, encoding: 'utf8' });
      expect(r.stdout.trim()).toBe(wgKeyToBase64(wgPublicKey(raw)));
    },
  );
});
