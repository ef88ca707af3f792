/**
 * Why each search chose its gateway (`bmx7ctl explain tunnels`), as a pure function beside the
 * selection (selection.ts, docs/protocol.md §4.14 "Client side — gateway selection"): per search,
 * every announced network of its family, either a candidate with the terms of its tunnel metric
 * (path metric, announced bandwidth against minBandwidth, rating, hysteresis, crypt) and the rule
 * that put it above or below the candidate it was compared with, or excluded with the step it
 * failed. The result is plain JSON (the control protocol carries it as it is).
 */
import { UMETRIC_MAX, umetricToHuman } from '@bmx7/codec';
import { type Family, prefixToString } from './net.js';
import type { CryptLevel, TunOutConfig } from './options.js';
import {
  type AnnouncedNet,
  type Candidate,
  type Elimination,
  type ExclusionCode,
  effectiveMinBandwidth,
  type GatewayAnnouncement,
  type SelectionInput,
  selectDetailed,
} from './selection.js';

/** What crypt-tun's policy made of one search and gateway network (docs/protocol.md §4.13). */
export interface CryptTerms {
  /** The search's setting: its `/crypt`, else the node's `cryptTun`. */
  readonly setting: CryptLevel;
  /** What the gateway offers for the network (absent from its CRYPT_TUN: 0, plain only). */
  readonly offer: CryptLevel;
  /** Whether this node has a WireGuard peer for the gateway. */
  readonly peer: boolean;
  /** Why not, when `peer` is false. */
  readonly noPeer?: 'no-wireguard-here' | 'no-peer';
  readonly decision: 'plain' | 'encrypted' | 'none';
  /** With `/pq=1`: whether the gateway announces a KEM key (a post-quantum PSK is required). */
  readonly pq?: { readonly kem: boolean };
  /** Whether the search may use the network (what `admit` answers). */
  readonly admitted: boolean;
}

/** The terms of a candidate's tunnel metric (`_recalc_tun_bit_tree`). */
export interface ExplainedTerms {
  /** Path metric to the gateway, bit/s (0: no path). */
  readonly pathMetric: number;
  readonly hops: number;
  /** Announced bandwidth, bit/s. */
  readonly bandwidth: number;
  /** The search's minBandwidth as the reference keeps it (FM8-rounded). */
  readonly minBandwidth: number;
  /** What the bandwidth counts for: the maximum when ≥ minBandwidth, else itself. */
  readonly bandwidthCounted: number;
  /** min(path metric, bandwidth counted). */
  readonly e2eMetric: number;
  /** The search's rating, percent. */
  readonly rating: number;
  /** Percent added because the tunnel is in use (the search's hysteresis), else 0. */
  readonly hysteresis: number;
  readonly inUse: boolean;
  /** e2e × rating % × (100 + hysteresis) %; 0 when e2e is not routable. */
  readonly tunMetric: number;
  readonly pref: number;
  readonly ipMetric: number;
}

/** The rule that decided a comparison or an exclusion; a stable code and a sentence. */
export type RuleCode =
  /** The only candidate for its route. */
  | 'only'
  /** A higher path metric. */
  | 'path-metric'
  /** An announced bandwidth below minBandwidth limits the worse one. */
  | 'bandwidth'
  /** The searches' ratings differ. */
  | 'rating'
  /** The tunnel in use keeps its route within its hysteresis. */
  | 'hysteresis'
  /** Equal tunnel metrics: the order of search name, gateway id, tun6Id, network decides. */
  | 'tie'
  /** A shorter route around it has a higher tunnel metric and does not allow overlapping prefixes. */
  | 'overlap'
  | ExclusionCode;

export interface CandidateRef {
  readonly search: string;
  /** Node ids in upper-case hex, as `show originators` and the topology graph give them. */
  readonly gatewayId: string;
  readonly gatewayName: string;
  readonly network: string;
  readonly route: string;
}

