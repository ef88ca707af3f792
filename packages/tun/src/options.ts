/**
 * The tun plugin's options (docs/protocol.md §5.4 "Plugins", tun; the reference's tun.c and tun.h)
 * and the parser from the daemon's settings into typed records. Names, short aliases, defaults and
 * ranges are the reference's; where bmx7d is stricter or accepts more, the help and the comments
 * say so. This list is the source of truth for the tun options.
 */
import type { PluginOption, PluginOptionType, PluginOptionValue, PluginSettings } from '@bmx7/core';
import { IFNAME_MAX, TUN_DEV_NAME_MAX, tunDevNameLimit } from './names.js';
import {
  type Family,
  hasHostBits,
  maxLen,
  networkOf,
  type Prefix,
  parseAddress,
  parsePrefix,
} from './net.js';

/** UMETRIC_FM8_MIN and UMETRIC_MAX (= FM8 0xFF): the range of bandwidths (§4.10). */
export const BANDWIDTH_MIN = 72n;
export const BANDWIDTH_MAX = 257698037760n;
/** DEF_TUN_IN_BW, also the default of tunOut /minBandwidth. */
export const DEFAULT_BANDWIDTH = 1000n;
/** The interface-name prefix of tunnel devices (tunDevName). */
export const DEFAULT_TUN_DEV_NAME = 'X7';
/** At most 15 tunDevs: the endpoint's byte 1 is raised by 1 + the index (MAX_AUTO_TUNID_OCT). */
export const MAX_TUN_DEVS = 15;
/** tunOut /minPrefixLen and /maxPrefixLen value meaning "the searched network's length". */
export const PREFIX_LEN_OF_NETWORK = 129;
/** tunOut /proto value matching every announced protocol (TYP_TUN_PROTO_ALL). */
export const PROTO_ALL = 256;
/** tunOut /exportDistance value meaning "no export" (TYP_EXPORT_DISTANCE_INFINITE). */
export const EXPORT_DISTANCE_NONE = 256;
/** UMETRIC_MULTIPLY_MAX: bounds hysteresis and rating so that metric products stay in 64 bits. */
const UMETRIC_MULTIPLY_MAX = 2 ** 26 - 1;
export const HYSTERESIS_MAX = Math.min(100000, UMETRIC_MULTIPLY_MAX - 100);
export const RATING_MAX = Math.min(2147483647, UMETRIC_MULTIPLY_MAX - HYSTERESIS_MAX);
/** Names of tunOut and tunIn instances are shorter than NETWORK_NAME_LEN (32). */
const NETWORK_NAME_LEN = 32;
/** Hostnames of up to MAX_HOSTNAME_LEN characters are accepted as gwName. */
const MAX_HOSTNAME_LEN = 64;
/** tableRule bounds: preference MIN/MAX_IP_RULE_TUN, table MIN/MAX_IP_TABLE_TUN. */
const RULE_PREF = { min: 3, max: 65535 } as const;
const RULE_TABLE = { min: 1, max: 254 } as const;
export const DEFAULT_TABLE_RULE = '32767/254';

const int = (min: number, max: number): PluginOptionType => ({ kind: 'int', min, max });
const NAME: PluginOptionType = { kind: 'string', maxLength: NETWORK_NAME_LEN - 1 };
const NET: PluginOptionType = { kind: 'net', prefixRequired: true };
const NET4: PluginOptionType = { kind: 'net', family: 4, prefixRequired: true };
const NET6: PluginOptionType = { kind: 'net', family: 6, prefixRequired: true };
/** Bit/s, digits with an optional K, M or G (× 1000); the reference takes digits only. */
const BANDWIDTH: PluginOptionType = { kind: 'string', maxLength: 20 };

