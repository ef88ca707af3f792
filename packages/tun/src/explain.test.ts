import type { PluginChildValues } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import {
  type CryptTerms,
  cryptText,
  type ExplainedCandidate,
  type ExplainInput,
  explainSelection,
} from './explain.js';
import { parsePrefix, prefixToString } from './net.js';
import type { TunOutConfig } from './options.js';
import { type ActiveTunnel, type GatewayAnnouncement, selectGateways } from './selection.js';
import { G, gw as gateway, id, M, ownDevs, searches } from './test/gateways.js';

/** The gateways of these tests are two hops away. */
const gw = (...[name, idChar, path, nets, extra]: Parameters<typeof gateway>) =>
  gateway(name, idChar, path, nets, { hops: 2, ...extra });

function explain(
  spec: Record<string, PluginChildValues>,
  gateways: GatewayAnnouncement[],
  more: Partial<ExplainInput> & { active?: ActiveTunnel[] } = {},
) {
  return explainSelection({ searches: searches(spec), gateways, tunDevs: ownDevs, ...more });
}

/** `verdict gateway network code` per candidate of the first (or named) search. */
const lines = (cs: readonly ExplainedCandidate[]) =>
  cs.map((c) => `${c.verdict} ${c.gateway.name} ${c.network} ${c.rule.code}`);

