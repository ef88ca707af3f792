/**
 * The plugin API (STYLE.md rule 8): what a plugin such as the tunnel plugins may do with the engine.
 * A plugin contributes description TLVs of its own types and entries to the core's HNA6 TLV, reads
 * other nodes' TLVs of its types at any time, follows node and path events, adds options, show
 * tables and private files, and exports routes and policy rules. The host (plugin-host.ts) isolates
 * every callback: a throwing plugin is logged and counted, never leaves the engine half-applied.
 */
import type { Hna6Entry } from '@bmx7/codec';
import type { Clock, LogLevel, Route, Rule } from './ports.js';

/** A node as plugins see it. */
export interface NodeView {
  /** Node id in lower-case hex (56 digits). */
  id: string;
  shortId: string;
  name: string;
  descSqn: number;
  /** The compatibility version of its current description (21 for BMX7 today). */
  compatibility: number;
  /** Primary address (text form). */
  primaryIp: string;
  /** Current path metric in bit/s (0 = no path). */
  metric: number;
  hops: number;
  /** Next hop, when routed. */
  via?: { dev: string; address: string };
}

/** The node itself. */
export interface SelfView {
  id: string;
  shortId: string;
  name: string;
  /** The primary address (fd70::/16 by default, from the node id: docs/protocol.md §2.1). */
  primaryIp: string;
}

/** A path as it was before a `path-changed` event. */
export interface PathView {
  metric: number;
  hops: number;
  via?: { dev: string; address: string };
}

/** TLV bodies of one description by type (expanded, i.e. after content assembly). */
export type TlvBodies = ReadonlyMap<number, Uint8Array>;

export type EngineEvent =
  | { type: 'node-appeared'; node: NodeView }
  /**
   * A new description was applied. `tlvs` holds every TLV of it; `previous` the bodies the old one
   * had of the types plugins registered (undefined for a node's first description).
   */
  | { type: 'description-changed'; node: NodeView; tlvs: TlvBodies; previous: TlvBodies | undefined }
  /** The next hop changed (also reported as `path-changed`). */
  | { type: 'route-changed'; node: NodeView }
  /** The path metric, the hop count or the next hop changed. */
  | { type: 'path-changed'; node: NodeView; previous: PathView }
  | { type: 'node-gone'; id: string }
  /**
   * A reconfigure changed the own trust list (docs/protocol.md §4.11, the trusted-nodes directory):
   * trust was switched on or off, or some node's trust or support level changed, so that
   * `PluginHost.trust()` may answer differently. A renamed trust file alone is no change; the event is
   * not sent when the engine is created.
   */
  | { type: 'trust-changed' };

/** A show table: rows of column → value, like the reference's `show=<table>`. */
export type ShowRows = Array<Record<string, string | number>>;

/** The value an option takes (the subset of the daemon's option model that plugins use). */
export type PluginOptionType =
  | { readonly kind: 'flag' }
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'string'; readonly maxLength?: number }
  | { readonly kind: 'net'; readonly family?: 4 | 6; readonly prefixRequired?: boolean }
  | { readonly kind: 'file' }
  | { readonly kind: 'enum'; readonly values: readonly string[] };

export type PluginOptionValue = number | string;

/**
 * An option a plugin adds to the daemon's option table (command line, config file, `bmx7ctl -c`,
 * help), with the reference's syntax: `name=value /child=value`, `name=-instance` removes one.
 */
export interface PluginOption {
  readonly name: string;
  readonly short?: string;
  readonly type: PluginOptionType;
  readonly default?: PluginOptionValue;
  /** Several instances keyed by their value (`tunOut=inet tunOut=lan`). */
  readonly multi?: boolean;
  readonly children?: readonly {
    readonly name: string;
    readonly short?: string;
    readonly type: PluginOptionType;
    readonly default?: PluginOptionValue;
    readonly mandatory?: boolean;
    readonly help: string;
  }[];
  /** When it may be given; default both (at start and at runtime). */
  readonly when?: 'init' | 'both';
  readonly help: string;
}

/** The children given for one instance (or a single option), by child name. */
export type PluginChildValues = Readonly<Record<string, PluginOptionValue>>;

/** One configured option, as the daemon's option state holds it. */
export type PluginSetting =
  | { readonly kind: 'single'; readonly value: PluginOptionValue; readonly children: PluginChildValues }
  | { readonly kind: 'multi'; readonly instances: ReadonlyMap<string, PluginChildValues> };

