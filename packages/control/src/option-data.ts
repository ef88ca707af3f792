/**
 * The reference's options as data: the control options (queries, actions, client settings), the
 * core's parameters and the tun plugin's (docs/protocol.md §5.2 and §5.4). Names, short aliases,
 * defaults, ranges, order classes and relevance are the reference's; plugins of bmx7d register
 * theirs with `registerOptions`.
 */
import {
  type ChildOptionSpec,
  createOptionTable,
  type OptionSpec,
  type OptionTable,
  type OptionValueType,
  type Relevance,
} from './options.js';

const FLAG: OptionValueType = { kind: 'flag' };
const int = (min: number, max: number): OptionValueType => ({ kind: 'int', min, max });
const STR: OptionValueType = { kind: 'string' };
const NET6: OptionValueType = { kind: 'net', family: 6 };
const NET4: OptionValueType = { kind: 'net', family: 4 };
const IFNAME: OptionValueType = {
  kind: 'string',
  maxLength: 15,
  pattern: /^[^\s/]+$/,
  form: 'interface name',
};
/** A bandwidth or rate in bit/s, with an optional K, M or G suffix (`1000`, `100M`). */
const BANDWIDTH: OptionValueType = {
  kind: 'string',
  pattern: /^\d+[KMG]?$/i,
  form: 'bits/s with optional K, M or G',
};
const I32_MAX = 2147483647;

type Extra = Partial<Omit<OptionSpec, 'name' | 'type' | 'help'>>;

function opt(name: string, type: OptionValueType, help: string, extra: Extra = {}): OptionSpec {
  return { when: 'both', order: 9, relevance: 1, config: true, category: 'core', ...extra, name, type, help };
}

function num(
  name: string,
  def: number,
  min: number,
  max: number,
  help: string,
  extra: Extra = {},
): OptionSpec {
  return opt(name, int(min, max), help, { default: def, ...extra });
}

function child(
  name: string,
  type: OptionValueType,
  help: string,
  extra: { default?: number | string; short?: string; mandatory?: boolean; relevance?: Relevance } = {},
): ChildOptionSpec {
  return { ...extra, name, type, help };
}

const RELEVANCE_CHILD = child(
  'relevance',
  int(0, 2),
  'relevance of the columns shown: 2 high, 1 adds medium, 0 all',
  {
    short: 'r',
    default: 2,
  },
);

/** Tables the core shows (`show=<table>` or the table name as an option). */
export const CORE_TABLES = [
  'status',
  'interfaces',
  'links',
  'originators',
  'keys',
  'references',
  'contents',
  'credits',
  'trusted',
  'cpu',
] as const;

const tableQuery = (name: string, category = 'control'): OptionSpec =>
  opt(name, FLAG, `show the ${name} table`, {
    when: 'runtime',
    config: false,
    category,
    children: [RELEVANCE_CHILD],
  });

