import type { PluginChildValues, PluginSettings } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { prefixToString } from './net.js';
import { parseBandwidth, parseTunSettings, TUN_PLUGIN_OPTIONS, TunConfigError } from './options.js';

const multi = (instances: Record<string, PluginChildValues>) => ({
  kind: 'multi' as const,
  instances: new Map(Object.entries(instances)),
});
const tunOut = (children: PluginChildValues): PluginSettings =>
  new Map([['tunOut', multi({ v6: { network: 'fdbb::/16', ...children } })]]);

describe('TUN_PLUGIN_OPTIONS (docs/protocol.md §5.4, tun.c)', () => {
  const byName = new Map(TUN_PLUGIN_OPTIONS.map((o) => [o.name, o]));
  const childrenOf = (n: string) => byName.get(n)!.children!.map((c) => c.name);

  it('has the reference options, children and order', () => {
    expect([...byName.keys()]).toEqual([
      'tunDevName',
      'proactiveTunRoutes',
      'tunOutTimeout',
      'tunMtu',
      'tunCatchDelay',
      'tunRealSrc',
      'tunDev',
      'tunIn',
      'tunOut',
    ]);
    expect(childrenOf('tunDev')).toEqual([
      'tun4Address',
      'tun6Address',
      'remote',
      'ingress4Prefix',
      'ingress6Prefix',
      'src4Type',
      'src4PrefixMin',
      'src6Type',
      'src6PrefixMin',
      'advProto',
    ]);
    // the reference's, then bmx7d's crypt-tun extension
    expect(childrenOf('tunIn')).toEqual(['network', 'bandwidth', 'tunDev', 'advProto', 'crypt']);
    expect(childrenOf('tunOut')).toEqual([
      'network',
      'srcNet',
      'proto',
      'setProto',
      'srcType',
      'gwName',
      'minPrefixLen',
      'maxPrefixLen',
      'allowOverlappingPrefix',
      'breakOverlappingPrefix',
      'gwId',
      'hysteresis',
      'rating',
      'minBandwidth',
      'ipMetric',
      'tableRule',
      'exportOnly',
      'exportDistance',
      'crypt',
      'wgPsk',
      'pq',
    ]);
  });

  it('has the reference defaults and ranges', () => {
    const child = (o: string, c: string) => byName.get(o)!.children!.find((x) => x.name === c)!;
    expect(byName.get('tunOutTimeout')).toMatchObject({ default: 60000, type: { min: 0, max: 1073741823 } });
    expect(byName.get('tunMtu')).toMatchObject({ default: 0, type: { min: 1280, max: 65535 } });
    expect(byName.get('tunDevName')).toMatchObject({ default: 'X7', when: 'init' });
    expect(child('tunOut', 'hysteresis')).toMatchObject({ default: 20, type: { min: 0, max: 100000 } });
    expect(child('tunOut', 'rating')).toMatchObject({ default: 100, type: { min: 0, max: 67008863 } });
    expect(child('tunOut', 'minPrefixLen')).toMatchObject({ default: 129, type: { min: 0, max: 129 } });
    expect(child('tunOut', 'maxPrefixLen')).toMatchObject({ default: 128, type: { min: 0, max: 129 } });
    expect(child('tunOut', 'ipMetric')).toMatchObject({ default: 1024, type: { min: 0, max: 2147483647 } });
    expect(child('tunOut', 'proto')).toMatchObject({ default: 256, type: { min: 0, max: 256 } });
    expect(child('tunOut', 'tableRule')).toMatchObject({ default: '32767/254' });
    expect(child('tunOut', 'network')).toMatchObject({ short: 'n', mandatory: true });
    expect(child('tunIn', 'bandwidth')).toMatchObject({ short: 'b', default: 1000 });
  });
});

