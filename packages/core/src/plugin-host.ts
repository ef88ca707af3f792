/**
 * The plugin host: one `PluginHost` per attached plugin, the registry of what plugins claimed (TLV
 * types, HNA6 contributions, tables, options), and the isolation of their callbacks. An exception
 * in any callback is caught, logged with the plugin's name and counted (`pluginErrors`); the engine
 * calls plugins only before or after a change of its own state, never half-way.
 */
import { type Hna6Entry, TLV_TYPE } from '@bmx7/codec';
import { shortId } from '@bmx7/crypto';
import type {
  EngineEvent,
  EnginePlugin,
  NodeView,
  PluginFiles,
  PluginHost,
  PluginOption,
  PluginSettings,
  ShowRows,
  TlvBodies,
  TlvHandler,
} from './plugin.js';
import type { RuleExport } from './routes.js';
import type { EngineState } from './state.js';
import { trustOf } from './trust.js';

/** Stable codes of plugin registration errors. */
export type PluginErrorCode =
  | 'duplicate-plugin'
  | 'tlv-core'
  | 'tlv-claimed'
  | 'tlv-range'
  | 'table-claimed'
  | 'option-claimed'
  | 'attach-failed';

/** A plugin could not be attached (STYLE.md rule 13: a stable `code`, the `cause`). */
export class PluginError extends Error {
  override readonly name = 'PluginError';
  readonly code: PluginErrorCode;
  readonly plugin: string;
  constructor(code: PluginErrorCode, plugin: string, message: string, options?: { cause?: unknown }) {
    super(`plugin ${plugin}: ${message}`, options);
    this.code = code;
    this.plugin = plugin;
  }
}

/** Description TLV types the core produces or interprets: no plugin may claim them (docs/protocol.md §4.8). */
export const CORE_TLV_TYPES: ReadonlySet<number> = new Set([
  TLV_TYPE.CONTENT_HASH,
  TLV_TYPE.NODE_PUBKEY,
  TLV_TYPE.DSC_SIGNATURE,
  TLV_TYPE.VERSION,
  TLV_TYPE.RSA_LINK_PUBKEY,
  TLV_TYPE.DHM_LINK_PUBKEY,
  TLV_TYPE.SUPPORTS,
  TLV_TYPE.TRUSTS,
  TLV_TYPE.METRIC,
  TLV_TYPE.LLIP,
  TLV_TYPE.HNA6,
  TLV_TYPE.INFO,
]);

/** Show tables the core answers itself. */
export const CORE_TABLES: readonly string[] = [
  'status',
  'interfaces',
  'links',
  'originators',
  'credits',
  'keys',
  'trusted',
];

/** Where plugins keep private files: the daemon's state directory, or the in-memory twin. */
export interface FilesPort {
  /** Paths are `<plugin>/<name>`; the adapter maps them below its own directory. */
  read(path: string): Uint8Array | undefined;
  /** Atomically (temporary file, then rename), mode 0600. */
  write(path: string, bytes: Uint8Array): void;
  remove(path: string): void;
}

interface Entry {
  readonly plugin: EnginePlugin;
  readonly name: string;
  readonly unsubscribe: Array<() => void>;
  /** Route and rule owners this plugin set (`plugin:<name>:<key>`). */
  readonly routeOwners: Set<string>;
  readonly ruleOwners: Set<string>;
}

export interface PluginRegistry {
  readonly entries: Entry[];
  readonly tlvs: Map<number, { entry: Entry; handler: TlvHandler }>;
  readonly hna6: Array<{ entry: Entry; produce: () => readonly Hna6Entry[] }>;
  readonly tables: Map<string, { entry: Entry; rows: () => ShowRows }>;
  readonly options: Array<{ entry: Entry; option: PluginOption }>;
  files: FilesPort | undefined;
  /** Policy rules of plugins, when the engine has a rules port. */
  rules: RuleExport | undefined;
}

export function newPluginRegistry(): PluginRegistry {
  return {
    entries: [],
    tlvs: new Map(),
    hna6: [],
    tables: new Map(),
    options: [],
    files: undefined,
    rules: undefined,
  };
}

/** Runs one plugin callback; an exception is logged with the plugin's name and counted. */
function guard<T>(s: EngineState, entry: Entry, what: string, fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch (err) {
    s.cnt.pluginErrors++;
    s.c.logger.log(0, 'plugin failed', { plugin: entry.name, callback: what, error: String(err) });
    return fallback;
  }
}

