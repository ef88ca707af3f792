/**
 * The wg plugin, `createWgPlugin(init)(components)`: the node's WireGuard public key and listen
 * port travel in its signed description (the WIREGUARD TLV, docs/protocol.md §4.13), and every
 * other node's announcement becomes an admitted peer: its public key, its endpoint (the node's
 * primary address, reached over the mesh, and its listen port). Only verified descriptions reach
 * a plugin, and while trust is configured only nodes this node trusts are admitted (§4.11).
 *
 * The plugin owns the WireGuard devices (through @bmx7/wgctrl: the kernel's, or a supervised
 * wireguard-go) but decides none of them: crypt-tun says which devices and peers its tunnels need
 * (`devices().set(…)`), and `show=wg` lists them with what the devices read back.
 */
import {
  decodeTlvBody,
  encodeTlvBody,
  PQ_KEM_ALG,
  PQ_KEM_VERSION,
  type PqKemTlv,
  TLV_TYPE,
  WIREGUARD_FLAG,
  WIREGUARD_VERSION,
  type WireguardTlv,
} from '@bmx7/codec';
import type { EnginePlugin, NodeView, PluginHost, PluginOption, PluginSettings, ShowRows } from '@bmx7/core';
import {
  derivePqPsk,
  type MlKemKeyPair,
  mlkemDecapsulate,
  mlkemEncapsulate,
  pqConfirmTag,
  pqTagEqual,
  wgKeyFromBase64,
  wgKeyToBase64,
} from '@bmx7/crypto';
import type { Wgctrl } from '@bmx7/wgctrl';
import { createWgDevices, type WgDevices, type WgSystemPort } from './devices.js';
import { loadWgIdentity, type WgIdentity } from './identity.js';
import { loadKemKeyPair } from './kem.js';
import { createPqManager, type PqManager, type PqPair } from './pq/manager.js';
import { DEFAULT_PQ_PSK_INTERVAL_MS, type PqRole } from './pq/session.js';
import type { PqTransport } from './pq/transport.js';

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
  {
    name: 'wgPsk',
    type: { kind: 'file' },
    help: 'pre-shared key for every WireGuard peer: a file as `wg genpsk` writes it (base64), mode 0600; `-` for none',
  },
  {
    name: 'pqPsk',
    type: { kind: 'int', min: 0, max: 1 },
    default: 1,
    when: 'init',
    help: 'post-quantum pre-shared keys: announce an ML-KEM-768 key and agree a PSK with every WireGuard peer that announces one (docs/pq-psk.md)',
  },
  {
    name: 'pqPskInterval',
    type: { kind: 'int', min: 10_000, max: 86_400_000 },
    default: DEFAULT_PQ_PSK_INTERVAL_MS,
    help: 'milliseconds between post-quantum PSK rotations',
  },
];

/** Reads a secret file, refusing one that group or others may read (the daemon's; tests inject). */
export type SecretFileReader = (path: string) => Uint8Array;

/** Trust level from which a node is admitted while trust is configured (a trust file's default). */
const TRUSTED = 2;
/** How often the devices are read back for `show=wg` while there are any. */
const REFRESH_MS = 2000;

export interface WgPluginInit {
  /** How long a gone node's peer stays (default 60 s). */
  readonly peerGraceMs?: number;
}