/** The options in the reference's order (tun.c's option table), the `tunnels` table excluded. */
export const TUN_PLUGIN_OPTIONS: readonly PluginOption[] = [
  {
    // The reference's syntax takes 5 characters (it shortens the gateway id in its names instead);
    // the check refuses a prefix whose longest device name would not fit (names.ts).
    name: 'tunDevName',
    type: { kind: 'string', maxLength: 5 },
    default: DEFAULT_TUN_DEV_NAME,
    when: 'init',
    help: `first letters of the tunnel interface names (at most ${TUN_DEV_NAME_MAX}: a client's tunnel <tunDevName>Out_<8 hex digits> must fit the ${IFNAME_MAX} bytes of an interface name)`,
  },
  {
    name: 'proactiveTunRoutes',
    type: int(0, 1),
    default: 1,
    help: 'route every network of a gateway into its dedicated tunnel once one packet needed it',
  },
  {
    name: 'tunOutTimeout',
    type: int(0, 1073741823),
    default: 60000,
    help: 'ms without traffic before a dedicated outgoing tunnel falls back to the catch-all device (0: dedicated at once)',
  },
  {
    // The reference's default 0 ("leave the MTU as it is") lies outside its range: it is only
    // reached by restoring the default (`tunMtu=-`).
    name: 'tunMtu',
    type: int(1280, 65535),
    default: 0,
    help: 'MTU of outgoing tunnels (default: leave it as the system sets it)',
  },
  {
    name: 'tunCatchDelay',
    type: int(0, 1000000),
    default: 100,
    help: 'µs to wait before sending a caught packet again through its new tunnel',
  },
  {
    name: 'tunRealSrc',
    type: int(0, 2),
    default: 0,
    help: '1: accept any outer source address of incoming tunnel packets; 2: use the primary address as outer source',
  },
  {
    name: 'tunDev',
    type: { kind: 'string', maxLength: IFNAME_MAX },
    multi: true,
    help: 'an incoming ip4/ip6-in-ip6 tunnel device <tunDevName><name> and the networks it announces',
    children: [
      { name: 'tun4Address', type: NET4, help: 'IPv4 address of the device; its network is announced' },
      { name: 'tun6Address', type: NET6, help: 'IPv6 address of the device; its network is announced' },
      {
        name: 'remote',
        type: { kind: 'net', family: 6 },
        help: 'announced endpoint address (default: derived from the primary address)',
      },
      {
        name: 'ingress4Prefix',
        type: NET4,
        help: 'IPv4 source prefix accepted from clients (ingress filter)',
      },
      {
        name: 'ingress6Prefix',
        type: NET6,
        help: 'IPv6 source prefix accepted from clients (ingress filter)',
      },
      {
        name: 'src4Type',
        type: int(0, 3),
        default: 0,
        help: 'IPv4 source address type (0 static/global, 1 static, 2 auto, 3 AHCP)',
      },
      {
        name: 'src4PrefixMin',
        type: int(0, 32),
        default: 0,
        help: 'IPv4 source prefix length for address autoconfiguration (0: none)',
      },
      {
        name: 'src6Type',
        type: int(0, 3),
        default: 0,
        help: 'IPv6 source address type (0 static/global, 1 static, 2 auto, 3 AHCP)',
      },
      {
        name: 'src6PrefixMin',
        type: int(0, 128),
        default: 0,
        help: 'IPv6 source prefix length for address autoconfiguration (0: none)',
      },
      {
        name: 'advProto',
        type: int(0, 255),
        default: 0,
        help: 'route protocol type announced with its networks',
      },
    ],
  },
  {
    name: 'tunIn',
    type: NAME,
    multi: true,
    help: 'a network this node announces as a gateway, by a unique name',
    children: [
      { name: 'network', short: 'n', type: NET, mandatory: true, help: 'the announced network' },
      {
        name: 'bandwidth',
        short: 'b',
        type: BANDWIDTH,
        default: Number(DEFAULT_BANDWIDTH),
        help: 'bandwidth to the network in bit/s, 72 to 257698037760 (K, M, G accepted)',
      },
      {
        name: 'tunDev',
        type: { kind: 'string', maxLength: IFNAME_MAX },
        help: 'the tunnel device (full interface name, e.g. X7dflt) announcing it; default: the first',
      },
      {
        name: 'advProto',
        type: int(0, 255),
        default: 0,
        help: 'route protocol type announced with the network',
      },
      {
        name: 'crypt',
        type: int(0, 2),
        help: 'with crypt-tun: 0 plain tunnels only, 1 plain and WireGuard, 2 WireGuard only',
      },
    ],
  },
  {
    name: 'tunOut',
    type: NAME,
    multi: true,
    help: 'a network this node searches through gateway tunnels, by a unique name',
    children: [
      { name: 'network', short: 'n', type: NET, mandatory: true, help: 'the searched network' },
      { name: 'srcNet', type: NET, help: 'additional source range to route through the tunnel' },
      {
        name: 'proto',
        type: int(0, PROTO_ALL),
        default: PROTO_ALL,
        help: 'announced route protocol type to accept (256: any)',
      },
      { name: 'setProto', type: int(0, 255), default: 0, help: 'route protocol type of the routes set' },
      {
        name: 'srcType',
        type: int(0, 3),
        default: 0,
        help: 'tunnel address allocation (0 static/global, 1 static, 2 auto, 3 AHCP)',
      },
      {
        name: 'gwName',
        type: { kind: 'string', maxLength: MAX_HOSTNAME_LEN },
        help: 'only the gateway of this hostname',
      },
      {
        name: 'minPrefixLen',
        type: int(0, PREFIX_LEN_OF_NETWORK),
        default: PREFIX_LEN_OF_NETWORK,
        help: "shortest announced prefix accepted (129: the searched network's)",
      },
      {
        name: 'maxPrefixLen',
        type: int(0, PREFIX_LEN_OF_NETWORK),
        default: 128,
        help: "longest announced prefix accepted (129: the searched network's)",
      },
      {
        name: 'allowOverlappingPrefix',
        type: int(0, 1),
        default: 1,
        help: 'allow routes of longer prefixes with a worse tunnel metric inside this one',
      },
      {
        name: 'breakOverlappingPrefix',
        type: int(0, 1),
        default: 1,
        help: 'let this route break routes of shorter prefixes with a better tunnel metric',
      },
      {
        name: 'gwId',
        type: { kind: 'string', maxLength: 56 },
        help: 'only the gateway of this node id (hex)',
      },
      {
        name: 'hysteresis',
        type: int(0, HYSTERESIS_MAX),
        default: 20,
        help: 'percent by which another gateway must be better than the one in use',
      },
      {
        name: 'rating',
        type: int(0, RATING_MAX),
        default: 100,
        help: 'percent applied to the metric of gateways matching this search against other searches',
      },
      {
        name: 'minBandwidth',
        type: BANDWIDTH,
        default: Number(DEFAULT_BANDWIDTH),
        help: 'bit/s from which an announced bandwidth counts as unlimited, 72 to 257698037760 (K, M, G accepted)',
      },
      { name: 'ipMetric', type: int(0, 2147483647), default: 1024, help: 'metric of the routes set' },
      {
        name: 'tableRule',
        type: { kind: 'string', maxLength: 12 },
        default: DEFAULT_TABLE_RULE,
        help: 'PREF/TABLE: policy rule preference and table of the routes',
      },
      {
        name: 'exportOnly',
        type: int(0, 1),
        default: 0,
        help: 'only export the routes (to a routing daemon), never set them',
      },
      {
        name: 'exportDistance',
        type: int(0, EXPORT_DISTANCE_NONE),
        default: EXPORT_DISTANCE_NONE,
        help: 'export distance of the routes (256: no export)',
      },
      {
        name: 'crypt',
        type: int(0, 2),
        help: 'with crypt-tun, instead of cryptTun: 0 plain, 1 WireGuard where the gateway offers it, 2 WireGuard only',
      },
      {
        name: 'wgPsk',
        type: { kind: 'file' },
        help: 'with crypt-tun: pre-shared key file for the WireGuard tunnels of this search, instead of wgPsk',
      },
      {
        name: 'pq',
        type: int(0, 1),
        help: "with crypt-tun: 1 builds this search's WireGuard tunnels only with a post-quantum pre-shared key",
      },
    ],
  },
];

