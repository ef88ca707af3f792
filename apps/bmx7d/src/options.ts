/**
 * bmx7d's options: the reference's option table (@bmx7/control) with bmx7d's own default paths,
 * the command line and config file merged into one ConfigState, and the step that turns a state
 * into checked settings. Every check happens here, before anything on the system changes: a bad
 * option ends the daemon with exit status 2 and one line naming the option and the reason.
 *
 * Defaults that differ from the reference's (same names, bmx7d's own paths):
 *   runtimeDir /run/bmx7d, nodeRsaKey /keyPath /etc/bmx7d/rsa.der, descSqnPath /etc/bmx7d/descSqn;
 *   and debug 0, the level of the log on standard error (the reference's -1: no log stream).
 * unicastHna takes IPv6 networks only: the reference accepts IPv4 ones it cannot announce.
 *
 * Options of the reference's plugins that bmx7d does not have (the tun plugin's tunDev, tunIn,
 * tunOut, …) are not in the table: they are refused, on the command line, in the config file and
 * at runtime, with one line naming the option and the plugin (never accepted and ignored).
 */
import { readFileSync, statSync } from 'node:fs';
import {
  absentPluginError,
  applyOperations,
  CONTROL_OPTIONS,
  CORE_OPTIONS,
  type ConfigState,
  createOptionTable,
  EMPTY_CONFIG,
  effectiveChild,
  effectiveValue,
  isAction,
  type Operation,
  OptionError,
  type OptionSpec,
  type OptionTable,
  type OptionValue,
  type ProgramOption,
  parseArgs,
  parseConfig,
  type Relevance,
  TUN_OPTIONS,
} from '@bmx7/control';
import { creditMatrix, type EngineInit } from '@bmx7/core';
import { type Listen, OBSERVE_OPTIONS, parseListen } from './observe/listen.js';
import { type PluginDeclaration, pluginOptionSpecs } from './plugins.js';

export const DEFAULT_RUNTIME_DIR = '/run/bmx7d';
export const DEFAULT_KEY_PATH = '/etc/bmx7d/rsa.der';
export const DEFAULT_DESC_SQN_PATH = '/etc/bmx7d/descSqn';

/** The level of bmx7d's log on standard error when `debug` is not given at start. */
export const DEFAULT_DEBUG = 0;

const OWN_DEFAULTS: Record<string, OptionValue> = {
  runtimeDir: DEFAULT_RUNTIME_DIR,
  descSqnPath: DEFAULT_DESC_SQN_PATH,
  // the reference's -1 says "no log stream" to its clients; bmx7ctl keeps that in its own table
  // and turns debug=N into a log subscription, so only the start's stderr level uses this one
  debug: DEFAULT_DEBUG,
};

/** Help texts that say what bmx7d takes where the reference's say less. */
const OWN_HELP: Record<string, string> = {
  unicastHna: 'announce an IPv6 network (HNA6; IPv4 networks: tunIn)',
};

function withOwnDefaults(specs: readonly OptionSpec[]): OptionSpec[] {
  return specs.map((s) => {
    if (s.name === 'nodeRsaKey')
      return {
        ...s,
        children: (s.children ?? []).map((c) =>
          c.name === 'keyPath' ? { ...c, default: DEFAULT_KEY_PATH } : c,
        ),
      };
    const help = OWN_HELP[s.name];
    const d = OWN_DEFAULTS[s.name];
    return { ...s, ...(d === undefined ? {} : { default: d }), ...(help === undefined ? {} : { help }) };
  });
}

let table: OptionTable | undefined;
/**
 * The option table of bmx7d: control and core options with bmx7d's default paths, its own options
 * for observing the node (observe/listen.ts), and the options of the plugins it runs (none: cached).
 */
