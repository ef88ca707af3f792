/**
 * What a node knows of the mesh, as a NetJSON NetworkGraph (`bmx7ctl topology --netjson|--dot`,
 * the control protocol's `topology`; conventions in @bmx7/control's netjson.ts and
 * docs/protocol.md §5.5):
 *
 * - nodes: this node and every originator (id: the node id in upper-case hex, label: its host
 *   name, local_addresses: its primary address), and any neighbour or announced node without a
 *   description yet (id only);
 * - links of type `link`: this node's own links, with rq, tq and the link's throughput as the
 *   engine computes it (§4.10 "Link throughput");
 * - links of type `route`: the path to an originator reached through another neighbour (its path
 *   metric, hop count and next hop);
 * - links of type `announced`: the links other nodes announce in their TOPOLOGY TLV (the
 *   reference's topology plugin, §4.8 type 27), which the `topology` plugin below reads.
 *
 * bmx7d reads TOPOLOGY but does not announce one of its own.
 */

import { decodeTlvBody, fm8ToUmetric, TLV_TYPE, type TopologyLink } from '@bmx7/codec';
import { costOf, formatUmetric, type NetJsonLink, type NetJsonNode, type NetworkGraph } from '@bmx7/control';
import {
  DEFAULT_METRIC_PARAMS,
  type Engine,
  type EnginePlugin,
  linkThroughput,
  type MetricParams,
  type NodeView,
  type PluginHost,
  type ShowRows,
} from '@bmx7/core';
import type { DaemonPlugin } from './plugins.js';

/** One of this node's links, as the graph needs it. */
export interface OwnLink {
  /** The neighbour's node id (hex, any case). */
  readonly nodeId: string;
  /** Its host name as the links table gives it ('' before its description). */
  readonly name: string;
  readonly dev: string;
  /** The neighbour's link-local address on that link. */
  readonly address: string;
  readonly rq: number;
  readonly tq: number;
  /** The link's throughput in bit/s (0: not usable). */
  readonly metric: number;
}

export interface TopologyFacts {
  readonly self: { readonly id: string; readonly name: string; readonly primaryIp: string };
  /** `bmx7d-<version>` and the source revision. */
  readonly version: string;
  readonly revision?: string;
  readonly links: readonly OwnLink[];
  /** The originators (NodeView: lower-case ids, path metric, hops, next hop). */
  readonly nodes: readonly NodeView[];
  /** TOPOLOGY bodies by announcing node id. */
  readonly announced: ReadonlyMap<string, Uint8Array>;
}

const hexId = (id: string | Uint8Array) =>
  (typeof id === 'string' ? id : Buffer.from(id).toString('hex')).toUpperCase();

/** The TOPOLOGY links a body announces; none when it does not decode (counted, not thrown). */
export function announcedLinks(body: Uint8Array): TopologyLink[] | undefined {
  const r = decodeTlvBody(TLV_TYPE.TOPOLOGY, body);
  return r.ok && r.value.type === TLV_TYPE.TOPOLOGY ? [...r.value.links] : undefined;
}

/** The graph of what a node knows. Pure. */
export function buildNetworkGraph(f: TopologyFacts): NetworkGraph {
  const selfId = hexId(f.self.id);
  const nodes = new Map<string, NetJsonNode>();
  const links: NetJsonLink[] = [];
  nodes.set(selfId, {
    id: selfId,
    label: f.self.name,
    local_addresses: [f.self.primaryIp],
    properties: { shortId: selfId.slice(0, 8), self: true },
  });
  /** The neighbour behind a next hop (its link-local address on an interface). */
  const neighbourAt = new Map(f.links.map((l) => [`${l.dev}\n${l.address}`, hexId(l.nodeId)]));
  for (const n of f.nodes) {
    const id = hexId(n.id);
    const via = n.via ? neighbourAt.get(`${n.via.dev}\n${n.via.address}`) : undefined;
    nodes.set(id, {
      id,
      ...(n.name ? { label: n.name } : {}),
      ...(n.primaryIp ? { local_addresses: [n.primaryIp] } : {}),
      properties: {
        shortId: id.slice(0, 8),
        descSqn: n.descSqn,
        metric: n.metric,
        hops: n.hops,
        ...(n.via ? { dev: n.via.dev, ...(via ? { via } : {}) } : {}),
      },
    });
    // reached through another neighbour: the route (through itself: its own link says it)
    if (n.via && n.metric > 0 && via !== id)
      links.push({
        source: selfId,
        target: id,
        cost: costOf(n.metric),
        cost_text: formatUmetric(n.metric),
        properties: {
          type: 'route',
          metric: n.metric,
          hops: n.hops,
          dev: n.via.dev,
          ...(via ? { via } : {}),
        },
      });
  }
  const known = (id: string, name?: string): void => {
    if (!nodes.has(id))
      nodes.set(id, { id, ...(name ? { label: name } : {}), properties: { shortId: id.slice(0, 8) } });
  };
  for (const l of f.links) {
    const id = hexId(l.nodeId);
    known(id, l.name);
    links.push({
      source: selfId,
      target: id,
      cost: costOf(l.metric),
      cost_text: formatUmetric(l.metric),
      properties: { type: 'link', dev: l.dev, rq: l.rq, tq: l.tq, metric: l.metric },
    });
  }
  for (const [from, body] of [...f.announced].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const source = hexId(from);
    const list = announcedLinks(body);
    if (!list) continue;
    known(source);
    for (const l of list) {
      const target = hexId(l.nbId);
      known(target);
      const tx = fm8ToUmetric(l.txBw);
      links.push({
        source,
        target,
        cost: costOf(tx),
        cost_text: formatUmetric(tx),
        properties: {
          type: 'announced',
          txRate: tx,
          rxRate: fm8ToUmetric(l.rxBw),
          rq: l.rq,
          tq: l.tq,
          idx: l.idx,
          nbIdx: l.nbIdx,
          signal: l.signal,
          noise: l.noise,
          channel: l.channel,
        },
      });
    }
  }
  return {
    type: 'NetworkGraph',
    protocol: 'BMX7',
    version: f.version,
    ...(f.revision ? { revision: f.revision } : {}),
    metric: 'bmx7',
    router_id: selfId,
    label: f.self.name,
    nodes: [...nodes.values()],
    links,
  };
}