describe('parseTunSettings', () => {
  it('gives the defaults of a bare search', () => {
    const c = parseTunSettings(tunOut({}));
    expect(c).toMatchObject({ tunDevName: 'X7', tunOutTimeout: 60000, tunMtu: 0, tunRealSrc: 0 });
    expect(c.tunOuts[0]).toMatchObject({
      name: 'v6',
      proto: 256,
      minPrefixLen: 129,
      maxPrefixLen: 128,
      allowOverlappingPrefix: true,
      breakOverlappingPrefix: true,
      hysteresis: 20,
      rating: 100,
      minBandwidth: 1000n,
      ipMetric: 1024,
      pref: 32767,
      table: 254,
      exportDistance: 256,
    });
    expect(prefixToString(c.tunOuts[0]!.network)).toBe('fdbb::/16');
  });

  it('reads values given as text or numbers, bandwidths with K/M/G, tableRule, gwId right-aligned', () => {
    const c = parseTunSettings(
      tunOut({ minBandwidth: '10M', tableRule: '3000/100', gwId: '6484B2ED', ipMetric: '7', rating: 50 }),
    );
    expect(c.tunOuts[0]).toMatchObject({
      minBandwidth: 10000000n,
      pref: 3000,
      table: 100,
      ipMetric: 7,
      rating: 50,
    });
    expect(c.tunOuts[0]!.gwId).toBe(`${'0'.repeat(48)}6484b2ed`);
    expect(parseBandwidth('257698037760')).toBe(257698037760n);
    expect(parseBandwidth('1G')).toBe(1000000000n);
    expect(parseBandwidth('1.5G')).toBeUndefined();
  });

  it('orders tunDevs by interface name and keeps tunIns in configuration order', () => {
    const c = parseTunSettings(
      new Map([
        ['tunDev', multi({ b: { tun6Address: 'fd01::1/64' }, a: { tun4Address: '10.1.1.1/24' } })],
        ['tunIn', multi({ z: { network: '10.0.0.0/8' }, y: { network: '::/0', bandwidth: '100M' } })],
      ]),
    );
    expect(c.tunDevs.map((d) => d.ifname)).toEqual(['X7a', 'X7b']);
    expect(prefixToString(c.tunDevs[0]!.tun4Address!.network)).toBe('10.1.1.0/24');
    expect(c.tunIns.map((t) => [t.name, t.bandwidth])).toEqual([
      ['z', 1000n],
      ['y', 100000000n],
    ]);
  });

  const refused: [string, PluginSettings, string, string | undefined][] = [
    ['missing network', tunOut({ network: '' }), 'tunOut=v6 /network: is mandatory', 'network'],
    ['host bits', tunOut({ network: 'fdbb::1/16' }), 'has bits set past its prefix length', 'network'],
    ['hysteresis range', tunOut({ hysteresis: 100001 }), 'out of range 0-100000', 'hysteresis'],
    ['rating not a number', tunOut({ rating: 'x' }), 'is not an integer', 'rating'],
    ['bandwidth too small', tunOut({ minBandwidth: 71 }), 'out of range 72-257698037760', 'minBandwidth'],
    ['bandwidth too large', tunOut({ minBandwidth: '258G' }), 'out of range', 'minBandwidth'],
    ['tableRule form', tunOut({ tableRule: '100' }), 'must be PREF/TABLE', 'tableRule'],
    ['tableRule vs HNA', tunOut({ tableRule: '70/100' }), 'greater than tablePrefHnas=70', 'tableRule'],
    ['tableRule table 255', tunOut({ tableRule: '100/255' }), 'TABLE 1-254', 'tableRule'],
    ['srcNet family', tunOut({ srcNet: '10.0.0.0/8' }), 'family of /network', 'srcNet'],
    ['gwId not hex', tunOut({ gwId: 'xyz' }), 'not a node id', 'gwId'],
    ['unknown child', tunOut({ bogus: 1 }), 'unknown child option', 'bogus'],
    [
      'tunDev address is a network',
      new Map([['tunDev', multi({ d: { tun6Address: 'fdaa::/64' } })]]),
      'an address inside it is required',
      'tun6Address',
    ],
    [
      'tunDev address family',
      new Map([['tunDev', multi({ d: { tun4Address: 'fdaa::1/64' } })]]),
      'not an IPv4 address',
      'tun4Address',
    ],
    [
      'tunIn device without prefix',
      new Map([['tunIn', multi({ n: { network: 'fdbb::/16', tunDev: 'dflt' } })]]),
      'beginning with X7',
      'tunDev',
    ],
    [
      'inconsistent tableRules',
      new Map([
        [
          'tunOut',
          multi({ a: { network: '::/0', tableRule: '100/10' }, b: { network: '::/0', tableRule: '101/10' } }),
        ],
      ]),
      'each table goes with one preference',
      'tableRule',
    ],
    [
      'tunMtu range',
      new Map([['tunMtu', { kind: 'single', value: 1000, children: {} }]]),
      'out of range 1280-65535',
      undefined,
    ],
  ];
  it.each(refused)('refuses %s naming option and child', (_n, s, message, child) => {
    let err: unknown;
    try {
      parseTunSettings(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TunConfigError);
    expect((err as TunConfigError).message).toContain(message);
    expect((err as TunConfigError).child).toBe(child);
    expect((err as TunConfigError).code).toBe('ERR_TUN_CONFIG');
  });

  it('refuses a sixteenth tunDev', () => {
    const devs = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`d${i}`, {}]));
    expect(() => parseTunSettings(new Map([['tunDev', multi(devs)]]))).toThrow(/at most 15/);
  });

  it('refuses a tunDevName whose longest device name would not fit Linux interface names', () => {
    const prefix = (v: string, opts = {}) =>
      parseTunSettings(new Map([['tunDevName', { kind: 'single', value: v, children: {} }]]), opts);
    expect(prefix('X7').tunDevName).toBe('X7');
    expect(prefix('Dr1').tunDevName).toBe('Dr1');
    for (const v of ['ABCD', 'bmx7x']) {
      let e: unknown;
      try {
        prefix(v);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(TunConfigError);
      expect((e as TunConfigError).option).toBe('tunDevName');
      expect((e as Error).message).toBe(
        `tunDevName: at most 3 characters ("${v}" has ${v.length}): the device names made from it, like <tunDevName>Out_<8 hex digits>, must fit Linux's 15-byte interface names`,
      );
    }
    // another plugin's longer names lower the limit
    expect(() => prefix('Dr1', { derivedSuffixLength: 13 })).toThrow(/at most 2 characters/);
    expect(prefix('Dr1', { derivedSuffixLength: 11 }).tunDevName).toBe('Dr1');
  });
});