export interface WgComponents {
  /** Randomness for a new private key (default: the crypto package's CSPRNG). */
  readonly random?: (n: number) => Uint8Array;
  /**
   * Opens the WireGuard control at start; undefined, or a throw, means this node has no WireGuard:
   * it then announces no key and makes no device (the reason is logged).
   */
  readonly wgctrl?: () => Wgctrl | undefined;
  /** Addresses on the devices (the daemon journals them). Required with `wgctrl`. */
  readonly system?: WgSystemPort;
  /** Reads pre-shared key files (`wgPsk`, a search's `/wgPsk`); without it they are refused. */
  readonly readSecretFile?: SecretFileReader;
  /**
   * Opens the post-quantum exchange's transport at start (UDP over the mesh, docs/pq-psk.md);
   * without it, or with `pqPsk=0`, the node announces no KEM key and agrees no PQ PSK.
   */
  readonly pqTransport?: (ownIp: string) => PqTransport | undefined;
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
  /** The admitted peers. */
  peers(): WgPeer[];
  /** The admitted peer of a node. */
  peer(nodeId: string): WgPeer | undefined;
  /** The own public key, once the identity is loaded. */
  publicKey(): Uint8Array | undefined;
  /** The announced listen port (wgListenPort). */
  listenPort(): number;
  /** Whether this node runs WireGuard: a control opened at start, and a key. */
  available(): boolean;
  /** The device manager, while WireGuard is available. */
  devices(): WgDevices | undefined;
  /** Calls `fn` whenever the admitted peers changed (a node came, went, changed key or trust). */
  onPeersChanged(fn: () => void): void;
  /** Tells the plugin a supervised wireguard-go was restarted (wire wgctrl's onRestart here). */
  restarted(name: string): Promise<void>;
  /** Deletes its devices and closes the control (the daemon awaits it when it stops). */
  close(): Promise<void>;
  /**
   * The static pre-shared key of a file (a search's `/wgPsk`), else of `wgPsk`; undefined: none.
   * Throws when the file cannot be used (the caller then builds no tunnel: fail closed).
   */
  staticPsk(path?: string): Uint8Array | undefined;
  /** Reads the pre-shared key files again at their next use (the tun options changed). */
  reloadPsks(): void;
  /** A peer's announced ML-KEM-768 key (PQ_KEM), while PQ PSKs run here. */
  peerKem(nodeId: string): Uint8Array | undefined;
  /** Whether this node agrees post-quantum PSKs (a KEM key announced). */
  pqAvailable(): boolean;
  /** The pairs crypt-tun has WireGuard peers for (initiator: to a gateway; responder: a client). */
  pqPairs(pairs: readonly { readonly nodeId: string; readonly role: PqRole }[]): void;
  /** The PQ PSK agreed with a peer in a role (not enumerable), and its epoch. */
  pqPsk(
    nodeId: string,
    role: PqRole,
  ): { readonly epoch: number; readonly installedAt: number; readonly psk: Uint8Array } | undefined;
}

/** A PSK file's key: base64 of 32 bytes, as `wg genpsk` writes it; the reason names the file only. */
export function readPsk(read: SecretFileReader | undefined, path: string): Uint8Array {
  if (!read) throw new Error(`${path}: no reader for key files here`);
  const text = new TextDecoder().decode(read(path)).trim();
  try {
    return wgKeyFromBase64(text);
  } catch {
    throw new Error(`${path}: holds no base64 WireGuard key (wg genpsk)`);
  }
}

/**
 * Whether a node's announcement becomes a peer, and which. The engine reports verified descriptions
 * only; `trust` is this node's trust in it (undefined while trust is not configured): with trust
 * configured, only a node at trust 2 or more, as its trust file gives by default, is admitted
 * (docs/protocol.md §4.11).
 */
