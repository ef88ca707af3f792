import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type ContentAdvFrame,
  type ContentItem,
  contentHash,
  type DescAdvFrame,
  type Description,
  decodePacket,
  decodeTlvBody,
  encodeDescription,
  encodeTlvBody,
  expandDescription,
  hashKey,
  ip6FromString,
  ip6ToString,
  readCapture,
  TLV_TYPE,
  toHex,
  udp6Datagrams,
} from '@bmx7/codec';
import { inflate } from '@bmx7/codec/zlib';
import { fixture } from '@bmx7/testenv/env';
import { describe, expect, it } from 'vitest';
// @bmx7/core does not export the description builder: the test takes it from the source, like the
// core's own test does; the fixture keys likewise come through the crypto package's source.
import { buildOwnDescription } from '../../core/src/descriptions.js';
import { rsaKeyFromDer } from '../../crypto/src/rsa.js';
import { bandwidthFm8, tunnelContributions, tunnelEndpoint } from './description.js';
import { parseTunSettings, type TunConfig } from './options.js';

const sha224 = (d: Uint8Array) => new Uint8Array(createHash('sha224').update(d).digest());
const TUN_TYPES = new Set<number>([
  TLV_TYPE.TUN6,
  TLV_TYPE.TUN4IN6_INGRESS,
  TLV_TYPE.TUN6IN6_INGRESS,
  TLV_TYPE.TUN4IN6_SRC,
  TLV_TYPE.TUN6IN6_SRC,
  TLV_TYPE.TUN4IN6_NET,
  TLV_TYPE.TUN6IN6_NET,
]);

/** Every description and content item in a capture (docs/protocol.md §4.5). */
function harvest(name: string) {
  const cap = readCapture(new Uint8Array(readFileSync(fixture(name))));
  if (!cap.ok) throw new Error(cap.reason);
  const descs: Description[] = [];
  const items = new Map<string, ContentItem>();
  for (const d of udp6Datagrams(cap.value, 6270)) {
    const r = decodePacket(d.payload);
    if (!r.ok) throw new Error(r.reason);
    for (const f of r.value.frames) {
      if (f.type === 2) descs.push((f as DescAdvFrame).description);
      if (f.type === 4) {
        const c = f as ContentAdvFrame;
        const hash = contentHash(sha224, c.body, c.nesting, c.gzip);
        items.set(hashKey(hash), { hash, nesting: c.nesting, gzip: c.gzip, body: c.body });
      }
    }
  }
  const expand = (d: Description) => {
    const x = expandDescription(d, (h) => items.get(hashKey(h)), { hash: sha224, inflate });
    if (!x.ok) throw new Error(x.reason);
    return new Map(x.value.tlvs.map((t) => [t.type, t.body] as const));
  };
  return { descs, expand };
}

const settings = (entries: [string, Record<string, Map<string, Record<string, string | number>>>][]) =>
  new Map(entries.map(([k, v]) => [k, { kind: 'multi' as const, instances: v['i']! }]));

// fixtures/bmx7-ref/README.md
const N1 = { key: 'n1', primary: 'fd70:c47:6241:3b5f:b8f2:2e3d:37b0:6be' };
const N3 = { key: 'n3', primary: 'fd70:6484:b2ed:c1c9:7e28:b611:6dc0:3894' };