/** An address of a device with its prefix length (`fdaa:3::1/64`). */
export interface DevAddress {
  /** The address (host bits kept) and prefix length. */
  readonly address: Prefix;
  /** Its network (host bits cleared): what TUNxIN6_NET announces. */
  readonly network: Prefix;
}

export interface TunDevConfig {
  /** The instance name as configured (`dflt`). */
  readonly name: string;
  /** The interface name: tunDevName + name (`X7dflt`). */
  readonly ifname: string;
  readonly tun4Address?: DevAddress;
  readonly tun6Address?: DevAddress;
  /** A configured endpoint address (16 bytes); absent: derived from the primary address. */
  readonly remote?: Uint8Array;
  readonly ingress4Prefix?: Prefix;
  readonly ingress6Prefix?: Prefix;
  readonly src4Type: number;
  readonly src4PrefixMin: number;
  readonly src6Type: number;
  readonly src6PrefixMin: number;
  readonly advProto: number;
}

export interface TunInConfig {
  readonly name: string;
  readonly network: Prefix;
  /** bit/s as configured. */
  readonly bandwidth: bigint;
  /** The announcing device's interface name; absent: the first tunDev. */
  readonly tunDev?: string;
  readonly advProto: number;
  /** `/crypt` (crypt-tun): 0 plain only, 1 plain and WireGuard, 2 WireGuard only; absent: not set. */
  readonly crypt?: CryptLevel;
}

