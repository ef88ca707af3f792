/**
 * bmx7ctl(8) and bmx7ctl's bash completion, generated from what bmx7ctl runs: the control client's
 * usage (its commands, from @bmx7/control's CTL_USAGE), the other registered commands (COMMANDS),
 * the reference's tables, and the daemon's option table and tables, which bmx7ctl does not have
 * and is given (tools/man.mjs passes bmx7d's). The prose (what the tool does, its client options,
 * the control protocol) is written here, short, and checked by manpage.test.ts against the parser.
 */
import {
  CONTROL_OPS,
  IDLE_TIMEOUT_MS,
  MAX_ARGV_WORDS,
  MAX_CLIENTS,
  MAX_REPLY_BYTES,
  MAX_REQUEST_BYTES,
  type OptionSpec,
  type OptionTable,
  type OptionValueType,
  PROTOCOL_VERSION,
  REFERENCE_TABLES,
  roffBold,
  roffEscape,
  roffItalic,
  roffLiteral,
  roffMacro,
  roffPage,
  roffSentence,
  roffText,
  visibleColumns,
} from '@bmx7/control';
import { type Command, EXIT } from './cli.js';
import { controlCommand, DEFAULT_RUNTIME_DIR, REFERENCE_RUNTIME_DIR } from './client.js';
import { COMMANDS } from './commands.js';

export interface CtlManInput {
  readonly version: string;
  /** YYYY-MM-DD. */
  readonly date: string;
  /** The daemon's option table: what `-c` and `set` take. */
  readonly options: OptionTable;
  /** The tables the daemon answers (the reference's tables are known to bmx7ctl itself). */
  readonly daemonTables: readonly string[];
  /** The control client's usage (default: the one bmx7ctl prints) and the other commands. */
  readonly controlUsage?: string;
  readonly commands?: readonly Command[];
}

/** One command as a usage text lists it: `show TABLE [/r=0|1|2]` and what it does. */
export interface UsageEntry {
  readonly synopsis: string;
  readonly text: string;
}

/** The first word of a synopsis: the command (`show`), or a placeholder (`TABLE`). */
export const commandWord = (e: UsageEntry): string => e.synopsis.split(' ')[0] as string;

/**
 * The entries of a usage text's `commands:` block: a line indented by two spaces starts one (the
 * synopsis, then after two spaces or more its text); deeper indented lines continue its text.
 */
export function usageEntries(usage: string): UsageEntry[] {
  const lines = usage.split('\n');
  const start = lines.findIndex((l) => /^commands:\s*$/.test(l));
  if (start < 0) return [];
  const out: { synopsis: string; text: string }[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const entry = /^ {2}(\S.*?)(?: {2,}(\S.*))?$/.exec(line);
    if (entry) out.push({ synopsis: entry[1] as string, text: entry[2] ?? '' });
    else {
      const last = out.at(-1);
      if (last === undefined || !/^ {3,}\S/.test(line)) break;
      last.text = `${last.text} ${line.trim()}`.trim();
    }
  }
  return out;
}

/** The examples after `reference syntax:` in the usage. */
export function referenceExamples(usage: string): string[] {
  const line = usage.split('\n').find((l) => l.startsWith('reference syntax:'));
  return line === undefined ? [] : line.slice('reference syntax:'.length).trim().split(/ {2,}/);
}

/** bmx7ctl's own options (parseCtlArgs and main.ts); manpage.test.ts checks each against them. */
export const CLIENT_OPTIONS: readonly {
  readonly flags: readonly string[];
  readonly arg?: string;
  readonly text: string;
}[] = [
  {
    flags: ['--json'],
    text: 'Print each reply as JSON: a table as {"table", "rows"} with the rows keyed by column (at the relevance asked for), other replies as the daemon returns them, log lines as one event object per line.',
  },
  {
    flags: ['--legacy'],
    text: "Speak the reference bmx7's plain-text protocol without greeting in JSON first (bmx7d understands it too). Not with --json.",
  },
  {
    flags: ['--runtime-dir', '--runtimeDir'],
    arg: 'DIR',
    text: "The daemon's runtime directory; its socket is DIR/sock. The reference syntax says runtimeDir=DIR before -c.",
  },
  {
    flags: ['--loop', '-l'],
    text: 'Repeat the request every second (--interval), clearing the screen, until interrupted. Not with a log stream. -l before the command, or in the reference syntax before -c (-lc).',
  },
  {
    flags: ['--interval'],
    arg: 'MS',
    text: 'The period of --loop in milliseconds, 100 to 10000 (default 1000).',
  },
  { flags: ['--help', '-h'], text: 'Print the usage: the control commands and the other commands.' },
  { flags: ['--version'], text: "Print bmx7ctl's version." },
];

