/**
 * The BMX7 protocol engine, composed: the lifecycle and the public API over the modules that keep
 * the state (state.ts) by concern. The packages/core README maps every frame and TLV type to its
 * module; section numbers refer to docs/protocol.md.
 *
 * `createEngine(init)(components)` (STYLE.md rule 8).
 */
import { ip6FromString } from '@bmx7/codec';
import { shortId } from '@bmx7/crypto';
import { type EngineInit, resolveConfig } from './config.js';
import { creditMatrix } from './credits.js';
import { armMaintenance } from './maintenance.js';
import { purgeLink } from './neighbours.js';
import { recheckTrust } from './originators.js';
import type {
  EngineEvent,
  EnginePlugin,
  NodeView,
  PluginOption,
  PluginSettings,
  ShowRows,
} from './plugin.js';
import {
  attachPlugin,
  type FilesPort,
  pluginOptions,
  reconfigurePlugins,
  startPlugins,
  stopPlugins,
  tableNames,
} from './plugin-host.js';
import type { EngineComponents, EngineHandle, InterfaceInfo, RulesPort } from './ports.js';
import { receive } from './receive.js';
import { armRound, descUpdate } from './rounds.js';
import { RuleExport } from './routes.js';
import { createState, type EngineCounters, type EngineState, emit, STATE_NAMES } from './state.js';
import { indexSupports, keepType } from './store.js';
import { nodes, show, view } from './tables.js';
import { type EngineTraffic, trafficOf } from './traffic.js';
import { applyTrust, trustLevels, trustOn } from './trust.js';

/** Everything an engine offers beyond the host interface. */
export interface Engine extends EngineHandle {
  readonly nodeId: string;
  readonly shortId: string;
  readonly primaryIp: string;
  /** Rows of a show table: status, interfaces, links, originators, credits, keys, or a plugin's. */
  show(table: string): ShowRows;
  /** The tables `show` answers (an unknown one answers no rows). */
  tables(): string[];
  /** Known originators (promoted nodes, the node itself excluded). */
  nodes(): NodeView[];
  counters(): EngineCounters;
  /** Frames and bytes per frame type in and out, packets, and dropped packets by reason. */
  traffic(): EngineTraffic;
  /** Attaches a plugin; throws a PluginError when it claims what it may not. */
  use(plugin: EnginePlugin): void;
  on(listener: (e: EngineEvent) => void): () => void;
  /** Changes runtime parameters (timings, trust, hostname, announced networks). */
  reconfigure(next: Partial<Omit<EngineInit, 'nodeKey'>>): void;
  /** The options the attached plugins registered. */
  pluginOptions(): Array<{ plugin: string; option: PluginOption }>;
  /** Gives the plugins their options' settings (at start and whenever they change). */
  configurePlugins(settings: PluginSettings): void;
  /** descUpdate: builds a new own description in the next round. */
  descUpdate(): void;
  /** The own description bytes (for tests and `descriptions`). */
  ownDescription(): Uint8Array | undefined;
  /** Key state of a node (hex id), undefined when unknown. */
  keyState(id: string): (typeof STATE_NAMES)[number] | undefined;
}

/** Ports only plugins use: private files, and policy rules. */
export interface PluginComponents {
  files?: FilesPort;
  rules?: RulesPort;
}

function start(s: EngineState): void {
  if (s.running) return;
  s.running = true;
  s.startedAt = s.c.clock.now();
  // descSqn rules (§4.5): stored S → ⌊(S+100)/100⌋·100 + 10, written back at once; none → 10
  const stored = s.c.storage.loadDescSqn();
  s.descCounter = stored === undefined ? 10 : Math.floor((stored + 100) / 100) * 100 + 10;
  s.c.storage.saveDescSqn(s.descCounter);
  s.bootSqn = 0;
  s.descPending = true;
  startPlugins(s);
  armRound(s, Math.floor(s.c.random.float() * s.cfg.txMinInterval));
  armMaintenance(s);
}

function stop(s: EngineState): void {
  if (!s.running) return;
  s.running = false;
  s.roundCancel?.();
  s.roundCancel = undefined;
  s.roundAt = Infinity;
  s.maintCancel?.();
  s.maintCancel = undefined;
  for (const k of s.keys.values()) {
    k.orig?.retry?.();
    if (k.orig) k.orig.retry = undefined;
  }
  stopPlugins(s);
  s.routes.clear();
  s.tx.clear();
}

