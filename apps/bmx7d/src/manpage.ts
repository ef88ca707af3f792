/**
 * bmx7d(8), generated from the daemon's option table (the same table `bmx7d --help` lists, with the
 * built-in plugins' options and bmx7d's default paths), so every option, child, type, range,
 * default and "when" in the page is the code's. The prose around it (what the daemon does, the
 * files, signals and exit status) is written here, short, and checked by manpage.test.ts where the
 * code can say it (the config example parses, the paths are the defaults, the exit codes main.ts's).
 */
import { dirname, join } from 'node:path';
import {
  type ChildOptionSpec,
  MAX_CLIENTS,
  MAX_REQUEST_BYTES,
  type OptionSpec,
  type OptionTable,
  type OptionValue,
  type OptionValueType,
  REFERENCE_TABLES,
  roffBold,
  roffEscape,
  roffItalic,
  roffLiteral,
  roffMacro,
  roffPage,
  roffSentence,
  roffText,
  roffTextLine,
} from '@bmx7/control';
import { CORE_TABLES } from '@bmx7/core';
import { KEM_KEY_FILE, WG_PRIVATE_KEY_FILE } from '@bmx7/plugin-wg';
import {
  DEFAULT_DESC_SQN_PATH,
  DEFAULT_KEY_PATH,
  DEFAULT_RUNTIME_DIR,
  daemonOptionTable,
} from './options.js';
import { BUILTIN_PLUGINS, type DaemonPlugin } from './plugins.js';
import { DEFAULT_TRUSTED_NODES_DIR } from './trust-dir.js';

/** The configuration file the Debian package installs (bmx7d reads it only when given `--config`). */
export const DEFAULT_CONFIG_FILE = '/etc/bmx7d/bmx7d.conf';

/** Where the package's configuration keeps keys and state (its systemd unit's StateDirectory). */
export const PACKAGE_STATE_DIR = '/var/lib/bmx7d/';

/** What changes between builds: the version in the header and the page's date (YYYY-MM-DD). */
export interface ManPageInit {
  readonly version: string;
  readonly date: string;
}

/** bmx7d's exit statuses (main.ts). */
export const BMX7D_EXIT_STATUS: readonly { readonly code: number; readonly meaning: string }[] = [
  { code: 0, meaning: 'stopped cleanly (SIGTERM or SIGINT), or --help printed the options' },
  {
    code: 1,
    meaning:
      'could not start (another bmx7d on the same runtime directory, no permission, a bad key file), or an internal error',
  },
  {
    code: 2,
    meaning:
      'a bad option or config file: one line on standard error names the option and the reason; nothing on the system was changed',
  },
];

/** The example of the CONFIGURATION FILE section (manpage.test.ts parses it with the option table). */
export const CONFIG_EXAMPLE: readonly string[] = [
  `# ${DEFAULT_CONFIG_FILE}`,
  'hostname=node-1',
  'dev=eth1',
  'dev=wlan0 /linklayer=2',
  '    /channel=36',
  'ogmInterval=6000',
  '# a gateway to the internet for the mesh, and a client of other gateways',
  'tunDev=gw /tun4Address=10.254.1.1/32',
  'tunIn=inet4 /network=0.0.0.0/0 /bandwidth=100M',
  'tunOut=mesh /network=10.254.0.0/16',
  'cryptTun=1',
];

/** What each module's options are about, for the headings of OPTIONS (others get a plain heading). */
export const CATEGORY_INTRO: Readonly<Record<string, string>> = {
  control: 'Queries, actions and client settings of the control interface.',
  core: 'The routing protocol: interfaces, keys, timers, metrics, trust and admission.',
  observe: "bmx7d's own listeners for metrics and the status page.",
  wg: 'The wg plugin: the WireGuard key in the description, WireGuard devices and pre-shared keys.',
  'crypt-tun': "The crypt-tun plugin: the tun plugin's tunnels carried in WireGuard.",
  tun: 'The tun plugin: networks announced by gateways (tunIn), searched by clients (tunOut), and the tunnels between them.',
};

/**
 * Where bmx7d does other than the option's help (the reference's) says; manpage.test.ts checks
 * that each names an option of the table.
 */