/** What each exit status of EXIT means. */
const EXIT_MEANING: Readonly<Record<keyof typeof EXIT, string>> = {
  OK: 'Success.',
  FAILURE:
    'The daemon refused the request (its error line is printed on standard error), or dump found a packet it could not decode or a check that failed.',
  USAGE: 'Usage error: bad arguments, found before anything was sent.',
  NO_DAEMON: 'No daemon is listening on the socket.',
  BUSY: `The daemon is busy: it serves ${MAX_CLIENTS} control connections at most. Try again.`,
};

/** The usage's first line without `usage: ` (`bmx7ctl dump FILE [--json]`). */
function usageLine(c: Command): string {
  return (c.usage.split('\n')[0] as string).replace(/^usage:\s*/, '');
}

/** Every table a user can ask for: the reference's (bmx7ctl renders them) and the daemon's. */
export function allTables(daemonTables: readonly string[]): string[] {
  return [...new Set([...REFERENCE_TABLES.keys(), ...daemonTables])];
}

const text = roffText;
const literal = roffLiteral;
const B = roffBold;
const I = roffItalic;

/** A synopsis with its command in bold and placeholders (capitals) in italics. */
function synopsisRoff(synopsis: string): string {
  return synopsis
    .split(/(\s+|[[\]|.]+)/)
    .map((part, i) => {
      if (part === '' || /^[\s[\]|.]+$/.test(part)) return roffEscape(part);
      if (i === 0) return /^[A-Z]/.test(part) ? I(part) : B(part);
      if (/^[A-Z][A-Z0-9_]*$/.test(part)) return I(part);
      return B(part);
    })
    .join('');
}

/** The options a running daemon takes (`set`, `-c`): runtime ones and those given at start too. */
function runtimeOptions(table: OptionTable): OptionSpec[] {
  return table.all().filter((s) => s.when !== 'init' && s.type.kind !== 'flag');
}