function setInterfaces(s: EngineState, list: InterfaceInfo[]): void {
  const next = new Map(list.filter((i) => i.up).map((i) => [i.name, i]));
  let changed = false;
  for (const [name, ifc] of s.ifs) {
    const n = next.get(name);
    if (!n || n.linkLocal !== ifc.info.linkLocal) {
      s.ifs.delete(name);
      s.ownLl.delete(ifc.info.linkLocal);
      for (const l of [...s.links.values()]) if (l.ifname === name) purgeLink(s, l);
      s.tx.dropInterface(name);
      changed = true;
    } else ifc.info = n;
  }
  for (const [name, info] of next) {
    if (s.ifs.has(name)) continue;
    const used = new Set([...s.ifs.values()].map((i) => i.devIdx));
    let devIdx = 1; // lowest free ≥ 1 (§4.4)
    while (used.has(devIdx)) devIdx++;
    s.ifs.set(name, {
      info,
      devIdx,
      helloSqn: Math.floor(s.c.random.float() * 0x10000),
      ll: ip6FromString(info.linkLocal),
    });
    s.ownLl.add(info.linkLocal);
    changed = true;
  }
  // LLIP changes → new description (§4.5)
  if (changed) descUpdate(s);
}

function reconfigure(s: EngineState, next: Partial<Omit<EngineInit, 'nodeKey'>>): void {
  const before = s.cfg;
  const lists = publishedTrust(s);
  const levels = trustLevels(s);
  const { metric, trustedNodes, ...rest } = before;
  s.cfg = resolveConfig({ ...rest, metric, ...(trustedNodes ? { trustedNodes } : {}), ...next });
  s.credits = creditMatrix(s.cfg.credits);
  applyTrust(s);
  // support levels decide whose SUPPORTS count (row R), trust levels which next hops others allow
  for (const k of s.keys.values())
    if (k.current?.facts) indexSupports(s, k, k.current.facts, k.current.facts);
  recheckTrust(s);
  const bigints = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
  const described =
    before.hostname !== s.cfg.hostname ||
    JSON.stringify(before.unicastHna) !== JSON.stringify(s.cfg.unicastHna) ||
    before.ogmInterval !== s.cfg.ogmInterval ||
    lists !== publishedTrust(s) ||
    JSON.stringify(before.metric, bigints) !== JSON.stringify(s.cfg.metric, bigints);
  if (described) descUpdate(s);
  // plugins that act on trust (docs/protocol.md §4.11) learn of a changed own list once applied
  if (levels !== trustLevels(s)) emit(s, { type: 'trust-changed' });
}

/** What the own TRUSTS and SUPPORTS publish (a renamed trust file alone changes nothing). */
function publishedTrust(s: EngineState): string {
  if (!trustOn(s)) return '';
  const sorted = (m: ReadonlyMap<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([sorted(s.ownTrusts), s.cfg.publishSupportedNodes ? sorted(s.ownSupports) : []]);
}

/** Creates an engine: `createEngine(init)(components)` (STYLE.md rule 8). */
export function createEngine(init: EngineInit): (components: EngineComponents & PluginComponents) => Engine {
  return (components) => {
    const s = createState(init, components);
    s.plugins.files = components.files;
    if (components.rules) s.plugins.rules = new RuleExport(components.rules);
    applyTrust(s);
    s.iids.assign(s.hex); // IID 1 = myself (§4.9)
    const services = {
      view: (id: string) => {
        const k = s.keys.get(id);
        return k?.orig ? view(k) : undefined;
      },
      nodes: () => nodes(s),
      descUpdate: () => descUpdate(s),
      keepType: (type: number) => keepType(s, type),
    };
    return {
      nodeId: s.hex,
      shortId: shortId(s.id),
      primaryIp: s.primaryText,
      start: () => start(s),
      stop: () => stop(s),
      receive: (ifname, src, payload) => receive(s, ifname, src, payload),
      setInterfaces: (list) => setInterfaces(s, list),
      show: (table) => show(s, table),
      tables: () => tableNames(s),
      nodes: () => nodes(s),
      counters: () => ({ ...s.cnt, txTasksRefused: s.tx.refused }),
      traffic: () => trafficOf(s.traffic, s.cnt),
      use: (plugin) => attachPlugin(s, plugin, services),
      on(listener) {
        s.listeners.add(listener);
        return () => {
          s.listeners.delete(listener);
        };
      },
      reconfigure: (next) => reconfigure(s, next),
      pluginOptions: () => pluginOptions(s),
      configurePlugins: (settings) => reconfigurePlugins(s, settings),
      descUpdate: () => descUpdate(s),
      ownDescription: () => s.desc?.bytes,
      keyState(id) {
        const k = s.keys.get(id.toLowerCase());
        return k ? STATE_NAMES[k.state] : undefined;
      },
    };
  };
}
