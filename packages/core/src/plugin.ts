/**
 * The plugin API (STYLE.md rule 8): plugins contribute TLVs to the own description, receive other
 * nodes' TLVs of their types, get node and route events, and register show tables and parameters.
 */

/** A node as plugins see it. */
export interface NodeView {
  /** Node id in lower-case hex (56 digits). */
  id: string;
  shortId: string;
  name: string;
  descSqn: number;
  /** Primary address (text form). */
  primaryIp: string;
  /** Current path metric in bit/s (0 = no path). */
  metric: number;
  hops: number;
  /** Next hop, when routed. */
  via?: { dev: string; address: string };
}

/** Raw TLV bodies of one description by type (expanded, i.e. after content assembly). */
export type TlvBodies = ReadonlyMap<number, Uint8Array>;

export type EngineEvent =
  | { type: 'node-appeared'; node: NodeView }
  | { type: 'description-changed'; node: NodeView; tlvs: TlvBodies }
  | { type: 'route-changed'; node: NodeView }
  | { type: 'node-gone'; id: string };

/** A show table: rows of column → value, like the reference's `show=<table>`. */
export type ShowRows = Array<Record<string, string | number>>;

export interface PluginParameter {
  name: string;
  get(): string;
  /** Applies a new value; returns an error message when it is refused. */
  set(value: string): string | undefined;
}

/**
 * A plugin's view of the engine. Description TLV types are owned by one plugin each; a plugin's
 * contribution is encoded as one TLV body per type (the engine references/compresses it as the
 * reference does for TLVs of the global `descReferencing` policy, 4.5).
 */
export interface PluginHost {
  /** Registers the TLV types this plugin owns and how to produce their bodies for the own description. */
  registerTlv(
    type: number,
    produce: () => Uint8Array | undefined,
    consume?: (node: NodeView, body: Uint8Array | undefined) => void,
  ): void;
  /** Asks for a new own description (the next round rebuilds it from all producers). */
  updateDescription(): void;
  /** Subscribes to node and route events; returns an unsubscribe function. */
  on(listener: (event: EngineEvent) => void): () => void;
  registerTable(name: string, rows: () => ShowRows): void;
  registerParameter(p: PluginParameter): void;
  /** All known originators. */
  nodes(): NodeView[];
}

/** What a plugin module exports: `createX(init)(components)` yields this (rule 8). */
export interface EnginePlugin {
  name: string;
  /** Called once the host is ready; the plugin registers TLVs, tables and parameters. */
  attach(host: PluginHost): void;
  start?(): void;
  stop?(): void;
}