/** A plugin's configured options by name (absent: at its default). */
export type PluginSettings = ReadonlyMap<string, PluginSetting>;

/** A plugin's private files (keys): named within the plugin's own directory. */
export interface PluginFiles {
  /** The file's bytes, or undefined when it does not exist. */
  read(name: string): Uint8Array | undefined;
  /** Writes the file atomically with mode 0600 (a temporary file, then a rename). */
  write(name: string, bytes: Uint8Array): void;
  remove(name: string): void;
}

/** How a plugin handles the TLV type it owns. */
export interface TlvHandler {
  /** The body for the own description; undefined or empty: none. Called for every new description. */
  produce?(): Uint8Array | undefined;
  /**
   * Another node's body of this type changed: `body` undefined means its new description has none,
   * or the node is gone. Called after the engine has applied the description.
   */
  consume?(node: NodeView, body: Uint8Array | undefined, previous: Uint8Array | undefined): void;
}

/** A plugin's view of the engine, one per plugin. */
export interface PluginHost {
  /** The plugin's name (as logged and counted). */
  readonly name: string;
  /**
   * Claims a description TLV type. Claiming a type the core owns, or one another plugin claimed,
   * throws a PluginError (code `tlv-core` or `tlv-claimed`), so `engine.use()` fails at attach.
   */
  registerTlv(type: number, handler: TlvHandler): void;
  /** Adds entries to the core's HNA6 TLV of the own description (e.g. a tunnel endpoint with flag 0x01). */
  contributeHna6(produce: () => readonly Hna6Entry[]): void;
  /** Asks for a new own description (the next round rebuilds it from all producers). */
  updateDescription(): void;
  /** The node itself. */
  self(): SelfView;
  /** One known originator, by id (hex, any case). */
  node(id: string): NodeView | undefined;
  /** All known originators (the node itself excluded). */
  nodes(): NodeView[];
  /** The current body of a registered TLV type in a node's applied description. */
  tlv(nodeId: string, type: number): Uint8Array | undefined;
  /** Every node's current body of a registered TLV type, by node id. */
  tlvs(type: number): Map<string, Uint8Array>;
  /**
   * This node's trust in another node (id in hex, any case), from the own trust list that
   * docs/protocol.md §4.11 describes (the trusted-nodes directory; friends at level 2 or more):
   * undefined while trust is not configured (no trustedNodesDir), else the node's levels in the list
   * (each 0, 2 or 3), `{ trust: 0, support: 0 }` for a node the list does not hold, and
   * `{ trust: 2, support: 2 }` for the node itself. A `trust-changed` event follows every change.
   */
  trust(nodeId: string): { trust: number; support: number } | undefined;
  /** Subscribes to node, path and trust events; returns an unsubscribe function. */
  on(listener: (event: EngineEvent) => void): () => void;
  /** A show table (`show=<name>`); an empty one prints empty. */
  registerTable(name: string, rows: () => ShowRows): void;
  /** Routes this plugin wants, under `key` (replaces what was set under it; withdrawn on stop). */
  setRoutes(key: string, routes: readonly Route[]): void;
  /** Policy rules likewise; throws when the engine was created without a rules port. */
  setRules(key: string, rules: readonly Rule[]): void;
  /** The plugin's private files. */
  readonly files: PluginFiles;
  readonly clock: Clock;
  /** Logs with the plugin's name (never pass key material). */
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

/** What a plugin module exports: `createX(init)(components)` yields this (rule 8). */
export interface EnginePlugin {
  name: string;
  /**
   * The options it adds to the daemon's option table (declared, so a daemon knows them before it
   * parses its command line); their settings reach `reconfigure`.
   */
  readonly options?: readonly PluginOption[];
  /** Called once from `engine.use()`; the plugin registers TLVs and tables. */
  attach(host: PluginHost): void;
  start?(): void;
  stop?(): void;
  /**
   * Checks settings of its options before a daemon adopts them (at start, from a config file, at
   * runtime): the reason they are refused, naming the option, or undefined. Must not change anything.
   */
  check?(next: PluginSettings): string | undefined;
  /** The plugin's options changed (at start and at runtime); unknown to it: ignore. */
  reconfigure?(next: PluginSettings): void;
}
