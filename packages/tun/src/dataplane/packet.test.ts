import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipv4Packet, ipv6Packet } from './compliance.js';
import {
  checkSpec,
  decapsulate,
  encapsulate,
  formatIPv6,
  matchTunnel,
  NEXT_HEADER_IPV4,
  NEXT_HEADER_IPV6,
  nextHeaderOf,
  parseIPv6,
} from './packet.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('IPv6 address text', () => {
  it.each([
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['fd70::1', 'fd700000000000000000000000000001'],
    ['fd71:1:2:3:4:5:6:7', 'fd710001000200030004000500060007'],
    ['1::', '00010000000000000000000000000000'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
    ['FD70:0:0:0:0:0:0:A', 'fd70000000000000000000000000000a'],
  ])('parses %s', (text, bytes) => {
    expect(hex(parseIPv6(text) as Uint8Array)).toBe(bytes);
  });

  it.each([
    '',
    ':',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    'fd70::g',
    '12345::',
    '10.0.0.1',
    '::1.2.3',
    '::256.0.0.1',
    '1:2:3:4:5:6:7::8',
    ' ::1',
  ])('refuses %j', (text) => {
    expect(parseIPv6(text)).toBeNull();
  });

  it('formats as RFC 5952 does', () => {
    expect(formatIPv6(parseIPv6('fd70:0:0:0:0:0:0:1') as Uint8Array)).toBe('fd70::1');
    expect(formatIPv6(parseIPv6('1:0:0:2:0:0:0:3') as Uint8Array)).toBe('1:0:0:2::3');
    expect(formatIPv6(parseIPv6('1:0:2:3:4:5:6:7') as Uint8Array)).toBe('1:0:2:3:4:5:6:7');
    expect(formatIPv6(new Uint8Array(16))).toBe('::');
  });

  it('round-trips any 16 bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect(parseIPv6(formatIPv6(b))).toEqual(b);
      }),
    );
  });
});

describe('encapsulation', () => {
  const outer = {
    local: parseIPv6('fd70::1') as Uint8Array,
    remote: parseIPv6('fd71::2') as Uint8Array,
    hopLimit: 64,
  };

  it('picks next header 4 for IPv4 and 41 for IPv6, and nothing for the rest', () => {
    expect(nextHeaderOf(ipv4Packet())).toBe(NEXT_HEADER_IPV4);
    expect(nextHeaderOf(ipv6Packet())).toBe(NEXT_HEADER_IPV6);
    expect(nextHeaderOf(new Uint8Array(0))).toBeNull();
    expect(nextHeaderOf(ipv4Packet().subarray(0, 19))).toBeNull();
    expect(nextHeaderOf(ipv6Packet().subarray(0, 39))).toBeNull();
    const v5 = ipv6Packet();
    v5[0] = 0x50;
    expect(nextHeaderOf(v5)).toBeNull();
  });

  it('writes the 40-byte header of ip6tnl without an encapsulation limit option', () => {
    const r = encapsulate(ipv4Packet(), outer);
    if (!r.ok) throw new Error(r.reason);
    expect(hex(r.value.subarray(0, 40))).toBe(`60000000001c0440${hex(outer.local)}${hex(outer.remote)}`);
    expect(r.value.subarray(40)).toEqual(ipv4Packet());
  });

  it('round-trips through decapsulate (property)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 40, max: 2000 }),
        fc.integer({ min: 1, max: 255 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (v4, len, hopLimit, local, remote) => {
          const inner = v4 ? ipv4Packet(len) : ipv6Packet(len);
          const e = encapsulate(inner, { local, remote, hopLimit });
          if (!e.ok) throw new Error(e.reason);
          const d = decapsulate(e.value);
          if (!d.ok) throw new Error(d.reason);
          expect(d.value).toEqual({
            source: local,
            destination: remote,
            nextHeader: v4 ? 4 : 41,
            hopLimit,
            inner,
          });
        },
      ),
    );
  });

  it('refuses truncated and bit-flipped headers without throwing', () => {
    const e = encapsulate(ipv6Packet(), outer);
    if (!e.ok) throw new Error(e.reason);
    for (let n = 0; n < e.value.length; n++) {
      const r = decapsulate(e.value.subarray(0, n));
      expect(r.ok).toBe(false);
    }
    let refused = 0;
    for (let bit = 0; bit < 8 * 48; bit++) {
      const p = e.value.slice();
      p[bit >> 3] = (p[bit >> 3] as number) ^ (1 << (bit & 7));
      const r = decapsulate(p);
      if (!r.ok) refused++;
    }
    // the version nibble, payload length, next header and inner version bits are checked
    expect(refused).toBeGreaterThan(8);
  });
});

describe('checkSpec', () => {
  const good = { name: 'X7Out_6484B2ED', local: 'fd71::1', remote: 'fd70::2', mtu: 1460 };
  it('takes a good spec and fills the default hop limit', () => {
    const r = checkSpec(good);
    expect(r.ok && r.value.hopLimit).toBe(64);
  });
  it.each([
    [{ name: 'X7Out_6484B2ED1' + 'x' }, /name/],
    [{ name: 'a b' }, /name/],
    [{ name: 'tun%d' }, /name/],
    [{ local: 'fd71::1/64' }, /local/],
    [{ remote: 'x' }, /remote/],
    [{ mtu: 65536 }, /mtu/],
    [{ hopLimit: 0 }, /hopLimit/],
  ])('refuses %j', (over, reason) => {
    const r = checkSpec({ ...good, ...over });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('matchTunnel (ip6tnl order)', () => {
  const a = (t: string) => parseIPv6(t) as Uint8Array;
  const exact = { id: 'exact', local: a('fd70::1'), remote: a('fd70::2') };
  const gw = { id: 'gw', local: a('fd70::1'), remote: a('::') };
  const anyLocal = { id: 'anyLocal', local: a('::'), remote: a('fd70::3') };
  const all = [gw, anyLocal, exact];
  it('prefers the exact pair, then any remote, then any local', () => {
    expect(matchTunnel(all, a('fd70::1'), a('fd70::2'))?.id).toBe('exact');
    expect(matchTunnel(all, a('fd70::1'), a('fd70::9'))?.id).toBe('gw');
    expect(matchTunnel(all, a('fd70::8'), a('fd70::3'))?.id).toBe('anyLocal');
    expect(matchTunnel(all, a('fd70::8'), a('fd70::9'))).toBeUndefined();
  });
});