export const BMX7D_NOTES: Readonly<Record<string, string>> = {
  debug:
    "In bmx7d: at start, the level of its log on standard error (the default above is bmx7d's; the reference's, -1, streams no log); through bmx7ctl (bmx7ctl -cdN, bmx7ctl log N) the client follows the log at level N.",
  syslog: 'Accepted as the reference does; bmx7d logs to standard error only.',
  plugin: 'bmx7d loads no plugin files: its plugins are built in, and plugin= is refused.',
  ipAutoPrefix: 'bmx7d takes only fd70::/16.',
};

/** One sentence per built-in plugin, for DESCRIPTION. */
export const PLUGIN_SUMMARY: Readonly<Record<string, string>> = {
  wg: "announces the node's WireGuard public key in its signed description and manages WireGuard devices (the kernel's, or a supervised wireguard-go)",
  'crypt-tun':
    'chooses, per node and per searched network, whether a tunnel is plain or encrypted with WireGuard, with optional static or post-quantum pre-shared keys',
  tun: 'lets gateways announce networks and clients pick the best gateway for each search and tunnel to it (ip4/ip6-in-ip6, the kernel ip6tnl or a userspace twin)',
  topology:
    "reads the links other nodes announce in their TOPOLOGY TLV (the reference's topology plugin) for the topology table and bmx7ctl topology; it announces none itself",
};

/** The tables bmx7d answers: the engine's own and those its built-in plugins register. */
export function daemonTableNames(plugins: readonly DaemonPlugin[] = BUILTIN_PLUGINS): string[] {
  return [...CORE_TABLES, ...plugins.flatMap((p) => p.tables ?? [])];
}

/** What bmx7ctl's page and completion need of the daemon: its option table and its tables. */
export function daemonControlFacts(plugins: readonly DaemonPlugin[] = BUILTIN_PLUGINS): {
  options: OptionTable;
  daemonTables: string[];
} {
  return { options: daemonOptionTable(plugins), daemonTables: daemonTableNames(plugins) };
}

/** The placeholder of a value, in the help's words (`VAL`, `FILE`, `auto|kernel`). */
export function valuePlaceholder(type: OptionValueType): string {
  switch (type.kind) {
    case 'flag':
      return '';
    case 'int':
      return 'VAL';
    case 'string':
      return 'STRING';
    case 'net':
      return type.family === 4 ? 'NETADDR4' : type.family === 6 ? 'NETADDR6' : 'NETADDR';
    case 'file':
      return 'FILE';
    case 'dir':
      return 'DIR';
    case 'enum':
      return type.values.join('|');
  }
}

/** What a value must be, in words: `integer 200..60000`, `one of auto, kernel`. */
export function describeValue(type: OptionValueType): string | undefined {
  switch (type.kind) {
    case 'flag':
      return undefined;
    case 'int':
      return type.min === type.max ? `integer ${type.min}` : `integer ${type.min}..${type.max}`;
    case 'string': {
      const max = type.maxLength === undefined ? '' : `, at most ${type.maxLength} characters`;
      return `${type.form ?? 'text without spaces'}${max}`;
    }
    case 'net': {
      const fam = type.family === undefined ? 'IPv4 or IPv6' : `IPv${type.family}`;
      return type.prefixRequired === true
        ? `${fam} network, ADDRESS/PREFIXLENGTH`
        : `${fam} address, with an optional /PREFIXLENGTH`;
    }
    case 'file':
      return 'file name';
    case 'dir':
      return 'directory';
    case 'enum':
      return `one of ${type.values.join(', ')}`;
  }
}

/** Names bmx7d takes on its command line although they have no value (parseStartArgs). */
const START_FLAGS = new Set(['help', 'verboseHelp', 'test']);