/** A crypt-tun level: 0 plain, 1 WireGuard where possible, 2 WireGuard only. */
export type CryptLevel = 0 | 1 | 2;

export interface TunOutConfig {
  readonly name: string;
  readonly network: Prefix;
  readonly srcNet?: Prefix;
  readonly proto: number;
  readonly setProto: number;
  readonly srcType: number;
  readonly gwName?: string;
  /** 56 lower-case hex digits (shorter input is right-aligned, as the reference reads it). */
  readonly gwId?: string;
  /** 0–128, or 129 for the network's own length. */
  readonly minPrefixLen: number;
  readonly maxPrefixLen: number;
  readonly allowOverlappingPrefix: boolean;
  readonly breakOverlappingPrefix: boolean;
  readonly hysteresis: number;
  readonly rating: number;
  /** bit/s as configured (selection uses its FM8 rounding). */
  readonly minBandwidth: bigint;
  readonly ipMetric: number;
  /** Rule preference and table from tableRule. */
  readonly pref: number;
  readonly table: number;
  readonly exportOnly: boolean;
  readonly exportDistance: number;
  /** `/crypt` (crypt-tun): overrides the node's cryptTun for this search; absent: not set. */
  readonly crypt?: CryptLevel;
  /** `/wgPsk` (crypt-tun): the pre-shared key file of this search's WireGuard tunnels. */
  readonly wgPsk?: string;
  /** `/pq=1` (crypt-tun): no tunnel of this search without a post-quantum pre-shared key. */
  readonly pq?: boolean;
}

export interface TunConfig {
  readonly tunDevName: string;
  readonly proactiveTunRoutes: boolean;
  readonly tunOutTimeout: number;
  /** 0: leave the MTU as it is. */
  readonly tunMtu: number;
  readonly tunCatchDelay: number;
  readonly tunRealSrc: number;
  /** Ordered by interface name, as the reference keeps them: the index is the tun6Id. */
  readonly tunDevs: readonly TunDevConfig[];
  /** In configuration order. */
  readonly tunIns: readonly TunInConfig[];
  /** Ordered by name. */
  readonly tunOuts: readonly TunOutConfig[];
}

export interface ParseTunOptions {
  /** The core's tablePrefHnas and tableHnas (default 70 and 70): tableRule must stay clear of them. */
  readonly hnaRulePref?: number;
  readonly hnaTable?: number;
  /**
   * How many characters another plugin's device names add to tunDevName at most (crypt-tun's
   * WireGuard devices): tunDevName must leave room for them too.
   */
  readonly derivedSuffixLength?: number;
}

/** A refused tun option; `option` and `child` name it (STYLE.md rule 13). */
export class TunConfigError extends Error {
  override readonly name = 'TunConfigError';
  readonly code = 'ERR_TUN_CONFIG';
  readonly option: string;
  readonly instance: string | undefined;
  readonly child: string | undefined;
  constructor(option: string, instance: string | undefined, child: string | undefined, reason: string) {
    const where = `${option}${instance === undefined ? '' : `=${instance}`}${child === undefined ? '' : ` /${child}`}`;
    super(`${where}: ${reason}`);
    this.option = option;
    this.instance = instance;
    this.child = child;
  }
}

/** tun.c's name check (validate_name_string): letters, digits, `-`, `_`, and `.` inside. */
function validName(s: string): boolean {
  return /^[A-Za-z0-9_-]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?$/.test(s);
}

/** Parses a bandwidth: digits with an optional K, M or G (× 1000). */
export function parseBandwidth(value: PluginOptionValue): bigint | undefined {
  const m = /^(\d{1,15})([KMG]?)$/i.exec(String(value).trim());
  if (!m) return undefined;
  const mult = { '': 1n, K: 1000n, M: 1000000n, G: 1000000000n }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return BigInt(m[1]!) * mult;
}

