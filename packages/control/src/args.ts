/**
 * The reference's argument syntax (docs/protocol.md §5.2), parsed against an option table into typed
 * operations. Nothing is applied here: the daemon applies the operations, and only when the
 * whole sequence parsed, so a bad option changes nothing.
 *
 *   name=value  --name value  --name=value  name value   long options (names case-insensitive)
 *   -x value  -xvalue  -x=value                           short options
 *   -lc  -cd3                                            clusters of value-less short options;
 *                                                        a value-taking option ends the cluster
 *   /child=value  /child value  /c=value                 children, after their parent's value
 *   name=-                                               reset a single option to its default
 *   name=-instance                                       remove an instance of a multi option
 *   /child=-                                             reset a child to its default
 *   test                                                 check what follows without applying it
 */
import { OptionError, type OptionErrorCode } from './errors.js';
import {
  type ChildOptionSpec,
  findChild,
  type OptionSpec,
  type OptionTable,
  type OptionValue,
  parseOptionValue,
} from './options.js';

/** A change to one child option of an operation. */
export interface ChildOperation {
  readonly option: string;
  readonly op: 'set' | 'reset';
  readonly value?: OptionValue;
}

/**
 * One parsed option.
 * - `set`: a single option's value, or an instance of a multi option (`value` is its key);
 * - `reset`: `name=-`, back to the default;
 * - `remove`: `name=-instance` of a multi option (`value` is the instance);
 * - `flag`: a value-less option (a query such as `status`, an action such as `flushAll`).
 */
export interface Operation {
  readonly option: string;
  readonly op: 'set' | 'reset' | 'remove' | 'flag';
  readonly value?: OptionValue;
  readonly children: readonly ChildOperation[];
  /** Came after `test`: check it, do not apply it. */
  readonly checkOnly: boolean;
  /** 1-based line in a config file. */
  readonly line?: number;
}

/** Where the options come from: the rules of what may be given differ (5.2). */
export type ParseContext = 'init' | 'runtime' | 'config';

export interface ParseOptions {
  readonly context: ParseContext;
  /**
   * What to do with an unknown long option: `error` (default) or `passthrough`, which yields an
   * operation of that name with the raw value (a client that forwards options to a daemon with
   * more plugins than it knows). `passthrough` also keeps unknown children and child values
   * outside the table's ranges raw: plugins extend the children of options the table knows.
   */
  readonly unknown?: 'error' | 'passthrough';
  /** Enforce the order classes (default true; a config file is sorted instead). */
  readonly checkOrder?: boolean;
}

export interface ParsedArgs {
  readonly ops: readonly Operation[];
  /** `test` was given: the operations after it are `checkOnly`. */
  readonly test: boolean;
  /** Words after an option that eats the rest (`connect`, `-c`), forwarded unparsed. */
  readonly rest?: readonly string[];
}

export type ParseResult = { ok: true; value: ParsedArgs } | { ok: false; error: OptionError };

/** A word of input and, for config files, its line. */
export interface Word {
  readonly text: string;
  readonly line?: number;
}

/** Splits a reference command string (`"dev=eth1 /channel=6 show=links"`) into words. */
export function splitWords(s: string): string[] {
  return s.split(/\s+/).filter((w) => w.length > 0);
}

class Fail {
  constructor(
    readonly code: OptionErrorCode,
    readonly option: string | undefined,
    readonly message: string,
    readonly line: number | undefined,
  ) {}
}

interface Pending {
  spec: OptionSpec | undefined;
  name: string;
  op: Operation['op'];
  value?: OptionValue;
  children: ChildOperation[];
  line: number | undefined;
  checkOnly: boolean;
}

/** Parses argv words (no program name) against the table. Never throws on any input. */
export function parseArgs(argv: readonly string[], table: OptionTable, options: ParseOptions): ParseResult {
  return parseWords(
    argv.map((text) => ({ text })),
    table,
    options,
  );
}

