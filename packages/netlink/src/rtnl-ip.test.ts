import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToIp, ipToBytes, parsePrefix } from './rtnl-ip.js';

describe('IP text ↔ bytes', () => {
  it('canonical forms round-trip', () => {
    for (const t of [
      'fe80::1',
      '::',
      '::1',
      'fd70:c47:6241:3b5f:b8f2:2e3d:37b0:6be',
      '2001:db8::1:0:0:1',
      '10.0.0.1',
    ])
      expect(bytesToIp(ipToBytes(t))).toBe(t);
    expect(bytesToIp(ipToBytes('FE80:0:0:0:0:0:0:1'))).toBe('fe80::1');
    expect(bytesToIp(ipToBytes('::ffff:1.2.3.4'))).toBe('::ffff:102:304');
  });
  it('any 16 bytes survive text and back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect([...ipToBytes(bytesToIp(b))]).toEqual([...b]);
      }),
    );
  });
  it('prefixes', () => {
    expect(parsePrefix('fd70::1/16')).toMatchObject({ family: 10, prefixLen: 16 });
    expect(parsePrefix('fd70::1')).toMatchObject({ prefixLen: 128 });
    expect(() => parsePrefix('fd70::1/129')).toThrow(RangeError);
    expect(() => ipToBytes('nope')).toThrow(RangeError);
  });
});