/** Parses the plugin's settings; throws TunConfigError naming the option and child at fault. */
export function parseTunSettings(settings: PluginSettings, options: ParseTunOptions = {}): TunConfig {
  const single = (name: string, def: number): number => {
    const s = settings.get(name);
    if (!s) return def;
    if (s.kind !== 'single') throw new TunConfigError(name, undefined, undefined, 'takes one value');
    const spec = TUN_PLUGIN_OPTIONS.find((o) => o.name === name)!;
    return intValue(s.value, spec.type, (r) => new TunConfigError(name, undefined, undefined, r));
  };
  const instances = (name: string): [string, Readonly<Record<string, PluginOptionValue>>][] => {
    const s = settings.get(name);
    if (!s) return [];
    if (s.kind === 'single') return [[String(s.value), s.children]];
    return [...s.instances];
  };

  const prefixSetting = settings.get('tunDevName');
  const tunDevName =
    prefixSetting && prefixSetting.kind === 'single' ? String(prefixSetting.value) : DEFAULT_TUN_DEV_NAME;
  if (tunDevName.length > 5 || !validName(tunDevName))
    throw new TunConfigError('tunDevName', undefined, undefined, `invalid name prefix "${tunDevName}"`);
  const limit = tunDevNameLimit(
    options.derivedSuffixLength === undefined ? [] : [options.derivedSuffixLength],
  );
  if (tunDevName.length > limit)
    throw new TunConfigError(
      'tunDevName',
      undefined,
      undefined,
      `at most ${limit} characters ("${tunDevName}" has ${tunDevName.length}): the device names made from it, like <tunDevName>Out_<8 hex digits>, must fit Linux's ${IFNAME_MAX}-byte interface names`,
    );

  const tunMtu = single('tunMtu', -1);
  const tunDevs = instances('tunDev')
    .map(([name, ch]) => parseTunDev(tunDevName, name, ch))
    .sort((a, b) => (a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0));
  if (tunDevs.length > MAX_TUN_DEVS)
    throw new TunConfigError('tunDev', undefined, undefined, `at most ${MAX_TUN_DEVS} tunnel devices`);
  const tunIns = instances('tunIn').map(([name, ch]) => parseTunIn(tunDevName, name, ch));
  const tunOuts = instances('tunOut')
    .map(([name, ch]) => parseTunOut(name, ch, options))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Each table goes with one rule preference and the other way round (tun.c opt_tun_search).
  for (const a of tunOuts)
    for (const b of tunOuts)
      if (a !== b && (a.table === b.table) !== (a.pref === b.pref))
        throw new TunConfigError(
          'tunOut',
          b.name,
          'tableRule',
          `${b.pref}/${b.table} conflicts with tunOut=${a.name} /tableRule=${a.pref}/${a.table}: each table goes with one preference`,
        );

  return {
    tunDevName,
    proactiveTunRoutes: single('proactiveTunRoutes', 1) === 1,
    tunOutTimeout: single('tunOutTimeout', 60000),
    tunMtu: tunMtu === -1 ? 0 : tunMtu,
    tunCatchDelay: single('tunCatchDelay', 100),
    tunRealSrc: single('tunRealSrc', 0),
    tunDevs,
    tunIns,
    tunOuts,
  };
}

type Children = Readonly<Record<string, PluginOptionValue>>;

function childSpec(option: string, child: string) {
  return TUN_PLUGIN_OPTIONS.find((o) => o.name === option)!.children!.find((c) => c.name === child)!;
}

function intValue(value: PluginOptionValue, type: PluginOptionType, fail: (reason: string) => Error): number {
  const n = typeof value === 'number' ? value : /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n)) throw fail(`"${value}" is not an integer`);
  if (type.kind === 'int' && (n < type.min || n > type.max))
    throw fail(`${n} is out of range ${type.min}-${type.max}`);
  return n;
}

