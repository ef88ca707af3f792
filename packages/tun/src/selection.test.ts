import type { PluginChildValues } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { parsePrefix, prefixToString } from './net.js';
import type { TunDevConfig } from './options.js';
import {
  type ActiveTunnel,
  effectiveMinBandwidth,
  type GatewayAnnouncement,
  type SelectionResult,
  selectGateways,
  tunnelMetric,
} from './selection.js';
import { G, gw, id, M, ownDevs, searches } from './test/gateways.js';

/** `search gateway route` of the selected candidates, in rank order. */
const winners = (r: SelectionResult) =>
  r.order
    .filter((c) => c.selected)
    .map((c) => `${c.search.name} ${c.gateway.name} ${prefixToString(c.route)}`);

interface Case {
  name: string;
  searches: Record<string, PluginChildValues>;
  gateways: GatewayAnnouncement[];
  active?: ActiveTunnel[];
  tunDevs?: TunDevConfig[];
  /** Selected candidates in rank order. */
  want: string[];
  /** All candidates in rank order, when it matters. */
  order?: string[];
}

const cases: Case[] = [
  {
    name: 'prefix bounds: minPrefixLen 129 takes only networks inside the searched one',
    searches: { s: { network: 'fdbb::/16' } },
    gateways: [gw('a', 'a', G, ['fdbb:1::/32@1000000', 'fd00::/8@1000000', 'fdbb::/16@1000000'])],
    want: ['s a fdbb:1::/32', 's a fdbb::/16'],
  },
  {
    name: 'prefix bounds: minPrefixLen 8 takes a shorter network, routed as the searched one',
    searches: { s: { network: 'fdbb::/16', minPrefixLen: 8, maxPrefixLen: 16 } },
    gateways: [gw('a', 'a', G, ['fdbb:1::/32@1000000', 'fd00::/8@1000000'])],
    want: ['s a fdbb::/16'],
  },
  {
    name: 'prefix bounds: maxPrefixLen 129 takes nothing longer than the searched network',
    searches: { s: { network: 'fdbb::/16', maxPrefixLen: 129 } },
    gateways: [gw('a', 'a', G, ['fdbb:1::/32@1000000'])],
    want: [],
  },
  {
    name: 'family: an IPv4 search ignores IPv6 networks and uses the own tun4Address',
    searches: { s: { network: '0.0.0.0/0' } },
    gateways: [gw('a', 'a', G, ['10.0.0.0/8@1000000', 'fdbb::/16@1000000'])],
    want: ['s a 10.0.0.0/8'],
  },
  {
    name: 'gwName: only the named gateway',
    searches: { s: { network: 'fdbb::/16', gwName: 'b' } },
    gateways: [gw('a', 'a', 2 * G, ['fdbb::/16@1000000000']), gw('b', 'b', G, ['fdbb::/16@1000000000'])],
    want: ['s b fdbb::/16'],
  },
  {
    name: 'gwId: only the gateway of that id',
    searches: { s: { network: 'fdbb::/16', gwId: id('B') } },
    gateways: [gw('a', 'a', 2 * G, ['fdbb::/16@1000000000']), gw('b', 'b', G, ['fdbb::/16@1000000000'])],
    want: ['s b fdbb::/16'],
  },
  {
    name: 'proto: only networks announced with that protocol type',
    searches: { s: { network: 'fdbb::/16', proto: 3 } },
    gateways: [gw('a', 'a', 2 * G, ['fdbb::/16@1000000000:0']), gw('b', 'b', G, ['fdbb::/16@1000000000:3'])],
    want: ['s b fdbb::/16'],
  },
  {
    name: 'metric: the better path wins the route',
    searches: { s: { network: 'fdbb::/16' } },
    gateways: [
      gw('a', 'a', 500 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 700 * M, ['fdbb::/16@1000000000']),
    ],
    want: ['s b fdbb::/16'],
    order: ['s b fdbb::/16', 's a fdbb::/16'],
  },
  {
    name: 'rating: a search rated 50 % loses the route to one at 100 %',
    searches: { half: { network: 'fdbb::/16', rating: 50 }, full: { network: 'fdbb::/16' } },
    gateways: [
      gw('a', 'a', 900 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 600 * M, ['fdbb::/16@1000000000']),
    ],
    want: ['full a fdbb::/16'],
    order: ['full a fdbb::/16', 'full b fdbb::/16', 'half a fdbb::/16', 'half b fdbb::/16'],
  },
  {
    name: 'hysteresis: the gateway in use stays while the other is less than 20 % better',
    searches: { s: { network: 'fdbb::/16' } },
    gateways: [
      gw('a', 'a', 500 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 590 * M, ['fdbb::/16@1000000000']),
    ],
    active: [{ search: 's', gatewayId: id('a'), network: 'fdbb::/16' }],
    want: ['s a fdbb::/16'],
  },
  {
    name: 'hysteresis: the gateway in use loses to one more than 20 % better',
    searches: { s: { network: 'fdbb::/16' } },
    gateways: [
      gw('a', 'a', 500 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 610 * M, ['fdbb::/16@1000000000']),
    ],
    active: [{ search: 's', gatewayId: id('a'), network: 'fdbb::/16' }],
    want: ['s b fdbb::/16'],
  },
  {
    name: 'minBandwidth: a bandwidth below it limits the e2e metric',
    searches: { s: { network: 'fdbb::/16', minBandwidth: '100M' } },
    gateways: [gw('a', 'a', 900 * M, ['fdbb::/16@10000000']), gw('b', 'b', 50 * M, ['fdbb::/16@200000000'])],
    want: ['s b fdbb::/16'],
  },
  {
    name: 'minBandwidth: at or above it the bandwidth counts as unlimited',
    searches: { s: { network: 'fdbb::/16', minBandwidth: '1000' } },
    gateways: [gw('a', 'a', 900 * M, ['fdbb::/16@10000000']), gw('b', 'b', 50 * M, ['fdbb::/16@200000000'])],
    want: ['s a fdbb::/16'],
  },
  {
    name: 'ipMetric: different metrics are separate ranges, each sets its route, lower first',
    searches: { hi: { network: 'fdbb::/16', ipMetric: 2000 }, lo: { network: 'fdbb::/16', ipMetric: 10 } },
    gateways: [
      gw('a', 'a', 500 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 700 * M, ['fdbb::/16@1000000000']),
    ],
    want: ['lo b fdbb::/16', 'hi b fdbb::/16'],
  },
  {
    name: 'tableRule: the lower rule preference ranks first, each range sets its route',
    searches: {
      t1: { network: 'fdbb::/16', tableRule: '5000/100' },
      t2: { network: 'fdbb::/16', tableRule: '4000/99' },
    },
    gateways: [gw('a', 'a', 500 * M, ['fdbb::/16@1000000000'])],
    want: ['t2 a fdbb::/16', 't1 a fdbb::/16'],
  },
  {
    name: 'prefix length: longer routes rank first; overlapping routes coexist by default',
    searches: { s: { network: 'fdbb::/16' } },
    gateways: [
      gw('a', 'a', 900 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 100 * M, ['fdbb:1::/32@1000000000']),
    ],
    want: ['s b fdbb:1::/32', 's a fdbb::/16'],
  },
  {
    name: 'overlap not allowed: a better shorter route forbids a worse longer one inside it',
    searches: { s: { network: 'fdbb::/16', allowOverlappingPrefix: 0 } },
    gateways: [
      gw('a', 'a', 900 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 100 * M, ['fdbb:1::/32@1000000000']),
    ],
    want: ['s a fdbb::/16'],
  },
  {
    name: 'overlap not allowed: a longer route with the better metric stays',
    searches: { s: { network: 'fdbb::/16', allowOverlappingPrefix: 0 } },
    gateways: [
      gw('a', 'a', 100 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 900 * M, ['fdbb:1::/32@1000000000']),
    ],
    want: ['s b fdbb:1::/32', 's a fdbb::/16'],
  },
  {
    name: 'overlap broken: breakOverlappingPrefix 0 lets a better shorter route remove the longer one',
    searches: { s: { network: 'fdbb::/16', breakOverlappingPrefix: 0 } },
    gateways: [
      gw('a', 'a', 900 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 100 * M, ['fdbb:1::/32@1000000000']),
    ],
    want: ['s a fdbb::/16'],
  },
  {
    name: 'overlap: a longer route outside the shorter one is never affected',
    searches: { s: { network: 'fd00::/8', allowOverlappingPrefix: 0 } },
    gateways: [
      gw('a', 'a', 900 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 100 * M, ['fdcc:1::/32@1000000000']),
    ],
    want: ['s b fdcc:1::/32', 's a fdbb::/16'],
  },
  {
    name: 'own tunDev: none of the family, no candidate',
    searches: { s: { network: 'fdbb::/16' } },
    gateways: [gw('a', 'a', G, ['fdbb::/16@1000000'])],
    tunDevs: [],
    want: [],
  },
  {
    name: "ingress: the own tunDev address must lie in the gateway's ingress prefix",
    searches: { s: { network: 'fdbb::/16' } },
    gateways: [
      gw('a', 'a', G, ['fdbb::/16@1000000'], {
        ingress: [{ tun6Id: 0, prefix: parsePrefix('fdaa:2::/32')! }],
      }),
      gw('b', 'b', 1, ['fdbb::/16@1000000'], { ingress: [{ tun6Id: 0, prefix: parsePrefix('fdaa::/16')! }] }),
    ],
    want: ['s b fdbb::/16'],
  },
  {
    name: 'srcNet: must lie inside the ingress prefix; srcType 2 never matches',
    searches: {
      in: { network: 'fdbb::/16', srcNet: 'fdaa:1::/64' },
      out: { network: 'fdbb::/16', srcNet: 'fdcc::/64', tableRule: '300/1' },
      auto: { network: 'fdbb::/16', srcType: 2, tableRule: '400/2' },
    },
    gateways: [
      gw('a', 'a', G, ['fdbb::/16@1000000'], { ingress: [{ tun6Id: 0, prefix: parsePrefix('fdaa::/16')! }] }),
    ],
    want: ['in a fdbb::/16'],
  },
  {
    name: 'announcements without TUN6 endpoint or with bandwidth 0 are ignored',
    searches: { s: { network: 'fdbb::/16' } },
    gateways: [gw('a', 'a', G, ['fdbb::/16@1000000'], { endpoints: [] }), gw('b', 'b', G, ['fdbb::/16@0'])],
    want: [],
  },
];