describe('explainSelection: candidates, terms and the deciding rule', () => {
  it('no gateways: a search without candidates or winner', () => {
    const e = explain({ s: { network: 'fdbb::/16' } }, []);
    expect(e.searches).toHaveLength(1);
    expect(e.searches[0]).toMatchObject({ search: 's', network: 'fdbb::/16', family: 6, winners: [] });
    expect(e.searches[0]!.candidates).toEqual([]);
    expect(explainSelection({ searches: [], gateways: [], tunDevs: ownDevs })).toEqual({ searches: [] });
  });

  it('the only candidate', () => {
    const [s] = explain({ s: { network: 'fdbb::/16' } }, [
      gw('a', 'a', G, ['fdbb::/16@1000000000']),
    ]).searches;
    expect(lines(s!.candidates)).toEqual(['selected a fdbb::/16 only']);
    expect(s!.candidates[0]).toMatchObject({ rank: 1, route: 'fdbb::/16', gateway: { shortId: 'AAAAAAAA' } });
    expect(s!.winners).toEqual([
      { search: 's', gatewayId: id('A'), gatewayName: 'a', network: 'fdbb::/16', route: 'fdbb::/16' },
    ]);
  });

  it('a higher path metric wins; the terms of both are given', () => {
    const [s] = explain({ s: { network: 'fdbb::/16' } }, [
      gw('a', 'a', 500 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 700 * M, ['fdbb::/16@1000000000']),
    ]).searches;
    expect(lines(s!.candidates)).toEqual([
      'selected b fdbb::/16 path-metric',
      'beaten a fdbb::/16 path-metric',
    ]);
    const [b, a] = s!.candidates;
    expect(b!.rule.text).toBe('above a: higher path metric 700M > 500M; tunnel metric 700M > 500M');
    expect(b!.rule.versus).toMatchObject({ gatewayName: 'a', search: 's' });
    expect(a!.rule.text).toBe('below b: higher path metric 700M > 500M; tunnel metric 700M > 500M');
    expect(a!.rule.versus).toMatchObject({ gatewayName: 'b' });
    expect(b!.terms).toEqual({
      pathMetric: 700 * M,
      hops: 2,
      bandwidth: expect.any(Number),
      minBandwidth: 960,
      bandwidthCounted: 257698037760,
      e2eMetric: 700 * M,
      rating: 100,
      hysteresis: 0,
      inUse: false,
      tunMetric: 700 * M,
      pref: 32767,
      ipMetric: 1024,
    });
  });

  it('hysteresis: the tunnel in use keeps its route within it, and loses beyond it', () => {
    const active = [{ search: 's', gatewayId: id('a'), network: 'fdbb::/16' }];
    const keep = explain(
      { s: { network: 'fdbb::/16' } },
      [gw('a', 'a', 500 * M, ['fdbb::/16@1000000000']), gw('b', 'b', 590 * M, ['fdbb::/16@1000000000'])],
      { active },
    ).searches[0]!;
    expect(lines(keep.candidates)).toEqual([
      'selected a fdbb::/16 hysteresis',
      'beaten b fdbb::/16 hysteresis',
    ]);
    expect(keep.candidates[0]!.rule.text).toBe(
      'above b: in use: tunnel metric 500M +20% hysteresis = 600M > 590M',
    );
    expect(keep.candidates[0]!.terms).toMatchObject({ inUse: true, hysteresis: 20, tunMetric: 600 * M });
    expect(keep.candidates[1]!.terms).toMatchObject({ inUse: false, hysteresis: 0, tunMetric: 590 * M });

    const lose = explain(
      { s: { network: 'fdbb::/16' } },
      [gw('a', 'a', 500 * M, ['fdbb::/16@1000000000']), gw('b', 'b', 610 * M, ['fdbb::/16@1000000000'])],
      { active },
    ).searches[0]!;
    expect(lines(lose.candidates)).toEqual([
      'selected b fdbb::/16 path-metric',
      'beaten a fdbb::/16 path-metric',
    ]);
    expect(lose.candidates[1]!.rule.text).toBe(
      'below b: higher path metric 610M > 500M; tunnel metric 610M > 600M (despite +20% hysteresis of the tunnel in use)',
    );
  });

  it('hysteresis: a higher metric that also needed it is told as hysteresis only when it decided', () => {
    // in use and better anyway: the path metric decided, not the hysteresis
    const e = explain(
      { s: { network: 'fdbb::/16' } },
      [gw('a', 'a', 700 * M, ['fdbb::/16@1000000000']), gw('b', 'b', 500 * M, ['fdbb::/16@1000000000'])],
      { active: [{ search: 's', gatewayId: id('a'), network: 'fdbb::/16' }] },
    ).searches[0]!;
    expect(lines(e.candidates)).toEqual([
      'selected a fdbb::/16 path-metric',
      'beaten b fdbb::/16 path-metric',
    ]);
  });

  it('minBandwidth: a bandwidth below it limits the metric and is named', () => {
    const [s] = explain({ s: { network: 'fdbb::/16', minBandwidth: '100M' } }, [
      gw('a', 'a', 900 * M, ['fdbb::/16@10000000']),
      gw('b', 'b', 50 * M, ['fdbb::/16@200000000']),
    ]).searches;
    expect(lines(s!.candidates)).toEqual(['selected b fdbb::/16 bandwidth', 'beaten a fdbb::/16 bandwidth']);
    expect(s!.candidates[1]!.terms).toMatchObject({ bandwidthCounted: s!.candidates[1]!.terms!.bandwidth });
    expect(s!.candidates[1]!.rule.text).toBe(
      "below b: a's announced bandwidth 9437K is below minBandwidth 92274K and limits it to 9437K; tunnel metric 50000K > 9437K",
    );
  });

  it('ties: equal tunnel metrics go by gateway id, and say so', () => {
    const [s] = explain({ s: { network: 'fdbb::/16' } }, [
      gw('z', 'b', 500 * M, ['fdbb::/16@1000000000']),
      gw('y', 'a', 500 * M, ['fdbb::/16@1000000000']),
    ]).searches;
    expect(lines(s!.candidates)).toEqual(['selected y fdbb::/16 tie', 'beaten z fdbb::/16 tie']);
    expect(s!.candidates[0]!.rule.text).toBe(
      'above z: equal tunnel metric 500M: the tie goes by search name, then gateway id (AAAAAAAA before BBBBBBBB)',
    );
  });

  it('rating: a route lost to a candidate of another search names that search', () => {
    const e = explain({ half: { network: 'fdbb::/16', rating: 50 }, full: { network: 'fdbb::/16' } }, [
      gw('a', 'a', 900 * M, ['fdbb::/16@1000000000']),
    ]);
    const half = e.searches.find((s) => s.search === 'half')!;
    const full = e.searches.find((s) => s.search === 'full')!;
    expect(lines(full.candidates)).toEqual(['selected a fdbb::/16 rating']);
    expect(full.candidates[0]!.rule.text).toBe(
      'above a (tunOut=half): rating 100% against 50%: tunnel metric 900M > 450M',
    );
    expect(lines(half.candidates)).toEqual(['beaten a fdbb::/16 rating']);
    expect(half.candidates[0]!.rule.versus).toMatchObject({ search: 'full' });
    expect(half.winners).toEqual([]);
  });

  it('separate ranges (ipMetric, tableRule) each set their route: both selected', () => {
    const e = explain(
      { hi: { network: 'fdbb::/16', ipMetric: 2000 }, lo: { network: 'fdbb::/16', ipMetric: 10 } },
      [gw('a', 'a', 500 * M, ['fdbb::/16@1000000000'])],
    );
    expect(e.searches.map((s) => lines(s.candidates))).toEqual([
      ['selected a fdbb::/16 only'],
      ['selected a fdbb::/16 only'],
    ]);
  });

  it('overlap: a better shorter route forbids a longer one inside it', () => {
    const [s] = explain({ s: { network: 'fdbb::/16', allowOverlappingPrefix: 0 } }, [
      gw('a', 'a', 900 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 100 * M, ['fdbb:1::/32@1000000000']),
    ]).searches;
    // longer routes rank first
    expect(lines(s!.candidates)).toEqual(['beaten b fdbb:1::/32 overlap', 'selected a fdbb::/16 only']);
    expect(s!.candidates[0]!.rule.text).toBe(
      'below a: the shorter route fdbb::/16 has a higher tunnel metric (900M > 100M) and allowOverlappingPrefix / breakOverlappingPrefix do not keep this one',
    );
    // overlapping routes allowed (the default): both selected, each alone for its route
    const [t] = explain({ s: { network: 'fdbb::/16' } }, [
      gw('a', 'a', 900 * M, ['fdbb::/16@1000000000']),
      gw('b', 'b', 100 * M, ['fdbb:1::/32@1000000000']),
    ]).searches;
    expect(lines(t!.candidates)).toEqual(['selected b fdbb:1::/32 only', 'selected a fdbb::/16 only']);
  });

  it.each([
    [
      'gwName',
      { gwName: 'b' },
      ['a', 'a', G, ['fdbb::/16@1000000']],
      'gw-name',
      'excluded: /gwName=b does not match a',
    ],
    [
      'gwId',
      { gwId: id('b') },
      ['a', 'a', G, ['fdbb::/16@1000000']],
      'gw-id',
      'excluded: /gwId=BBBBBBBB… does not match',
    ],
    [
      'proto',
      { proto: 3 },
      ['a', 'a', G, ['fdbb::/16@1000000:0']],
      'proto',
      'excluded: /proto=3 does not match the announced protocol 0',
    ],
    [
      'maxPrefixLen 129',
      { maxPrefixLen: 129 },
      ['a', 'a', G, ['fdbb:1::/32@1000000']],
      'max-prefix-len',
      'excluded: /32 is longer than the searched /16 (maxPrefixLen 129)',
    ],
    [
      'minPrefixLen default (129)',
      {},
      ['a', 'a', G, ['fd00::/8@1000000']],
      'min-prefix-len',
      'excluded: /8 is shorter than the searched /16 (minPrefixLen 129)',
    ],
    [
      'maxPrefixLen',
      { maxPrefixLen: 24 },
      ['a', 'a', G, ['fdbb:1::/32@1000000']],
      'max-prefix-len',
      'excluded: /32 is longer than maxPrefixLen 24',
    ],
    [
      'minPrefixLen',
      { minPrefixLen: 12 },
      ['a', 'a', G, ['fd00::/8@1000000']],
      'min-prefix-len',
      'excluded: /8 is shorter than minPrefixLen 12',
    ],
    [
      'network',
      {},
      ['a', 'a', G, ['fdcc::/16@1000000']],
      'network',
      'excluded: outside the searched network fdbb::/16',
    ],
    [
      'bandwidth 0',
      {},
      ['a', 'a', G, ['fdbb::/16@0']],
      'no-bandwidth',
      'excluded: announced with bandwidth 0 (ignored, as by the reference)',
    ],
    [
      'srcType',
      { srcType: 2 },
      ['a', 'a', G, ['fdbb::/16@1000000']],
      'src-type',
      'excluded: /srcType=2 (only 0 and 1 select)',
    ],
  ] as const)('excluded by %s', (_n, settings, [name, c, path, nets], code, text) => {
    const [s] = explain({ s: { network: 'fdbb::/16', ...settings } }, [
      gw(name, c, path, [...nets]),
    ]).searches;
    expect(s!.candidates).toEqual([
      expect.objectContaining({ verdict: 'excluded', network: expect.any(String), rule: { code, text } }),
    ]);
    expect(s!.candidates[0]!.terms).toBeUndefined();
    expect(s!.winners).toEqual([]);
  });

  it('excluded: no endpoint, no own tunDev, srcNet outside the ingress; another family is not listed', () => {
    const noEndpoint = explain({ s: { network: 'fdbb::/16' } }, [
      gw('a', 'a', G, ['fdbb::/16@1000000', '10.0.0.0/8@1000000'], { endpoints: [] }),
    ]).searches[0]!;
    expect(lines(noEndpoint.candidates)).toEqual(['excluded a fdbb::/16 no-endpoint']);
    const noDev = explainSelection({
      searches: searches({ s: { network: '10.0.0.0/8' } }),
      gateways: [gw('a', 'a', G, ['10.0.0.0/8@1000000'])],
      tunDevs: [],
    }).searches[0]!;
    expect(noDev.candidates[0]!.rule).toEqual({
      code: 'no-tun-dev',
      text: 'excluded: no own tunDev with an IPv4 address',
    });
    const ingress = [{ tun6Id: 0, prefix: parsePrefix('fdaa::/16')! }];
    const src = explain({ s: { network: 'fdbb::/16', srcNet: 'fdcc::/64' } }, [
      gw('a', 'a', G, ['fdbb::/16@1000000'], { ingress }),
    ]).searches[0]!;
    expect(lines(src.candidates)).toEqual(['excluded a fdbb::/16 src-net']);
    const outside = explain({ s: { network: 'fdbb::/16' } }, [
      gw('a', 'a', G, ['fdbb::/16@1000000'], { ingress: [{ tun6Id: 0, prefix: parsePrefix('fdcc::/16')! }] }),
    ]).searches[0]!;
    expect(outside.candidates[0]!.rule.text).toBe(
      "excluded: no own tunDev with an IPv6 address inside the gateway's ingress prefix",
    );
  });

  it('crypt: an excluded network gives the policy terms; a candidate carries its decision', () => {
    const byGateway: Record<string, CryptTerms> = {
      [id('a')]: { setting: 2, offer: 0, peer: false, noPeer: 'no-peer', decision: 'none', admitted: false },
      [id('b')]: { setting: 2, offer: 1, peer: true, decision: 'encrypted', admitted: true },
    };
    const crypt = (_s: TunOutConfig, g: GatewayAnnouncement) => byGateway[g.id];
    const [s] = explain(
      { s: { network: 'fdbb::/16' } },
      [gw('a', 'a', 900 * M, ['fdbb::/16@1000000000']), gw('b', 'b', 100 * M, ['fdbb::/16@1000000000'])],
      { admit: (_s, g) => byGateway[g.id]!.admitted, crypt },
    ).searches;
    expect(lines(s!.candidates)).toEqual(['selected b fdbb::/16 only', 'excluded a fdbb::/16 crypt']);
    expect(s!.candidates[0]!.crypt).toMatchObject({ decision: 'encrypted' });
    expect(s!.candidates[1]!.rule.text).toBe(
      'excluded: crypt: this search wants WireGuard only (crypt 2), the gateway offers plain only (crypt 0)',
    );
  });

  it.each([
    [
      { setting: 0, offer: 2, peer: true, decision: 'none' },
      'crypt: the gateway offers WireGuard only (crypt 2), this search wants plain (crypt 0)',
    ],
    [
      { setting: 2, offer: 0, peer: true, decision: 'none' },
      'crypt: this search wants WireGuard only (crypt 2), the gateway offers plain only (crypt 0)',
    ],
    [
      { setting: 2, offer: 1, peer: false, noPeer: 'no-wireguard-here', decision: 'none' },
      'crypt: this search wants WireGuard only (crypt 2), the gateway offers plain and WireGuard (crypt 1), but this node has no WireGuard',
    ],
    [
      { setting: 1, offer: 2, peer: false, noPeer: 'no-peer', decision: 'none' },
      'crypt: this search wants WireGuard where offered (crypt 1), the gateway offers WireGuard only (crypt 2), but no WireGuard peer for the gateway (no usable key announced, or not trusted)',
    ],
    [
      { setting: 2, offer: 1, peer: true, decision: 'encrypted', pq: { kem: false } },
      'crypt: /pq=1 needs a post-quantum PSK, and the gateway announces no KEM key',
    ],
    [{ setting: 1, offer: 0, peer: false, decision: 'plain' }, 'crypt: plain'],
  ] as const)('cryptText %j', (t, text) => {
    expect(cryptText({ admitted: false, ...t } as CryptTerms)).toBe(text);
  });

  it('a selected candidate names its tunnel once its route is set', () => {
    const [s] = explain({ s: { network: 'fdbb::/16' } }, [gw('a', 'a', G, ['fdbb::/16@1000000000'])], {
      tunnelOf: () => ({ dev: 'X7Out_AAAAAAAA', crypt: 'plain' }),
    }).searches;
    expect(s!.candidates[0]!.tunnel).toEqual({ dev: 'X7Out_AAAAAAAA', crypt: 'plain' });
  });

  it('agrees with selectGateways on random inputs, and is plain JSON', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const nets = ['fdbb::/16', 'fdbb:1::/32', 'fd00::/8', '10.0.0.0/8', '10.1.0.0/16'];
    for (let round = 0; round < 200; round++) {
      const gws = Array.from({ length: 1 + rnd(4) }, (_, i) =>
        gw(`g${i}`, 'abcdef'[i]!, (1 + rnd(10)) * 100 * M, [
          `${nets[rnd(nets.length)]}@${[0, 1000, 10 * M, G][rnd(4)]}`,
          `${nets[rnd(nets.length)]}@${G}`,
        ]),
      );
      const spec: Record<string, PluginChildValues> = {
        s6: {
          network: 'fdbb::/16',
          minPrefixLen: 0,
          maxPrefixLen: 128,
          allowOverlappingPrefix: rnd(2),
          minBandwidth: '1M',
        },
        s4: { network: '10.0.0.0/8', rating: 50 + rnd(100), maxPrefixLen: 32 },
        t6: { network: 'fdbb::/16', rating: 50 + rnd(100) },
      };
      const active: ActiveTunnel[] = gws
        .filter(() => rnd(3) === 0)
        .map((g) => ({
          search: ['s6', 's4', 't6'][rnd(3)]!,
          gatewayId: g.id,
          network: prefixToString(g.nets[0]!.network),
        }));
      const input = { searches: searches(spec), gateways: gws, tunDevs: ownDevs, active };
      const r = selectGateways(input);
      const e = explainSelection(input);
      expect(JSON.parse(JSON.stringify(e))).toEqual(e);
      for (const s of e.searches) {
        const want = r.searches.find((x) => x.search.name === s.search)!;
        expect(s.winners.map((w) => `${w.gatewayId} ${w.route}`)).toEqual(
          want.winners.map((w) => `${w.gateway.id.toUpperCase()} ${prefixToString(w.route)}`),
        );
        const cands = s.candidates.filter((c) => c.verdict !== 'excluded');
        expect(cands.map((c) => c.rank)).toEqual(cands.map((_, i) => i + 1));
        expect(cands.length).toBe(want.candidates.length);
        for (const c of cands) {
          if (c.verdict === 'beaten') expect(c.rule.versus, JSON.stringify(c)).toBeDefined();
          expect(c.rule.text.length).toBeGreaterThan(0);
        }
        for (const c of s.candidates.filter((x) => x.verdict === 'excluded'))
          expect(c.rule.text).toMatch(/^excluded/);
      }
    }
  });
});
