import { beforeAll, describe, expect, it } from 'vitest';
import { sha224 } from './hash.js';
import { generateRsaKey, type RsaPrivateKey } from './rsa.js';
import {
  packetDigest,
  signDescription,
  signPacketRsa,
  verifyDescription,
  verifyPacketRsa,
} from './signatures.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
let node: RsaPrivateKey;
let link: RsaPrivateKey;

beforeAll(() => {
  node = generateRsaKey(5);
  link = generateRsaKey(4);
});

describe('description signatures', () => {
  it('signDescription gives type ‖ signature and verifies; another key or bytes do not', () => {
    const signed = Uint8Array.from({ length: 500 }, (_, i) => i & 0xff);
    const m = signDescription(node, signed);
    expect(m[0]).toBe(5);
    expect(m.length).toBe(1 + 192);
    expect(verifyDescription(node.publicContent, m, signed)).toBe(true);
    expect(verifyDescription(link.publicContent, m, signed)).toBe(false);
    const wrongType = m.slice();
    wrongType[0] = 6;
    expect(verifyDescription(node.publicContent, wrongType, signed)).toBe(false);
    expect(verifyDescription(node.publicContent, m.subarray(0, 1), signed)).toBe(false);
    expect(verifyDescription(node.publicContent, new Uint8Array(), signed)).toBe(false);
  });
});

describe('packet authentication', () => {
  it('digest = SHA-224(link-local ‖ signature header ‖ following frames)', () => {
    const ll = Uint8Array.of(0xfe, 0x80, ...new Array(13).fill(0), 1);
    const hdr = Uint8Array.of(0, 0, 0, 112, 0, 0, 0, 3, 1);
    const after = Uint8Array.of(0x48, 0x06, 0, 1, 0, 1);
    expect(hex(packetDigest(ll, hdr, after))).toBe(hex(sha224(Buffer.concat([ll, hdr, after]))));
    expect(() => packetDigest(ll.subarray(1), hdr, after)).toThrow(
      expect.objectContaining({ code: 'ERR_CRYPTO_INPUT' }),
    );
    expect(() => packetDigest(ll, hdr.subarray(1), after)).toThrow(
      expect.objectContaining({ code: 'ERR_CRYPTO_INPUT' }),
    );
  });

  it('RSA link signature messages verify with the link key only', () => {
    const digest = sha224(Uint8Array.of(1, 2, 3));
    const m = signPacketRsa(link, digest);
    expect(m[0]).toBe(4);
    expect(m.length).toBe(129);
    expect(verifyPacketRsa(link.publicContent, m, digest)).toBe(true);
    expect(verifyPacketRsa(node.publicContent, m, digest)).toBe(false);
    expect(verifyPacketRsa(link.publicContent, m, sha224(Uint8Array.of(1, 2)))).toBe(false);
    expect(verifyPacketRsa(link.publicContent, m, digest.subarray(0, 27))).toBe(false);
  });
});
