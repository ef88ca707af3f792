/**
 * The wg plugin, `createWgPlugin(init)(components)`: the node's WireGuard public key and listen
 * port travel in its signed description (the WIREGUARD TLV, docs/protocol.md §4.13), and every
 * other node's announcement becomes a desired WireGuard peer: its public key, its endpoint (the
 * node's primary address, reached over the mesh, and its listen port). The peer list is what a
 * WireGuard device will be configured from (wg(8) `set … peer`); no device is touched yet.
 */
import { decodeTlvBody, encodeTlvBody, TLV_TYPE, WIREGUARD_VERSION, type WireguardTlv } from '@bmx7/codec';
import type { EnginePlugin, NodeView, PluginHost, PluginOption, PluginSettings, ShowRows } from '@bmx7/core';
import { wgKeyToBase64 } from '@bmx7/crypto';
import { loadWgIdentity, type WgIdentity } from './identity.js';

/**
 * Default WireGuard listen port: next to BMX7's own 6270 (docs/protocol.md §2.3), so one firewall
 * rule covers both, and clear of 51820, which an operator's own WireGuard interface usually has.
 */
export const DEFAULT_WG_LISTEN_PORT = 6271;
/** How long a gone node keeps its peer (a node that is back soon keeps its WireGuard session). */
export const DEFAULT_PEER_GRACE_MS = 60_000;

export const WG_PLUGIN_OPTIONS: readonly PluginOption[] = [
  {
    name: 'wgListenPort',
    type: { kind: 'int', min: 1, max: 65535 },
    default: DEFAULT_WG_LISTEN_PORT,
    help: 'UDP port of the WireGuard interface, announced in the description',
  },
];

export interface WgPluginInit {
  /** How long a gone node's peer stays (default 60 s). */
  readonly peerGraceMs?: number;
}

export interface WgComponents {
  /** Randomness for a new private key (default: the crypto package's CSPRNG). */
  readonly random?: (n: number) => Uint8Array;
}

/** A desired WireGuard peer: one per node announcing a valid WIREGUARD TLV. */
export interface WgPeer {
  readonly nodeId: string;
  readonly name: string;
  readonly shortId: string;
  /** X25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  readonly listenPort: number;
  /** `[primaryIp]:port`, as wg(8) writes an IPv6 endpoint. */
  readonly endpoint: string;
  /** Allowed IPs (none yet: tunnels will add the networks routed through the peer). */
  readonly allowedIps: readonly string[];
}

export interface WgPlugin extends EnginePlugin {
  /** The desired peers, by node id. */
  peers(): WgPeer[];
  /** The own public key, once the identity is loaded. */
  publicKey(): Uint8Array | undefined;
}

/**
 * Whether a node's announcement becomes a peer, and which. Today every node with a valid key and
 * port is admitted: the engine only reports verified descriptions. Trust gating (only nodes this
 * node trusts, docs/protocol.md §4.11) is the next step and belongs here.
 */
export function admittedPeer(node: NodeView, tlv: WireguardTlv): WgPeer | undefined {
  if (tlv.version < WIREGUARD_VERSION || tlv.listenPort === 0) return undefined;
  // an all-zero key has no usable shared secret (RFC 7748 §6.1): no peer
  if (tlv.publicKey.every((b) => b === 0)) return undefined;
  return {
    nodeId: node.id,
    name: node.name,
    shortId: node.shortId,
    publicKey: tlv.publicKey,
    listenPort: tlv.listenPort,
    endpoint: `[${node.primaryIp}]:${tlv.listenPort}`,
    allowedIps: [],
  };
}

/** The WIREGUARD body of the own description: version 1, no flags (§4.13). */
export function wireguardBody(publicKey: Uint8Array, listenPort: number): Uint8Array {
  const v: WireguardTlv = {
    type: TLV_TYPE.WIREGUARD,
    version: WIREGUARD_VERSION,
    flags: 0,
    listenPort,
    publicKey,
    extra: new Uint8Array(0),
  };
  return encodeTlvBody(v);
}