/** What the host needs of the engine that it cannot reach through the state alone. */
export interface HostServices {
  view(id: string): NodeView | undefined;
  nodes(): NodeView[];
  descUpdate(): void;
  /** Makes sure the kept bodies of `type` exist for every applied description (late attach). */
  keepType(type: number): void;
}

function unscopedFiles(name: string): PluginFiles {
  const fail = (): never => {
    throw new Error(`plugin ${name}: no files port (the engine was created without one)`);
  };
  return { read: fail, write: fail, remove: fail };
}

/**
 * Attaches a plugin: creates its host and calls `attach`. A registration the host refuses, or any
 * exception in `attach`, undoes every registration of the plugin and throws a PluginError.
 */
export function attachPlugin(s: EngineState, plugin: EnginePlugin, services: HostServices): void {
  const reg = s.plugins;
  const name = plugin.name;
  if (reg.entries.some((e) => e.name === name))
    throw new PluginError('duplicate-plugin', name, 'a plugin of this name is attached already');
  const entry: Entry = { plugin, name, unsubscribe: [], routeOwners: new Set(), ruleOwners: new Set() };
  const fileName = (n: string) => {
    if (!/^[A-Za-z0-9._-]+$/.test(n) || n.startsWith('.'))
      throw new Error(`plugin ${name}: bad file name ${JSON.stringify(n)}`);
    return `${name}/${n}`;
  };
  const files = reg.files;
  const host: PluginHost = {
    name,
    registerTlv(type, handler) {
      if (!Number.isInteger(type) || type < 0 || type > 31)
        throw new PluginError('tlv-range', name, `TLV type ${type} is not in 0…31`);
      if (CORE_TLV_TYPES.has(type))
        throw new PluginError('tlv-core', name, `TLV type ${type} belongs to the core`);
      const owner = reg.tlvs.get(type);
      if (owner)
        throw new PluginError('tlv-claimed', name, `TLV type ${type} is claimed by ${owner.entry.name}`);
      reg.tlvs.set(type, { entry, handler });
    },
    contributeHna6(produce) {
      reg.hna6.push({ entry, produce });
    },
    updateDescription: () => services.descUpdate(),
    self: () => ({ id: s.hex, shortId: shortId(s.id), name: s.cfg.hostname, primaryIp: s.primaryText }),
    node: (id) => services.view(id.toLowerCase()),
    nodes: () => services.nodes(),
    trust: (nodeId) => trustOf(s, nodeId.toLowerCase()),
    tlv(nodeId, type) {
      return s.keys.get(nodeId.toLowerCase())?.current?.kept?.get(type);
    },
    tlvs(type) {
      const out = new Map<string, Uint8Array>();
      for (const k of s.keys.values()) {
        const b = k.orig ? k.current?.kept?.get(type) : undefined;
        if (b) out.set(k.hex, b);
      }
      return out;
    },
    on(listener) {
      const wrapped = (e: EngineEvent) => guard(s, entry, `event ${e.type}`, () => listener(e), undefined);
      s.listeners.add(wrapped);
      const off = () => {
        s.listeners.delete(wrapped);
      };
      entry.unsubscribe.push(off);
      return off;
    },
    registerTable(table, rows) {
      const owner = reg.tables.get(table);
      if (CORE_TABLES.includes(table) || owner)
        throw new PluginError('table-claimed', name, `table ${table} exists already`);
      reg.tables.set(table, { entry, rows });
    },
    setRules(key, rules) {
      if (!reg.rules) throw new Error(`plugin ${name}: no rules port (the engine was created without one)`);
      const owner = `plugin:${name}:${key}`;
      entry.ruleOwners.add(owner);
      reg.rules.setOwner(owner, [...rules]);
    },
    setRoutes(key, routes) {
      const owner = `plugin:${name}:${key}`;
      entry.routeOwners.add(owner);
      s.routes.setOwner(owner, [...routes]);
    },
    files: files
      ? {
          read: (n) => files.read(fileName(n)),
          write: (n, b) => files.write(fileName(n), b),
          remove: (n) => files.remove(fileName(n)),
        }
      : unscopedFiles(name),
    clock: s.c.clock,
    log: (level, msg, fields) => s.c.logger.log(level, msg, { plugin: name, ...fields }),
  };
  reg.entries.push(entry);
  try {
    for (const option of plugin.options ?? []) {
      const lower = option.name.toLowerCase();
      const owner = reg.options.find((o) => o.option.name.toLowerCase() === lower);
      if (owner)
        throw new PluginError(
          'option-claimed',
          name,
          `option ${option.name} is claimed by ${owner.entry.name}`,
        );
      reg.options.push({ entry, option });
    }
    plugin.attach(host);
  } catch (err) {
    detach(s, entry);
    throw err instanceof PluginError
      ? err
      : new PluginError('attach-failed', name, String(err), { cause: err });
  }
  for (const [type, t] of reg.tlvs) if (t.entry === entry) services.keepType(type);
  if (s.running) guard(s, entry, 'start', () => plugin.start?.(), undefined);
}

