/**
 * The device state every backend reads (raw keys, for this package only: it holds the private
 * key), configuration validation, and the pure functions that reconcile: `applyConfig` (what a
 * change does to a state, as the UAPI documents it) and `diffState` (the change that turns one
 * state into another without touching equal peers).
 */
import { createHash } from 'node:crypto';
import { WG_KEY_LEN, wgKeyFromBase64, wgKeyToBase64, wgPublicKey } from '@bmx7/crypto';
import {
  type Endpoint,
  formatEndpoint,
  formatPrefix,
  type IpPrefix,
  parseEndpoint,
  parsePrefix,
} from './addr.js';
import { WgctrlError } from './errors.js';
import type { WgDevice, WgDeviceConfig, WgPeer } from './types.js';

export interface PeerState {
  publicKey: Uint8Array;
  presharedKey: Uint8Array | null;
  endpoint: Endpoint | null;
  persistentKeepalive: number;
  lastHandshakeMs: number;
  rxBytes: number;
  txBytes: number;
  allowedIps: IpPrefix[];
}

export interface DeviceState {
  name: string;
  privateKey: Uint8Array | null;
  /** From the kernel, or derived from the private key (the UAPI does not report it). */
  publicKey: Uint8Array | null;
  listenPort: number;
  fwmark: number;
  peers: PeerState[];
}

/** A validated configuration change, keys raw. */
export interface Change {
  privateKey?: Uint8Array | null;
  listenPort?: number;
  fwmark?: number;
  replacePeers: boolean;
  peers: PeerChange[];
}

export interface PeerChange {
  publicKey: Uint8Array;
  remove: boolean;
  updateOnly: boolean;
  presharedKey?: Uint8Array | null;
  endpoint?: Endpoint;
  persistentKeepalive?: number;
  replaceAllowedIps: boolean;
  allowedIps: IpPrefix[];
}

export const isZeroKey = (k: Uint8Array) => k.every((b) => b === 0);
export const keyEq = (a: Uint8Array | null, b: Uint8Array | null) =>
  a === b || (a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i]));
const keyId = (k: Uint8Array) => Buffer.from(k).toString('hex');

const publicKeys = new Map<string, Uint8Array>();
/**
 * The public key of a private key, remembered (a few dozen entries) because deriving it with
 * noble costs about 0.7 ms and every UAPI read needs it (the UAPI does not report it).
 */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  // Keyed by a hash, so the cache holds no private key.
  const id = createHash('sha256').update(privateKey).digest('base64');
  let pub = publicKeys.get(id);
  if (!pub) {
    pub = wgPublicKey(privateKey);
    if (publicKeys.size >= 64) publicKeys.delete(publicKeys.keys().next().value!);
    publicKeys.set(id, pub);
  }
  return pub;
}

export function emptyState(name: string): DeviceState {
  return { name, privateKey: null, publicKey: null, listenPort: 0, fwmark: 0, peers: [] };
}

/** The public view: base64 keys, no private or pre-shared key. */
export function toWgDevice(s: DeviceState): WgDevice {
  const pub = s.publicKey ?? (s.privateKey ? publicKeyOf(s.privateKey) : null);
  const dev: WgDevice = {
    name: s.name,
    listenPort: s.listenPort,
    fwmark: s.fwmark,
    peers: s.peers.map(toWgPeer),
  };
  if (pub) dev.publicKey = wgKeyToBase64(pub);
  return dev;
}

function toWgPeer(p: PeerState): WgPeer {
  const peer: WgPeer = {
    publicKey: wgKeyToBase64(p.publicKey),
    hasPresharedKey: p.presharedKey !== null,
    allowedIps: p.allowedIps.map(formatPrefix),
    persistentKeepalive: p.persistentKeepalive,
    lastHandshakeMs: p.lastHandshakeMs,
    rxBytes: p.rxBytes,
    txBytes: p.txBytes,
  };
  if (p.endpoint) peer.endpoint = formatEndpoint(p.endpoint);
  return peer;
}

function invalid(device: string, field: string, why: string): WgctrlError {
  return new WgctrlError('ERR_WG_INVALID_CONFIG', `${field} ${why}`, { device });
}

function key(device: string, field: string, v: unknown): Uint8Array {
  try {
    const k = wgKeyFromBase64(v as string);
    if (k.length !== WG_KEY_LEN) throw new Error();
    return k;
  } catch {
    throw invalid(device, field, 'is not a 44-character base64 key');
  }
}

function int(device: string, field: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw invalid(device, field, `must be an integer from 0 to ${max}`);
  }
  return v;
}