export function daemonOptionTable(plugins: readonly PluginDeclaration[] = []): OptionTable {
  if (plugins.length > 0)
    return createOptionTable(
      withOwnDefaults(CONTROL_OPTIONS),
      withOwnDefaults(CORE_OPTIONS),
      OBSERVE_OPTIONS,
      pluginOptionSpecs(plugins),
    );
  table ??= createOptionTable(
    withOwnDefaults(CONTROL_OPTIONS),
    withOwnDefaults(CORE_OPTIONS),
    OBSERVE_OPTIONS,
  );
  return table;
}

let absent: OptionTable | undefined;
/** Options of the reference's plugins that bmx7d does not run: the tun plugin's unless it runs. */
export function absentOptionTable(loaded?: OptionTable): OptionTable {
  if (loaded?.get('tunDev') !== undefined) return createOptionTable([]);
  absent ??= createOptionTable(TUN_OPTIONS);
  return absent;
}

/** An option error, told as "not loaded" when a plugin bmx7d lacks provides the option. */
function explain(e: OptionError, t: OptionTable): OptionError {
  return absentPluginError(e, absentOptionTable(t)) ?? e;
}

/** One configured interface (`dev=eth1 /rateMax=100M /channel=0`). */
export interface DevSettings {
  name: string;
  rateMax: bigint;
  channel: number;
}

/** Everything the daemon needs, checked. */
export interface DaemonSettings {
  runtimeDir: string;
  keyPath: string;
  keyType: number;
  descSqnPath: string;
  /** stderr log level (`debug=N`, default 0). */
  debug: number;
  devs: DevSettings[];
  /** Routing table and rule preference of the host routes (ipVersion /tableHnas /tablePrefHnas). */
  table: number;
  rulePref: number;
  policyRouting: boolean;
  autoSysctl: boolean;
  /** The engine's parameters (without the node key, and without trustedNodes: see trustedNodesDir). */
  engine: Omit<EngineInit, 'nodeKey' | 'trustedNodes'>;
  /** Trust is on while set; the daemon reads and follows the directory (trust-watch.ts). */
  trustedNodesDir: string | undefined;
  /** Where metrics and the status page are served (off while undefined; observe/). */
  metricsListen: Listen | undefined;
  httpListen: Listen | undefined;
}

export interface StartArgs {
  /** State from the command line and the config file. */
  state: ConfigState;
  configFile: string | undefined;
  /** Command-line operations (kept to rebuild the state on SIGHUP). */
  argvOps: readonly Operation[];
  /** Command-line actions to carry out at start (`setTrustedNode`), in order. */
  actions: readonly Operation[];
  help: boolean;
  /** How to list the options for `help`: verbose (`-H`), and the relevance (`--help /r=0` lists all). */
  helpOptions: { verbose: boolean; relevance: Relevance };
  /** The option table it was parsed with (with the plugins' options). */
  table: OptionTable;
}

/** Words asking for the option list, anywhere on the command line: value true for the verbose one. */
const HELP_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['--help', false],
  ['-h', false],
  ['help', false],
  ['--verboseHelp', true],
  ['-H', true],
  ['verboseHelp', true],
]);

/** bmx7d's own command-line options, outside the option table: `--help` lists them. */
export const START_OPTIONS: readonly ProgramOption[] = [
  {
    synopsis: '--config FILE',
    text: 'read options from FILE (one per line, as on the command line) before the command line, which wins; SIGHUP reads FILE again',
  },
];

/**
 * `--config FILE` / `--config=FILE` is bmx7d's own; everything else is the reference's syntax.
 * `--help` (`-h`, `help`) and `-H` (`--verboseHelp`) may come anywhere, followed by `/r=0|1|2`
 * (`/relevance=N`): 2, the default, lists the most relevant options, 0 all of them.
 */
