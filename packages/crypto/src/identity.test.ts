import { describe, expect, it } from 'vitest';
import {
  AUTO_IP6_PREFIX,
  ip6ToString,
  isAddressOfNode,
  MAX_TUNNEL_ENDPOINT_INDEX,
  nodeIdOf,
  primaryAddress,
  shortId,
  tunnelEndpointAddress,
} from './identity.js';

const id = Uint8Array.from(Buffer.from('0c4762413b5fb8f22e3d37b006be35a077a55ded1fe4eb34a8ccf825', 'hex'));

describe('identity', () => {
  it('short id is the first four bytes in upper-case hex', () => {
    expect(shortId(id)).toBe('0C476241');
  });

  it('primary address = fd70::/16 ‖ id bytes 0-13 (docs/protocol.md §4.6 example)', () => {
    expect(ip6ToString(primaryAddress(id))).toBe('fd70:c47:6241:3b5f:b8f2:2e3d:37b0:6be');
  });

  it('takes another byte-aligned prefix as create_crypto_IPv6 does', () => {
    const p = { address: Uint8Array.of(0xfd, 0x12, 0x34, ...new Array(13).fill(0)), length: 24 };
    expect(ip6ToString(primaryAddress(id, p))).toBe('fd12:340c:4762:413b:5fb8:f22e:3d37:b006');
    expect(() => primaryAddress(id, { ...p, length: 20 })).toThrow(
      expect.objectContaining({ code: 'ERR_CRYPTO_INPUT' }),
    );
  });

  it('tunnel endpoints: byte 1 + 1 + index (fd71, fd72 …), the rest as the primary address', () => {
    expect(ip6ToString(tunnelEndpointAddress(id, 0))).toBe('fd71:c47:6241:3b5f:b8f2:2e3d:37b0:6be');
    expect(ip6ToString(tunnelEndpointAddress(id, 1))).toBe('fd72:c47:6241:3b5f:b8f2:2e3d:37b0:6be');
    expect(ip6ToString(tunnelEndpointAddress(id, MAX_TUNNEL_ENDPOINT_INDEX))).toBe(
      'fd7e:c47:6241:3b5f:b8f2:2e3d:37b0:6be',
    );
    expect(() => tunnelEndpointAddress(id, MAX_TUNNEL_ENDPOINT_INDEX + 1)).toThrow();
    expect(() => tunnelEndpointAddress(id, -1)).toThrow();
    expect(isAddressOfNode(tunnelEndpointAddress(id, 3), id)).toBe(true);
  });

  it('isAddressOfNode checks bytes 2-15 against the id', () => {
    const a = primaryAddress(id);
    expect(isAddressOfNode(a, id, AUTO_IP6_PREFIX)).toBe(true);
    a[15]! ^= 1;
    expect(isAddressOfNode(a, id)).toBe(false);
    expect(isAddressOfNode(a.subarray(1), id)).toBe(false);
  });

  it('node id needs public-key content', () => {
    expect(() => nodeIdOf(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'ERR_CRYPTO_INPUT' }));
    expect(() => shortId(new Uint8Array(27))).toThrow();
  });

  it('formats IPv6 per RFC 5952', () => {
    const a = (s: string) => Uint8Array.from(Buffer.from(s.replaceAll(':', ''), 'hex'));
    expect(ip6ToString(a('00000000000000000000000000000000'))).toBe('::');
    expect(ip6ToString(a('00000000000000000000000000000001'))).toBe('::1');
    expect(ip6ToString(a('fe800000000000000000000000000001'))).toBe('fe80::1');
    expect(ip6ToString(a('20010db8000000010000000000000001'))).toBe('2001:db8:0:1::1');
    expect(ip6ToString(a('20010db8000000000001000000000001'))).toBe('2001:db8::1:0:0:1');
    expect(ip6ToString(a('20010db8000100010001000100010001'))).toBe('2001:db8:1:1:1:1:1:1');
    expect(ip6ToString(a('20010000000000010000000000000000'))).toBe('2001:0:0:1::');
  });
});
