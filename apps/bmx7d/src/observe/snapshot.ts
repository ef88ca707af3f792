/**
 * What the metrics and the status page show, read from the engine's tables (and its plugins': tun's
 * `tunnels`, wg's `wg`) and the kernel's device counters: one plain, JSON-ready record.
 *
 * Every field is picked by name, never copied from a row wholesale: a column added to a table later
 * (or a key a plugin keeps in its rows) cannot reach an HTTP client by accident. No key material is
 * read at all (private keys never leave their modules; public keys are not shown either).
 * Strings that come from other nodes (host names) are kept as they came: the renderers escape them.
 */
import { frameTypeName } from '@bmx7/codec';
import { DROP_REASONS, type DropReason, type Engine, FRAME_TYPES } from '@bmx7/core';

/** Byte and packet counters of a network device (rtnetlink IFLA_STATS64). */
export interface DeviceStats {
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxPackets: number;
  readonly txPackets: number;
}

/** Where a snapshot is read from. */
export interface ObserveSources {
  readonly engine: Engine;
  /** `bmx7d <version>`'s version, and the source revision. */
  readonly version: string;
  readonly revision: string;
  /** Counters of the node's network devices by name (the tunnel devices among them). */
  deviceStats?(): ReadonlyMap<string, DeviceStats>;
}

export interface SnapshotNode {
  readonly name: string;
  readonly shortId: string;
  readonly nodeId: string;
  readonly primaryIp: string;
  readonly version: string;
  readonly revision: string;
  readonly uptimeSeconds: number;
  readonly descSqn: number;
}

export interface SnapshotOriginator {
  readonly name: string;
  readonly shortId: string;
  readonly nodeId: string;
  readonly primaryIp: string;
  /** The next hop: the own interface and the neighbour (its short id and name), when routed. */
  readonly via: { readonly dev: string; readonly shortId: string; readonly name: string } | null;
  /** The path metric in bit/s (0: not routed). */
  readonly metric: number;
  readonly hops: number;
  readonly descSqn: number;
  /** Seconds since anything was heard of it. */
  readonly lastRefSeconds: number | null;
}

export interface SnapshotLink {
  readonly name: string;
  readonly shortId: string;
  readonly dev: string;
  /** The neighbour's link-local address. */
  readonly address: string;
  /** Receive and transmit link quality, 0–1 (docs/protocol.md §4.10: rq and tq out of 255). */
  readonly rq: number;
  readonly tq: number;
}

export type PskState = 'none' | 'static' | 'pq';

export interface SnapshotTunnel {
  /** The search (tunOut) and the network it routes. */
  readonly search: string;
  readonly network: string;
  readonly route: string;
  readonly gateway: string;
  readonly gatewayId: string;
  readonly dev: string;
  readonly crypt: 'plain' | 'encrypted';
  readonly psk: PskState;
  /** WireGuard (encrypted ones): the peer's state, when its device has the gateway as a peer. */
  readonly wg: SnapshotWgState | null;
}

export interface SnapshotWgState {
  /** Seconds since the last completed handshake; null before the first. */
  readonly handshakeAgeSeconds: number | null;
  readonly rxBytes: number;
  readonly txBytes: number;
  /** The post-quantum PSK's epoch and age, while one is agreed. */
  readonly pqEpoch: number | null;
  readonly pskAgeSeconds: number | null;
}

export interface SnapshotWgPeer extends SnapshotWgState {
  readonly dev: string;
  readonly name: string;
  readonly shortId: string;
  readonly psk: PskState;
}

export interface SnapshotTraffic {
  readonly rxPackets: number;
  readonly rxBytes: number;
  readonly txPackets: number;
  readonly txBytes: number;
  /** Per frame type that occurred in either direction, by the reference's name. */
  readonly frames: readonly {
    readonly type: string;
    readonly rxFrames: number;
    readonly rxBytes: number;
    readonly txFrames: number;
    readonly txBytes: number;
  }[];
  readonly drops: Readonly<Record<DropReason, number>>;
  readonly descriptionsRejected: number;
  readonly txTasksRefused: number;
  readonly pluginErrors: number;
}

export interface Snapshot {
  readonly node: SnapshotNode;
  readonly originators: readonly SnapshotOriginator[];
  readonly links: readonly SnapshotLink[];
  readonly tunnels: readonly SnapshotTunnel[];
  readonly wgPeers: readonly SnapshotWgPeer[];
  /** Routes the node exports (table 70), descriptions held (its own included), keys by state. */
  readonly routes: number;
  readonly descriptions: number;
  readonly keys: Readonly<Record<string, number>>;
  /** Tunnel devices' counters, by device. */
  readonly devices: readonly ({ readonly dev: string } & DeviceStats)[];
  readonly traffic: SnapshotTraffic;
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
/** A number cell, or null for the tables' `---` and anything else that is not a finite number. */
const numOrNull = (v: unknown): number | null => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return null;
};
const num = (v: unknown): number => numOrNull(v) ?? 0;
const pskOf = (v: unknown): PskState => (v === 'static' || v === 'pq' ? v : 'none');