/** Queries, actions and client settings (the reference's control.c and the query commands of 5.3). */
export const CONTROL_OPTIONS: readonly OptionSpec[] = [
  opt('help', FLAG, 'summarize help', {
    short: 'h',
    order: 3,
    relevance: 2,
    config: false,
    category: 'control',
    children: [RELEVANCE_CHILD],
  }),
  opt('verboseHelp', FLAG, 'show verbose help', {
    short: 'H',
    order: 3,
    relevance: 2,
    config: false,
    category: 'control',
    children: [RELEVANCE_CHILD],
  }),
  opt('test', FLAG, 'check the remaining arguments and report, without applying them', {
    order: 0,
    config: false,
    category: 'control',
  }),
  opt(
    'debug',
    int(0, 12),
    'stream the log at this level: 0 system, 3 changes, 4 verbose, 5 profiling, 8 details, 11 testing, 12 traffic dump',
    {
      short: 'd',
      order: 0,
      relevance: 2,
      config: false,
      default: -1,
      category: 'control',
    },
  ),
  opt(
    'runtimeDir',
    { kind: 'dir' },
    'runtime directory holding pid and the control socket sock (must come before connect)',
    {
      default: '/var/run/bmx7',
      order: 2,
      when: 'init',
      category: 'control',
    },
  ),
  num('syslog', 1, 0, 1, 'disable or enable syslog warnings', { relevance: 2, category: 'control' }),
  opt('loopMode', FLAG, 'client: repeat the request every loopInterval ms', {
    short: 'l',
    order: 3,
    when: 'init',
    config: false,
    category: 'control',
  }),
  num('loopInterval', 1000, 100, 10000, 'client: period in ms of loopMode', {
    order: 3,
    when: 'init',
    config: false,
    category: 'control',
  }),
  opt('connect', FLAG, 'client mode: connect and forward the remaining arguments to the daemon', {
    short: 'c',
    order: 3,
    relevance: 2,
    when: 'init',
    config: false,
    eatsRest: true,
    category: 'control',
  }),
  opt('parameters', FLAG, 'show configured parameters', {
    short: 'p',
    relevance: 2,
    config: false,
    category: 'control',
  }),
  num('dbgMuteTimeout', 100000, 0, 10000000, 'timeout in ms for muting frequent messages', {
    category: 'control',
  }),
  opt('version', FLAG, 'show version, compatibility, node id and keys', {
    short: 'v',
    relevance: 2,
    config: false,
    category: 'control',
  }),
  opt('show', STR, 'show a table: status, interfaces, links, originators, keys, credits, ...', {
    short: 's',
    when: 'runtime',
    config: false,
    category: 'control',
    children: [RELEVANCE_CHILD],
  }),
  opt('list', STR, 'like show', {
    when: 'runtime',
    config: false,
    category: 'control',
    children: [RELEVANCE_CHILD],
  }),
  ...CORE_TABLES.map((t) => tableQuery(t)),
  opt('descriptions', FLAG, 'show the decoded descriptions of all known nodes', {
    when: 'runtime',
    relevance: 2,
    config: false,
    category: 'control',
    children: [
      child('type', int(0, 255), 'only description TLVs of this type', { short: 't' }),
      child('name', STR, 'only the node with this hostname', { short: 'n' }),
      RELEVANCE_CHILD,
    ],
  }),
  opt('flushAll', FLAG, 'purge all neighbours and routes', { when: 'runtime', config: false }),
  opt('descUpdate', FLAG, 'publish a new description now', { when: 'runtime', config: false }),
  opt('quit', FLAG, 'end the control connection', {
    short: '#',
    relevance: 0,
    when: 'runtime',
    config: false,
    category: 'control',
  }),
];