describe('selectGateways (docs/protocol.md §4.14, tun.c eval_tun_bit_tree)', () => {
  it.each(cases)('$name', (c) => {
    const r = selectGateways({
      searches: searches(c.searches),
      gateways: c.gateways,
      tunDevs: c.tunDevs ?? ownDevs,
      active: c.active ?? [],
    });
    expect(winners(r)).toEqual(c.want);
    if (c.order)
      expect(r.order.map((x) => `${x.search.name} ${x.gateway.name} ${prefixToString(x.route)}`)).toEqual(
        c.order,
      );
  });

  it('gives per search its ranked candidates and winner, and the networks no search matched', () => {
    const r = selectGateways({
      searches: searches({ s: { network: 'fdbb::/16' }, none: { network: '10.0.0.0/8' } }),
      gateways: [gw('a', 'a', 500 * M, ['fdbb::/16@1000000000', 'fdaa:3::/64@257698037760'])],
      tunDevs: ownDevs,
    });
    expect(r.searches.map((s) => [s.search.name, s.candidates.length, s.winner?.gateway.name])).toEqual([
      ['none', 0, undefined],
      ['s', 1, 'a'],
    ]);
    expect(r.unmatched.map((u) => prefixToString(u.net.network))).toEqual(['fdaa:3::/64']);
  });
});

