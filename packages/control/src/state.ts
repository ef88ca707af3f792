/**
 * The configured options as plain data, and the pure step that applies parsed operations to it.
 * The daemon keeps one ConfigState: it applies the command line, the config file and every
 * runtime `set` to a copy, and only when the whole batch applies does it adopt the new state and
 * reconfigure (so a bad option changes nothing). `parameters` and `get` read it.
 */
import type { Operation } from './args.js';
import { OptionError } from './errors.js';
import {
  type ChildOptionSpec,
  isAction,
  type OptionSpec,
  type OptionTable,
  type OptionValue,
} from './options.js';
import type { ParameterEntry } from './table.js';

/** The children given for one instance (or for a single option), by child name. */
export type ChildValues = Readonly<Record<string, OptionValue>>;

export type OptionSetting =
  | { readonly kind: 'single'; readonly value: OptionValue; readonly children: ChildValues }
  | { readonly kind: 'multi'; readonly instances: ReadonlyMap<string, ChildValues> };

/** Options that differ from their defaults, by canonical name. Immutable: apply returns a new one. */
export type ConfigState = ReadonlyMap<string, OptionSetting>;

export const EMPTY_CONFIG: ConfigState = new Map();

export type ApplyResult =
  | { ok: true; state: ConfigState; changed: readonly string[] }
  | { ok: false; error: OptionError };

/**
 * Applies the operations that change settings (`set`, `reset`, `remove`); flags, queries and
 * actions (options given only at runtime) and check-only operations leave the state alone. New instances of a multi option must
 * carry their mandatory children; removing an instance that does not exist is an error.
 */
export function applyOperations(
  state: ConfigState,
  ops: readonly Operation[],
  table: OptionTable,
): ApplyResult {
  const next = new Map(state);
  const changed = new Set<string>();
  for (const op of ops) {
    if (op.op === 'flag' || op.checkOnly) continue;
    const spec = table.get(op.option);
    const where = op.line === undefined ? '' : `line ${op.line}: `;
    const fail = (code: 'unknown-option' | 'bad-value' | 'missing-child', message: string): ApplyResult => ({
      ok: false,
      error: new OptionError(code, `${where}${message}`, { option: op.option, line: op.line }),
    });
    if (spec === undefined) return fail('unknown-option', `${op.option}: unknown option`);
    // queries and actions (show, flushAll, resetNode …) are carried out, not configured
    if (isAction(spec)) continue;
    if (spec.multi === true) {
      const cur = next.get(spec.name);
      const instances = new Map(cur?.kind === 'multi' ? cur.instances : []);
      const key = String(op.value);
      if (op.op === 'remove') {
        if (!instances.delete(key)) return fail('bad-value', `${spec.name}=-${key}: no such ${spec.name}`);
      } else if (op.op === 'set') {
        const old = instances.get(key);
        const children = mergeChildren(old ?? {}, op);
        if (old === undefined) {
          const missing = (spec.children ?? []).find(
            (c) => c.mandatory === true && children[c.name] === undefined,
          );
          if (missing !== undefined)
            return fail('missing-child', `${spec.name}=${key}: /${missing.name} is mandatory`);
        }
        instances.set(key, children);
      } else {
        return fail('bad-value', `${spec.name}: remove an instance with ${spec.name}=-<instance>`);
      }
      if (instances.size === 0) next.delete(spec.name);
      else next.set(spec.name, { kind: 'multi', instances });
    } else if (op.op === 'reset') {
      next.delete(spec.name);
    } else if (op.op === 'set') {
      const cur = next.get(spec.name);
      const children = mergeChildren(cur?.kind === 'single' ? cur.children : {}, op);
      next.set(spec.name, { kind: 'single', value: op.value as OptionValue, children });
    } else {
      return fail('bad-value', `${spec.name}: is not a multi option`);
    }
    changed.add(spec.name);
  }
  return { ok: true, state: next, changed: [...changed] };
}

function mergeChildren(base: ChildValues, op: Operation): ChildValues {
  const out: Record<string, OptionValue> = { ...base };
  for (const c of op.children) {
    if (c.op === 'reset') delete out[c.option];
    else out[c.option] = c.value as OptionValue;
  }
  return out;
}

/** The value in force for a single option: configured, else its default. */
export function effectiveValue(state: ConfigState, spec: OptionSpec): OptionValue | undefined {
  const s = state.get(spec.name);
  return s?.kind === 'single' ? s.value : spec.default;
}

/** The value in force for a child of an instance (or of a single option): configured, else its default. */
export function effectiveChild(children: ChildValues, child: ChildOptionSpec): OptionValue | undefined {
  return children[child.name] ?? child.default;
}

/**
 * The `parameters` listing: every configured option that a config file may hold, in table order
 * (that is, by module), with the default in parentheses as the reference prints it. With `name`,
 * only that option (its default when it is not configured).
 */
export function parameterEntries(state: ConfigState, table: OptionTable, name?: string): ParameterEntry[] {
  const out: ParameterEntry[] = [];
  const only = name === undefined ? undefined : table.get(name)?.name;
  for (const spec of table.all()) {
    if (only !== undefined ? spec.name !== only : !spec.config) continue;
    const s = state.get(spec.name);
    const childEntries = (children: ChildValues) =>
      (spec.children ?? [])
        .filter((c) => children[c.name] !== undefined)
        .map((c) => ({
          name: c.name,
          value: String(children[c.name]),
          ...(c.default === undefined ? {} : { default: c.default }),
        }));
    const def = spec.default === undefined ? {} : { default: spec.default };
    if (s === undefined) {
      if (only !== undefined && spec.default !== undefined)
        out.push({ name: spec.name, value: String(spec.default), ...def });
      continue;
    }
    if (s.kind === 'single')
      out.push({ name: spec.name, value: String(s.value), ...def, children: childEntries(s.children) });
    else
      for (const [key, children] of s.instances)
        out.push({ name: spec.name, value: key, ...def, children: childEntries(children) });
  }
  return out;
}

/** Every single option's value in force (configured, else default), by name: what a daemon maps onto its engine's init. */
export function effectiveValues(state: ConfigState, table: OptionTable): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const spec of table.all()) {
    if (spec.multi === true || spec.type.kind === 'flag') continue;
    const v = effectiveValue(state, spec);
    if (v !== undefined) out[spec.name] = v;
  }
  return out;
}

/** The instances of a multi option with their children in force (defaults filled in). */
export function instancesOf(
  state: ConfigState,
  spec: OptionSpec,
): { key: string; children: Record<string, OptionValue> }[] {
  const s = state.get(spec.name);
  if (s?.kind !== 'multi') return [];
  return [...s.instances].map(([key, given]) => {
    const children: Record<string, OptionValue> = {};
    for (const c of spec.children ?? []) {
      const v = effectiveChild(given, c);
      if (v !== undefined) children[c.name] = v;
    }
    return { key, children };
  });
}
