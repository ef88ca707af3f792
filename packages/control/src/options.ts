/**
 * The option model: a declarative description of every option the daemon accepts, with the
 * reference's names, short aliases, value types, defaults, ranges, order classes and the rules
 * of when an option may be given (docs/protocol.md §5.2 and §5.4). The same table drives the
 * command-line parser, the config-file parser, runtime `set` requests, `parameters` and `help`.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The value an option takes. */
export type OptionValueType =
  /** No value: the option is an action or a query (`status`, `flushAll`, `-l`). */
  | { readonly kind: 'flag' }
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | {
      readonly kind: 'string';
      readonly maxLength?: number;
      /** A pattern the whole value must match, and what to call its form in an error message. */
      readonly pattern?: RegExp;
      readonly form?: string;
    }
  /** An address or prefix: `fd70::/16`, `10.0.0.1/24`, `fe80::1`; `family` restricts it. */
  | { readonly kind: 'net'; readonly family?: 4 | 6; readonly prefixRequired?: boolean }
  | { readonly kind: 'file' }
  | { readonly kind: 'dir' }
  | { readonly kind: 'enum'; readonly values: readonly string[] };

/** When an option may be given: at start only, at runtime only (queries, actions), or both. */
export type OptionWhen = 'init' | 'runtime' | 'both';

/** Column relevance as the reference uses it for options, help and tables: 2 high, 1 medium, 0 all. */
export type Relevance = 0 | 1 | 2;

export type OptionValue = number | string;

export interface ChildOptionSpec {
  readonly name: string;
  /** One character; `/r=0` matches the child whose short name is `r`. */
  readonly short?: string;
  readonly type: OptionValueType;
  readonly default?: OptionValue;
  /** The child must be given whenever a new instance of its parent is created. */
  readonly mandatory?: boolean;
  readonly relevance?: Relevance;
  readonly help: string;
}

export interface OptionSpec {
  /** The reference's name, matched case-insensitively. */
  readonly name: string;
  /** One character: `-x value`, or in clusters like `-lc`. */
  readonly short?: string;
  readonly type: OptionValueType;
  readonly default?: OptionValue;
  readonly when: OptionWhen;
  /**
   * Several instances, keyed by their value (`dev=eth1 dev=eth2`); `name=-instance` removes one.
   * Single options are reset to the default with `name=-`.
   */
  readonly multi?: boolean;
  readonly children?: readonly ChildOptionSpec[];
  /**
   * Order class (docs/protocol.md §5.2): options must appear in non-decreasing class on a command
   * line; 0 means anywhere. 2 runtimeDir, plugin; 3 help, connect, loopMode, ipVersion,
   * compatibility; 4 nodeRsaKey; 5 hostname; 6 ipAutoPrefix, autoSysctl, autoTunSysctl;
   * 8 tunDevName; 9 everything else.
   */
  readonly order: number;
  readonly relevance: Relevance;
  /** May appear in a config file and is listed by `parameters` (the reference's A_CFA). */
  readonly config: boolean;
  /**
   * Carried out (`ControlBackend.action`), never kept in the configuration, though it may be given
   * at start too (`setTrustedNode`, which edits files); options with `when: 'runtime'` are always
   * actions or queries.
   */
  readonly action?: boolean;
  /** Consumes the rest of the command line (the reference's `connect`). */
  readonly eatsRest?: boolean;
  /** Which module registered it: core, control, tun, or a plugin's name. */
  readonly category: string;
  readonly help: string;
}

/** A registry of options that plugins extend at runtime. */
export interface OptionTable {
  /** Look an option up by its long name (case-insensitive) or, with `short`, by its one-letter alias. */
  get(name: string): OptionSpec | undefined;
  getShort(short: string): OptionSpec | undefined;
  /** Every option in registration order. */
  all(): readonly OptionSpec[];
}

interface MutableOptionTable extends OptionTable {
  readonly byName: Map<string, OptionSpec>;
  readonly byShort: Map<string, OptionSpec>;
  readonly list: OptionSpec[];
}

/** A new table holding the given groups of options (e.g. CORE_OPTIONS, CONTROL_OPTIONS, TUN_OPTIONS). */
export function createOptionTable(...groups: readonly (readonly OptionSpec[])[]): OptionTable {
  const byName = new Map<string, OptionSpec>();
  const byShort = new Map<string, OptionSpec>();
  const list: OptionSpec[] = [];
  const table: MutableOptionTable = {
    byName,
    byShort,
    list,
    get: (name) => byName.get(name.toLowerCase()),
    getShort: (short) => byShort.get(short),
    all: () => list,
  };
  for (const group of groups) registerOptions(table, group);
  return table;
}

/**
 * Adds options to a table (a plugin registering its own). Throws a TypeError, a programmer error,
 * when a name or short alias is taken or a spec is inconsistent.
 */