describe('tunnelMetric (tun.c _recalc_tun_bit_tree)', () => {
  const dflt = searches({ s: { network: 'fdbb::/16' } })[0]!;
  it("reproduces tun.pcap's n1: advBw 92274K, pathMtc 706M, tunMtc 847M in use", () => {
    // show=tunnels printed pathMtc 706M; a path metric of 706,000,000 bit/s
    const path = 706 * M;
    const adv = 92274688;
    expect(tunnelMetric(dflt, adv, path, false)).toEqual({ e2eMetric: path, tunMetric: path });
    expect(tunnelMetric(dflt, adv, path, true).tunMetric).toBe(Math.floor((path * 120) / 100));
    expect(Math.floor(tunnelMetric(dflt, adv, path, true).tunMetric / M)).toBe(847);
  });
  it('is 0 without a path, and the minimum bandwidth is FM8-rounded (1000 → 960)', () => {
    expect(tunnelMetric(dflt, 1e9, 0, false).tunMetric).toBe(0);
    expect(tunnelMetric(dflt, 1e9, 65, false).tunMetric).toBe(0);
    expect(effectiveMinBandwidth(dflt)).toBe(960);
    expect(tunnelMetric(dflt, 959, 1e9, false).e2eMetric).toBe(959);
    expect(
      tunnelMetric({ ...dflt, rating: 67008863, hysteresis: 100000 }, 1e12, 257698037760, true).tunMetric,
    ).toBe(Number((((257698037760n * 67008863n) / 100n) * 100100n) / 100n));
  });
});