export function parseStartArgs(
  argv: readonly string[],
  readFile = readText,
  t: OptionTable = daemonOptionTable(),
): StartArgs {
  const words: string[] = [];
  let configFile: string | undefined;
  let help = false;
  const helpOptions: StartArgs['helpOptions'] = { verbose: false, relevance: 2 };
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i] as string;
    const verbose = HELP_WORDS.get(w);
    if (verbose !== undefined) {
      help = true;
      helpOptions.verbose ||= verbose;
      const rel = /^\/(?:r|relevance)=([012])$/.exec(argv[i + 1] ?? '');
      if (rel !== null) {
        helpOptions.relevance = Number(rel[1]) as Relevance;
        i++;
      }
    } else if (w === '--config') {
      configFile = argv[++i];
      if (configFile === undefined)
        throw new OptionError('missing-value', 'config: file name missing', { option: 'config' });
    } else if (w.startsWith('--config=')) configFile = w.slice('--config='.length);
    else words.push(w);
  }
  const r = parseArgs(words, t, { context: 'init' });
  if (!r.ok) throw explain(r.error, t);
  for (const op of r.value.ops) {
    if (op.op === 'flag' && op.option !== 'test')
      throw new OptionError(
        'runtime-only',
        `${op.option}: is a query or action for a running daemon (bmx7ctl)`,
        {
          option: op.option,
        },
      );
  }
  const state = stateFrom(r.value.ops, configFile, readFile, t);
  const actions = r.value.ops.filter((op) => !op.checkOnly && isAction(t.get(op.option)));
  return { state, configFile, argvOps: r.value.ops, actions, help, helpOptions, table: t };
}

/** The state of the config file, with the command line on top (the command line wins). */
export function stateFrom(
  argvOps: readonly Operation[],
  configFile: string | undefined,
  readFile = readText,
  t: OptionTable = daemonOptionTable(),
): ConfigState {
  let state: ConfigState = EMPTY_CONFIG;
  if (configFile !== undefined) {
    let text: string;
    try {
      text = readFile(configFile);
    } catch (e) {
      throw new OptionError(
        'bad-value',
        `config: cannot read ${configFile} (${(e as NodeJS.ErrnoException).code ?? e})`,
        {
          option: 'config',
        },
      );
    }
    const c = parseConfig(text, t);
    if (!c.ok) {
      const e = explain(c.error, t);
      throw new OptionError(e.code, `${configFile}: ${e.message}`, { option: e.option });
    }
    const a = applyOperations(state, c.value.ops, t);
    if (!a.ok)
      throw new OptionError(a.error.code, `${configFile}: ${a.error.message}`, { option: a.error.option });
    state = a.state;
  }
  const a = applyOperations(state, argvOps, t);
  if (!a.ok) throw a.error;
  return a.state;
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

const ENGINE_NUMBERS = [
  'linkRsaKey',
  'linkDhmKey',
  'maxDhmNeighs',
  'txMinInterval',
  'txAvgInterval',
  'txBucketSize',
  'txBucketDrain',
  'txFrameInterval',
  'resolveInterval',
  'resolveIterations',
  'descRetryInterval',
  'descRetryIterations',
  'maintainanceInterval',
  'ogmInterval',
  'ogmIntervalFactor',
  'ogmSqnRange',
  'ogmSqnDeviation',
  'linkWindow',
  'minLinkQuality',
  'linkTimeout',
  'idTimeout',
] as const;

const UNITS: Record<string, bigint> = { '': 1n, K: 1000n, M: 1000_000n, G: 1000_000_000n };

/** `100M` → 100000000n. */
export function parseBandwidth(s: string): bigint {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (!m) throw new RangeError(s);
  return BigInt(m[1] as string) * (UNITS[(m[2] as string).toUpperCase()] ?? 1n);
}

/**
 * What a path names: a directory, something else (a file, or a file on the way), or nothing yet
 * (also when it cannot be looked at: the daemon then keeps retrying it).
 */
export function pathKind(path: string): 'dir' | 'missing' | 'other' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'other';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'other' : 'missing';
  }
}