export interface ExplainedCandidate {
  readonly gateway: { readonly id: string; readonly shortId: string; readonly name: string };
  /** The announced network and its tun6Id. */
  readonly network: string;
  readonly tun6Id: number;
  /** `selected`: its route is set; `beaten`: a candidate that lost its route; `excluded`: no candidate. */
  readonly verdict: 'selected' | 'beaten' | 'excluded';
  /** Candidates: the route (the longer of the searched and the announced network) and its rank in the search. */
  readonly route?: string;
  readonly rank?: number;
  readonly terms?: ExplainedTerms;
  /** crypt-tun's decision, where it ran. */
  readonly crypt?: CryptTerms;
  /** A selected candidate's tunnel device, once its route is set (absent: no route yet). */
  readonly tunnel?: { readonly dev: string; readonly crypt: 'plain' | 'encrypted' };
  readonly rule: {
    readonly code: RuleCode;
    readonly text: string;
    /** The candidate it was compared with (a selected one: the best that lost to it). */
    readonly versus?: CandidateRef;
  };
}

export interface SearchExplanation {
  /** The tunOut's name and searched network. */
  readonly search: string;
  readonly network: string;
  readonly family: Family;
  readonly settings: {
    readonly pref: number;
    readonly table: number;
    readonly ipMetric: number;
    readonly rating: number;
    readonly hysteresis: number;
    readonly minBandwidth: number;
    readonly minPrefixLen: number;
    readonly maxPrefixLen: number;
    readonly proto: number;
    readonly gwName?: string;
    readonly gwId?: string;
    readonly crypt?: CryptLevel;
    readonly pq?: boolean;
  };
  /** The selected candidates (one per route), best first. */
  readonly winners: readonly CandidateRef[];
  /** Candidates in rank order, then the excluded networks. */
  readonly candidates: readonly ExplainedCandidate[];
}

export interface TunnelsExplanation {
  readonly searches: readonly SearchExplanation[];
}

export interface ExplainInput extends SelectionInput {
  /** crypt-tun's terms for a search and gateway network (those `admit` was asked about). */
  readonly crypt?: (
    search: TunOutConfig,
    gateway: GatewayAnnouncement,
    net: AnnouncedNet,
  ) => CryptTerms | undefined;
  /** The device carrying a selected candidate, once its route is set. */
  readonly tunnelOf?: (c: Candidate) => { dev: string; crypt: 'plain' | 'encrypted' } | undefined;
}

const shortIdOf = (id: string) => id.slice(0, 8).toUpperCase();

function refOf(c: Candidate): CandidateRef {
  return {
    search: c.search.name,
    gatewayId: c.gateway.id.toUpperCase(),
    gatewayName: c.gateway.name,
    network: prefixToString(c.net.network),
    route: prefixToString(c.route),
  };
}

function termsOf(c: Candidate): ExplainedTerms {
  const minBandwidth = effectiveMinBandwidth(c.search);
  return {
    pathMetric: c.gateway.pathMetric,
    hops: c.gateway.hops,
    bandwidth: c.advBandwidth,
    minBandwidth,
    bandwidthCounted: c.advBandwidth >= minBandwidth ? Number(UMETRIC_MAX) : c.advBandwidth,
    e2eMetric: c.e2eMetric,
    rating: c.search.rating,
    hysteresis: c.active ? c.search.hysteresis : 0,
    inUse: c.active,
    tunMetric: c.tunMetric,
    pref: c.search.pref,
    ipMetric: c.search.ipMetric,
  };
}

/** A candidate's name in a sentence: `gw2`, with the search when it is another one. */
function who(c: Candidate, search: TunOutConfig): string {
  const name = c.gateway.name || shortIdOf(c.gateway.id);
  return c.search === search ? name : `${name} (tunOut=${c.search.name})`;
}

/** The tunnel metric a candidate would have without its hysteresis. */
const withoutHysteresis = (c: Candidate): number =>
  c.active ? Math.floor((c.e2eMetric * c.search.rating) / 100) : c.tunMetric;

/**
 * Why `a` ranks above `b` for the same route (`rank` in selection.ts: same rule preference, ipMetric
 * and route, so the tunnel metric decides, then the tie order).
 */