export function bmx7ctlManPage(input: CtlManInput): string {
  const usage = input.controlUsage ?? controlCommand.usage;
  const commands = input.commands ?? COMMANDS;
  const own = new Set(commands.map((c) => c.name));
  const entries = usageEntries(usage).filter((e) => !own.has(commandWord(e)));
  const tables = allTables(input.daemonTables);
  const body: string[] = [
    roffMacro('SH', 'NAME'),
    text('bmx7ctl - control tool for bmx7d and the reference bmx7, and BMX7 capture dissector'),
    roffMacro('SH', 'SYNOPSIS'),
    `${B('bmx7ctl')} [${B('--json')}] [${B('--legacy')}] [${B('--runtime-dir')} ${I('DIR')}] [${B('--loop')} [${B('--interval')} ${I('MS')}]] ${I('COMMAND')} [${I('ARGUMENT')}...]`,
    '.br',
    `${B('bmx7ctl')} [${B('runtimeDir=')}${I('DIR')}] [${B('-l')}] ${B('-c')} ${I('OPTION')}...`,
    ...commands.flatMap((c) => ['.br', synopsisRoff(usageLine(c))]),
    '.br',
    `${B('bmx7ctl')} ${B('--help')} | ${B('help')} ${I('COMMAND')} | ${B('--version')}`,

    roffMacro('SH', 'DESCRIPTION'),
    text(
      "bmx7ctl talks to a running bmx7d(8) over its control socket RUNTIMEDIR/sock: it shows the daemon's tables, changes its options at runtime and follows its log. It talks to a reference bmx7 daemon too, in that daemon's plain-text protocol. And it dissects captured BMX7 packets (dump), without any daemon.",
    ),
    '.PP',
    text(
      "Arguments that are not one of the other commands go to the daemon: plain commands (show originators, set dev=eth2) or the reference bmx7's client syntax (-c show=originators). Options are checked against the reference's option table before anything is sent, so a bad one is a usage error; options it does not know (those of the daemon's plugins) are sent for the daemon to judge.",
    ),
    '.PP',
    text(
      `Without --runtime-dir, bmx7ctl uses ${DEFAULT_RUNTIME_DIR}, or the reference's ${REFERENCE_RUNTIME_DIR} when only that socket exists. It greets the daemon in JSON first: bmx7d answers, a reference bmx7 closes the connection without a byte, and is then asked again in plain text (--legacy skips the greeting).`,
    ),

    roffMacro('SH', 'COMMANDS'),
    text('Sent to the daemon:'),
    ...entries.flatMap((e) => [
      '.TP',
      synopsisRoff(e.synopsis),
      text(e.text === '' ? 'See below.' : roffSentence(e.text)),
    ]),
    ...commands.flatMap((c) => {
      const rest = c.usage.split('\n').slice(1);
      return [
        '.TP',
        synopsisRoff(usageLine(c).replace(/^bmx7ctl /, '')),
        text(roffSentence(c.summary)),
        ...(rest.length === 0 ? [] : ['.RS', '.nf', ...rest.map(literal), '.fi', '.RE']),
      ];
    }),
    '.PP',
    text(
      "TABLE is one of the tables below; /r=2 (the default) shows the most relevant columns, 1 more, 0 all. descriptions shows every known node's description, decoded: /type=N only TLVs of that type, /name=HOST only that node. help lists the daemon's options (verbose with their help texts).",
    ),

    roffMacro('SH', 'REFERENCE SYNTAX'),
    `${B('bmx7ctl')} [${B('runtimeDir=')}${I('DIR')}] [${B('-l')}] [${B('loopInterval=')}${I('MS')}] ${B('-c')} ${I('OPTION')}...`,
    '.PP',
    text(
      "After -c (or connect) come the reference's options, sent as given: queries (show=TABLE /r=N, a table's name, parameters, version, descriptions, help, verboseHelp), changes (NAME=VALUE with /CHILD=VALUE, NAME=- for the default, NAME=-INSTANCE to remove one), test (check what follows without applying it) and debug=N or -dN (follow the daemon's log at level N until interrupted). Options alone, without -c, are taken as if -c came first. The options and their syntax are in bmx7d(8).",
    ),
    '.PP',
    text('For example:'),
    '.PP',
    '.RS',
    '.nf',
    ...referenceExamples(usage).map((e) => literal(`bmx7ctl ${e}`)),
    '.fi',
    '.RE',
    '.PP',
    text(
      `Options a running daemon takes: ${runtimeOptions(input.options)
        .map((s) => s.name)
        .join(', ')}.`,
    ),

    roffMacro('SH', 'OPTIONS'),
    ...CLIENT_OPTIONS.flatMap((o) => [
      '.TP',
      o.flags.map((f) => `${B(f)}${o.arg === undefined ? '' : ` ${I(o.arg)}`}`).join(', '),
      text(o.text),
    ]),

    roffMacro('SH', 'TABLES'),
    text(
      "The columns listed are those shown by default (/r=2); bmx7d adds columns of its own after a reference table's (crypt in tunnels), and a plugin's table takes its columns from its rows.",
    ),
    ...tables.flatMap((t) => {
      const def = REFERENCE_TABLES.get(t);
      const who = input.daemonTables.includes(t)
        ? def === undefined
          ? 'bmx7d'
          : 'bmx7d and the reference bmx7'
        : 'the reference bmx7 only';
      const cols =
        def === undefined
          ? ''
          : ` Columns: ${visibleColumns(def, 2)
              .map((c) => c.name)
              .join(' ')}.`;
      return ['.TP', B(t), text(`Answered by ${who}.${cols}`)];
    }),

    roffMacro('SH', 'CONTROL PROTOCOL'),
    text(
      `The socket RUNTIMEDIR/sock is a Unix stream socket of mode 0600: only the daemon's user may use it. bmx7d serves ${MAX_CLIENTS} connections at once and answers one more with a busy error before closing it; a connection that completes no request for ${IDLE_TIMEOUT_MS} ms is closed unless it follows the log.`,
    ),
    '.PP',
    text(
      `bmx7d speaks the bmx7d control protocol, version ${PROTOCOL_VERSION}: newline-delimited JSON frames in UTF-8, the client speaking first. A request is {"id": ID, "op": OP, "args": {...}}, with OP one of ${CONTROL_OPS.join(', ')}; a set takes at most ${MAX_ARGV_WORDS} words. Each request gets exactly one reply, in order: {"type": "reply", "id": ID, "ok": true, "result": ...} or {"type": "reply", "id": ID, "ok": false, "error": {"code": CODE, "message": TEXT}}. After subscribe, log lines come as {"type": "event", "event": "log", "level": N, "message": TEXT} frames. Requests are at most ${MAX_REQUEST_BYTES} bytes, replies at most ${MAX_REPLY_BYTES}; a bad frame gets an error reply and the connection stays usable.`,
    ),
    '.PP',
    text(
      "A connection whose first byte is not '{' speaks the reference's plain-text protocol, which is all a reference bmx7 speaks: the client writes its option words and \" #\" in one write, and the daemon answers in text ended by '$' and closes, or, refusing the request, writes its reasons and closes without '$'.",
    ),

    roffMacro('SH', 'EXIT STATUS'),
    ...(Object.keys(EXIT) as (keyof typeof EXIT)[]).flatMap((k) => [
      '.TP',
      B(String(EXIT[k])),
      text(EXIT_MEANING[k]),
    ]),

    roffMacro('SH', 'FILES'),
    '.TP',
    I(`${DEFAULT_RUNTIME_DIR}/sock`),
    text("bmx7d's control socket."),
    '.TP',
    I(`${REFERENCE_RUNTIME_DIR}/sock`),
    text("The reference bmx7's control socket."),

    roffMacro('SH', 'SEE ALSO'),
    `${B('bmx7d')}(8), ${B('wg')}(8)`,
  ];
  return roffPage(
    {
      name: 'bmx7ctl',
      section: 8,
      date: input.date,
      source: `bmx7ctl ${input.version}`,
      manual: "System Manager's Manual",
    },
    body,
  );
}