/** When an option may be given, as the daemon takes it (parseStartArgs, the config file, `set`). */
export function whenText(spec: OptionSpec): string {
  const order =
    spec.order === 9
      ? ''
      : spec.order === 0
        ? '; anywhere on the command line'
        : `; order class ${spec.order}`;
  if (spec.when === 'init' && !spec.config) return 'a setting of the client, bmx7ctl, on its command line';
  if (spec.type.kind === 'flag' && !START_FLAGS.has(spec.name))
    return `at runtime only, a query or action: bmx7ctl -c ${spec.name}`;
  if (spec.name === 'help' || spec.name === 'verboseHelp')
    return `bmx7d ${spec.name === 'help' ? '--help' : '-H'}, or bmx7ctl -c ${spec.name}`;
  const file = spec.config ? ', config file' : '';
  const text =
    spec.when === 'runtime'
      ? 'at runtime only: bmx7ctl -c'
      : spec.when === 'init'
        ? `at start only (command line${file})`
        : `at start (command line${file}) and at runtime (bmx7ctl -c)`;
  return `${text}${order}`;
}

function defaultText(def: OptionValue | undefined): string | undefined {
  return def === undefined ? undefined : String(def);
}

function tag(prefix: string, name: string, short: string | undefined, type: OptionValueType): string {
  const ph = valuePlaceholder(type);
  const value = ph === '' ? '' : `=${roffItalic(ph)}`;
  const alias =
    short === undefined
      ? ''
      : `, ${roffBold(`${prefix === '/' ? '/' : '-'}${short}`)}${ph === '' ? '' : ` ${roffItalic(ph)}`}`;
  return `${roffBold(`${prefix}${name}`)}${value}${alias}`;
}

/** Facts as separate lines, so they read (and parse) one per line. */
function facts(lines: readonly (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    if (l === undefined) continue;
    out.push('.br', roffText(l));
  }
  return out;
}

function childLines(c: ChildOptionSpec): string[] {
  const value = describeValue(c.type);
  const def = defaultText(c.default);
  return [
    '.TP',
    roffTextLine(tag('/', c.name, c.short, c.type)),
    roffText(roffSentence(c.help)),
    ...facts([
      value === undefined ? undefined : `Value: ${value}`,
      def === undefined ? undefined : `Default: ${def}`,
      c.mandatory === true ? 'Mandatory when a new instance is created.' : undefined,
    ]),
  ];
}

/** One option as a tagged paragraph: syntax, help, value, default, when, repetition, children. */
export function optionLines(spec: OptionSpec, tables: readonly string[]): string[] {
  const value = describeValue(spec.type);
  const def = defaultText(spec.default);
  const table = spec.type.kind === 'flag' && REFERENCE_TABLES.has(spec.name);
  const note = BMX7D_NOTES[spec.name];
  const out = [
    '.TP',
    roffTextLine(tag('', spec.name, spec.short, spec.type)),
    roffText(roffSentence(spec.help)),
    ...(note === undefined ? [] : [roffText(note)]),
    ...facts([
      table && !tables.includes(spec.name)
        ? 'A table of the reference bmx7; bmx7d has no such table and answers that it is unknown.'
        : undefined,
      spec.name === 'show' || spec.name === 'list' ? `Tables of bmx7d: ${tables.join(', ')}` : undefined,
      value === undefined ? undefined : `Value: ${value}`,
      def === undefined ? undefined : `Default: ${def}`,
      `Given: ${whenText(spec)}${spec.action === true ? '; carried out, never kept in the configuration' : ''}${spec.config || spec.type.kind === 'flag' ? '' : '; not in a config file'}.`,
      spec.multi === true ? `Repeats: one instance per value; ${spec.name}=-VALUE removes one.` : undefined,
    ]),
  ];
  const children = spec.children ?? [];
  if (children.length > 0) {
    out.push('.RS', ...children.flatMap(childLines), '.RE');
  }
  return out;
}

/** The options grouped by the module that registered them, in the order modules first appear. */
export function optionsByCategory(table: OptionTable): Map<string, OptionSpec[]> {
  const groups = new Map<string, OptionSpec[]>();
  for (const spec of table.all()) {
    const g = groups.get(spec.category) ?? [];
    g.push(spec);
    groups.set(spec.category, g);
  }
  return groups;
}

const text = roffText;
const literal = roffLiteral;
const B = roffBold;
const I = roffItalic;

