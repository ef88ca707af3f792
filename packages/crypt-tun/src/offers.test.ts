import { CRYPT_TUN_FLAG, decodeTlvBody, TLV_TYPE } from '@bmx7/codec';
import type { PluginSetting } from '@bmx7/core';
import { parsePrefix, parseTunSettings } from '@bmx7/plugin-tun';
import { describe, expect, it } from 'vitest';
import { decodeOffers, offerFor, offersWireguard, ownBody, ownEntries } from './offers.js';

const multi = (instances: Record<string, Record<string, string | number>>): PluginSetting => ({
  kind: 'multi',
  instances: new Map(Object.entries(instances)),
});

const config = parseTunSettings(
  new Map([
    ['tunDev', multi({ dflt: { tun6Address: 'fdaa:3::1/64', tun4Address: '10.3.0.1/24' } })],
    [
      'tunIn',
      multi({
        up6: { network: '2001:db8:1::/64' },
        up4: { network: '192.0.2.0/24', crypt: 2 },
        lan: { network: '198.51.100.0/24', crypt: 0 },
      }),
    ],
  ]),
);

describe('crypt-tun offers (docs/protocol.md §4.13 "CRYPT_TUN")', () => {
  it('tunDev networks are SOURCE entries at cryptTun; tunIns at /crypt, else cryptTun', () => {
    const text = ownEntries(config, 1).map(
      (e) =>
        `${e.crypt} ${e.flags & CRYPT_TUN_FLAG.SOURCE ? 'S' : '-'} ${e.family} ${e.prefixLen} ${Buffer.from(e.address).toString('hex')}`,
    );
    expect(text).toEqual([
      '1 S 4 24 0a030000',
      '2 - 4 24 c0000200',
      '0 - 4 24 c6336400',
      `1 S 6 64 fdaa0003${'0'.repeat(24)}`,
      `1 - 6 64 20010db80001${'0'.repeat(20)}`,
    ]);
  });

  it('a node offering only plain announces nothing', () => {
    const plain = parseTunSettings(new Map([['tunDev', multi({ dflt: { tun6Address: 'fdaa:3::1/64' } })]]));
    expect(ownBody(plain, 0)).toBeUndefined();
    expect(offersWireguard(plain, 2)).toBe(false);
    // with one tunIn at /crypt=2 it announces even at cryptTun=0
    expect(ownBody(config, 0)).toBeDefined();
    expect(offersWireguard(config, 0)).toBe(true);
  });

  it('round trip through the codec: offers per network, sources with WireGuard only', () => {
    const body = ownBody(config, 1)!;
    expect(decodeTlvBody(TLV_TYPE.CRYPT_TUN, body).ok).toBe(true);
    const offers = decodeOffers(body);
    expect(offerFor(offers, parsePrefix('192.0.2.0/24')!)).toBe(2);
    expect(offerFor(offers, parsePrefix('2001:db8:1::/64')!)).toBe(1);
    expect(offerFor(offers, parsePrefix('198.51.100.0/24')!)).toBe(0);
    expect(offerFor(offers, parsePrefix('203.0.113.0/24')!)).toBe(0);
    expect(offers.sources).toEqual(['10.3.0.0/24', 'fdaa:3::/64']);
    expect(decodeOffers(ownBody(config, 2)).sources).toEqual(['10.3.0.0/24', 'fdaa:3::/64']);
  });

  it('a malformed or absent body offers nothing', () => {
    expect(decodeOffers(undefined).nets.size).toBe(0);
    expect(decodeOffers(new Uint8Array([1, 0, 9])).nets.size).toBe(0);
    expect(decodeOffers(new Uint8Array([0, 0])).sources).toEqual([]);
  });
});