// ---------------------------------------------------------------------------------------------
// bash completion

/** What a word may be: fixed words, or what bash's compgen lists (files, directories, interfaces). */
type Candidates =
  | { readonly words: readonly string[] }
  | { readonly kind: 'files' | 'dirs' | 'ifaces' | 'options' };

/** Up to this many integers are offered as values (`cryptTun=0 1 2`); wider ranges are typed. */
const MAX_INT_CHOICES = 13;

function valueCandidates(
  name: string,
  type: OptionValueType,
  tables: readonly string[],
): Candidates | undefined {
  if (name === 'show' || name === 'list') return { words: tables };
  switch (type.kind) {
    case 'enum':
      return { words: type.values };
    case 'file':
      return { kind: 'files' };
    case 'dir':
      return { kind: 'dirs' };
    case 'int':
      return type.max - type.min < MAX_INT_CHOICES
        ? { words: Array.from({ length: type.max - type.min + 1 }, (_, i) => String(type.min + i)) }
        : undefined;
    case 'string':
      return type.form === 'interface name' ? { kind: 'ifaces' } : undefined;
    default:
      return undefined;
  }
}

/** A placeholder of a usage synopsis: what it stands for. */
function placeholder(word: string, input: CtlManInput, tables: readonly string[]): Candidates | undefined {
  switch (word) {
    case 'TABLE':
      return { words: tables };
    case 'OPTION':
      return { kind: 'options' };
    case 'NAME':
      return { words: input.options.all().map((s) => s.name) };
    case 'LEVEL': {
      const debug = input.options.get('debug');
      return debug === undefined ? undefined : valueCandidates('debug', debug.type, tables);
    }
    case 'FILE':
      return { kind: 'files' };
    case 'DIR':
      return { kind: 'dirs' };
    default:
      return undefined;
  }
}

