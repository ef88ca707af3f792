/**
 * bmx7ctl's command line as a pure function: argv → the requests to send, or a usage error.
 * It accepts the reference's syntax (`-c show=originators`, `-lc status links`, `-cd3`,
 * `-c dev=eth2`, `runtimeDir=/x -c …`) and plain subcommands (`show originators`, `set dev=eth2`,
 * `get ogmInterval`, `log 3`, `dump FILE`), plus `--json` and `--legacy`. Options it does not know
 * (a plugin of the daemon's) are forwarded for the daemon to judge. Every request also carries the
 * words a reference client would send for it (`legacyWords`), for a reference daemon, which only
 * speaks the plain-text protocol (docs/protocol.md §5.1).
 */
import { formatOperation, type Operation, parseArgs } from './args.js';
import { EXPLAIN_SUBJECTS, type ExplainSubject } from './explain.js';
import { createReferenceOptionTable } from './option-data.js';
import type { OptionTable, Relevance } from './options.js';
import type { RequestBody } from './protocol.js';
import { REFERENCE_TABLES } from './tables.js';

export type CtlInvocation =
  | {
      readonly kind: 'request';
      /** Sent in order on one connection; the client prints each reply. */
      readonly requests: readonly RequestBody[];
      /** `-l`/`loopMode`: repeat every this many ms, clearing the screen. */
      readonly loop?: number;
      readonly json: boolean;
      readonly runtimeDir?: string;
      /** A subscribe is among the requests: keep printing events until interrupted. */
      readonly follow: boolean;
      /** `--legacy`: speak the reference's plain-text protocol without trying JSON first. */
      readonly legacy?: true;
      /** `topology --netjson` or `--dot`: how the graph of a `topology` reply is printed. */
      readonly graph?: 'netjson' | 'dot';
      /**
       * What a reference client sends for these requests (the words after its `-c`, as given);
       * absent when a request has no equivalent there (`get`).
       */
      readonly legacyWords?: readonly string[];
    }
  | {
      readonly kind: 'dump';
      readonly args: readonly string[];
      readonly json: boolean;
      readonly runtimeDir?: string;
    }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'usage-error'; readonly message: string };

export const CTL_USAGE = `usage: bmx7ctl [--json] [--legacy] [--runtime-dir DIR] [-l] COMMAND
       bmx7ctl [runtimeDir=DIR] [-l] -c OPTION...      (the reference bmx7's syntax)

commands:
  show TABLE [/r=0|1|2]     status, interfaces, links, originators, keys, credits, trusted,
                            tunnels, or a table a plugin registers; references, contents, cpu
                            (reference daemon only)
  TABLE [/r=N]              the same
  topology --netjson|--dot  the mesh as this node knows it: a NetJSON NetworkGraph, or the same
                            graph for Graphviz (topology alone shows the topology table)
  explain tunnels           per tunOut search, every gateway with the terms of its metric and
                            the rule that ranked it (with --json: the same as JSON)
  parameters                configured options, current value and (default)
  get NAME                  one option
  set OPTION...             change options at runtime: dev=eth2, dev=-eth2, ogmInterval=3000,
                            txAvgInterval=- (default), tunOut=x /network=10.0.0.0/8
  test OPTION...            check options without applying them
  version                   version, compatibility, node id and keys
  descriptions [/type=N] [/name=HOST] [/r=N]
  log [LEVEL]               stream the daemon's log (0 system, 3 changes, 4 verbose, 8 details)
  help [verbose]            the daemon's option list
  dump FILE...              decode captured BMX7 packets (no daemon needed)

reference syntax: -c show=originators   -lc status links   -cd3   -c dev=eth2   -c parameters

A reference bmx7 daemon is detected (it does not answer the JSON protocol) and then spoken to in
its plain-text protocol, its tables printed as it sends them; --legacy skips the detection.
Without a runtime directory: /run/bmx7d, else the reference's /var/run/bmx7 if its socket exists.

exit status: 0 ok, 1 the daemon refused, 2 usage error, 3 no daemon running,
             4 the daemon is busy (too many control connections; try again)`;

/** bmx7ctl's exit status when the daemon turned the connection away: at its limit of clients. */
export const EXIT_BUSY = 4;

interface Globals {
  json: boolean;
  legacy: boolean;
  runtimeDir?: string;
  loop: boolean;
  loopInterval?: number;
}

const DEFAULT_LOOP_MS = 1000;
const TABLE_NAMES = new Set(REFERENCE_TABLES.keys());

let defaultTable: OptionTable | undefined;

function referenceTable(): OptionTable {
  defaultTable ??= createReferenceOptionTable();
  return defaultTable;
}