/**
 * Rows of the reference's `topology` table (docs/protocol.md §5.3) from the announced links: per
 * announcing node and link, both ends (names and addresses where known), the indexes, radio
 * figures, rq, tq and the rates.
 */
export function topologyRows(
  announced: ReadonlyMap<string, Uint8Array>,
  node: (id: string) => NodeView | undefined,
): ShowRows {
  const rows: ShowRows = [];
  for (const [from, body] of [...announced].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const on = node(from);
    for (const l of announcedLinks(body) ?? []) {
      const nbId = hexId(l.nbId);
      const nb = node(nbId.toLowerCase());
      rows.push({
        id: hexId(from).slice(0, 8),
        name: on?.name ?? '---',
        primaryIp: on?.primaryIp ?? '---',
        idx: l.idx,
        neighId: nbId.slice(0, 8),
        neighDescSqnDiff: nb ? nb.descSqn - l.nbDescSqn : '---',
        neighName: nb?.name ?? '---',
        neighIp: nb?.primaryIp ?? '---',
        neighIdx: l.nbIdx,
        lastDesc: '---',
        signal: l.signal,
        noise: l.noise,
        snr: l.signal - l.noise,
        channel: l.channel,
        rq: l.rq,
        tq: l.tq,
        rxRate: fm8ToUmetric(l.rxBw),
        txRate: fm8ToUmetric(l.txBw),
      });
    }
  }
  return rows;
}

/** An interface's figures for the link throughput (`dev=… /rateMax /channel`). */
export interface DevFacts {
  readonly name: string;
  readonly rateMax: bigint;
  readonly channel: number;
}

/**
 * The facts of the graph from a running engine: its links (with their throughput from rq, tq and
 * the interface's rateMax, by this node's METRIC settings), its originators, and the TOPOLOGY
 * bodies the reader keeps.
 */
export function topologyFacts(
  engine: Engine,
  o: {
    devs: readonly DevFacts[];
    metric?: Partial<MetricParams> | undefined;
    version: string;
    revision?: string | undefined;
    announced?: ReadonlyMap<string, Uint8Array> | undefined;
  },
): TopologyFacts {
  const [status] = engine.show('status');
  const params: MetricParams = { ...DEFAULT_METRIC_PARAMS, ...o.metric };
  // the links table names neighbours by short id; every neighbour has a key
  const byShort = new Map(engine.show('keys').map((k) => [String(k.shortId), String(k.nodeId)]));
  const links: OwnLink[] = [];
  for (const r of engine.show('links')) {
    const nodeId = byShort.get(String(r.shortId));
    if (nodeId === undefined) continue;
    const dev = o.devs.find((d) => d.name === r.dev);
    const rq = Number(r.rq ?? 0);
    const tq = Number(r.tq ?? 0);
    links.push({
      nodeId,
      name: String(r.name ?? ''),
      dev: String(r.dev),
      address: String(r.nbLocalIp),
      rq,
      tq,
      metric: Number(
        linkThroughput(rq, tq, dev?.rateMax ?? 1_000_000_000n, (dev?.channel ?? 0) !== 0, params),
      ),
    });
  }
  return {
    self: { id: engine.nodeId, name: String(status?.name ?? ''), primaryIp: engine.primaryIp },
    version: o.version,
    ...(o.revision ? { revision: o.revision } : {}),
    links,
    nodes: engine.nodes(),
    announced: o.announced ?? new Map(),
  };
}

/** The topology plugin's engine side: it keeps other nodes' TOPOLOGY and shows them. */
export interface TopologyReader extends EnginePlugin {
  /** Every node's current TOPOLOGY body, by node id. */
  announced(): ReadonlyMap<string, Uint8Array>;
}

/** Reads TOPOLOGY (type 27) from other nodes' descriptions; announces none. */
export function createTopologyReader(): TopologyReader {
  let host: PluginHost | undefined;
  return {
    name: 'topology',
    attach(h) {
      host = h;
      // consumed only: the engine keeps the bodies, the graph reads them when asked
      h.registerTlv(TLV_TYPE.TOPOLOGY, {});
      h.registerTable('topology', () => topologyRows(h.tlvs(TLV_TYPE.TOPOLOGY), (id) => h.node(id)));
    },
    announced: () => host?.tlvs(TLV_TYPE.TOPOLOGY) ?? new Map(),
  };
}

/** The built-in plugin: other nodes' TOPOLOGY in the graph and in `show topology`. */
export const TOPOLOGY_PLUGIN: DaemonPlugin = {
  name: 'topology',
  tables: ['topology'],
  create: () => createTopologyReader(),
};