/** The `wgListenPort` setting, or the reason it is refused. */
function listenPortOf(next: PluginSettings): number | string {
  const s = next.get('wgListenPort');
  if (s === undefined) return DEFAULT_WG_LISTEN_PORT;
  const v = s.kind === 'single' ? s.value : undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535)
    return `wgListenPort: ${String(v)} is not a port 1-65535`;
  return n;
}

export function createWgPlugin(init: WgPluginInit = {}) {
  const graceMs = init.peerGraceMs ?? DEFAULT_PEER_GRACE_MS;
  return (components: WgComponents = {}): WgPlugin => {
    let host: PluginHost | undefined;
    let identity: WgIdentity | undefined;
    let listenPort = DEFAULT_WG_LISTEN_PORT;
    const peers = new Map<string, WgPeer>();
    /** Pending removals of gone nodes' peers, by node id. */
    const removals = new Map<string, () => void>();

    const ownIdentity = (): WgIdentity | undefined => {
      if (!identity && host) {
        const r = loadWgIdentity(host.files, components.random);
        identity = r.identity;
        if (r.created)
          host.log(1, 'created a WireGuard key', { publicKey: wgKeyToBase64(identity.publicKey) });
      }
      return identity;
    };

    const cancelRemoval = (id: string) => {
      removals.get(id)?.();
      removals.delete(id);
    };

    const removeLater = (id: string) => {
      if (!host || !peers.has(id) || removals.has(id)) return;
      removals.set(
        id,
        host.clock.schedule(graceMs, () => {
          removals.delete(id);
          peers.delete(id);
        }),
      );
    };

    const consume = (node: NodeView, body: Uint8Array | undefined) => {
      if (body === undefined) {
        // the node is gone (keep the peer for the grace period) or stopped announcing (drop it)
        if (host?.node(node.id)) {
          cancelRemoval(node.id);
          peers.delete(node.id);
        } else removeLater(node.id);
        return;
      }
      const r = decodeTlvBody(TLV_TYPE.WIREGUARD, body);
      const peer = r.ok ? admittedPeer(node, r.value as WireguardTlv) : undefined;
      cancelRemoval(node.id);
      if (peer) peers.set(node.id, peer);
      else {
        peers.delete(node.id);
        host?.log(2, 'WIREGUARD TLV ignored', {
          node: node.shortId,
          reason: r.ok ? 'not admitted' : r.reason,
        });
      }
    };

    const rows = (): ShowRows =>
      [...peers.values()]
        .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0))
        .map((p) => ({
          name: p.name,
          shortId: p.shortId,
          nodeId: p.nodeId,
          endpoint: p.endpoint,
          publicKey: wgKeyToBase64(p.publicKey),
          allowedIps: p.allowedIps.length ? p.allowedIps.join(',') : '---',
          lastHandshake: '---',
          rx: 0,
          tx: 0,
          psk: 'none',
        }));

    return {
      name: 'wg',
      options: WG_PLUGIN_OPTIONS,
      attach(h) {
        host = h;
        h.registerTlv(TLV_TYPE.WIREGUARD, {
          produce: () => {
            const id = ownIdentity();
            return id ? wireguardBody(id.publicKey, listenPort) : undefined;
          },
          consume,
        });
        h.on((e) => {
          if (e.type === 'node-gone') removeLater(e.id);
        });
        h.registerTable('wg', rows);
      },
      start() {
        ownIdentity();
        host?.updateDescription();
      },
      stop() {
        for (const cancel of removals.values()) cancel();
        removals.clear();
      },
      check(next) {
        const p = listenPortOf(next);
        return typeof p === 'string' ? p : undefined;
      },
      reconfigure(next) {
        const p = listenPortOf(next);
        if (typeof p === 'string') {
          host?.log(0, 'wg settings refused', { reason: p });
          return;
        }
        if (p === listenPort) return;
        listenPort = p;
        host?.updateDescription();
      },
      peers: () => [...peers.values()],
      publicKey: () => identity?.publicKey,
    };
  };
}