export function bmx7dManPage(
  init: ManPageInit,
  table: OptionTable = daemonOptionTable(BUILTIN_PLUGINS),
  plugins: readonly DaemonPlugin[] = BUILTIN_PLUGINS,
): string {
  const keyDir = dirname(DEFAULT_KEY_PATH);
  const tables = daemonTableNames(plugins);
  const pluginText = plugins.map((p) => {
    const what = PLUGIN_SUMMARY[p.name];
    return what === undefined ? p.name : `${p.name}, which ${what}`;
  });
  const body: string[] = [
    roffMacro('SH', 'NAME'),
    text('bmx7d - BMX7 mesh routing daemon with WireGuard-encrypted gateway tunnels'),
    roffMacro('SH', 'SYNOPSIS'),
    `${B('bmx7d')} [${B('--config')} ${I('FILE')}] [${I('OPTION')}=${I('VALUE')} [${B('/')}${I('CHILD')}=${I('VALUE')}]...]...`,
    '.br',
    `${B('bmx7d')} ${B('--help')}|${B('-H')} [${B('/r=')}${I('0|1|2')}]`,

    roffMacro('SH', 'DESCRIPTION'),
    text(
      'bmx7d is a mesh routing daemon that speaks BMX7 (compatibility version 21) on the wire: it forms one mesh with other bmx7d nodes and with nodes running the reference bmx7, verifies their signed descriptions and routes to them.',
    ),
    '.PP',
    text(
      "It sends and receives on UDP port 6270 on each interface given with dev, from the interface's link-local address to ff02::2, gives the interfaces the node's primary address (fd70: followed by the first 14 bytes of the node id, prefix length 16), and routes to every reachable node with one host route in routing table 70, looked up by the rule of preference 70 (ipVersion /tableHnas and /tablePrefHnas change both).",
    ),
    '.PP',
    text(`Built in are the plugins ${pluginText.join('; ')}.`),
    '.PP',
    text(
      'bmx7d runs in the foreground, as systemd expects, and logs to standard error up to the level debug sets (0 system, 3 changes, 4 verbose, 8 details). It is controlled at runtime with bmx7ctl(8) over the Unix socket RUNTIMEDIR/sock: options that may be given at runtime change at once (bmx7ctl -c ogmInterval=3000, bmx7ctl set dev=-eth2) and are not written back to any file.',
    ),
    '.PP',
    text(
      'Every change bmx7d makes to the system (addresses, routes, rules, sysctls, tunnel and WireGuard devices) is first written to RUNTIMEDIR/journal; a clean stop undoes all of it, and a start after a crash undoes the leftovers of the last run before anything else.',
    ),

    roffMacro('SH', 'OPTIONS'),
    text(
      "Options are the reference bmx7's, with its names, short aliases, ranges and syntax; option names are case-insensitive:",
    ),
    '.PP',
    '.nf',
    '.RS',
    ...[
      'name=value   --name value   --name=value   name value',
      '-x value     -xvalue        -x=value       (short aliases)',
      '-lc   -cd3                  (value-less short options in a cluster)',
      'dev=eth1 /channel=6   /c=6  (children follow their parent)',
      'name=-                      (reset to the default)',
      'dev=-eth1                   (remove one instance)',
      '/child=-                    (reset a child)',
    ].map(literal),
    '.RE',
    '.fi',
    '.PP',
    text(
      'On the command line, options must come in non-decreasing order class (given below where it is not 9; 0 may come anywhere). Options that may be given at runtime are given through bmx7ctl(8) the same way: bmx7ctl -c NAME=VALUE. A query or action (a value-less option) is for the running daemon only.',
    ),
    '.PP',
    text(
      '--help lists the most relevant options with their defaults and ranges; --help /r=0 lists all of them, as this page does; -H adds their help texts.',
    ),
  ];

  for (const [category, specs] of optionsByCategory(table)) {
    body.push(roffMacro('SS', roffEscape(`${category} options`)));
    body.push(text(CATEGORY_INTRO[category] ?? `Options of the ${category} module.`));
    for (const spec of specs) body.push(...optionLines(spec, tables));
  }

  body.push(
    roffMacro('SH', 'CONFIGURATION FILE'),
    text(
      'With --config FILE (or --config=FILE), bmx7d reads options from FILE before the command line; an option given on both is taken from the command line. SIGHUP reads the file again.',
    ),
    '.PP',
    text(
      "The file holds the same options in the same syntax, one option per line. Its children follow on the same line, or on the following lines, indented and starting with '/'. A '#' at the start of a word starts a comment, to the end of the line; blank lines are ignored. Only options marked \"config file\" above may appear (not queries, actions or client settings). Order classes do not apply: the options are applied in order class, in file order within a class. An error names the file, the line and the option, and ends the start with exit status 2.",
    ),
    '.PP',
    '.nf',
    '.RS',
    ...CONFIG_EXAMPLE.map(literal),
    '.RE',
    '.fi',

    roffMacro('SH', 'FILES'),
    ...fileItem(
      `${DEFAULT_RUNTIME_DIR}/`,
      'The runtime directory (runtimeDir): pid (the lock against a second daemon), sock (the control socket, mode 0600), journal (the changes to undo). A clean stop removes pid and sock, and the directory when bmx7d made it and it is empty.',
    ),
    ...fileItem(
      `${DEFAULT_RUNTIME_DIR}/sock`,
      `The control socket bmx7ctl(8) talks to; at most ${MAX_CLIENTS} clients at once, requests of at most ${MAX_REQUEST_BYTES} bytes.`,
    ),
    ...fileItem(
      DEFAULT_KEY_PATH,
      'The node key (nodeRsaKey /keyPath), DER, mode 0600; generated when missing. The node id is the SHA-224 of its public key.',
    ),
    ...fileItem(
      DEFAULT_DESC_SQN_PATH,
      'The last description sequence number (descSqnPath): a restarted node continues from it, so its new descriptions are newer than those the mesh holds.',
    ),
    ...fileItem(
      join(keyDir, 'wg', WG_PRIVATE_KEY_FILE),
      "The node's WireGuard private key (mode 0600, as wg genkey writes it); created on first start, never printed.",
    ),
    ...fileItem(
      join(keyDir, 'wg', KEM_KEY_FILE),
      "The node's ML-KEM-768 key seed for post-quantum pre-shared keys (pqPsk), mode 0600.",
    ),
    ...fileItem(
      DEFAULT_TRUSTED_NODES_DIR,
      'Where setTrustedNode writes when neither its /trustedNodesDir nor trustedNodesDir is given. Trust filtering is on only while trustedNodesDir is set.',
    ),
    ...fileItem(
      DEFAULT_CONFIG_FILE,
      "The configuration file the package installs; read when given with --config, as the package's systemd unit bmx7d.service does (systemctl reload bmx7d sends SIGHUP).",
    ),
    ...fileItem(
      PACKAGE_STATE_DIR,
      `The state directory of bmx7d.service, the one place besides ${DEFAULT_RUNTIME_DIR} it may write to: the package's configuration puts the node key, descSqn and wg/ there.`,
    ),

    roffMacro('SH', 'SIGNALS'),
    '.TP',
    `${B('SIGTERM')}, ${B('SIGINT')}`,
    text(
      'Stop: withdraw the routes, remove tunnel and WireGuard devices, undo the journal (rule, addresses, sysctls), remove the control socket and the pid file, and exit with status 0.',
    ),
    '.TP',
    B('SIGHUP'),
    text(
      'Read the --config file again (with the command line on top) and apply what changed, as bmx7ctl set would; a bad file is logged and the running configuration stays. Read the trustedNodesDir directory again.',
    ),

    roffMacro('SH', 'EXIT STATUS'),
    ...BMX7D_EXIT_STATUS.flatMap((e) => ['.TP', B(String(e.code)), text(roffSentence(e.meaning))]),

    roffMacro('SH', 'SEE ALSO'),
    `${B('bmx7ctl')}(8), ${B('wg')}(8), ${B('ip')}(8), ${B('systemctl')}(1)`,
  );
  return roffPage(
    {
      name: 'bmx7d',
      section: 8,
      date: init.date,
      source: `bmx7d ${init.version}`,
      manual: "System Manager's Manual",
    },
    body,
  );
}

function fileItem(path: string, what: string): string[] {
  return ['.TP', I(path), text(what)];
}