/**
 * Parses bmx7ctl's argv (without node and the script). `table` is the option table used to check
 * options before they are sent (default: the reference's core, control and tun options).
 */
export function parseCtlArgs(argv: readonly string[], table?: OptionTable): CtlInvocation {
  const options = table ?? referenceTable();
  const g: Globals = { json: false, legacy: false, loop: false };
  const words: string[] = [];
  // client options may appear anywhere before the command proper
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i] as string;
    const next = argv[i + 1];
    if (w === '--json') g.json = true;
    else if (w === '--legacy') g.legacy = true;
    else if (w === '--loop') g.loop = true;
    // -l before the command is --loop, as the reference's -l before -c (`-l -c …` and `-lc` parse there)
    else if (w === '-l' && words.length === 0) g.loop = true;
    else if (w === '--runtime-dir' || w === '--runtimeDir') {
      if (next === undefined) return usage(`${w}: directory missing`);
      g.runtimeDir = next;
      i++;
    } else if (w.startsWith('--runtime-dir=')) g.runtimeDir = w.slice('--runtime-dir='.length);
    else if (w === '--interval') {
      if (next === undefined) return usage('--interval: milliseconds missing');
      const ms = parseInterval(next);
      if (typeof ms === 'string') return usage(ms);
      g.loopInterval = ms;
      i++;
    } else if (w === '--help' || (w === '-h' && words.length === 0 && !argv.some(isConnect))) {
      return { kind: 'help', text: CTL_USAGE };
    } else words.push(w);
  }
  if (words.length === 0) return usage('no command given (bmx7ctl --help lists them)');
  if (g.legacy && g.json) return usage('--json needs bmx7d: the reference daemon answers in text only');

  const first = words[0] as string;
  const connectAt = words.findIndex(isConnect);
  if (connectAt >= 0 || first.includes('=') || first.startsWith('-')) return referenceMode(words, g, options);
  return subcommand(first, words.slice(1), g, options);
}

function isConnect(w: string): boolean {
  return (
    w === 'connect' ||
    w === '--connect' ||
    w.startsWith('connect=') ||
    w.startsWith('--connect=') ||
    /^-[a-zA-Z]*c/.test(w)
  );
}

function usage(message: string): CtlInvocation {
  return { kind: 'usage-error', message };
}

function parseInterval(s: string): number | string {
  if (!/^\d+$/.test(s)) return `loop interval ${JSON.stringify(s)}: not a number of milliseconds`;
  const n = Number(s);
  if (n < 100 || n > 10000) return `loop interval ${n}: out of range 100..10000`;
  return n;
}

/** `[runtimeDir=DIR] [-l] [loopInterval=N] -c OPTIONS…`, or options alone (an implicit -c). */
function referenceMode(words: readonly string[], g: Globals, table: OptionTable): CtlInvocation {
  const hasConnect = words.some(isConnect);
  let forwarded: readonly string[] = words;
  if (hasConnect) {
    const r = parseArgs(words, table, { context: 'init' });
    if (!r.ok) return usage(r.error.message);
    for (const op of r.value.ops) {
      if (op.option === 'runtimeDir' && op.op === 'set') g.runtimeDir = String(op.value);
      else if (op.option === 'loopMode') g.loop = true;
      else if (op.option === 'loopInterval' && op.op === 'set') g.loopInterval = Number(op.value);
      else return usage(`${op.option}: only runtimeDir, loopMode (-l) and loopInterval may come before -c`);
    }
    forwarded = r.value.rest ?? [];
  }
  // a reference client forwards these words as they are
  return toInvocation(forwarded, g, table, forwarded);
}

