import { describe, expect, it } from 'vitest';
import { formatEndpoint, formatIp, formatPrefix, parseEndpoint, parseIp, parsePrefix } from './addr.js';

describe('addresses as wg prints them', () => {
  it('compresses IPv6 as RFC 5952 and inet_ntop do', () => {
    const cases: [string, string][] = [
      ['fd77:1:0:0:0:0:0:2', 'fd77:1::2'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['FD00::A', 'fd00::a'],
    ];
    for (const [input, out] of cases) {
      const a = parseIp(input);
      expect(a, input).toBeDefined();
      expect(formatIp(a!)).toBe(out);
    }
  });

  it('rejects what is not an address', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.256',
      '01.2.3.4',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      'g::1',
      'example.com',
      '1.2.3.4::',
      ':::',
    ]) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
  });

  it('clears host bits of prefixes and takes a bare address as a host prefix', () => {
    const p = (s: string) => {
      const r = parsePrefix(s);
      return r.ok ? formatPrefix(r.value) : r.reason;
    };
    expect(p('10.1.2.3/24')).toBe('10.1.2.0/24');
    expect(p('fd77:2::1/64')).toBe('fd77:2::/64');
    expect(p('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(p('10.0.0.1')).toBe('10.0.0.1/32');
    expect(p('fd00::1')).toBe('fd00::1/128');
    expect(p('10.0.0.0/33')).toMatch(/0 to 32/);
    expect(p('fd00::/129')).toMatch(/0 to 128/);
    expect(p('10.0.0.0/-1')).toMatch(/prefix length/);
  });

  it('parses endpoints with the port, IPv6 in brackets and a numeric scope, and no hostnames', () => {
    const e = (s: string) => {
      const r = parseEndpoint(s);
      return r.ok ? formatEndpoint(r.value) : 'bad';
    };
    expect(e('192.0.2.1:51820')).toBe('192.0.2.1:51820');
    expect(e('[fd77:1:0::2]:51820')).toBe('[fd77:1::2]:51820');
    expect(e('[fe80::1%3]:1')).toBe('[fe80::1%3]:1');
    for (const bad of [
      'fd77::1:51820',
      '[10.0.0.1]:5',
      'host.example:51820',
      '1.2.3.4:0',
      '1.2.3.4:65536',
      '[fe80::1%eth0]:5',
      '1.2.3.4',
    ]) {
      expect(e(bad), bad).toBe('bad');
    }
  });
});