/** Reads the children of one instance, refusing unknown ones. */
function reader(option: string, instance: string, children: Children) {
  const spec = TUN_PLUGIN_OPTIONS.find((o) => o.name === option)!;
  for (const k of Object.keys(children))
    if (!spec.children!.some((c) => c.name === k))
      throw new TunConfigError(option, instance, k, 'unknown child option');
  const fail = (child: string) => (reason: string) => new TunConfigError(option, instance, child, reason);
  return {
    fail: (child: string, reason: string) => fail(child)(reason),
    has: (child: string) => children[child] !== undefined && children[child] !== '',
    str: (child: string) => (children[child] === undefined ? undefined : String(children[child])),
    int(child: string): number {
      const c = childSpec(option, child);
      const v = children[child] ?? c.default;
      return intValue(v!, c.type, fail(child));
    },
    /** A network (prefix required, no host bits) of the given family or either. */
    net(child: string, family?: Family): Prefix | undefined {
      const v = children[child];
      if (v === undefined || v === '') return undefined;
      const p = parsePrefix(String(v));
      if (!p) throw fail(child)(`"${v}" is not a network (address/length)`);
      if (family && p.family !== family) throw fail(child)(`"${v}" is not an IPv${family} network`);
      if (hasHostBits(p)) throw fail(child)(`"${v}" has bits set past its prefix length`);
      return p;
    },
    bandwidth(child: string): bigint {
      const v = children[child];
      if (v === undefined || v === '') return DEFAULT_BANDWIDTH;
      const bw = parseBandwidth(v);
      if (bw === undefined) throw fail(child)(`"${v}" is not a bandwidth (bit/s with optional K, M or G)`);
      if (bw < BANDWIDTH_MIN || bw > BANDWIDTH_MAX)
        throw fail(child)(`${bw} is out of range ${BANDWIDTH_MIN}-${BANDWIDTH_MAX}`);
      return bw;
    },
  };
}

function parseTunDev(prefix: string, name: string, children: Children): TunDevConfig {
  const ifname = `${prefix}${name}`;
  if (!validName(name) || ifname.length > IFNAME_MAX)
    throw new TunConfigError(
      'tunDev',
      name,
      undefined,
      `invalid name: letters, digits, - _ . and at most ${IFNAME_MAX} characters with the prefix ${prefix}`,
    );
  const r = reader('tunDev', name, children);
  const address = (child: string, family: Family): DevAddress | undefined => {
    const v = r.str(child);
    if (v === undefined || v === '') return undefined;
    const p = parsePrefix(v);
    if (!p || p.family !== family) throw r.fail(child, `"${v}" is not an IPv${family} address/length`);
    // HNA4_PREFIXLEN_MIN / HNA6_PREFIXLEN_MIN
    if (p.len < (family === 4 ? 8 : 32))
      throw r.fail(child, `prefix length ${p.len} is shorter than ${family === 4 ? 8 : 32}`);
    const network = networkOf(p);
    if (p.len < maxLen(family) && !hasHostBits(p))
      throw r.fail(child, `"${v}" is a network; an address inside it is required`);
    return { address: p, network };
  };
  let remote: Uint8Array | undefined;
  const rv = r.str('remote');
  if (rv !== undefined && rv !== '') {
    const a = parseAddress(rv.replace(/\/128$/, ''));
    if (a?.family !== 6) throw r.fail('remote', `"${rv}" is not an IPv6 address`);
    remote = a.address;
  }
  const out: {
    -readonly [K in keyof TunDevConfig]: TunDevConfig[K];
  } = {
    name,
    ifname,
    src4Type: r.int('src4Type'),
    src4PrefixMin: r.int('src4PrefixMin'),
    src6Type: r.int('src6Type'),
    src6PrefixMin: r.int('src6PrefixMin'),
    advProto: r.int('advProto'),
  };
  const t4 = address('tun4Address', 4);
  const t6 = address('tun6Address', 6);
  const i4 = r.net('ingress4Prefix', 4);
  const i6 = r.net('ingress6Prefix', 6);
  if (t4) out.tun4Address = t4;
  if (t6) out.tun6Address = t6;
  if (remote) out.remote = remote;
  if (i4) out.ingress4Prefix = i4;
  if (i6) out.ingress6Prefix = i6;
  return out;
}

