import { describe, expect, it } from 'vitest';
import { canonicalIPv6, formatIPv6, hostOfPrefix, parseIPv6 } from './ipv6.js';

describe('ipv6 text', () => {
  it.each([
    ['fe80::1', 'fe80::1'],
    ['FE80:0:0:0:0:0:0:1', 'fe80::1'],
    ['fe80:0000::0001:0', 'fe80::1:0'],
    ['fd70:c47:6241:3b5f:b8f2:2e3d:37b0:6be', 'fd70:c47:6241:3b5f:b8f2:2e3d:37b0:6be'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::', '::'],
    ['::1', '::1'],
    ['fd70::/16', 'fd70::/16'],
  ])('%s → %s (RFC 5952)', (input, canonical) => {
    expect(canonicalIPv6(input)).toBe(canonical);
  });

  it('rejects what is not IPv6 text', () => {
    for (const bad of [
      '',
      'fe80',
      '1::2::3',
      'fe80::12345',
      '1:2:3:4:5:6:7:8:9',
      'g::1',
      '1:2:3:4:5:6:7::8',
    ]) {
      expect(parseIPv6(bad)).toBeUndefined();
    }
    expect(canonicalIPv6('eth0')).toBe('eth0');
  });

  it('round-trips groups', () => {
    const g = [0xfe80, 0, 0, 0, 0, 1, 0xabcd, 2];
    expect(parseIPv6(formatIPv6(g))).toEqual(g);
  });

  it('hostOfPrefix takes /128 prefixes and bare addresses only', () => {
    expect(hostOfPrefix('FD70::0001/128')).toBe('fd70::1');
    expect(hostOfPrefix('fd70::1')).toBe('fd70::1');
    expect(hostOfPrefix('fd70::/16')).toBeUndefined();
  });
});