/** Checks and converts a WgDeviceConfig. Throws ERR_WG_INVALID_CONFIG naming the field (never its value). */
export function validateConfig(device: string, cfg: WgDeviceConfig): Change {
  if (typeof cfg !== 'object' || cfg === null) throw invalid(device, 'config', 'must be an object');
  const ch: Change = { replacePeers: cfg.replacePeers === true, peers: [] };
  if (cfg.privateKey !== undefined)
    ch.privateKey = cfg.privateKey === null ? null : key(device, 'privateKey', cfg.privateKey);
  if (cfg.listenPort !== undefined) ch.listenPort = int(device, 'listenPort', cfg.listenPort, 65535);
  if (cfg.fwmark !== undefined) ch.fwmark = int(device, 'fwmark', cfg.fwmark, 0xffffffff);
  const seen = new Set<string>();
  (cfg.peers ?? []).forEach((p, i) => {
    const f = `peers[${i}]`;
    if (typeof p !== 'object' || p === null) throw invalid(device, f, 'must be an object');
    const pc: PeerChange = {
      publicKey: key(device, `${f}.publicKey`, p.publicKey),
      remove: p.remove === true,
      updateOnly: p.updateOnly === true,
      replaceAllowedIps: p.replaceAllowedIps === true,
      allowedIps: [],
    };
    const id = keyId(pc.publicKey);
    if (seen.has(id)) throw invalid(device, `${f}.publicKey`, 'repeats an earlier peer');
    seen.add(id);
    if (p.presharedKey !== undefined) {
      pc.presharedKey = p.presharedKey === null ? null : key(device, `${f}.presharedKey`, p.presharedKey);
      if (pc.presharedKey && isZeroKey(pc.presharedKey)) pc.presharedKey = null;
    }
    if (p.endpoint !== undefined) {
      const e =
        typeof p.endpoint === 'string'
          ? parseEndpoint(p.endpoint)
          : { ok: false as const, reason: 'not a string' };
      if (!e.ok) throw invalid(device, `${f}.endpoint`, `is invalid: ${e.reason}`);
      pc.endpoint = e.value;
    }
    if (p.persistentKeepalive !== undefined) {
      pc.persistentKeepalive = int(device, `${f}.persistentKeepalive`, p.persistentKeepalive, 65535);
    }
    (p.allowedIps ?? []).forEach((a, j) => {
      const r = typeof a === 'string' ? parsePrefix(a) : { ok: false as const, reason: 'not a string' };
      if (!r.ok) throw invalid(device, `${f}.allowedIps[${j}]`, `is invalid: ${r.reason}`);
      pc.allowedIps.push(r.value);
    });
    ch.peers.push(pc);
  });
  if (ch.privateKey && isZeroKey(ch.privateKey)) ch.privateKey = null;
  return ch;
}

const prefixId = (p: IpPrefix) => `${p.family}:${Buffer.from(p.bytes).toString('hex')}/${p.cidr}`;

/** The state a change leads to, with the UAPI's semantics (allowed IPs move to the newest owner). */
export function applyConfig(state: DeviceState, ch: Change): DeviceState {
  const next: DeviceState = { ...state, peers: [] };
  if (ch.privateKey !== undefined) {
    next.privateKey = ch.privateKey;
    next.publicKey = ch.privateKey ? publicKeyOf(ch.privateKey) : null;
  }
  if (ch.listenPort !== undefined) next.listenPort = ch.listenPort;
  if (ch.fwmark !== undefined) next.fwmark = ch.fwmark;
  // Peers by key and allowed IPs by owner, so a change of n peers costs O(n), not O(n²).
  const peers = new Map<string, PeerState>();
  const owner = new Map<string, PeerState>();
  if (!ch.replacePeers) {
    for (const p of state.peers) {
      const copy = { ...p, allowedIps: [...p.allowedIps] };
      peers.set(keyId(p.publicKey), copy);
      for (const a of copy.allowedIps) owner.set(prefixId(a), copy);
    }
  }
  const dropIps = (peer: PeerState) => {
    for (const a of peer.allowedIps) if (owner.get(prefixId(a)) === peer) owner.delete(prefixId(a));
    peer.allowedIps = [];
  };
  for (const pc of ch.peers) {
    const id = keyId(pc.publicKey);
    let peer = peers.get(id);
    if (pc.remove) {
      if (peer) {
        dropIps(peer);
        peers.delete(id);
      }
      continue;
    }
    if (!peer) {
      if (pc.updateOnly) continue;
      peer = {
        publicKey: pc.publicKey,
        presharedKey: null,
        endpoint: null,
        persistentKeepalive: 0,
        lastHandshakeMs: 0,
        rxBytes: 0,
        txBytes: 0,
        allowedIps: [],
      };
      peers.set(id, peer);
    }
    if (pc.presharedKey !== undefined) peer.presharedKey = pc.presharedKey;
    if (pc.endpoint !== undefined) peer.endpoint = pc.endpoint;
    if (pc.persistentKeepalive !== undefined) peer.persistentKeepalive = pc.persistentKeepalive;
    if (pc.replaceAllowedIps) dropIps(peer);
    for (const a of pc.allowedIps) {
      const pid = prefixId(a);
      const prev = owner.get(pid);
      if (prev === peer) continue;
      if (prev) prev.allowedIps = prev.allowedIps.filter((x) => prefixId(x) !== pid);
      owner.set(pid, peer);
      peer.allowedIps.push(a);
    }
  }
  next.peers = [...peers.values()];
  return next;
}