/** The core's parameters (docs/protocol.md §5.4 "Core"). */
export const CORE_OPTIONS: readonly OptionSpec[] = [
  opt('plugin', { kind: 'file' }, 'load a plugin', { multi: true, order: 2, relevance: 2, when: 'init' }),
  num('compatibility', 21, 19, 22, 'compatibility version of the wire format', { order: 3, when: 'init' }),
  opt('ipVersion', int(6, 6), 'IP version (only 6)', {
    short: 'I',
    order: 3,
    relevance: 2,
    when: 'init',
    default: 6,
    children: [
      child('policyRouting', int(0, 1), 'use policy routing', { default: 1 }),
      child('throwRules', int(0, 1), 'add throw rules', { default: 0 }),
      child('prioRules', int(0, 1), 'add priority rules', { default: 1 }),
      child('tablePrefHnas', int(3, 32767), 'rule preference of the announced-networks table', {
        default: 70,
      }),
      child('tableHnas', int(1, 254), 'routing table of announced networks', { default: 70 }),
    ],
  }),
  opt('nodeRsaKey', int(4, 8), 'node key type (6 = RSA2048); the key is generated when missing', {
    order: 4,
    when: 'init',
    default: 6,
    children: [
      child('keyPath', { kind: 'file' }, 'file of the node key (DER)', { default: '/etc/bmx7/rsa.der' }),
    ],
  }),
  opt(
    'hostname',
    { kind: 'string', maxLength: 63, pattern: /^[A-Za-z0-9._-]+$/, form: 'host name' },
    'name announced in the description (default: system hostname)',
    {
      order: 5,
      relevance: 0,
    },
  ),
  opt(
    'ipAutoPrefix',
    { kind: 'net', family: 6, prefixRequired: true },
    'prefix of the auto-configured primary address (must be /16)',
    {
      order: 6,
      when: 'init',
      default: 'fd70::/16',
    },
  ),
  num('autoSysctl', 1, 0, 1, 'set the sysctls the daemon needs', { order: 6, when: 'init' }),
  num('autoTunSysctl', 1, 0, 1, 'set the sysctls tunnels need', { order: 6, when: 'init' }),
  opt('dev', IFNAME, 'add a network interface', {
    short: 'i',
    multi: true,
    relevance: 2,
    children: [
      child('linklayer', int(0, 2), '0 auto, 1 lan, 2 wlan', { short: 'l', default: 0, relevance: 0 }),
      child('llocalPrefix', NET6, 'link-local prefix of the interface'),
      child('rateMax', BANDWIDTH, 'maximum bit rate of the interface', { short: 'r', relevance: 2 }),
      child('channel', int(0, 255), '0 exclusive, 1-254 wifi channel, 255 unknown', {
        short: 'c',
        default: 255,
        relevance: 2,
      }),
      child('strictSignatures', int(0, 2), '0 no, 1 tx, 2 rx and tx', { default: 2 }),
      child('blockingSocket', int(0, 1), 'use a blocking socket', { default: 0 }),
    ],
  }),
  num(
    'nodeRsaKeys',
    496,
    16,
    255,
    'accepted node key types (bit set); the default lies outside the declared range as in the reference',
    { relevance: 0 },
  ),
  num('linkRsaKey', 4, 0, 6, 'RSA link key type (0 none)', { relevance: 0 }),
  num('linkDhmKey', 17, 0, 18, 'DHM link key type; must match the neighbours', { relevance: 0 }),
  num('maxDhmNeighs', 17, 0, 40, 'maximum neighbours with DHM link keys', { relevance: 0 }),
  num('linkKeyLifetime', 6000, 0, 1073741, 'link key lifetime in s', { relevance: 0 }),
  num('linkVerification', 1, 0, 1, '0 skips link signature checks', { relevance: 0 }),
  num('nodeVerification', 1, 0, 1, '0 skips node signature checks', { relevance: 0 }),
  opt(
    'trustedNodesDir',
    { kind: 'dir' },
    'directory of trusted node ids; setting it enables trust filtering',
    { relevance: 2 },
  ),
  // edits a file in the trusted-nodes directory (docs/protocol.md §4.11): carried out, at start or
  // at runtime, never kept; `setTrustedNode=-<ID>` deletes the node's file
  opt(
    'setTrustedNode',
    { kind: 'string', pattern: /^[0-9A-Fa-f]{56}$/, form: 'node id (56 hex digits)' },
    'trust or support a node: writes its file in the trusted-nodes directory',
    {
      multi: true,
      action: true,
      relevance: 2,
      config: false,
      children: [
        child('trustedNodesDir', { kind: 'dir' }, 'directory to write the trust file to'),
        child('trust', int(0, 3), 'trust level: 0, 2 or 3', { default: 2 }),
        child('support', int(0, 3), 'support level: 0, 2 or 3', { default: 2 }),
      ],
    },
  ),
  num('publishSupportedNodes', 1, 0, 1, 'publish the nodes this node supports'),
  opt(
    'resetNode',
    { kind: 'string', pattern: /^[0-9A-Fa-f]{8,56}$/, form: 'node id' },
    'reset the state of a node',
    {
      when: 'runtime',
      relevance: 2,
      config: false,
      children: [child('state', int(0, 3), 'state to reset', { default: 3 })],
    },
  ),
  num('ogmSqnRange', 6000, 10, 8192, 'OGM sequence number range', { relevance: 0 }),
  num('ogmSqnDeviation', 10, 1, 8192, 'tolerated OGM sequence number deviation', { relevance: 0 }),
  num('ogmSqnRandom', 0, 0, 8191, 'unused', { relevance: 0 }),
  opt('llocalPrefix', NET6, 'link-local prefix for all interfaces'),
  num('netlinkBuffSize', 1064960, 8320, 4259840, 'netlink socket buffer size'),
  num('devStatRegression', 10, 1, 100, 'interface statistics regression', { relevance: 0 }),
  opt('unicastHna', { kind: 'net', prefixRequired: true }, 'announce a network (HNA6)', {
    short: 'u',
    multi: true,
    relevance: 2,
  }),
  num('dadTimeout', 20000, 100, 360000000, 'duplicate address detection timeout in ms'),
  num('descReferencing', 2, 0, 4, 'description referencing', { relevance: 0 }),
  num('descCompression', 2, 0, 2, 'description compression', { relevance: 0 }),
  num('descRootSizeOut', 1198, 94, 1198, 'maximum root description size sent', { relevance: 0 }),
  num('descVirtFrameSizeOut', 100548, 94, 1608768, 'maximum virtual frame size sent', { relevance: 0 }),
  num('descVirtFrameSizeIn', 100548, 94, 1608768, 'maximum virtual frame size accepted', { relevance: 0 }),
  num('descVirtSizeOut', 100548, 94, 1608768, 'maximum virtual description size sent', { relevance: 0 }),
  num('descVirtSizeIn', 100548, 94, 1608768, 'maximum virtual description size accepted', { relevance: 0 }),
  num('descChecks', 0, 0, 10, 'extended description checks', { relevance: 0 }),
  num('unsolicitedDescAdvs', 1, 0, 1, 'send descriptions without request', { relevance: 0 }),
  num('unsolicitedContentAdvs', 1, 0, 1, 'no effect (as in the reference)', { relevance: 0 }),
  num('maintainanceInterval', 5000, 1, 1000000, 'reference maintenance interval in ms'),
  num('resolveIterations', 4, 1, 20, 'description resolve iterations'),
  num('resolveInterval', 200, 100, 10000, 'description resolve interval in ms'),
  num('descRetryIterations', 4, 0, 256, 'description request retries'),
  num('descRetryInterval', 10000, 100, 100000, 'description request retry interval in ms'),
  num('describeNodeInfos', 1, 0, 1, 'describe node infos (INFO TLV)'),
  opt('descSqnPath', { kind: 'file' }, 'file of the last description sequence number', {
    when: 'init',
    default: '/etc/bmx7/descSqn',
  }),
  num('txMinInterval', 100, 35, 10000, 'minimum transmit interval in ms'),
  num('txAvgInterval', 800, 100, 10000, 'average transmit (hello) interval in ms'),
  num('txBucketDrain', 34, 0, 100, 'transmit bucket drain'),
  num('txBucketSize', 50, 1, 100000, 'transmit bucket size'),
  num('txFrameInterval', 500, 100, 10000, 'frame retransmit interval in ms'),
  num('txFrameIterations', 1, 1, 20, 'frame retransmit iterations'),
  num('overlappingBursts', 100, 1, 1000, 'no effect (as in the reference)'),
  num('maxTxTaskTreeSize', 200, 1, 1000, 'maximum queued transmit tasks'),
  num('prefUdpSize', 1232, 128, 1232, 'preferred UDP payload size', { relevance: 0 }),
  num('dropAllPackets', 0, 0, 1, 'drop all packets (testing)', { relevance: 0 }),
  num('dbgFrameTypes', 2013790228, 0, I32_MAX, 'frame types to log (bit set)', { relevance: 0 }),
  num('ogmInterval', 6000, 200, 60000, 'OGM interval in ms'),
  num('ogmIntervalFactor', 110, 100, 1000, 'maximum OGM interval factor in percent'),
  opt('metricAlgo', int(0, 8191), 'path metric algorithm', {
    short: 'M',
    default: 4097,
    children: [
      child('rxExpNumerator', int(0, 3), 'rx exponent numerator', { short: 'R', default: 1 }),
      child('rxExpDivisor', int(1, 2), 'rx exponent divisor', { short: 'r', default: 2 }),
      child('txExpNumerator', int(0, 3), 'tx exponent numerator', { short: 'T', default: 1 }),
      child('txExpDivisor', int(1, 2), 'tx exponent divisor', { short: 't', default: 1 }),
    ],
  }),
  opt('pathInterference', int(0, 3), 'path interference parameter', {
    multi: true,
    children: [
      child('channelDistance', int(0, 255), 'channel distance'),
      child('hopDistance', int(0, 7), 'hop distance'),
      child('independence', int(0, 31), 'independence'),
    ],
  }),
  num('newPathMetricHysteresis', 20, 0, 64000, 'hysteresis in percent for a new path'),
  num('oldPathMetricHysteresis', 10, 0, 64000, 'hysteresis in percent for the old path'),
  num('pathSqnDiffMax', 2, 0, 3, 'maximum sequence number difference of a path'),
  num('pathSqnBestHysteresis', 3, 0, 255, 'sequence number hysteresis of the best path'),
  num('pathLateHysteresis', 25, 0, 255, 'late path hysteresis in 100 ms'),
  num('maxPathHops', 63, 0, 63, 'maximum hops of a path'),
  num('ogmHistorySize', 5, 0, 10, 'OGM hop history size'),
  num('pathHopPenalty', 0, 0, 255, 'path hop penalty'),
  num('newRouterDismissal', 99, 0, 200, 'no effect (as in the reference)'),
  num('pathLqXThreshold', 170, 0, 254, 'path link-quality threshold X'),
  num('pathLqYThreshold', 85, 0, 254, 'path link-quality threshold Y'),
  num('pathLq1Threshold', 229, 1, 255, 'path link-quality threshold 1'),
  num('linkRateEfficiency', 40, 1, 255, 'link rate efficiency'),
  num('linkThroughputEfficiency', 0, 0, 255, 'link throughput efficiency'),
  num('pathMetricMin', 65, 65, I32_MAX, 'minimum path metric'),
  num('descMetricAlgo', 1, 0, 1, 'describe the metric algorithm', { relevance: 2 }),
  num('linkTimeout', 20000, 10000, 864000000, 'link timeout in ms'),
  num('minLinkQuality', 25, 1, 255, 'minimum link quality'),
  num('linkWindow', 48, 1, 128, 'hello sequence number window'),
  num('idTimeout', 20000, 0, 864000000, 'node id timeout in ms'),
  opt(
    'setCredits',
    { kind: 'string', pattern: /^[A-Za-z]+$/, form: 'credit section' },
    'set the credits of a section',
    {
      multi: true,
      relevance: 2,
      children: [
        child('maxNodes', int(1, 100000), 'maximum nodes of the section'),
        child('preference', int(0, 9999), 'preference of the section'),
      ],
    },
  ),
];