function compare(a: Candidate, b: Candidate): { code: RuleCode; text: string } {
  const m = umetricToHuman;
  if (a.tunMetric === b.tunMetric) {
    return {
      code: 'tie',
      text: `equal tunnel metric ${m(a.tunMetric)}: the tie goes by search name, then gateway id (${shortIdOf(a.gateway.id)} before ${shortIdOf(b.gateway.id)})`,
    };
  }
  if (a.active && withoutHysteresis(a) <= b.tunMetric) {
    return {
      code: 'hysteresis',
      text: `in use: tunnel metric ${m(withoutHysteresis(a))} +${a.search.hysteresis}% hysteresis = ${m(a.tunMetric)} > ${m(b.tunMetric)}`,
    };
  }
  const despite = b.active ? ` (despite +${b.search.hysteresis}% hysteresis of the tunnel in use)` : '';
  if (a.e2eMetric > b.e2eMetric) {
    const bBw = termsOf(b);
    if (bBw.bandwidthCounted < b.gateway.pathMetric) {
      return {
        code: 'bandwidth',
        text: `${b.gateway.name || shortIdOf(b.gateway.id)}'s announced bandwidth ${m(b.advBandwidth)} is below minBandwidth ${m(bBw.minBandwidth)} and limits it to ${m(b.e2eMetric)}; tunnel metric ${m(a.tunMetric)} > ${m(b.tunMetric)}${despite}`,
      };
    }
    return {
      code: 'path-metric',
      text: `higher path metric ${m(a.gateway.pathMetric)} > ${m(b.gateway.pathMetric)}; tunnel metric ${m(a.tunMetric)} > ${m(b.tunMetric)}${despite}`,
    };
  }
  return {
    code: 'rating',
    text: `rating ${a.search.rating}% against ${b.search.rating}%: tunnel metric ${m(a.tunMetric)} > ${m(b.tunMetric)}${despite}`,
  };
}

const EXCLUSION_TEXT: Record<
  ExclusionCode,
  (s: TunOutConfig, g: GatewayAnnouncement, n: AnnouncedNet) => string
> = {
  'no-bandwidth': () => 'excluded: announced with bandwidth 0 (ignored, as by the reference)',
  'no-endpoint': (_s, _g, n) => `excluded: no TUN6 endpoint for its tun6Id ${n.tun6Id}`,
  proto: (s, _g, n) => `excluded: /proto=${s.proto} does not match the announced protocol ${n.protoType}`,
  family: () => 'excluded: another address family',
  'max-prefix-len': (s, _g, n) =>
    `excluded: /${n.network.len} is longer than ${s.maxPrefixLen === 129 ? `the searched /${s.network.len} (maxPrefixLen 129)` : `maxPrefixLen ${s.maxPrefixLen}`}`,
  'min-prefix-len': (s, _g, n) =>
    `excluded: /${n.network.len} is shorter than ${s.minPrefixLen === 129 ? `the searched /${s.network.len} (minPrefixLen 129)` : `minPrefixLen ${s.minPrefixLen}`}`,
  network: (s) => `excluded: outside the searched network ${prefixToString(s.network)}`,
  'gw-name': (s, g) => `excluded: /gwName=${s.gwName} does not match ${g.name || '(no name)'}`,
  'gw-id': (s) => `excluded: /gwId=${shortIdOf(s.gwId ?? '')}… does not match`,
  crypt: () => 'excluded by the crypt policy',
  'src-type': (s) => `excluded: /srcType=${s.srcType} (only 0 and 1 select)`,
  'src-net': (s) =>
    `excluded: /srcNet=${s.srcNet ? prefixToString(s.srcNet) : ''} is outside the gateway's ingress prefix`,
  'no-tun-dev': (_s, g, n) =>
    `excluded: no own tunDev with an IPv${n.network.family} address${g.ingress?.some((i) => i.tun6Id === n.tun6Id && i.prefix.family === n.network.family) ? " inside the gateway's ingress prefix" : ''}`,
};

const SETTING = ['plain', 'WireGuard where offered', 'WireGuard only'] as const;
const OFFER = ['plain only', 'plain and WireGuard', 'WireGuard only'] as const;

/** The sentence for crypt-tun's decision (docs/protocol.md §4.13's table). */
export function cryptText(t: CryptTerms): string {
  const setting = `this search wants ${SETTING[t.setting]} (crypt ${t.setting})`;
  const offer = `the gateway offers ${OFFER[t.offer]} (crypt ${t.offer})`;
  if (t.decision === 'none') {
    if (t.setting === 0 && t.offer === 2) return `crypt: ${offer}, ${setting}`;
    if (!t.peer && t.offer >= 1) {
      const why =
        t.noPeer === 'no-wireguard-here'
          ? 'this node has no WireGuard'
          : 'no WireGuard peer for the gateway (no usable key announced, or not trusted)';
      return `crypt: ${setting}, ${offer}, but ${why}`;
    }
    return `crypt: ${setting}, ${offer}`;
  }
  if (t.pq && !t.pq.kem) return 'crypt: /pq=1 needs a post-quantum PSK, and the gateway announces no KEM key';
  return `crypt: ${t.decision}`;
}