export function admittedPeer(
  node: NodeView,
  tlv: WireguardTlv,
  trust?: { readonly trust: number },
): WgPeer | undefined {
  if (trust !== undefined && trust.trust < TRUSTED) return undefined;
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
export function wireguardBody(publicKey: Uint8Array, listenPort: number, flags = 0): Uint8Array {
  const v: WireguardTlv = {
    type: TLV_TYPE.WIREGUARD,
    version: WIREGUARD_VERSION,
    flags,
    listenPort,
    publicKey,
    extra: new Uint8Array(0),
  };
  return encodeTlvBody(v);
}

/** The `wgPsk` path (undefined: none), or the reason it is refused. */
function pskPathOf(next: PluginSettings, read: SecretFileReader | undefined): { path?: string } | string {
  const s = next.get('wgPsk');
  const v = s?.kind === 'single' ? String(s.value) : undefined;
  if (v === undefined || v === '' || v === '-') return {};
  try {
    readPsk(read, v);
  } catch (e) {
    return `wgPsk: ${(e as Error).message}`;
  }
  return { path: v };
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
    let pskPath: string | undefined;
    /** Pre-shared keys read from files (or why not), by path, until the configuration changes. */
    const pskFiles = new Map<string, Uint8Array | Error>();
    let pqWanted = true;
    let pqIntervalMs = DEFAULT_PQ_PSK_INTERVAL_MS;
    let kem: MlKemKeyPair | undefined;
    let pq: PqManager | undefined;
    /** Announced KEM keys by node id (PQ_KEM bodies that decode). */
    const peerKems = new Map<string, Uint8Array>();
    let wgctrl: Wgctrl | undefined;
    let devices: WgDevices | undefined;
    let running = false;
    let stopRefresh: (() => void) | undefined;
    const peers = new Map<string, WgPeer>();
    /** Pending removals of gone nodes' peers, by node id. */
    const removals = new Map<string, () => void>();
    const peerListeners: (() => void)[] = [];
    let notifyPending = false;

    /** Tells the listeners once, after the current event (many peers may change in one go). */
    const peersChanged = (): void => {
      if (!host || notifyPending) return;
      notifyPending = true;
      host.clock.schedule(0, () => {
        notifyPending = false;
        for (const fn of peerListeners) {
          try {
            fn();
          } catch (e) {
            host?.log(0, 'peer listener failed', { error: String(e) });
          }
        }
      });
    };

    const samePeer = (a: WgPeer | undefined, b: WgPeer | undefined): boolean =>
      a === b ||
      (a !== undefined &&
        b !== undefined &&
        a.endpoint === b.endpoint &&
        Buffer.from(a.publicKey).equals(Buffer.from(b.publicKey)));

    const setPeer = (id: string, peer: WgPeer | undefined): void => {
      const before = peers.get(id);
      if (peer) peers.set(id, peer);
      else peers.delete(id);
      if (!samePeer(before, peer)) peersChanged();
    };

    const ownIdentity = (): WgIdentity | undefined => {
      if (!identity && host) {
        const r = loadWgIdentity(host.files, components.random);
        identity = r.identity;
        if (r.created)
          host.log(3, 'created a WireGuard key', { publicKey: wgKeyToBase64(identity.publicKey) });
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
          setPeer(id, undefined);
        }),
      );
    };

    const consume = (node: NodeView, body: Uint8Array | undefined) => {
      if (body === undefined) {
        // the node is gone (keep the peer for the grace period) or stopped announcing (drop it)
        if (host?.node(node.id)) {
          cancelRemoval(node.id);
          setPeer(node.id, undefined);
        } else removeLater(node.id);
        return;
      }
      const r = decodeTlvBody(TLV_TYPE.WIREGUARD, body);
      const trust = host?.trust(node.id);
      const peer = r.ok ? admittedPeer(node, r.value as WireguardTlv, trust) : undefined;
      cancelRemoval(node.id);
      setPeer(node.id, peer);
      if (!peer)
        host?.log(r.ok && trust !== undefined && trust.trust < TRUSTED ? 3 : 2, 'WIREGUARD TLV ignored', {
          node: node.shortId,
          reason: r.ok
            ? trust !== undefined && trust.trust < TRUSTED
              ? 'not trusted'
              : 'not admitted'
            : r.reason,
        });
    };

    /** Every announcement judged again (trust changed). */
    const readmit = (): void => {
      if (!host) return;
      for (const [id, body] of host.tlvs(TLV_TYPE.WIREGUARD)) {
        const node = host.node(id);
        if (node) consume(node, body);
      }
    };

    const openWireguard = (): void => {
      if (!host || wgctrl || !components.wgctrl) return;
      try {
        wgctrl = components.wgctrl();
      } catch (e) {
        host.log(0, 'no WireGuard: the node announces no key', { error: String(e) });
        return;
      }
      if (!wgctrl) return;
      if (!components.system) throw new Error('wg plugin: a system port is needed with wgctrl');
      const id = ownIdentity();
      if (!id) return;
      devices = createWgDevices({
        wgctrl,
        system: components.system,
        privateKey: () => wgKeyToBase64(id.privateKey),
        log: (level, msg, fields) => host?.log(level, msg, fields),
      });
      openPq();
      const refresh = (): void => {
        stopRefresh = host?.clock.schedule(REFRESH_MS, () => {
          if (!running) return;
          void devices?.refresh().finally(refresh);
        });
      };
      refresh();
    };

    /** The KEM key and the exchanges, when PQ PSKs are wanted and a transport opens. */
    const openPq = (): void => {
      if (!host || pq || !pqWanted || !components.pqTransport) return;
      let transport: PqTransport | undefined;
      try {
        transport = components.pqTransport(host.self().primaryIp);
      } catch (e) {
        host.log(0, 'no post-quantum PSKs: the exchange socket did not open', { error: String(e) });
        return;
      }
      if (!transport) return;
      const r = loadKemKeyPair(host.files, components.random);
      kem = r.keys;
      if (r.created) host.log(3, 'created an ML-KEM-768 key');
      pq = createPqManager({
        selfId: host.self().id,
        selfKem: kem,
        crypto: { mlkemEncapsulate, mlkemDecapsulate, derivePqPsk, pqConfirmTag, pqTagEqual },
        clock: host.clock,
        transport,
        intervalMs: pqIntervalMs,
        log: (level, msg, fields) => host?.log(level, msg, fields),
        onInstall: () => peersChanged(),
      });
    };

    const consumeKem = (node: NodeView, body: Uint8Array | undefined) => {
      if (body === undefined) {
        // a gone node keeps its key through the grace period, as its peer does
        if (host?.node(node.id)) peerKems.delete(node.id);
      } else {
        const r = decodeTlvBody(TLV_TYPE.PQ_KEM, body);
        const v = r.ok ? (r.value as PqKemTlv) : undefined;
        if (v && v.alg === PQ_KEM_ALG.ML_KEM_768) peerKems.set(node.id, v.publicKey);
        else {
          peerKems.delete(node.id);
          host?.log(2, 'PQ_KEM TLV ignored', { node: node.shortId, reason: r.ok ? 'algorithm' : r.reason });
        }
      }
      peersChanged();
    };

    /** The node whose announced key this is (show=wg names peers by node). */
    const nodeOfKey = (publicKey: string): WgPeer | undefined =>
      [...peers.values()].find((p) => wgKeyToBase64(p.publicKey) === publicKey);

    /**
     * One row per peer of each device, then one per admitted peer on no device. A handshake shows
     * as its age in seconds; keys are public keys only.
     */
    const rows = (): ShowRows => {
      const out: ShowRows = [];
      const now = Date.now();
      const onDevice = new Set<string>();
      for (const dev of devices?.names() ?? []) {
        const st = devices?.state(dev);
        for (const p of st?.peers ?? []) {
          const node = nodeOfKey(p.publicKey);
          if (node) onDevice.add(node.nodeId);
          out.push({
            dev,
            name: node?.name ?? '---',
            shortId: node?.shortId ?? '---',
            nodeId: node?.nodeId ?? '---',
            publicKey: p.publicKey,
            endpoint: p.endpoint ?? '---',
            allowedIps: p.allowedIps.length ? p.allowedIps.join(',') : '---',
            lastHandshake: p.lastHandshakeMs
              ? Math.max(0, Math.round((now - p.lastHandshakeMs) / 1000))
              : '---',
            rx: p.rxBytes,
            tx: p.txBytes,
            psk: p.hasPresharedKey
              ? (devices?.want(dev)?.peers.find((w) => wgKeyToBase64(w.publicKey) === p.publicKey)
                  ?.pskSource ?? 'static')
              : 'none',
            ...pqCells(node?.nodeId),
          });
        }
      }
      const idle = [...peers.values()]
        .filter((p) => !onDevice.has(p.nodeId))
        .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
      for (const p of idle)
        out.push({
          dev: '---',
          name: p.name,
          shortId: p.shortId,
          nodeId: p.nodeId,
          publicKey: wgKeyToBase64(p.publicKey),
          endpoint: p.endpoint,
          allowedIps: '---',
          lastHandshake: '---',
          rx: 0,
          tx: 0,
          psk: 'none',
          ...pqCells(undefined),
        });
      return out;
    };

    /** A peer's PQ PSK state: epoch, key age in seconds, and messages refused (never the key). */
    function pqCells(nodeId: string | undefined): Record<string, string | number> {
      const st = nodeId ? (pq?.status(nodeId, 'initiator') ?? pq?.status(nodeId, 'responder')) : undefined;
      if (!st) return { pqEpoch: '---', pskAge: '---', pqRefused: 0 };
      const c = st.counters;
      return {
        pqEpoch: st.epoch ?? '---',
        pskAge: st.keyAgeMs === undefined ? '---' : Math.round(st.keyAgeMs / 1000),
        pqRefused: c.badResp + c.badConfirm + c.stale + c.malformed,
      };
    }

    return {
      name: 'wg',
      options: WG_PLUGIN_OPTIONS,
      attach(h) {
        host = h;
        h.registerTlv(TLV_TYPE.WIREGUARD, {
          produce: () => {
            // a node without WireGuard announces no key (nobody could reach it)
            if (components.wgctrl && !devices) return undefined;
            const id = ownIdentity();
            return id ? wireguardBody(id.publicKey, listenPort, kem ? WIREGUARD_FLAG.PQ_KEM : 0) : undefined;
          },
          consume,
        });
        h.registerTlv(TLV_TYPE.PQ_KEM, {
          produce: () => {
            if (!kem) return undefined;
            const v: PqKemTlv = {
              type: TLV_TYPE.PQ_KEM,
              version: PQ_KEM_VERSION,
              alg: PQ_KEM_ALG.ML_KEM_768,
              publicKey: kem.publicKey,
            };
            return encodeTlvBody(v);
          },
          consume: consumeKem,
        });
        h.on((e) => {
          if (e.type === 'node-gone') removeLater(e.id);
          else if (e.type === 'trust-changed') readmit();
          else if (e.type === 'description-changed') {
            // a node back from the grace period with a description that no longer announces a key
            // or a KEM key: what was kept for it goes (no consume reports an absence it never saw)
            if (!e.tlvs.has(TLV_TYPE.WIREGUARD) && peers.has(e.node.id)) {
              cancelRemoval(e.node.id);
              setPeer(e.node.id, undefined);
            }
            if (!e.tlvs.has(TLV_TYPE.PQ_KEM) && peerKems.delete(e.node.id)) peersChanged();
          }
        });
        h.registerTable('wg', rows);
      },
      start() {
        running = true;
        ownIdentity();
        openWireguard();
        host?.updateDescription();
      },
      stop() {
        running = false;
        stopRefresh?.();
        for (const cancel of removals.values()) cancel();
        removals.clear();
      },
      check(next) {
        const p = listenPortOf(next);
        if (typeof p === 'string') return p;
        const k = pskPathOf(next, components.readSecretFile);
        return typeof k === 'string' ? k : undefined;
      },
      reconfigure(next) {
        const p = listenPortOf(next);
        const k = pskPathOf(next, components.readSecretFile);
        if (typeof p === 'string' || typeof k === 'string') {
          host?.log(0, 'wg settings refused', { reason: typeof p === 'string' ? p : k });
          return;
        }
        pskFiles.clear();
        if (k.path !== pskPath) {
          pskPath = k.path;
          peersChanged();
        }
        const want = next.get('pqPsk');
        pqWanted = !(want?.kind === 'single' && Number(want.value) === 0);
        const iv = next.get('pqPskInterval');
        const ms = iv?.kind === 'single' ? Number(iv.value) : DEFAULT_PQ_PSK_INTERVAL_MS;
        if (Number.isInteger(ms) && ms >= 10_000 && ms !== pqIntervalMs) {
          pqIntervalMs = ms;
          pq?.setInterval(ms);
        }
        if (p === listenPort) return;
        listenPort = p;
        host?.updateDescription();
      },
      peerKem: (id) => (pq ? peerKems.get(id.toLowerCase()) : undefined),
      pqAvailable: () => pq !== undefined,
      pqPairs(pairs) {
        if (!pq || !host) return;
        const out: PqPair[] = [];
        for (const p of pairs) {
          const node = host.node(p.nodeId) ?? undefined;
          const k = peerKems.get(p.nodeId.toLowerCase());
          const ip =
            node?.primaryIp ?? peers.get(p.nodeId.toLowerCase())?.endpoint.replace(/^\[(.*)\]:\d+$/, '$1');
          if (k && ip) out.push({ nodeId: p.nodeId.toLowerCase(), role: p.role, ip, kem: k });
        }
        pq.setPairs(out);
      },
      // a peer that stopped announcing its KEM key (pqPsk=0 after a restart) has no PQ key any more,
      // even before its session is stopped
      pqPsk: (id, role) => (peerKems.has(id.toLowerCase()) ? pq?.psk(id, role) : undefined),
      staticPsk(path) {
        const file = path ?? pskPath;
        if (file === undefined) return undefined;
        // read once per configuration: tunnels are reconsidered on every path change of the mesh
        let k = pskFiles.get(file);
        if (k === undefined) {
          try {
            k = readPsk(components.readSecretFile, file);
          } catch (e) {
            k = e as Error;
          }
          pskFiles.set(file, k);
        }
        if (k instanceof Error) throw k;
        return k;
      },
      reloadPsks() {
        pskFiles.clear();
      },
      peers: () => [...peers.values()],
      peer: (id) => peers.get(id.toLowerCase()),
      publicKey: () => identity?.publicKey,
      listenPort: () => listenPort,
      available: () => devices !== undefined || (!components.wgctrl && identity !== undefined),
      devices: () => devices,
      onPeersChanged(fn) {
        peerListeners.push(fn);
      },
      async restarted(name) {
        await devices?.restarted(name);
      },
      async close() {
        running = false;
        stopRefresh?.();
        pq?.close();
        pq = undefined;
        await devices?.close();
        devices = undefined;
        await wgctrl?.close();
        wgctrl = undefined;
      },
    };
  };
}