/** Reads one snapshot. */
export function takeSnapshot(src: ObserveSources): Snapshot {
  const eng = src.engine;
  const [status] = eng.show('status');
  const links = eng.show('links');
  const tables = new Set(eng.tables());
  const linkOf = (address: unknown, dev: unknown) =>
    links.find((l) => l.nbLocalIp === address && l.dev === dev);

  const originators: SnapshotOriginator[] = eng.show('originators').map((r) => {
    const routed = r.dev !== '---' && r.dev !== undefined && num(r.metric) > 0;
    const nb = routed ? linkOf(r.nbLocalIp, r.dev) : undefined;
    return {
      name: str(r.name),
      shortId: str(r.shortId),
      nodeId: str(r.nodeId),
      primaryIp: str(r.primaryIp),
      via: routed ? { dev: str(r.dev), shortId: str(nb?.shortId), name: str(nb?.name) } : null,
      metric: num(r.metric),
      hops: num(r.hops),
      descSqn: num(r.descSqn),
      lastRefSeconds: numOrNull(r.lastRef),
    };
  });

  const wgRows = tables.has('wg') ? eng.show('wg') : [];
  const wgState = (r: (typeof wgRows)[number]): SnapshotWgState => ({
    handshakeAgeSeconds: numOrNull(r.lastHandshake),
    rxBytes: num(r.rx),
    txBytes: num(r.tx),
    pqEpoch: numOrNull(r.pqEpoch),
    pskAgeSeconds: numOrNull(r.pskAge),
  });
  const wgPeers: SnapshotWgPeer[] = wgRows
    .filter((r) => r.dev !== '---')
    .map((r) => ({
      dev: str(r.dev),
      name: str(r.name),
      shortId: str(r.shortId),
      psk: pskOf(r.psk),
      ...wgState(r),
    }));

  // the tunnels in use: selected candidates routed into a device (plain or encrypted)
  const tunnels: SnapshotTunnel[] = (tables.has('tunnels') ? eng.show('tunnels') : [])
    .filter((r) => typeof r.tunName === 'string' && r.tunName !== '---' && r.tunName !== '')
    .map((r) => {
      const crypt = r.crypt === 'encrypted' ? 'encrypted' : 'plain';
      const peer =
        crypt === 'encrypted'
          ? wgRows.find((w) => w.dev === r.tunName && w.shortId === r.remoteId)
          : undefined;
      return {
        search: str(r.tunOut),
        network: str(r.advNet),
        route: str(r.tunRoute),
        gateway: str(r.remoteName),
        gatewayId: str(r.remoteId),
        dev: str(r.tunName),
        crypt,
        psk: peer ? pskOf(peer.psk) : 'none',
        wg: peer ? wgState(peer) : null,
      };
    });

  const keys: Record<string, number> = {};
  let described = 0;
  for (const k of eng.show('keys')) {
    const state = str(k.state);
    keys[state] = (keys[state] ?? 0) + 1;
    if (num(k.descSqn) > 0 && str(k.nodeId).toLowerCase() !== eng.nodeId.toLowerCase()) described++;
  }

  const stats = src.deviceStats?.() ?? new Map<string, DeviceStats>();
  const tunnelDevs = new Set([...tunnels.map((t) => t.dev), ...wgPeers.map((p) => p.dev)]);
  const devices = [...tunnelDevs].sort().flatMap((dev) => {
    const s = stats.get(dev);
    return s
      ? [{ dev, rxBytes: s.rxBytes, txBytes: s.txBytes, rxPackets: s.rxPackets, txPackets: s.txPackets }]
      : [];
  });

  const t = eng.traffic();
  const c = eng.counters();
  const frames: SnapshotTraffic['frames'][number][] = [];
  for (let type = 0; type < FRAME_TYPES; type++) {
    if (!t.rx.frames[type] && !t.tx.frames[type]) continue;
    frames.push({
      type: frameTypeName(type),
      rxFrames: t.rx.frames[type] ?? 0,
      rxBytes: t.rx.bytes[type] ?? 0,
      txFrames: t.tx.frames[type] ?? 0,
      txBytes: t.tx.bytes[type] ?? 0,
    });
  }

  return {
    node: {
      name: str(status?.name),
      shortId: eng.shortId,
      nodeId: eng.nodeId.toUpperCase(),
      primaryIp: eng.primaryIp,
      version: src.version,
      revision: src.revision,
      uptimeSeconds: num(status?.uptime),
      descSqn: num(status?.descSqn),
    },
    originators,
    links: links.map((l) => ({
      name: str(l.name),
      shortId: str(l.shortId),
      dev: str(l.dev),
      address: str(l.nbLocalIp),
      rq: num(l.rq) / 255,
      tq: num(l.tq) / 255,
    })),
    tunnels,
    wgPeers,
    routes: num(status?.rts),
    descriptions: described + 1,
    keys,
    devices,
    traffic: {
      rxPackets: t.rxPackets,
      rxBytes: t.rxBytes,
      txPackets: t.txPackets,
      txBytes: t.txBytes,
      frames,
      drops: Object.fromEntries(DROP_REASONS.map((r) => [r, t.drops[r]])) as Record<DropReason, number>,
      descriptionsRejected: c.descRejected,
      txTasksRefused: c.txTasksRefused,
      pluginErrors: c.pluginErrors,
    },
  };
}
