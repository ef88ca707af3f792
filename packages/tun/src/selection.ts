/**
 * Gateway selection as the reference's tun plugin does it (docs/protocol.md §4.14 "Client side —
 * gateway selection"), as a pure function: searches (tunOut) × the networks other nodes announce
 * (TUNxIN6_NET, tied to a TUN6 endpoint by tun6Id) → candidates, ranked, with the routes to set.
 *
 * Steps and the tun.c functions they follow:
 * - matching (`_add_tun_bit_node`): proto, family, min/maxPrefixLen, overlap of searched and
 *   announced network, gwName, gwId; srcType 0 or 1; srcNet inside the gateway's ingress prefix;
 *   an own tunDev with an address of the family, inside the gateway's ingress prefix
 *   (`find_matching_tun_in_node`). The route is the longer of the two networks.
 * - metrics (`_recalc_tun_bit_tree`): e2e = min(path metric, announced bandwidth, which counts as
 *   UMETRIC_MAX when ≥ the FM8-rounded minBandwidth); tunnel metric = e2e × rating / 100 ×
 *   (100 + hysteresis) / 100, the hysteresis only for a tunnel in use; 0 when e2e ≤ 65.
 * - order (the tun_bit_tree key): rule preference, ipMetric, family, longer route first, route
 *   address, higher tunnel metric.
 * - choice (`eval_tun_bit_tree`): within one (preference, ipMetric, family) range, the first
 *   candidate of a route wins it; a longer route inside a shorter one survives as
 *   allowOverlappingPrefix / breakOverlappingPrefix allow.
 */
import { fm8ToUmetric, UMETRIC_MAX, umetricToFm8 } from '@bmx7/codec';
import { compareBytes, type Family, type Prefix, prefixToString, sameNet } from './net.js';
import { PREFIX_LEN_OF_NETWORK, PROTO_ALL, type TunDevConfig, type TunOutConfig } from './options.js';

/** UMETRIC_MIN__NOT_ROUTABLE: an e2e metric at or below it gives tunnel metric 0. */
const UMETRIC_NOT_ROUTABLE = 65;

/** One TUNxIN6_NET entry of a gateway. */
export interface AnnouncedNet {
  readonly tun6Id: number;
  readonly protoType: number;
  /** FM8; entries with 0 are ignored, as by the reference. */
  readonly bandwidth: number;
  readonly network: Prefix;
}

/** What a gateway node announces, and the path to it. */
export interface GatewayAnnouncement {
  /** Node id, 56 lower-case hex digits. */
  readonly id: string;
  readonly name: string;
  /** Primary address (16 bytes): the outer remote end of tunnels to it. */
  readonly primaryIp: Uint8Array;
  /** Path metric in bit/s; 0 without a path. */
  readonly pathMetric: number;
  readonly hops: number;
  /** TUN6 endpoints; the index is the tun6Id. */
  readonly endpoints: readonly Uint8Array[];
  /** TUNxIN6_INGRESS prefixes. */
  readonly ingress?: readonly { readonly tun6Id: number; readonly prefix: Prefix }[];
  readonly nets: readonly AnnouncedNet[];
}

/** A tunnel in use: the search, the gateway and the announced network it routes. */
export interface ActiveTunnel {
  readonly search: string;
  readonly gatewayId: string;
  /** The announced network in text form (`fdbb::/16`). */
  readonly network: string;
}

export interface SelectionInput {
  readonly searches: readonly TunOutConfig[];
  readonly gateways: readonly GatewayAnnouncement[];
  /** The own tunDevs in interface-name order: one with an address of the family is required. */
  readonly tunDevs: readonly TunDevConfig[];
  /** Tunnels in use now (they get the hysteresis). */
  readonly active?: readonly ActiveTunnel[];
  /**
   * Whether a search may use a gateway's network at all (crypt-tun's policy); false leaves the
   * network out of that search, so the next best gateway wins it. Absent: every match counts.
   */
  readonly admit?: (search: TunOutConfig, gateway: GatewayAnnouncement, net: AnnouncedNet) => boolean;
}