const endpointId = (e: Endpoint | null) => (e ? formatEndpoint(e) : '');
const allowedId = (p: PeerState) => p.allowedIps.map(prefixId).sort().join(',');

/**
 * The change that turns `from` into `to`: private key, port and fwmark when they differ, removal
 * of peers `to` lacks, and a full entry for every peer that is new or differs. Equal peers are left
 * out so their sessions are not disturbed. An endpoint cannot be unset, only changed.
 */
export function diffState(from: DeviceState, to: DeviceState): Change {
  const ch: Change = { replacePeers: false, peers: [] };
  if (!keyEq(from.privateKey, to.privateKey)) ch.privateKey = to.privateKey;
  if (from.listenPort !== to.listenPort && to.listenPort !== 0) ch.listenPort = to.listenPort;
  if (from.fwmark !== to.fwmark) ch.fwmark = to.fwmark;
  const want = new Map(to.peers.map((p) => [keyId(p.publicKey), p]));
  for (const p of from.peers) {
    if (!want.has(keyId(p.publicKey))) {
      ch.peers.push({
        publicKey: p.publicKey,
        remove: true,
        updateOnly: false,
        replaceAllowedIps: false,
        allowedIps: [],
      });
    }
  }
  const have = new Map(from.peers.map((p) => [keyId(p.publicKey), p]));
  for (const p of to.peers) {
    const cur = have.get(keyId(p.publicKey));
    if (
      cur &&
      keyEq(cur.presharedKey, p.presharedKey) &&
      endpointId(cur.endpoint) === endpointId(p.endpoint) &&
      cur.persistentKeepalive === p.persistentKeepalive &&
      allowedId(cur) === allowedId(p)
    ) {
      continue;
    }
    ch.peers.push(fullPeer(p));
  }
  return ch;
}

function fullPeer(p: PeerState): PeerChange {
  const pc: PeerChange = {
    publicKey: p.publicKey,
    remove: false,
    updateOnly: false,
    presharedKey: p.presharedKey,
    persistentKeepalive: p.persistentKeepalive,
    replaceAllowedIps: true,
    allowedIps: p.allowedIps,
  };
  if (p.endpoint) pc.endpoint = p.endpoint;
  return pc;
}

/** The change that sets up a fresh device as `s` describes (a restarted wireguard-go). */
export function stateToChange(s: DeviceState): Change {
  const ch: Change = {
    privateKey: s.privateKey,
    fwmark: s.fwmark,
    replacePeers: true,
    peers: s.peers.map(fullPeer),
  };
  if (s.listenPort) ch.listenPort = s.listenPort;
  return ch;
}

export function changeIsEmpty(ch: Change): boolean {
  return (
    ch.privateKey === undefined &&
    ch.listenPort === undefined &&
    ch.fwmark === undefined &&
    !ch.replacePeers &&
    ch.peers.length === 0
  );
}

/**
 * The state `syncDevice` aims at: device fields that `ch` gives, exactly the listed peers (others
 * go), and for each listed peer exactly the allowed IPs, pre-shared key and keepalive given (absent
 * means none); an endpoint left out keeps the current one, which WireGuard may have learnt.
 */
export function syncTarget(cur: DeviceState, ch: Change): DeviceState {
  const listed = ch.peers.filter((p) => !p.remove);
  const exact: Change = {
    ...ch,
    replacePeers: false,
    peers: listed.map((p) => ({
      ...p,
      updateOnly: false,
      presharedKey: p.presharedKey ?? null,
      persistentKeepalive: p.persistentKeepalive ?? 0,
      replaceAllowedIps: true,
    })),
  };
  const next = applyConfig(cur, exact);
  const keep = new Set(listed.map((p) => keyId(p.publicKey)));
  next.peers = next.peers.filter((p) => keep.has(keyId(p.publicKey)));
  return next;
}