/** A command's arguments from its synopsis: required positionals in order, then any optional word. */
interface CommandArgs {
  readonly positional: readonly Candidates[];
  /** The last positional repeats (`FILE...`, `OPTION...`). */
  readonly repeats: boolean;
  readonly optional: readonly string[];
  readonly optionalCandidates: readonly Candidates[];
}

function commandArgs(synopsis: string, input: CtlManInput, tables: readonly string[]): CommandArgs {
  const positional: Candidates[] = [];
  const optional: string[] = [];
  const optionalCandidates: Candidates[] = [];
  let repeats = false;
  // `[--port=N]`, `[/r=0|1|2]`, `[verbose]`, `FILE...`, `[--netjson|--dot]`
  const tokens = synopsis.split(' ').slice(1);
  for (const raw of tokens) {
    const inBrackets = raw.startsWith('[');
    const token = raw.replace(/^\[+|\]+$/g, '');
    const many = token.endsWith('...');
    const bare = token.replace(/\.\.\.$/, '');
    const alternatives = bare.includes('=') ? [bare] : bare.split('|');
    for (const alt of alternatives) {
      const eq = /^([-/][A-Za-z-]+=)(.*)$/.exec(alt);
      if (eq !== null) {
        const values = (eq[2] as string).split('|');
        if (values.every((v) => /^[a-z0-9]+$/.test(v))) optional.push(...values.map((v) => `${eq[1]}${v}`));
        else optional.push(eq[1] as string);
        continue;
      }
      if (/^[A-Z][A-Z0-9_]*$/.test(alt)) {
        const c = placeholder(alt, input, tables);
        if (inBrackets) {
          if (c !== undefined) optionalCandidates.push(c);
        } else {
          positional.push(c ?? { words: [] });
          repeats = many;
        }
        continue;
      }
      if (/^-/.test(alt) || inBrackets) optional.push(alt);
      else positional.push({ words: [alt] });
    }
  }
  return { positional, repeats, optional, optionalCandidates };
}