/** Removes every registration of a plugin. */
function detach(s: EngineState, entry: Entry): void {
  const reg = s.plugins;
  for (const off of entry.unsubscribe) off();
  for (const [type, t] of reg.tlvs) if (t.entry === entry) reg.tlvs.delete(type);
  for (const [table, t] of reg.tables) if (t.entry === entry) reg.tables.delete(table);
  const keep = <T extends { entry: Entry }>(list: T[]) => {
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.entry === entry) list.splice(i, 1);
  };
  keep(reg.hna6);
  keep(reg.options);
  const i = reg.entries.indexOf(entry);
  if (i >= 0) reg.entries.splice(i, 1);
  for (const owner of entry.routeOwners) s.routes.setOwner(owner, []);
  for (const owner of entry.ruleOwners) reg.rules?.setOwner(owner, []);
}

export function startPlugins(s: EngineState): void {
  for (const e of s.plugins.entries) guard(s, e, 'start', () => e.plugin.start?.(), undefined);
}

/** Stops every plugin and withdraws their rules (their routes go with the engine's). */
export function stopPlugins(s: EngineState): void {
  for (const e of s.plugins.entries) guard(s, e, 'stop', () => e.plugin.stop?.(), undefined);
  s.plugins.rules?.clear();
}

/** Gives each plugin the settings of the options it registered. */
export function reconfigurePlugins(s: EngineState, settings: PluginSettings): void {
  for (const e of s.plugins.entries) {
    const mine = new Map();
    for (const o of s.plugins.options) {
      if (o.entry !== e) continue;
      for (const [k, v] of settings)
        if (k.toLowerCase() === o.option.name.toLowerCase()) mine.set(o.option.name, v);
    }
    guard(s, e, 'reconfigure', () => e.plugin.reconfigure?.(mine), undefined);
  }
}

/** The plugins' TLV bodies for the own description; a throwing producer contributes nothing. */
export function producePluginTlvs(s: EngineState, bodies: Map<number, Uint8Array>): void {
  for (const [type, { entry, handler }] of s.plugins.tlvs) {
    if (!handler.produce) continue;
    const b = guard(s, entry, `produce TLV ${type}`, () => handler.produce!(), undefined);
    if (b instanceof Uint8Array && b.length) bodies.set(type, b);
  }
}

/** The plugins' entries for the own HNA6 TLV. */
export function pluginHna6(s: EngineState): Hna6Entry[] {
  const out: Hna6Entry[] = [];
  for (const { entry, produce } of s.plugins.hna6) {
    const list = guard(s, entry, 'produce HNA6', () => produce(), []);
    if (Array.isArray(list)) out.push(...list);
  }
  return out;
}

/** The registered TLV types. */
export function registeredTypes(s: EngineState): Iterable<number> {
  return s.plugins.tlvs.keys();
}

function sameBody(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Tells each TLV handler about a node's new description (or, with `kept` undefined, that the node is
 * gone): only handlers whose body changed are called.
 */
export function consumePluginTlvs(
  s: EngineState,
  node: NodeView,
  kept: TlvBodies | undefined,
  previous: TlvBodies | undefined,
): void {
  for (const [type, { entry, handler }] of s.plugins.tlvs) {
    if (!handler.consume) continue;
    const body = kept?.get(type);
    const prev = previous?.get(type);
    if (sameBody(body, prev)) continue;
    guard(s, entry, `consume TLV ${type}`, () => handler.consume!(node, body, prev), undefined);
  }
}

/** The rows of a plugin table; undefined when no plugin registered it. */
export function pluginTable(s: EngineState, table: string): ShowRows | undefined {
  const t = s.plugins.tables.get(table);
  if (!t) return undefined;
  const rows = guard(s, t.entry, `table ${table}`, () => t.rows(), []);
  return Array.isArray(rows) ? rows : [];
}

/** Every table the engine answers: the core's and the plugins'. */
export function tableNames(s: EngineState): string[] {
  return [...CORE_TABLES, ...s.plugins.tables.keys()];
}

/** The options the plugins registered, with the plugin that owns each. */
export function pluginOptions(s: EngineState): Array<{ plugin: string; option: PluginOption }> {
  return s.plugins.options.map((o) => ({ plugin: o.entry.name, option: o.option }));
}