function subcommand(cmd: string, rest: readonly string[], g: Globals, table: OptionTable): CtlInvocation {
  switch (cmd) {
    case 'show':
    case 'list': {
      const name = rest[0];
      if (name === undefined || name.startsWith('/') || name.startsWith('-'))
        return usage(`${cmd}: table name missing`);
      const rel = relevanceArgs(rest.slice(1));
      if (typeof rel === 'string') return usage(`${cmd} ${name}: ${rel}`);
      return request([showRequest(name, rel)], g);
    }
    case 'parameters':
      if (rest.length > 0) return usage('parameters: takes no arguments');
      return request([{ op: 'parameters', args: {} }], g);
    case 'version':
      if (rest.length > 0) return usage('version: takes no arguments');
      return request([{ op: 'version', args: {} }], g);
    case 'get': {
      const name = rest[0];
      if (name === undefined || rest.length > 1) return usage('get: give one option name');
      const spec = table.get(name);
      return request([{ op: 'get', args: { name: spec?.name ?? name } }], g);
    }
    case 'set':
    case 'test': {
      if (rest.length === 0) return usage(`${cmd}: options missing (e.g. ${cmd} dev=eth2)`);
      return toInvocation(cmd === 'test' ? ['test', ...rest] : rest, g, table);
    }
    case 'log':
    case 'monitor': {
      const level = rest[0] ?? '3';
      if (rest.length > 1 || !/^\d+$/.test(level) || Number(level) > 12)
        return usage(`${cmd}: level must be 0..12`);
      return request([{ op: 'subscribe', args: { level: Number(level) } }], g);
    }
    case 'help': {
      const verbose = rest[0] === 'verbose';
      const rel = relevanceArgs(verbose ? rest.slice(1) : rest);
      if (typeof rel === 'string') return usage(`help: ${rel}`);
      return request(
        [{ op: 'help', args: { verbose, ...(rel === undefined ? {} : { relevance: rel }) } }],
        g,
      );
    }
    case 'topology': {
      // `topology` alone (or with /r=N) is the reference's table; --netjson and --dot, the graph
      const formats = rest.filter((w) => w === '--netjson' || w === '--dot');
      if (formats.length === 0) return toInvocation([cmd, ...rest], g, table);
      if (formats.length > 1 || rest.length > 1)
        return usage('topology: give one of --netjson or --dot, and nothing else');
      const graph = formats[0] === '--dot' ? 'dot' : 'netjson';
      if (graph === 'dot' && g.json) return usage('topology: --dot and --json exclude each other');
      const inv = request([{ op: 'topology', args: {} }], g);
      return inv.kind === 'request' ? { ...inv, graph } : inv;
    }
    case 'explain': {
      if (rest.length !== 1 || !(EXPLAIN_SUBJECTS as readonly string[]).includes(rest[0] as string))
        return usage(`explain: what? (explain ${EXPLAIN_SUBJECTS.join('|')})`);
      return request([{ op: 'explain', args: { subject: rest[0] as ExplainSubject } }], g);
    }
    case 'dump':
      if (rest.length === 0) return usage('dump: file missing');
      return {
        kind: 'dump',
        args: rest,
        json: g.json,
        ...(g.runtimeDir === undefined ? {} : { runtimeDir: g.runtimeDir }),
      };
    default:
      // a table name, or a reference query word given as a subcommand (descriptions, status …)
      return toInvocation([cmd, ...rest], g, table);
  }
}

/** `/r=0`, `/relevance 0`, `-r 0`, `--relevance=0`, or nothing. */
function relevanceArgs(words: readonly string[]): Relevance | undefined | string {
  if (words.length === 0) return undefined;
  let value: string | undefined;
  const [a, b] = words;
  const m = /^(?:\/r|\/relevance|-r|--relevance)(?:=(.*))?$/.exec(a as string);
  if (m === null) return `unexpected ${JSON.stringify(a)}`;
  if (m[1] !== undefined) {
    value = m[1];
    if (words.length > 1) return `unexpected ${JSON.stringify(b)}`;
  } else {
    value = b;
    if (words.length > 2) return `unexpected ${JSON.stringify(words[2])}`;
  }
  if (value !== '0' && value !== '1' && value !== '2') return 'relevance must be 0, 1 or 2';
  return Number(value) as Relevance;
}

function showRequest(table: string, relevance: Relevance | undefined): RequestBody {
  return { op: 'show', args: relevance === undefined ? { table } : { table, relevance } };
}

function request(requests: RequestBody[], g: Globals, words?: readonly string[]): CtlInvocation {
  const follow = requests.some((r) => r.op === 'subscribe');
  if (follow && g.loop) return usage('loopMode (-l) cannot be combined with a log stream (-d/debug/log)');
  const legacyWords = words ?? legacyWordsOf(requests);
  return {
    kind: 'request',
    requests,
    json: g.json,
    follow,
    ...(g.legacy ? { legacy: true as const } : {}),
    ...(legacyWords === undefined ? {} : { legacyWords }),
    ...(g.loop ? { loop: g.loopInterval ?? DEFAULT_LOOP_MS } : {}),
    ...(g.runtimeDir === undefined ? {} : { runtimeDir: g.runtimeDir }),
  };
}

const relevanceOf = (op: Operation): Relevance | undefined => {
  const c = op.children.find((x) => x.option === 'relevance' && x.op === 'set');
  return c === undefined ? undefined : (c.value as Relevance);
};

/** The words the reference forwards after -c, as requests in their order. */
function toInvocation(
  words: readonly string[],
  g: Globals,
  table: OptionTable,
  legacyWords?: readonly string[],
): CtlInvocation {
  const r = requestsFromWords(words, table);
  return r.ok ? request(r.requests, g, legacyWords) : usage(r.message);
}