export interface Candidate {
  readonly search: TunOutConfig;
  readonly gateway: GatewayAnnouncement;
  readonly net: AnnouncedNet;
  /** The route to set: the longer of the searched and the announced network. */
  readonly route: Prefix;
  /** The own tunDev whose address is the inner source. */
  readonly tunDev: TunDevConfig;
  /** The gateway's TUN6 endpoint for the net's tun6Id. */
  readonly endpoint: Uint8Array;
  /** The gateway's ingress prefix of the family, if announced. */
  readonly ingress: Prefix | undefined;
  /** Announced bandwidth in bit/s (from FM8). */
  readonly advBandwidth: number;
  readonly e2eMetric: number;
  readonly tunMetric: number;
  readonly active: boolean;
  /** Whether its route is set. */
  readonly selected: boolean;
}

export interface SearchResult {
  readonly search: TunOutConfig;
  /** Its candidates in rank order. */
  readonly candidates: readonly Candidate[];
  /** The selected ones (one per route). */
  readonly winners: readonly Candidate[];
  /** The best selected one. */
  readonly winner: Candidate | undefined;
}

export interface SelectionResult {
  /** Every candidate in rank order. */
  readonly order: readonly Candidate[];
  /** Per search, in the order of the input. */
  readonly searches: readonly SearchResult[];
  /** Announced networks no search matched, in the reference's order (proto, family, length, address). */
  readonly unmatched: readonly { readonly gateway: GatewayAnnouncement; readonly net: AnnouncedNet }[];
}

/** minBandwidth as the reference keeps it: rounded down to FM8. */
export function effectiveMinBandwidth(search: Pick<TunOutConfig, 'minBandwidth'>): number {
  return fm8ToUmetric(umetricToFm8(Number(search.minBandwidth)));
}

/** The e2e and tunnel metrics of one candidate (`_recalc_tun_bit_tree`). */
export function tunnelMetric(
  search: Pick<TunOutConfig, 'minBandwidth' | 'rating' | 'hysteresis'>,
  advBandwidth: number,
  pathMetric: number,
  active: boolean,
): { e2eMetric: number; tunMetric: number } {
  const quality = advBandwidth >= effectiveMinBandwidth(search) ? UMETRIC_MAX : advBandwidth;
  const e2e = Math.min(quality, pathMetric);
  if (e2e <= UMETRIC_NOT_ROUTABLE) return { e2eMetric: e2e, tunMetric: 0 };
  // Integer steps in 64 bits as the reference computes them.
  const rated = (BigInt(e2e) * BigInt(search.rating)) / 100n;
  const t = (rated * BigInt(100 + (active ? search.hysteresis : 0))) / 100n;
  return { e2eMetric: e2e, tunMetric: Number(t) };
}

/**
 * Why an announced network is no candidate of a search: the first step of `_add_tun_bit_node` (and
 * of crypt-tun's admission) it fails, in the order the selection checks them.
 */
export type ExclusionCode =
  /** Announced with bandwidth 0: the reference ignores the entry. */
  | 'no-bandwidth'
  /** No TUN6 endpoint for the entry's tun6Id. */
  | 'no-endpoint'
  | 'proto'
  | 'family'
  | 'max-prefix-len'
  | 'min-prefix-len'
  /** The announced and the searched network do not overlap. */
  | 'network'
  | 'gw-name'
  | 'gw-id'
  /** The crypt policy (crypt-tun's `admit`) leaves it out. */
  | 'crypt'
  | 'src-type'
  | 'src-net'
  | 'no-tun-dev';

/** The first test of `_add_tun_bit_node` (test A) a network fails for a search, or undefined. */
export function netMismatch(
  search: TunOutConfig,
  gateway: GatewayAnnouncement,
  net: AnnouncedNet,
): ExclusionCode | undefined {
  const s = search.network;
  const n = net.network;
  if (!(search.proto === PROTO_ALL || search.proto === net.protoType)) return 'proto';
  if (s.family !== n.family) return 'family';
  if (!(search.maxPrefixLen === PREFIX_LEN_OF_NETWORK ? s.len >= n.len : search.maxPrefixLen >= n.len))
    return 'max-prefix-len';
  if (!(search.minPrefixLen === PREFIX_LEN_OF_NETWORK ? s.len <= n.len : search.minPrefixLen <= n.len))
    return 'min-prefix-len';
  if (!sameNet(s.address, n.address, Math.min(s.len, n.len))) return 'network';
  if (search.gwName !== undefined && search.gwName !== gateway.name) return 'gw-name';
  if (search.gwId !== undefined && search.gwId !== gateway.id.toLowerCase()) return 'gw-id';
  return undefined;
}