function parseTunIn(prefix: string, name: string, children: Children): TunInConfig {
  if (name.length >= NETWORK_NAME_LEN || !validName(name))
    throw new TunConfigError(
      'tunIn',
      name,
      undefined,
      'invalid name: letters, digits, - _ . and at most 31 characters',
    );
  const r = reader('tunIn', name, children);
  const network = r.net('network');
  if (!network) throw r.fail('network', 'is mandatory');
  const out: { -readonly [K in keyof TunInConfig]: TunInConfig[K] } = {
    name,
    network,
    bandwidth: r.bandwidth('bandwidth'),
    advProto: r.int('advProto'),
  };
  const dev = r.str('tunDev');
  if (dev !== undefined && dev !== '') {
    if (dev.length > IFNAME_MAX || !validName(dev) || !dev.startsWith(prefix))
      throw r.fail(
        'tunDev',
        `invalid device name "${dev}": the full interface name, beginning with ${prefix}`,
      );
    out.tunDev = dev;
  }
  if (r.has('crypt')) out.crypt = r.int('crypt') as CryptLevel;
  return out;
}

function parseTunOut(name: string, children: Children, options: ParseTunOptions): TunOutConfig {
  if (name.length >= NETWORK_NAME_LEN || !validName(name))
    throw new TunConfigError(
      'tunOut',
      name,
      undefined,
      'invalid name: letters, digits, - _ . and at most 31 characters',
    );
  const r = reader('tunOut', name, children);
  const network = r.net('network');
  if (!network) throw r.fail('network', 'is mandatory');
  const srcNet = r.net('srcNet');
  if (srcNet && srcNet.family !== network.family) throw r.fail('srcNet', 'must be of the family of /network');

  const rule = r.str('tableRule') ?? DEFAULT_TABLE_RULE;
  const m = /^(\d{1,5})\/(\d{1,3})$/.exec(rule.trim());
  const pref = m ? Number(m[1]) : Number.NaN;
  const table = m ? Number(m[2]) : Number.NaN;
  if (!m || pref < RULE_PREF.min || pref > RULE_PREF.max || table < RULE_TABLE.min || table > RULE_TABLE.max)
    throw r.fail(
      'tableRule',
      `"${rule}" must be PREF/TABLE with PREF ${RULE_PREF.min}-${RULE_PREF.max} and TABLE ${RULE_TABLE.min}-${RULE_TABLE.max}`,
    );
  const hnaPref = options.hnaRulePref ?? 70;
  const hnaTable = options.hnaTable ?? 70;
  if (pref <= hnaPref || table === hnaTable)
    throw r.fail(
      'tableRule',
      `PREF must be greater than tablePrefHnas=${hnaPref} and TABLE must not be tableHnas=${hnaTable}`,
    );

  const out: { -readonly [K in keyof TunOutConfig]: TunOutConfig[K] } = {
    name,
    network,
    proto: r.int('proto'),
    setProto: r.int('setProto'),
    srcType: r.int('srcType'),
    minPrefixLen: r.int('minPrefixLen'),
    maxPrefixLen: r.int('maxPrefixLen'),
    allowOverlappingPrefix: r.int('allowOverlappingPrefix') === 1,
    breakOverlappingPrefix: r.int('breakOverlappingPrefix') === 1,
    hysteresis: r.int('hysteresis'),
    rating: r.int('rating'),
    minBandwidth: r.bandwidth('minBandwidth'),
    ipMetric: r.int('ipMetric'),
    pref,
    table,
    exportOnly: r.int('exportOnly') === 1,
    exportDistance: r.int('exportDistance'),
  };
  if (srcNet) out.srcNet = srcNet;
  if (r.has('crypt')) out.crypt = r.int('crypt') as CryptLevel;
  const psk = r.str('wgPsk');
  if (psk !== undefined && psk !== '' && psk !== '-') out.wgPsk = psk;
  if (r.has('pq') && r.int('pq') === 1) out.pq = true;
  const gwName = r.str('gwName');
  if (gwName !== undefined && gwName !== '') {
    if (gwName.length > MAX_HOSTNAME_LEN || !validName(gwName))
      throw r.fail('gwName', `invalid hostname "${gwName}"`);
    out.gwName = gwName;
  }
  const gwId = r.str('gwId');
  if (gwId !== undefined && gwId !== '') {
    if (!/^[0-9A-Fa-f]{1,56}$/.test(gwId))
      throw r.fail('gwId', `"${gwId}" is not a node id (up to 56 hex digits)`);
    const id = gwId.toLowerCase().padStart(56, '0');
    if (!/^0+$/.test(id)) out.gwId = id;
  }
  return out;
}