export function registerOptions(table: OptionTable, specs: readonly OptionSpec[]): void {
  const t = table as MutableOptionTable;
  if (!(t.byName instanceof Map)) throw new TypeError('registerOptions: not a table from createOptionTable');
  for (const spec of specs) {
    const key = spec.name.toLowerCase();
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(spec.name))
      throw new TypeError(`option name ${JSON.stringify(spec.name)}`);
    if (t.byName.has(key)) throw new TypeError(`option ${spec.name} is already registered`);
    if (spec.short !== undefined && (spec.short.length !== 1 || t.byShort.has(spec.short))) {
      throw new TypeError(
        `option ${spec.name}: short alias ${JSON.stringify(spec.short)} is invalid or taken`,
      );
    }
    if (spec.multi === true && spec.type.kind === 'flag')
      throw new TypeError(`option ${spec.name}: a flag cannot be multi`);
    const childNames = new Set<string>();
    for (const c of spec.children ?? []) {
      const ck = c.name.toLowerCase();
      if (childNames.has(ck)) throw new TypeError(`option ${spec.name}: duplicate child ${c.name}`);
      childNames.add(ck);
    }
    t.byName.set(key, spec);
    if (spec.short !== undefined) t.byShort.set(spec.short, spec);
    t.list.push(spec);
  }
}

/** Whether an operation on `spec` is carried out rather than configured (queries and actions). */
export function isAction(spec: OptionSpec | undefined): boolean {
  return spec !== undefined && (spec.when === 'runtime' || spec.action === true);
}

/** Finds a child option by name (case-insensitive) or by its one-letter alias. */
export function findChild(spec: OptionSpec, name: string): ChildOptionSpec | undefined {
  const lower = name.toLowerCase();
  for (const c of spec.children ?? []) if (c.name.toLowerCase() === lower) return c;
  if (name.length === 1) for (const c of spec.children ?? []) if (c.short === name) return c;
  return undefined;
}

export type ValueResult =
  | { ok: true; value: OptionValue }
  | { ok: false; code: 'bad-value' | 'out-of-range'; reason: string };

const INT_RE = /^[+-]?\d+$/;

/** Checks and converts a textual value for an option or child of the given type. */
export function parseOptionValue(type: OptionValueType, raw: string): ValueResult {
  switch (type.kind) {
    case 'flag':
      return { ok: false, code: 'bad-value', reason: 'takes no value' };
    case 'int': {
      if (!INT_RE.test(raw))
        return { ok: false, code: 'bad-value', reason: `${JSON.stringify(raw)} is not an integer` };
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || n < type.min || n > type.max) {
        return { ok: false, code: 'out-of-range', reason: `${raw} is out of range ${type.min}..${type.max}` };
      }
      return { ok: true, value: n };
    }
    case 'string': {
      if (raw.length === 0) return { ok: false, code: 'bad-value', reason: 'empty value' };
      if (type.maxLength !== undefined && raw.length > type.maxLength) {
        return { ok: false, code: 'bad-value', reason: `longer than ${type.maxLength} characters` };
      }
      if (type.pattern !== undefined && !type.pattern.test(raw)) {
        return {
          ok: false,
          code: 'bad-value',
          reason: `${JSON.stringify(raw)} is not of the form ${type.form ?? type.pattern.source}`,
        };
      }
      return { ok: true, value: raw };
    }
    case 'net':
      return parseNet(raw, type.family, type.prefixRequired === true);
    case 'file':
    case 'dir':
      if (raw.length === 0 || raw.includes('\0'))
        return { ok: false, code: 'bad-value', reason: 'not a path' };
      return { ok: true, value: raw };
    case 'enum': {
      const hit = type.values.find((v) => v.toLowerCase() === raw.toLowerCase());
      if (hit === undefined)
        return { ok: false, code: 'bad-value', reason: `must be one of ${type.values.join(', ')}` };
      return { ok: true, value: hit };
    }
  }
}

function parseNet(raw: string, family: 4 | 6 | undefined, prefixRequired: boolean): ValueResult {
  const slash = raw.indexOf('/');
  const addr = slash < 0 ? raw : raw.slice(0, slash);
  const len = slash < 0 ? undefined : raw.slice(slash + 1);
  const fam = isIPv6(addr) ? 6 : isIPv4(addr) ? 4 : 0;
  if (fam === 0)
    return { ok: false, code: 'bad-value', reason: `${JSON.stringify(addr)} is not an IP address` };
  if (family !== undefined && fam !== family)
    return { ok: false, code: 'bad-value', reason: `not an IPv${family} address` };
  if (len === undefined) {
    if (prefixRequired)
      return { ok: false, code: 'bad-value', reason: 'prefix length missing (address/length)' };
    return { ok: true, value: raw };
  }
  const max = fam === 6 ? 128 : 32;
  if (!/^\d{1,3}$/.test(len) || Number(len) > max)
    return { ok: false, code: 'out-of-range', reason: `prefix length ${len} is out of range 0..${max}` };
  return { ok: true, value: raw };
}

/** The text the reference's help shows for a value's form. */
export function describeType(type: OptionValueType): string {
  switch (type.kind) {
    case 'flag':
      return '';
    case 'int':
      return `<VAL> ${type.min}..${type.max}`;
    case 'string':
      return type.form === undefined ? '<STRING>' : `<${type.form}>`;
    case 'net':
      return type.family === 4 ? '<NETADDR4>' : type.family === 6 ? '<NETADDR6>' : '<NETADDR>';
    case 'file':
      return '<FILE>';
    case 'dir':
      return '<DIR>';
    case 'enum':
      return `<${type.values.join('|')}>`;
  }
}