const shellWord = (w: string): string =>
  /^[A-Za-z0-9_./=:+-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`;

/** Shell code adding candidates, each as "$p" followed by it, to the array `cands` ($v: the typed part). */
function addCandidates(c: Candidates): string {
  if ('words' in c)
    return c.words.length === 0 ? ':' : `_bmx7ctl_add "$p" ${c.words.map(shellWord).join(' ')}`;
  switch (c.kind) {
    case 'files':
      return '_bmx7ctl_add_files -f "$p" "$v"';
    case 'dirs':
      return '_bmx7ctl_add_files -d "$p" "$v"';
    case 'ifaces':
      return '_bmx7ctl_add_ifaces "$p"';
    case 'options':
      return '_bmx7ctl_option_words';
  }
}

/**
 * A bash completion for bmx7ctl: commands (and table names, which are commands too), each
 * command's arguments from its synopsis, `-c`/`set`/`test` option words (`name=` for options
 * with a value, `/child=` after their option, values where the table lists them), `--json` and
 * the other client options, and file names where a command takes a FILE. It needs nothing but
 * bash (not the bash-completion package).
 */
export function bmx7ctlCompletion(input: CtlManInput): string {
  const usage = input.controlUsage ?? controlCommand.usage;
  const commands = input.commands ?? COMMANDS;
  const tables = allTables(input.daemonTables);
  const own = new Set(commands.map((c) => c.name));
  const synopses = new Map<string, string>();
  for (const e of usageEntries(usage)) if (!own.has(commandWord(e))) synopses.set(commandWord(e), e.synopsis);
  for (const c of commands) synopses.set(c.name, usageLine(c).replace(/^bmx7ctl /, ''));
  // TABLE as a command stands for every table's name
  const tableForm = synopses.get('TABLE');
  synopses.delete('TABLE');
  const commandWords = [...new Set([...synopses.keys(), ...(tableForm === undefined ? [] : tables)])];
  const globals = CLIENT_OPTIONS.flatMap((o) => o.flags);
  const withArg = CLIENT_OPTIONS.filter((o) => o.arg !== undefined);
  const dirArg = withArg.filter((o) => o.arg === 'DIR').flatMap((o) => o.flags);
  const otherArg = withArg.filter((o) => o.arg !== 'DIR').flatMap((o) => o.flags);

  const runtime = input.options.all().filter((s) => s.when !== 'init');
  const optionWords = runtime.map((s) => (s.type.kind === 'flag' ? s.name : `${s.name}=`));
  const childCases = runtime
    .filter((s) => (s.children ?? []).length > 0)
    .map(
      (s) =>
        `    ${s.name.toLowerCase()}) _bmx7ctl_add "" ${(s.children ?? [])
          .map((c) => shellWord(c.type.kind === 'flag' ? `/${c.name}` : `/${c.name}=`))
          .join(' ')} ;;`,
    );
  const valueCases = runtime.flatMap((s) => {
    const c = valueCandidates(s.name, s.type, tables);
    return c === undefined ? [] : [`    ${s.name.toLowerCase()}) ${addCandidates(c)} ;;`];
  });
  const argCase = (pattern: string, synopsis: string): string => {
    const a = commandArgs(synopsis, input, tables);
    const lines = [`    ${pattern})`];
    a.positional.forEach((c, i) => {
      const last = i === a.positional.length - 1;
      const at = a.repeats && last ? `n >= ${i}` : `n == ${i}`;
      // option words start with / too (children), and file names may; words never start with - or /
      const kind = 'kind' in c ? c.kind : 'words';
      const guard =
        kind === 'options'
          ? ''
          : kind === 'words' || kind === 'ifaces'
            ? ' && $cur != [-/]*'
            : ' && $cur != -*';
      lines.push(`      if [[ $(( ${at} )) == 1${guard} ]]; then ${addCandidates(c)}; return; fi`);
    });
    for (const c of a.optionalCandidates) lines.push(`      [[ $cur == [-/]* ]] || ${addCandidates(c)}`);
    if (a.optional.length > 0) lines.push(`      _bmx7ctl_add "" ${a.optional.map(shellWord).join(' ')}`);
    lines.push('      ;;');
    return lines.join('\n');
  };
  const argCases = [...synopses].map(([name, synopsis]) => argCase(shellWord(name), synopsis));
  if (tableForm !== undefined) argCases.push(argCase(tables.map(shellWord).join('|'), tableForm));

  return `# bash completion for bmx7ctl                                      -*- shell-script -*-
# Generated from bmx7ctl's commands and bmx7d's option table (tools/man.mjs); do not edit.

_bmx7ctl_commands=(${commandWords.map(shellWord).join(' ')})
_bmx7ctl_globals=(${globals.map(shellWord).join(' ')} -c)
_bmx7ctl_options=(${optionWords.map(shellWord).join(' ')})

# candidates: "$1" followed by each further argument
_bmx7ctl_add() {
  local p=$1 w
  shift
  for w in "$@"; do cands+=("$p$w"); done
}

_bmx7ctl_add_files() {
  local w
  files=1
  while IFS= read -r w; do cands+=("$2$w"); done < <(compgen "$1" -- "$3")
}

_bmx7ctl_add_ifaces() {
  local d
  for d in /sys/class/net/*; do [[ -e $d ]] && cands+=("$1\${d##*/}"); done
}

# the children of an option, after it (/child=)
_bmx7ctl_children() {
  case "\${1,,}" in
${childCases.join('\n')}
  esac
}

# the values of an option (NAME=VALUE): $p is "NAME=", $v what follows it
_bmx7ctl_values() {
  case "\${1,,}" in
${valueCases.join('\n')}
  esac
}