/**
 * Checks a state and derives the settings. Throws OptionError naming the option. `pathKind` tells
 * what the trusted-nodes directory's path names (a missing one is created when trust starts).
 */
export function settingsOf(
  state: ConfigState,
  opts: { hostname: string; pathKind?: (path: string) => 'dir' | 'missing' | 'other' },
): DaemonSettings {
  const t = daemonOptionTable();
  const spec = (n: string) => t.get(n) as OptionSpec;
  const value = (n: string) => effectiveValue(state, spec(n));
  const single = (n: string) => {
    const s = state.get(n);
    return s?.kind === 'single' ? s.children : {};
  };
  const childOf = (n: string, c: string) => {
    const cs = spec(n).children?.find((x) => x.name === c);
    return cs === undefined ? undefined : effectiveChild(single(n), cs);
  };
  const num = (n: string) => Number(value(n));

  const devs: DevSettings[] = [];
  const devSetting = state.get('dev');
  if (devSetting?.kind === 'multi') {
    for (const [name, ch] of devSetting.instances) {
      const linklayer = Number(ch.linklayer ?? 0);
      const wlan = linklayer === 2;
      let rateMax = wlan ? 56_000_000n : 1_000_000_000n;
      if (ch.rateMax !== undefined) rateMax = parseBandwidth(String(ch.rateMax));
      const channel = ch.channel !== undefined ? Number(ch.channel) : wlan ? 255 : 0;
      devs.push({ name, rateMax, channel });
    }
  }

  // bmx7d's modules are built in; a plugin to load is one it does not have
  const plugins = state.get('plugin');
  if (plugins?.kind === 'multi' && plugins.instances.size > 0) {
    const [name] = plugins.instances.keys();
    throw new OptionError(
      'bad-value',
      `plugin: ${name} is not available in bmx7d (no plugin can be loaded)`,
      {
        option: 'plugin',
      },
    );
  }

  const prefix = String(value('ipAutoPrefix'));
  if (prefix.toLowerCase() !== 'fd70::/16')
    throw new OptionError('bad-value', `ipAutoPrefix: only fd70::/16 is supported (got ${prefix})`, {
      option: 'ipAutoPrefix',
    });

  const engine: Omit<EngineInit, 'nodeKey'> & Record<string, unknown> = {};
  for (const n of ENGINE_NUMBERS) engine[n] = num(n);
  const hostname = state.get('hostname');
  engine.hostname = hostname?.kind === 'single' ? String(hostname.value) : opts.hostname;
  engine.describeNodeInfos = num('describeNodeInfos') === 1;
  engine.linkVerification = num('linkVerification') === 1;
  engine.compatibility = num('compatibility');
  // the path metric parameters announced in the METRIC TLV (docs/protocol.md §4.8, §4.10)
  const algo = state.get('metricAlgo');
  const algoChild = (c: string, d: number) =>
    algo?.kind === 'single' && algo.children[c] !== undefined ? Number(algo.children[c]) : d;
  engine.metric = {
    pathMetricMin: BigInt(num('pathMetricMin')),
    ...(algo?.kind === 'single' ? { algo: Number(algo.value) } : {}),
    rxExpNumerator: algoChild('rxExpNumerator', 1),
    rxExpDivisor: algoChild('rxExpDivisor', 2),
    txExpNumerator: algoChild('txExpNumerator', 1),
    txExpDivisor: algoChild('txExpDivisor', 1),
    lqTx: num('pathLqXThreshold'),
    lqTy: num('pathLqYThreshold'),
    lqT1: num('pathLq1Threshold'),
    linkRateEfficiency: num('linkRateEfficiency'),
    linkThroughputEfficiency: num('linkThroughputEfficiency'),
    ogmHistorySize: num('ogmHistorySize'),
    maxHops: num('maxPathHops'),
    hopPenalty: num('pathHopPenalty'),
    pathSqnBestHysteresis: num('pathSqnBestHysteresis'),
    pathLateHysteresis100ms: num('pathLateHysteresis'),
    newPathMetricHysteresis: num('newPathMetricHysteresis'),
    oldPathMetricHysteresis: num('oldPathMetricHysteresis'),
    pathSqnDiffMax: num('pathSqnDiffMax'),
  };
  // always set, so that a reload without setCredits goes back to the defaults
  const credits = state.get('setCredits');
  const settings: Record<string, { maxNodes?: number; preference?: number }> = {};
  engine.credits = settings;
  if (credits?.kind === 'multi') {
    for (const [acro, ch] of credits.instances) {
      settings[acro] = {
        ...(ch.maxNodes !== undefined ? { maxNodes: Number(ch.maxNodes) } : {}),
        ...(ch.preference !== undefined ? { preference: Number(ch.preference) } : {}),
      };
    }
    try {
      creditMatrix(settings);
    } catch (e) {
      throw new OptionError('bad-value', (e as Error).message, { option: 'setCredits' });
    }
  }
  const hna = state.get('unicastHna');
  if (hna?.kind === 'multi') {
    // HNA6 carries IPv6 prefixes only (docs/protocol.md §4.8): the reference takes an IPv4 one
    // and cannot announce it; an IPv4 network reaches the mesh through a tunnel (tunIn)
    const v4 = [...hna.instances.keys()].find((n) => !n.includes(':'));
    if (v4 !== undefined)
      throw new OptionError(
        'bad-value',
        `unicastHna: ${v4}: IPv6 networks only (HNA6 announces IPv6 prefixes; announce an IPv4 network with tunIn)`,
        { option: 'unicastHna' },
      );
    engine.unicastHna = [...hna.instances.keys()];
  }
  if (engine.linkDhmKey !== 0 && engine.linkDhmKey !== 17 && engine.linkDhmKey !== 18)
    throw new OptionError(
      'bad-value',
      `linkDhmKey: ${engine.linkDhmKey} is not a DHM key type (0, 17 or 18)`,
      {
        option: 'linkDhmKey',
      },
    );
  if (engine.linkRsaKey !== 0 && (engine.linkRsaKey as number) < 4)
    throw new OptionError('bad-value', `linkRsaKey: ${engine.linkRsaKey} is not 0 or 4..6`, {
      option: 'linkRsaKey',
    });

  // the trusted-nodes directory is read and followed by the daemon (trust-watch.ts), not here:
  // a path that exists and is no directory is the one config error (docs/protocol.md §4.11)
  let trustedNodesDir: string | undefined;
  const tnd = state.get('trustedNodesDir');
  if (tnd?.kind === 'single') {
    trustedNodesDir = String(tnd.value);
    const kind = (opts.pathKind ?? pathKind)(trustedNodesDir);
    if (kind === 'other')
      throw new OptionError('bad-value', `trustedNodesDir: ${trustedNodesDir} is not a directory`, {
        option: 'trustedNodesDir',
      });
  }
  engine.publishSupportedNodes = num('publishSupportedNodes') === 1;

  const listen = (n: string) => {
    const v = state.get(n);
    return v?.kind === 'single' ? parseListen(n, String(v.value)) : undefined;
  };

  const keyType = num('nodeRsaKey');
  return {
    runtimeDir: String(value('runtimeDir')),
    keyPath: String(childOf('nodeRsaKey', 'keyPath')),
    keyType,
    descSqnPath: String(value('descSqnPath')),
    debug: Number(value('debug')),
    devs,
    table: Number(childOf('ipVersion', 'tableHnas')),
    rulePref: Number(childOf('ipVersion', 'tablePrefHnas')),
    policyRouting: Number(childOf('ipVersion', 'policyRouting')) === 1,
    autoSysctl: num('autoSysctl') === 1,
    engine,
    trustedNodesDir,
    metricsListen: listen('metricsListen'),
    httpListen: listen('httpListen'),
  };
}