/** Like parseArgs, over words that carry their config-file lines. */
export function parseWords(words: readonly Word[], table: OptionTable, options: ParseOptions): ParseResult {
  try {
    return { ok: true, value: run(words, table, options) };
  } catch (e) {
    if (e instanceof Fail) {
      const where = e.line === undefined ? '' : `line ${e.line}: `;
      return {
        ok: false,
        error: new OptionError(e.code, `${where}${e.message}`, { option: e.option, line: e.line }),
      };
    }
    throw e;
  }
}

function run(words: readonly Word[], table: OptionTable, options: ParseOptions): ParsedArgs {
  const ops: Operation[] = [];
  const checkOrder = options.checkOrder ?? options.context !== 'config';
  let order = 0;
  let orderOpt = '';
  let test = false;
  let pending: Pending | undefined;
  let i = 0;

  const flush = (): void => {
    if (pending === undefined) return;
    const p = pending;
    pending = undefined;
    const op: Operation = {
      option: p.name,
      op: p.op,
      ...(p.value === undefined ? {} : { value: p.value }),
      children: p.children,
      checkOnly: p.checkOnly,
      ...(p.line === undefined ? {} : { line: p.line }),
    };
    ops.push(op);
  };

  const admit = (spec: OptionSpec, line: number | undefined): void => {
    const ctx = options.context;
    if (spec.when === 'init' && ctx === 'runtime') {
      throw new Fail('init-only', spec.name, `${spec.name}: can only be set at start, not at runtime`, line);
    }
    if (spec.when === 'runtime' && ctx !== 'runtime') {
      throw new Fail(
        'runtime-only',
        spec.name,
        `${spec.name}: is a query or action for a running daemon (use bmx7ctl)`,
        line,
      );
    }
    if (ctx === 'config' && !spec.config) {
      throw new Fail('not-in-config', spec.name, `${spec.name}: cannot be given in a config file`, line);
    }
    if (checkOrder && spec.order !== 0) {
      if (spec.order < order) {
        throw new Fail(
          'order',
          spec.name,
          `${spec.name}: must appear earlier in the command sequence (order class ${spec.order}, after ${orderOpt} of class ${order})`,
          line,
        );
      }
      order = spec.order;
      orderOpt = spec.name;
    }
  };

  /** Starts an operation for `spec` given the raw value (undefined for flags). */
  const start = (spec: OptionSpec, raw: string | undefined, line: number | undefined): void => {
    flush();
    admit(spec, line);
    if (spec.name === 'test') {
      test = true;
      return;
    }
    const base = { spec, name: spec.name, children: [] as ChildOperation[], line, checkOnly: test };
    if (spec.type.kind === 'flag') {
      if (raw !== undefined)
        throw new Fail('unexpected-value', spec.name, `${spec.name}: takes no value`, line);
      pending = { ...base, op: 'flag' };
      return;
    }
    if (raw === undefined || raw.length === 0) {
      throw new Fail('missing-value', spec.name, `${spec.name}: value missing`, line);
    }
    if (raw.startsWith('-') && !isNegativeInt(spec, raw)) {
      const rest = raw.slice(1);
      if (spec.multi === true) {
        if (rest.length === 0)
          throw new Fail(
            'missing-value',
            spec.name,
            `${spec.name}=-: name the instance to remove (${spec.name}=-<instance>)`,
            line,
          );
        pending = { ...base, op: 'remove', value: rest };
        return;
      }
      if (rest.length > 0)
        throw new Fail(
          'bad-value',
          spec.name,
          `${spec.name}: ${JSON.stringify(raw)}: reset with ${spec.name}=-`,
          line,
        );
      pending = { ...base, op: 'reset' };
      return;
    }
    const v = parseOptionValue(spec.type, raw);
    if (!v.ok) throw new Fail(v.code, spec.name, `${spec.name}: ${v.reason}`, line);
    pending = { ...base, op: 'set', value: v.value };
  };

  const startUnknown = (name: string, raw: string | undefined, line: number | undefined): void => {
    flush();
    if (options.unknown !== 'passthrough')
      throw new Fail('unknown-option', name, `${name}: unknown option`, line);
    const base = { spec: undefined, name, children: [] as ChildOperation[], line, checkOnly: test };
    if (raw === undefined) pending = { ...base, op: 'flag' };
    else if (raw === '-') pending = { ...base, op: 'reset' };
    else if (raw.startsWith('-')) pending = { ...base, op: 'remove', value: raw.slice(1) };
    else pending = { ...base, op: 'set', value: raw };
  };

  const addChild = (text: string, next: Word | undefined, line: number | undefined): boolean => {
    // returns whether the next word was consumed as the value
    const body = text.slice(1);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    if (pending === undefined)
      throw new Fail('child-without-parent', name, `/${name}: child option without a parent option`, line);
    const p = pending;
    if (name.length === 0)
      throw new Fail('syntax', p.name, `${p.name}: empty child option name after /`, line);
    let consumed = false;
    let raw: string | undefined;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (next !== undefined && !next.text.startsWith('/')) {
      raw = next.text;
      consumed = true;
    }
    if (p.op === 'remove') {
      throw new Fail(
        'remove-and-refine',
        p.name,
        `${p.name}=-${String(p.value)}: cannot be removed and refined at the same time; omit /${name}`,
        line,
      );
    }
    if (p.spec === undefined) {
      // passthrough of an unknown parent: keep the raw child
      if (raw === undefined) throw new Fail('missing-value', name, `/${name}: value missing`, line);
      p.children.push(raw === '-' ? { option: name, op: 'reset' } : { option: name, op: 'set', value: raw });
      return consumed;
    }
    const c: ChildOptionSpec | undefined = findChild(p.spec, name);
    // a client forwards what a daemon's plugins may know: children its table lacks (`tunOut …
    // /crypt`) and values outside its ranges, raw, for the daemon to judge with its own table
    const lenient = options.unknown === 'passthrough';
    if (c === undefined) {
      if (!lenient) throw new Fail('unknown-child', p.name, `${p.name}: unknown child option /${name}`, line);
      if (raw === undefined) throw new Fail('missing-value', name, `/${name}: value missing`, line);
      p.children.push(raw === '-' ? { option: name, op: 'reset' } : { option: name, op: 'set', value: raw });
      return consumed;
    }
    if (p.op === 'reset')
      throw new Fail(
        'remove-and-refine',
        p.name,
        `${p.name}=-: cannot be reset and refined at the same time; omit /${c.name}`,
        line,
      );
    if (raw === undefined || raw.length === 0)
      throw new Fail('missing-value', p.name, `${p.name} /${c.name}: value missing`, line);
    let child: ChildOperation;
    if (raw === '-') child = { option: c.name, op: 'reset' };
    else {
      const v = parseOptionValue(c.type, raw);
      if (v.ok) child = { option: c.name, op: 'set', value: v.value };
      else if (lenient) child = { option: c.name, op: 'set', value: raw };
      else throw new Fail(v.code, p.name, `${p.name} /${c.name}: ${v.reason}`, line);
    }
    const at = p.children.findIndex((x) => x.option === c.name);
    if (at >= 0) p.children[at] = child;
    else p.children.push(child);
    return consumed;
  };

  const eat = (spec: OptionSpec, rest: string[], line: number | undefined): ParsedArgs => {
    flush();
    admit(spec, line);
    return { ops, test, rest };
  };

  while (i < words.length) {
    const w = words[i] as Word;
    const text = w.text;
    const next = words[i + 1];
    i++;
    if (text.length === 0) continue;
    if (text.startsWith('/')) {
      if (addChild(text, next, w.line)) i++;
      continue;
    }
    if (text.startsWith('--') && text.length > 2) {
      const body = text.slice(2);
      const consumed = long(body, next, w.line, true);
      if (consumed === 'eat')
        return eat(
          lookupLong(table, nameOf(body)) as OptionSpec,
          [...inlineOf(body), ...restTexts(words, i)],
          w.line,
        );
      if (consumed) i++;
      continue;
    }
    if (text.startsWith('-') && text.length > 1) {
      // a cluster of short options
      let k = 1;
      let consumedNext = false;
      while (k < text.length) {
        const ch = text[k] as string;
        const spec = table.getShort(ch);
        if (spec === undefined) {
          flush();
          throw new Fail('unknown-option', `-${ch}`, `-${ch}: unknown option`, w.line);
        }
        if (spec.eatsRest === true) {
          const tail = text.slice(k + 1);
          const rest = restTexts(words, i);
          return eat(spec, tail.length > 0 ? [`-${tail}`, ...rest] : rest, w.line);
        }
        if (spec.type.kind === 'flag') {
          start(spec, undefined, w.line);
          k++;
          continue;
        }
        let raw = text.slice(k + 1);
        if (raw.startsWith('=')) raw = raw.slice(1);
        if (raw.length === 0) {
          if (next === undefined) {
            flush();
            throw new Fail('missing-value', spec.name, `${spec.name} (-${ch}): value missing`, w.line);
          }
          raw = next.text;
          consumedNext = true;
        }
        start(spec, raw, w.line);
        break;
      }
      if (consumedNext) i++;
      continue;
    }
    if (text === '-' || text === '--') {
      flush();
      throw new Fail('syntax', undefined, `${JSON.stringify(text)}: option name missing`, w.line);
    }
    const consumed = long(text, next, w.line, false);
    if (consumed === 'eat')
      return eat(
        lookupLong(table, nameOf(text)) as OptionSpec,
        [...inlineOf(text), ...restTexts(words, i)],
        w.line,
      );
    if (consumed) i++;
  }
  flush();
  return { ops, test };

  /** A long option word (without leading dashes). Returns whether the next word was its value. */
  function long(
    body: string,
    next: Word | undefined,
    line: number | undefined,
    dashed: boolean,
  ): boolean | 'eat' {
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const spec = lookupLong(table, name);
    if (spec === undefined) {
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
        flush();
        throw new Fail('syntax', name, `${JSON.stringify(dashed ? `--${body}` : body)}: not an option`, line);
      }
      startUnknown(name, inline, line);
      return false;
    }
    // connect=<word> forwards <word> and the rest
    if (spec.eatsRest === true) return 'eat';
    if (spec.type.kind === 'flag') {
      start(spec, inline, line);
      return false;
    }
    if (inline !== undefined) {
      start(spec, inline, line);
      return false;
    }
    if (next === undefined || next.text.startsWith('/')) {
      flush();
      throw new Fail('missing-value', spec.name, `${spec.name}: value missing`, line);
    }
    start(spec, next.text, line);
    return true;
  }
}