const TUN = 'tun';

/** The tun plugin's parameters (docs/protocol.md §5.4 "Plugins", tun). */
export const TUN_OPTIONS: readonly OptionSpec[] = [
  opt(
    'tunDevName',
    { kind: 'string', maxLength: 5, pattern: /^[A-Za-z0-9_]+$/, form: 'name prefix' },
    'prefix of tunnel interface names',
    {
      order: 8,
      when: 'init',
      default: 'X7',
      category: TUN,
    },
  ),
  num('proactiveTunRoutes', 1, 0, 1, 'install tunnel routes proactively', { category: TUN }),
  num('tunOutTimeout', 60000, 0, 1073741823, 'timeout of unused outgoing tunnels in ms', {
    relevance: 2,
    category: TUN,
  }),
  opt('tunMtu', int(0, 65535), 'MTU of tunnels (0 keeps the system default, otherwise 1280-65535)', {
    default: 0,
    relevance: 2,
    category: TUN,
  }),
  num('tunCatchDelay', 100, 0, 1000000, 'delay in µs before catching a packet for a tunnel', {
    relevance: 2,
    category: TUN,
  }),
  num('tunRealSrc', 0, 0, 2, '1 accept any outer source, 2 use the primary address as outer source', {
    category: TUN,
  }),
  opt('tunDev', IFNAME, 'a tunnel device announced to other nodes', {
    multi: true,
    relevance: 2,
    category: TUN,
    children: [
      child('tun4Address', NET4, 'IPv4 address of the tunnel device', { relevance: 2 }),
      child('tun6Address', NET6, 'IPv6 address of the tunnel device', { relevance: 2 }),
      child('remote', NET6, 'remote address'),
      child('ingress4Prefix', NET4, 'IPv4 ingress prefix'),
      child('ingress6Prefix', NET6, 'IPv6 ingress prefix'),
      child('src4Type', int(0, 3), 'IPv4 source type', { default: 0, relevance: 0 }),
      child('src4PrefixMin', int(0, 32), 'minimum IPv4 source prefix', { default: 0, relevance: 0 }),
      child('src6Type', int(0, 3), 'IPv6 source type', { default: 0, relevance: 0 }),
      child('src6PrefixMin', int(0, 128), 'minimum IPv6 source prefix', { default: 0, relevance: 0 }),
      child('advProto', int(0, 255), 'announced routing protocol', { default: 0, relevance: 2 }),
    ],
  }),
  opt(
    'tunIn',
    { kind: 'string', maxLength: 32, pattern: /^[A-Za-z0-9_.-]+$/, form: 'name' },
    'announce a network reachable through this node',
    {
      multi: true,
      relevance: 2,
      category: TUN,
      children: [
        child('network', { kind: 'net', prefixRequired: true }, 'the announced network', {
          short: 'n',
          mandatory: true,
          relevance: 2,
        }),
        child('bandwidth', BANDWIDTH, 'announced bandwidth', { short: 'b', default: 1000, relevance: 2 }),
        child('tunDev', IFNAME, 'tunnel device to announce it on'),
        child('advProto', int(0, 255), 'announced routing protocol', { default: 0, relevance: 2 }),
      ],
    },
  ),
  opt(
    'tunOut',
    { kind: 'string', maxLength: 32, pattern: /^[A-Za-z0-9_.-]+$/, form: 'name' },
    'search a network announced by other nodes',
    {
      multi: true,
      relevance: 2,
      category: TUN,
      children: [
        child('network', { kind: 'net', prefixRequired: true }, 'the searched network', {
          short: 'n',
          mandatory: true,
          relevance: 2,
        }),
        child('srcNet', { kind: 'net', prefixRequired: true }, 'source network', { relevance: 2 }),
        child('proto', int(0, 256), 'routing protocol searched (256 any)', { default: 256, relevance: 2 }),
        child('setProto', int(0, 255), 'routing protocol set on the routes', { default: 0, relevance: 2 }),
        child('srcType', int(0, 3), 'source type', { default: 0, relevance: 0 }),
        child('gwName', { kind: 'string', maxLength: 63 }, 'only this gateway', { relevance: 2 }),
        child('minPrefixLen', int(0, 129), "minimum prefix length (129 = the network's)", {
          default: 129,
          relevance: 2,
        }),
        child('maxPrefixLen', int(0, 128), 'maximum prefix length', { default: 128, relevance: 2 }),
        child('allowOverlappingPrefix', int(0, 1), 'allow overlapping prefixes', { default: 1 }),
        child('breakOverlappingPrefix', int(0, 1), 'break overlapping prefixes', { default: 1 }),
        child(
          'gwId',
          { kind: 'string', pattern: /^[0-9A-Fa-f]{1,56}$/, form: 'node id' },
          'only this gateway id',
        ),
        child('hysteresis', int(0, 10000), 'gateway switch hysteresis in percent', {
          default: 20,
          relevance: 2,
        }),
        child('rating', int(0, 1000), 'rating of this search in percent', { default: 100, relevance: 2 }),
        child('minBandwidth', BANDWIDTH, 'minimum announced bandwidth', { default: 1000, relevance: 2 }),
        child('ipMetric', int(0, 4294967295), 'metric of the routes', { default: 1024 }),
        child(
          'tableRule',
          { kind: 'string', pattern: /^\d+\/\d+$/, form: 'PREF/TABLE' },
          'rule preference and table',
          { default: '32767/254' },
        ),
        child('exportOnly', int(0, 1), 'export the routes only', { default: 0 }),
        child('exportDistance', int(0, 256), 'export distance', { default: 256, relevance: 2 }),
      ],
    },
  ),
  tableQuery('tunnels', TUN),
];

/** A table of the control, core and tun options: what bmx7d starts with before other plugins register theirs. */
export function createReferenceOptionTable(): OptionTable {
  return createOptionTable(CONTROL_OPTIONS, CORE_OPTIONS, TUN_OPTIONS);
}