/** Explains the selection `input` gives (the same as `selectGateways(input)`). */
export function explainSelection(input: ExplainInput): TunnelsExplanation {
  const { result, eliminated, excluded } = selectDetailed(input);
  const cryptOf = (c: Pick<Candidate, 'search' | 'gateway' | 'net'>) =>
    input.crypt?.(c.search, c.gateway, c.net);
  // the best candidate each selected one took its route from (`eliminated` is filled in rank order)
  const runnerUp = new Map<Candidate, Candidate>();
  for (const [loser, e] of eliminated)
    if (e.kind === 'same-route' && !runnerUp.has(e.by)) runnerUp.set(e.by, loser);
  const searches = result.searches.map(({ search, candidates, winners }): SearchExplanation => {
    const explained: ExplainedCandidate[] = candidates.map((c, i) => {
      const base = {
        gateway: { id: c.gateway.id.toUpperCase(), shortId: shortIdOf(c.gateway.id), name: c.gateway.name },
        network: prefixToString(c.net.network),
        tun6Id: c.net.tun6Id,
        route: prefixToString(c.route),
        rank: i + 1,
        terms: termsOf(c),
        ...optional('crypt', cryptOf(c)),
        ...optional('tunnel', c.selected ? input.tunnelOf?.(c) : undefined),
      };
      if (c.selected) {
        const other = runnerUp.get(c);
        if (!other)
          return {
            ...base,
            verdict: 'selected',
            rule: { code: 'only', text: `the only candidate for ${prefixToString(c.route)}` },
          };
        const r = compare(c, other);
        return {
          ...base,
          verdict: 'selected',
          rule: { ...r, text: `above ${who(other, search)}: ${r.text}`, versus: refOf(other) },
        };
      }
      const e = eliminated.get(c) as Elimination;
      const r =
        e.kind === 'overlap'
          ? {
              code: 'overlap' as const,
              text: `the shorter route ${prefixToString(e.by.route)} has a higher tunnel metric (${umetricToHuman(e.by.tunMetric)} > ${umetricToHuman(c.tunMetric)}) and allowOverlappingPrefix / breakOverlappingPrefix do not keep this one`,
            }
          : compare(e.by, c);
      return {
        ...base,
        verdict: 'beaten',
        rule: { ...r, text: `below ${who(e.by, search)}: ${r.text}`, versus: refOf(e.by) },
      };
    });
    for (const x of excluded) {
      if (x.search !== search) continue;
      const crypt = x.code === 'crypt' ? cryptOf(x) : undefined;
      explained.push({
        gateway: { id: x.gateway.id.toUpperCase(), shortId: shortIdOf(x.gateway.id), name: x.gateway.name },
        network: prefixToString(x.net.network),
        tun6Id: x.net.tun6Id,
        verdict: 'excluded',
        ...optional('crypt', crypt),
        rule: {
          code: x.code,
          text: crypt ? `excluded: ${cryptText(crypt)}` : EXCLUSION_TEXT[x.code](search, x.gateway, x.net),
        },
      });
    }
    return {
      search: search.name,
      network: prefixToString(search.network),
      family: search.network.family,
      settings: {
        pref: search.pref,
        table: search.table,
        ipMetric: search.ipMetric,
        rating: search.rating,
        hysteresis: search.hysteresis,
        minBandwidth: effectiveMinBandwidth(search),
        minPrefixLen: search.minPrefixLen,
        maxPrefixLen: search.maxPrefixLen,
        proto: search.proto,
        ...optional('gwName', search.gwName),
        ...optional('gwId', search.gwId),
        ...optional('crypt', search.crypt),
        ...optional('pq', search.pq),
      },
      winners: winners.map(refOf),
      candidates: explained,
    };
  });
  return { searches };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: V };
}