/**
 * The words a reference client sends for requests (docs/protocol.md §5.2, §5.3), in their order:
 * `show=<table> /r=<n>`, `parameters`, `version`, `help`/`verboseHelp`, `descriptions /type=…`,
 * a change's own words (after `test` for a check), `debug=<level>`. Undefined when a request has
 * no equivalent in the reference (`get`, `tables`).
 */
export function legacyWordsOf(requests: readonly RequestBody[]): string[] | undefined {
  const words: string[] = [];
  const rel = (r: number | undefined) => (r === undefined ? [] : [`/r=${r}`]);
  for (const body of requests) {
    switch (body.op) {
      case 'show':
        words.push(`show=${body.args.table}`, ...rel(body.args.relevance));
        break;
      case 'parameters':
      case 'version':
        words.push(body.op);
        break;
      case 'help':
        words.push(body.args.verbose === true ? 'verboseHelp' : 'help', ...rel(body.args.relevance));
        break;
      case 'descriptions': {
        const a = body.args;
        words.push('descriptions');
        if (a.type !== undefined) words.push(`/type=${a.type}`);
        if (a.name !== undefined) words.push(`/name=${a.name}`);
        words.push(...rel(a.relevance));
        break;
      }
      case 'set':
        if (body.args.test === true) words.push('test');
        words.push(...body.args.argv);
        break;
      case 'subscribe':
        words.push(`debug=${body.args.level}`);
        break;
      case 'unsubscribe':
      case 'quit':
      case 'hello':
        break;
      default:
        return undefined;
    }
  }
  return words;
}

export type RequestsResult = { ok: true; requests: RequestBody[] } | { ok: false; message: string };

/**
 * A reference command stream (what follows -c, or what a reference client sends on the socket)
 * as protocol requests in their order: queries become show/parameters/version/help/descriptions,
 * `debug=N` a subscription, consecutive changes one `set` (check-only ones after `test` another).
 * Options the table does not know are forwarded in `set` for the daemon to judge.
 */
export function requestsFromWords(words: readonly string[], table: OptionTable): RequestsResult {
  if (words.length === 0) return { ok: false, message: 'nothing to send to the daemon (e.g. -c status)' };
  const r = parseArgs(words, table, { context: 'runtime', unknown: 'passthrough' });
  if (!r.ok) return { ok: false, message: r.error.message };
  const requests: RequestBody[] = [];
  let set: { argv: string[]; test: boolean } | undefined;
  const flushSet = (): void => {
    if (set !== undefined)
      requests.push({ op: 'set', args: set.test ? { argv: set.argv, test: true } : { argv: set.argv } });
    set = undefined;
  };
  for (const op of r.value.ops) {
    const query = queryRequest(op);
    if (query === 'skip') continue;
    if (query !== undefined) {
      flushSet();
      requests.push(query);
      continue;
    }
    if (set !== undefined && set.test !== op.checkOnly) flushSet();
    set ??= { argv: [], test: op.checkOnly };
    set.argv.push(...formatOperation(op));
  }
  flushSet();
  if (requests.length === 0) {
    return {
      ok: false,
      message: r.value.test ? 'test: nothing to check after it' : 'nothing to send to the daemon',
    };
  }
  return { ok: true, requests };
}

/** The request for a query option, 'skip' for one that needs none, undefined for a change. */
function queryRequest(op: Operation): RequestBody | 'skip' | undefined {
  const rel = relevanceOf(op);
  switch (op.option) {
    case 'show':
    case 'list':
      return showRequest(String(op.value), rel);
    case 'parameters':
      return { op: 'parameters', args: {} };
    case 'version':
      return { op: 'version', args: {} };
    case 'help':
    case 'verboseHelp':
      return {
        op: 'help',
        args: { verbose: op.option === 'verboseHelp', ...(rel === undefined ? {} : { relevance: rel }) },
      };
    case 'descriptions': {
      const args: { type?: number; name?: string; relevance?: Relevance } = {};
      for (const c of op.children) {
        if (c.op !== 'set') continue;
        if (c.option === 'type') args.type = Number(c.value);
        else if (c.option === 'name') args.name = String(c.value);
        else if (c.option === 'relevance') args.relevance = c.value as Relevance;
      }
      return { op: 'descriptions', args };
    }
    case 'debug':
      return op.op === 'set'
        ? { op: 'subscribe', args: { level: Number(op.value) } }
        : { op: 'unsubscribe', args: {} };
    case 'quit':
      return 'skip';
    default:
      if (op.op === 'flag' && TABLE_NAMES.has(op.option)) return showRequest(op.option, rel);
      return undefined;
  }
}