/** Whether an announced network matches a search (`_add_tun_bit_node`, test A). */
export function netMatches(search: TunOutConfig, gateway: GatewayAnnouncement, net: AnnouncedNet): boolean {
  return netMismatch(search, gateway, net) === undefined;
}

/** The own tunDev a tunnel of this family uses (`find_matching_tun_in_node`). */
export function matchingTunDev(
  tunDevs: readonly TunDevConfig[],
  family: Family,
  ingress: Prefix | undefined,
): TunDevConfig | undefined {
  return tunDevs.find((d) => {
    const a = family === 4 ? d.tun4Address : d.tun6Address;
    if (!a) return false;
    if (!ingress) return true;
    return a.address.len >= ingress.len && sameNet(a.address.address, ingress.address, ingress.len);
  });
}

const cmp = (a: number, b: number): number => a - b;
const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The rank order (the tun_bit_tree key); ties, which the reference leaves to pointers, by names. */
function rank(a: Candidate, b: Candidate): number {
  return (
    cmp(a.search.pref, b.search.pref) ||
    cmp(a.search.ipMetric, b.search.ipMetric) ||
    cmp(a.route.family, b.route.family) ||
    cmp(b.route.len, a.route.len) ||
    compareBytes(a.route.address, b.route.address) ||
    cmp(b.tunMetric, a.tunMetric) ||
    cmpStr(a.search.name, b.search.name) ||
    cmpStr(a.gateway.id, b.gateway.id) ||
    cmp(a.net.tun6Id, b.net.tun6Id) ||
    cmpStr(prefixToString(a.net.network), prefixToString(b.net.network))
  );
}

type Draft = Omit<Candidate, 'selected'> & { selected: boolean };

/** Why a candidate's route is not set: the candidate ranked above it that took it (`eval_tun_bit_tree`). */
export interface Elimination {
  /** `same-route`: `by` has the same route and ranks above; `overlap`: `by` is a shorter route around it with a higher tunnel metric that overlapping-prefix settings do not let it keep. */
  readonly kind: 'same-route' | 'overlap';
  readonly by: Candidate;
}

/** A selection with the reasons behind it (what `explainSelection` reads). */
export interface DetailedSelection {
  readonly result: SelectionResult;
  /** Every candidate that is not selected, and why. */
  readonly eliminated: ReadonlyMap<Candidate, Elimination>;
  /**
   * Announced networks of a search's family that are no candidate of it, with the first step they
   * fail, in the order of the gateways and their networks.
   */
  readonly excluded: readonly {
    readonly search: TunOutConfig;
    readonly gateway: GatewayAnnouncement;
    readonly net: AnnouncedNet;
    readonly code: ExclusionCode;
  }[];
}

/** Ranks every candidate and chooses the routes. */
export function selectGateways(input: SelectionInput): SelectionResult {
  return selectDetailed(input).result;
}