function nameOf(body: string): string {
  const eq = body.indexOf('=');
  return eq < 0 ? body : body.slice(0, eq);
}

function inlineOf(body: string): string[] {
  const eq = body.indexOf('=');
  return eq < 0 || eq === body.length - 1 ? [] : [body.slice(eq + 1)];
}

function restTexts(words: readonly Word[], from: number): string[] {
  return words.slice(from).map((w) => w.text);
}

/** Long names match case-insensitively; a one-letter word also matches a short alias, as in the reference. */
function lookupLong(table: OptionTable, name: string): OptionSpec | undefined {
  return table.get(name) ?? (name.length === 1 ? table.getShort(name) : undefined);
}

function isNegativeInt(spec: OptionSpec, raw: string): boolean {
  return spec.type.kind === 'int' && spec.type.min < 0 && /^-\d+$/.test(raw);
}

/** The words that give an operation back (`dev=eth2 /channel=6`, `dev=-eth2`, `txAvgInterval=-`). */
export function formatOperation(op: Operation): string[] {
  const head =
    op.op === 'flag'
      ? op.option
      : op.op === 'reset'
        ? `${op.option}=-`
        : op.op === 'remove'
          ? `${op.option}=-${String(op.value)}`
          : `${op.option}=${String(op.value)}`;
  return [
    head,
    ...op.children.map((c) => (c.op === 'reset' ? `/${c.option}=-` : `/${c.option}=${String(c.value)}`)),
  ];
}