describe('tunnel contributions (docs/protocol.md §4.14 "Gateway side")', () => {
  const n3Config = parseTunSettings(
    settings([
      ['tunDev', { i: new Map([['dflt', { tun6Address: 'fdaa:3::1/64' }]]) }],
      ['tunIn', { i: new Map([['net6', { network: 'fdbb::/16', bandwidth: 100000000 }]]) }],
    ]),
  );

  it('derives the endpoint from the primary address: byte 1 raised by 1 + index', () => {
    const p = ip6FromString(N3.primary);
    expect(ip6ToString(tunnelEndpoint(p, 0))).toBe('fd71:6484:b2ed:c1c9:7e28:b611:6dc0:3894');
    expect(ip6ToString(tunnelEndpoint(p, 14))).toBe('fd7f:6484:b2ed:c1c9:7e28:b611:6dc0:3894');
    expect(ip6ToString(tunnelEndpoint(p, 3, { remote: ip6FromString('fd00::9') }))).toBe('fd00::9');
  });

  it('rounds bandwidths down to FM8 as the reference (100 Mbit/s → 0xA3, 1000 → 960)', () => {
    expect(bandwidthFm8(100000000n)).toBe(0xa3);
    expect(bandwidthFm8(257698037760n)).toBe(0xff);
    expect(bandwidthFm8(1000n)).toBe(bandwidthFm8(960n));
  });

  /** Rebuilds every captured description of `node` that carries TUN6 from the plugin's contributions. */
  function rebuild(node: { key: string; primary: string }, config: TunConfig): number {
    const { descs, expand } = harvest('tun.pcap');
    const key = rsaKeyFromDer(new Uint8Array(readFileSync(fixture(`keys/${node.key}.der`))));
    const withTun = descs.filter((d) => toHex(d.nodeId) === toHex(key.id) && expand(d).has(TLV_TYPE.TUN6));
    const primary = ip6FromString(node.primary);
    const contrib = tunnelContributions(config, primary);
    for (const d of withTun) {
      const captured: Map<number, Uint8Array> = expand(d);
      const bodies = new Map<number, Uint8Array>();
      for (const [type, body] of captured) {
        if (type <= TLV_TYPE.VERSION || TUN_TYPES.has(type) || type === TLV_TYPE.HNA6) continue;
        bodies.set(type, body);
      }
      for (const [type, body] of contrib.bodies) bodies.set(type, body);
      bodies.set(
        TLV_TYPE.HNA6,
        encodeTlvBody({
          type: TLV_TYPE.HNA6,
          entries: [{ prefixLen: 128, flags: 0, address: primary }, ...contrib.hna6],
        }),
      );
      // The plugin's bodies equal the captured ones …
      expect([...captured.keys()].filter((t) => TUN_TYPES.has(t))).toEqual([...contrib.bodies.keys()]);
      for (const t of [...contrib.bodies.keys(), TLV_TYPE.HNA6])
        expect(toHex(bodies.get(t)!), `TLV ${t}`).toBe(toHex(captured.get(t)!));
      // … and the whole description, signature included, is rebuilt byte for byte.
      const built = buildOwnDescription({
        nodeKey: key,
        descSqn: d.version.descSqn,
        bootSqn: d.version.bootSqn,
        ogmSqnRange: d.version.ogmSqnRange,
        anchor: new Uint8Array([...d.version.anchorLink, ...d.version.anchorSeed]),
        compatibility: d.version.cv,
        bodies,
      });
      expect(toHex(built.bytes)).toBe(toHex(encodeDescription(d.tlvs)));
    }
    return withTun.length;
  }

  it('rebuilds gateway n3 of tun.pcap byte for byte (fixture key, captured non-tunnel bodies)', () => {
    const contrib = tunnelContributions(n3Config, ip6FromString(N3.primary));
    expect([...contrib.bodies.keys()]).toEqual([TLV_TYPE.TUN6, TLV_TYPE.TUN6IN6_NET]);
    const net = decodeTlvBody(TLV_TYPE.TUN6IN6_NET, contrib.bodies.get(TLV_TYPE.TUN6IN6_NET)!);
    expect(net.ok && net.value).toMatchObject({
      entries: [
        { tun6Id: 0, protoType: 0, bandwidth: 0xff, networkLen: 64 },
        { tun6Id: 0, protoType: 0, bandwidth: 0xa3, networkLen: 16 },
      ],
    });
    expect(rebuild(N3, n3Config)).toBeGreaterThan(0);
  });

  it('client n1 of tun.pcap: tunOut adds nothing; its tunDev alone gives TUN6 and its own network', () => {
    // n1 ran `tunDev=dflt /tun6Address=fdaa:1::1/64 tunOut=v6 /network=fdbb::/16` (§3).
    const n1Config = parseTunSettings(
      settings([
        ['tunDev', { i: new Map([['dflt', { tun6Address: 'fdaa:1::1/64' }]]) }],
        ['tunOut', { i: new Map([['v6', { network: 'fdbb::/16' }]]) }],
      ]),
    );
    const contrib = tunnelContributions(n1Config, ip6FromString(N1.primary));
    const net = decodeTlvBody(TLV_TYPE.TUN6IN6_NET, contrib.bodies.get(TLV_TYPE.TUN6IN6_NET)!);
    expect(net.ok && net.value.type === TLV_TYPE.TUN6IN6_NET && net.value.entries.length).toBe(1);
    expect(rebuild(N1, n1Config)).toBeGreaterThan(0);
    // Without its tunDev the client would announce no tunnel TLV at all.
    const bare = parseTunSettings(settings([['tunOut', { i: new Map([['v6', { network: 'fdbb::/16' }]]) }]]));
    expect(tunnelContributions(bare, ip6FromString(N1.primary)).bodies.size).toBe(0);
  });

  it('announces ingress prefixes, IPv4 networks, tunIn devices and ids in interface-name order', () => {
    const cfg = parseTunSettings(
      settings([
        [
          'tunDev',
          {
            i: new Map<string, Record<string, string | number>>([
              ['zz', { tun4Address: '10.0.9.1/24', ingress6Prefix: 'fd00:1::/32' }],
              ['aa', { tun6Address: 'fdaa:1::1/64', ingress4Prefix: '10.0.0.0/8', remote: 'fd01::1' }],
            ]),
          },
        ],
        [
          'tunIn',
          {
            i: new Map<string, Record<string, string | number>>([
              ['inet', { network: '0.0.0.0/0', bandwidth: '10M', tunDev: 'X7zz', advProto: 3 }],
              ['lost', { network: 'fdcc::/16', tunDev: 'X7none' }],
              ['v6', { network: 'fdcc::/16' }],
            ]),
          },
        ],
      ]),
    );
    const c = tunnelContributions(cfg, ip6FromString(N3.primary));
    expect(c.tunDevs.map((t) => [t.dev.ifname, t.tun6Id, ip6ToString(t.endpoint)])).toEqual([
      ['X7aa', 0, 'fd01::1'],
      ['X7zz', 1, 'fd72:6484:b2ed:c1c9:7e28:b611:6dc0:3894'],
    ]);
    expect(c.skipped).toEqual(['lost']);
    expect(c.hna6.map((e) => [ip6ToString(e.address), e.flags])).toEqual([
      ['fd01::1', 1],
      ['fd72:6484:b2ed:c1c9:7e28:b611:6dc0:3894', 1],
    ]);
    const dec = (t: number) => {
      const r = decodeTlvBody(t, c.bodies.get(t)!);
      if (!r.ok) throw new Error(r.reason);
      return r.value;
    };
    expect([...c.bodies.keys()].sort((a, b) => a - b)).toEqual([17, 18, 19, 22, 23]);
    expect(dec(TLV_TYPE.TUN4IN6_INGRESS)).toMatchObject({ entries: [{ tun6Id: 0, prefixLen: 8 }] });
    expect(dec(TLV_TYPE.TUN6IN6_INGRESS)).toMatchObject({ entries: [{ tun6Id: 1, prefixLen: 32 }] });
    expect(dec(TLV_TYPE.TUN4IN6_NET)).toMatchObject({
      entries: [
        { tun6Id: 1, bandwidth: 0xff, networkLen: 24, network: new Uint8Array([10, 0, 9, 0]) },
        { tun6Id: 1, protoType: 3, bandwidth: bandwidthFm8(10000000n), networkLen: 0 },
      ],
    });
    expect(dec(TLV_TYPE.TUN6IN6_NET)).toMatchObject({
      entries: [
        { tun6Id: 0, bandwidth: 0xff, networkLen: 64 },
        { tun6Id: 0, bandwidth: bandwidthFm8(1000n), networkLen: 16 },
      ],
    });
  });

  it('without tunDev announces nothing (§3)', () => {
    const cfg = parseTunSettings(settings([['tunIn', { i: new Map([['n', { network: 'fdbb::/16' }]]) }]]));
    const c = tunnelContributions(cfg, ip6FromString(N3.primary));
    expect(c.bodies.size).toBe(0);
    expect(c.hna6).toEqual([]);
    expect(c.skipped).toEqual(['n']);
  });
});