# a word of the reference syntax: NAME= or a query, NAME=VALUE, or /CHILD= after its option
_bmx7ctl_option_words() {
  local j
  if [[ $cur == /* ]]; then
    for (( j = \${#words[@]} - 2; j > 0; j-- )); do
      [[ \${words[j]} == /* ]] && continue
      local parent=\${words[j]%%=*}
      _bmx7ctl_children "\${parent#--}"
      return
    done
  elif [[ $cur == *=* ]]; then
    local p=\${cur%%=*}= v=\${cur#*=}
    _bmx7ctl_values "\${p%=}"
  else
    _bmx7ctl_add "" "\${_bmx7ctl_options[@]}"
  fi
}

# the arguments of command $1 (table names are commands too); n arguments come before this one
_bmx7ctl_args() {
  local p='' v=$cur
  case "$1" in
${argCases.join('\n')}
  esac
}

_bmx7ctl() {
  local cur words=() cands=() files=0 i w
  # the words up to the cursor, with '=' kept inside them (bash's COMP_WORDS splits at '=')
  if [[ -n \${COMP_LINE-} ]]; then
    local line=\${COMP_LINE:0:\${COMP_POINT:-\${#COMP_LINE}}}
    read -ra words <<< "$line"
    [[ $line == *[[:space:]] || \${#words[@]} -eq 0 ]] && words+=('')
  else
    local glue=0
    for (( i = 0; i <= COMP_CWORD; i++ )); do
      w=\${COMP_WORDS[i]-}
      if [[ $w == = ]]; then
        words[\${#words[@]}-1]+='='
        glue=1
      elif (( glue )); then
        words[\${#words[@]}-1]+=$w
        glue=0
      else
        words+=("$w")
      fi
    done
  fi
  cur=\${words[\${#words[@]}-1]}

  # the command: the first word that is not a client option; -c (or options alone) for the reference syntax
  local cmd='' n=0 prev=\${words[\${#words[@]}-2]-}
  for (( i = 1; i < \${#words[@]} - 1; i++ )); do
    w=\${words[i]}
    if [[ -z $cmd ]]; then
      case "$w" in
        ${[...dirArg, ...otherArg].join('|')}) (( i++ )) ;;
        -c | -[a-z]*c* | connect | --connect) cmd=-c ;;
        -*) ;;
        *=*) cmd=-c ;;
        *) cmd=$w ;;
      esac
    elif [[ $w != [-/]* ]]; then
      (( n++ ))
    fi
  done

  if [[ -z $cmd ]]; then
    case "$prev" in
      ${dirArg.join('|')}) local p='' v=$cur; _bmx7ctl_add_files -d "" "$cur" ;;
      ${otherArg.join('|')}) ;;
      *)
        if [[ $cur == -* ]]; then _bmx7ctl_add "" "\${_bmx7ctl_globals[@]}"
        elif [[ $cur == *=* ]]; then _bmx7ctl_option_words
        else _bmx7ctl_add "" "\${_bmx7ctl_commands[@]}"; fi ;;
    esac
  elif [[ $cmd == -c ]]; then
    _bmx7ctl_option_words
  else
    _bmx7ctl_args "$cmd"
  fi

  # COMPREPLY: the candidates that start with $cur, as the part of $cur bash replaces (the text
  # after its last '=' when bash splits words there, as it does by default)
  local bword=\${COMP_WORDS[COMP_CWORD]-} strip=0
  [[ $bword == = ]] && bword=''
  [[ $cur == *"$bword" ]] && strip=$(( \${#cur} - \${#bword} ))
  COMPREPLY=()
  for w in "\${cands[@]}"; do
    [[ $w == "$cur"* ]] && COMPREPLY+=("\${w:strip}")
  done
  (( files )) && compopt -o filenames 2>/dev/null
  if (( \${#COMPREPLY[@]} > 0 )); then
    local open=1
    for w in "\${COMPREPLY[@]}"; do [[ $w == *[=/] ]] || open=0; done
    (( open )) && compopt -o nospace 2>/dev/null
  fi
  return 0
}

complete -F _bmx7ctl bmx7ctl
`;
}