/** `selectGateways`, and why each announced network is or is not used. */
export function selectDetailed(input: SelectionInput): DetailedSelection {
  const active = new Set(
    (input.active ?? []).map((a) => `${a.search}\n${a.gatewayId.toLowerCase()}\n${a.network}`),
  );
  const drafts: Draft[] = [];
  const matched = new Set<AnnouncedNet>();
  const known: { gateway: GatewayAnnouncement; net: AnnouncedNet }[] = [];
  const excluded: DetailedSelection['excluded'][number][] = [];

  for (const gateway of input.gateways) {
    for (const net of gateway.nets) {
      const endpoint = gateway.endpoints[net.tun6Id];
      const sameFamily = input.searches.filter((s) => s.network.family === net.network.family);
      if (net.bandwidth === 0 || !endpoint) {
        const code = net.bandwidth === 0 ? 'no-bandwidth' : 'no-endpoint';
        for (const search of sameFamily) excluded.push({ search, gateway, net, code });
        continue;
      }
      known.push({ gateway, net });
      const ingress = gateway.ingress?.find(
        (i) => i.tun6Id === net.tun6Id && i.prefix.family === net.network.family,
      )?.prefix;
      for (const search of input.searches) {
        const exclude = (code: ExclusionCode): void => {
          if (code !== 'family') excluded.push({ search, gateway, net, code });
        };
        const mismatch = netMismatch(search, gateway, net);
        if (mismatch) {
          exclude(mismatch);
          continue;
        }
        if (input.admit && !input.admit(search, gateway, net)) {
          exclude('crypt');
          continue;
        }
        if (search.srcType !== 0 && search.srcType !== 1) {
          exclude('src-type');
          continue;
        }
        const src = search.srcNet;
        if (
          src &&
          ingress &&
          !(src.len >= ingress.len && sameNet(src.address, ingress.address, ingress.len))
        ) {
          exclude('src-net');
          continue;
        }
        const tunDev = matchingTunDev(input.tunDevs, net.network.family, ingress);
        if (!tunDev) {
          exclude('no-tun-dev');
          continue;
        }
        const route = search.network.len > net.network.len ? search.network : net.network;
        const isActive = active.has(
          `${search.name}\n${gateway.id.toLowerCase()}\n${prefixToString(net.network)}`,
        );
        const advBandwidth = fm8ToUmetric(net.bandwidth);
        matched.add(net);
        drafts.push({
          search,
          gateway,
          net,
          route,
          tunDev,
          endpoint,
          ingress,
          advBandwidth,
          ...tunnelMetric(search, advBandwidth, gateway.pathMetric, isActive),
          active: isActive,
          selected: false,
        });
      }
    }
  }

  drafts.sort(rank);
  const eliminated = choose(drafts);

  const order: readonly Candidate[] = drafts;
  const searches = input.searches.map((search) => {
    const candidates = order.filter((c) => c.search === search);
    const winners = candidates.filter((c) => c.selected);
    return { search, candidates, winners, winner: winners[0] };
  });
  const unmatched = known
    .filter((k) => !matched.has(k.net))
    .sort(
      (a, b) =>
        cmp(a.net.protoType, b.net.protoType) ||
        cmp(a.net.network.family, b.net.network.family) ||
        cmp(a.net.network.len, b.net.network.len) ||
        compareBytes(a.net.network.address, b.net.network.address) ||
        cmpStr(a.gateway.id, b.gateway.id) ||
        cmp(a.net.tun6Id, b.net.tun6Id),
    );
  return { result: { order, searches, unmatched }, eliminated, excluded };
}

/**
 * `eval_tun_bit_tree`: marks the candidates whose routes are set, and returns why each other one is
 * not (the candidate that took its route, or the shorter route that forbids it).
 */
function choose(order: Draft[]): Map<Candidate, Elimination> {
  const why = new Map<Candidate, Elimination>();
  const sameRange = (a: Draft, b: Draft) =>
    a.search.pref === b.search.pref &&
    a.search.ipMetric === b.search.ipMetric &&
    a.route.family === b.route.family;
  const possible = order.map(() => true);
  let begin = -1;
  let allowLarger = true;
  for (let i = 0; i < order.length; i++) {
    const curr = order[i]!;
    if (begin < 0 || !sameRange(order[begin]!, curr)) {
      begin = i;
      allowLarger = true;
      for (let k = i; k < order.length && sameRange(order[begin]!, order[k]!); k++)
        if (!order[k]!.search.allowOverlappingPrefix) allowLarger = false;
    }
    if (!possible[i]) continue;
    for (let j = i + 1; j < order.length && sameRange(order[begin]!, order[j]!); j++) {
      const crash = order[j]!;
      if (
        curr.route.len === crash.route.len &&
        sameNet(curr.route.address, crash.route.address, crash.route.len)
      ) {
        // The same route: the first (best) candidate has it.
        if (possible[j]) why.set(crash, { kind: 'same-route', by: curr });
        possible[j] = false;
      } else if (allowLarger && curr.search.breakOverlappingPrefix) {
        break;
      } else if (
        !(crash.search.allowOverlappingPrefix && curr.search.breakOverlappingPrefix) &&
        sameNet(curr.route.address, crash.route.address, crash.route.len) &&
        crash.tunMetric > curr.tunMetric
      ) {
        // A shorter route around this one is better and does not allow it.
        possible[i] = false;
        why.set(curr, { kind: 'overlap', by: crash });
        break;
      }
    }
    curr.selected = possible[i]!;
  }
  return why;
}
