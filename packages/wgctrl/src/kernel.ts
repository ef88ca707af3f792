/**
 * The kernel backend: generic netlink family "wireguard", version 1 (linux/wireguard.h), devices
 * made and removed through rtnetlink. GET is a dump whose device, peer list and even one peer's
 * allowed IPs may be split across messages; SET configs that do not fit one message go in several
 * messages in a row, continuing a peer with WGPEER_F_UPDATE_ONLY. The codec is pure.
 */
import {
  attrMap,
  concat,
  createNetlinkClient,
  decodeAttrs,
  decodeFamily,
  decodeGenl,
  encodeGenl,
  encodeGetFamily,
  GENL_ID_CTRL,
  IFF_UP,
  NETLINK_GENERIC,
  NETLINK_ROUTE,
  type NetlinkClient,
  NetlinkError,
  NLM_F_ACK,
  type NlAttr,
  nla,
  nlaNested,
  nlaString,
  nlaU8,
  nlaU16,
  nlaU32,
  openNetlinkSocket,
  type Result,
  readString,
  readU16,
  readU32,
  readU64,
  rtnlDelLink,
  rtnlGetLinks,
  rtnlNewLink,
  rtnlSetLink,
} from '@bmx7/netlink';
import type { Endpoint, IpPrefix } from './addr.js';
import { type Backend, validIfname } from './backend.js';
import { errnoError, WgctrlError } from './errors.js';
import { type Change, type DeviceState, isZeroKey, type PeerChange, type PeerState } from './state.js';

export const WG_GENL_NAME = 'wireguard';
export const WG_GENL_VERSION = 1;
export const WG_KEY_LEN = 32;

export const WG_CMD_GET_DEVICE = 0;
export const WG_CMD_SET_DEVICE = 1;

export const WGDEVICE_F_REPLACE_PEERS = 1 << 0;
export const WGDEVICE_A_IFINDEX = 1;
export const WGDEVICE_A_IFNAME = 2;
export const WGDEVICE_A_PRIVATE_KEY = 3;
export const WGDEVICE_A_PUBLIC_KEY = 4;
export const WGDEVICE_A_FLAGS = 5;
export const WGDEVICE_A_LISTEN_PORT = 6;
export const WGDEVICE_A_FWMARK = 7;
export const WGDEVICE_A_PEERS = 8;

export const WGPEER_F_REMOVE_ME = 1 << 0;
export const WGPEER_F_REPLACE_ALLOWEDIPS = 1 << 1;
export const WGPEER_F_UPDATE_ONLY = 1 << 2;
export const WGPEER_A_PUBLIC_KEY = 1;
export const WGPEER_A_PRESHARED_KEY = 2;
export const WGPEER_A_FLAGS = 3;
export const WGPEER_A_ENDPOINT = 4;
export const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL = 5;
export const WGPEER_A_LAST_HANDSHAKE_TIME = 6;
export const WGPEER_A_RX_BYTES = 7;
export const WGPEER_A_TX_BYTES = 8;
export const WGPEER_A_ALLOWEDIPS = 9;
export const WGPEER_A_PROTOCOL_VERSION = 10;

export const WGALLOWEDIP_A_FAMILY = 1;
export const WGALLOWEDIP_A_IPADDR = 2;
export const WGALLOWEDIP_A_CIDR_MASK = 3;

export const AF_INET = 2;
export const AF_INET6 = 10;

/** Attribute bytes per SET message; well under the 64 KiB an attribute length can express. */
export const WG_SET_BUDGET = 32 * 1024;

// ---- sockaddr -------------------------------------------------------------------------------

/** `struct sockaddr_in` (16 bytes) or `struct sockaddr_in6` (28 bytes); the port in network order. */
export function encodeSockaddr(e: Endpoint): Uint8Array {
  const b = new Uint8Array(e.family === 4 ? 16 : 28);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, e.family === 4 ? AF_INET : AF_INET6, true);
  dv.setUint16(2, e.port, false);
  if (e.family === 4) b.set(e.bytes.subarray(0, 4), 4);
  else {
    b.set(e.bytes.subarray(0, 16), 8);
    dv.setUint32(24, e.scopeId, true);
  }
  return b;
}

export function decodeSockaddr(b: Uint8Array): Result<Endpoint | null> {
  if (b.length < 2) return { ok: false, reason: 'short sockaddr' };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fam = dv.getUint16(0, true);
  if (fam === AF_INET && b.length >= 16) {
    return { ok: true, value: { family: 4, bytes: b.slice(4, 8), port: dv.getUint16(2, false), scopeId: 0 } };
  }
  if (fam === AF_INET6 && b.length >= 28) {
    return {
      ok: true,
      value: {
        family: 6,
        bytes: b.slice(8, 24),
        port: dv.getUint16(2, false),
        scopeId: dv.getUint32(24, true),
      },
    };
  }
  if (fam === 0) return { ok: true, value: null };
  return { ok: false, reason: `sockaddr of family ${fam} and ${b.length} bytes` };
}

// ---- SET ------------------------------------------------------------------------------------

function allowedIpAttr(a: IpPrefix): Uint8Array {
  return nlaNested(0, [
    nlaU16(WGALLOWEDIP_A_FAMILY, a.family === 4 ? AF_INET : AF_INET6),
    nla(WGALLOWEDIP_A_IPADDR, a.bytes.subarray(0, a.family === 4 ? 4 : 16)),
    nlaU8(WGALLOWEDIP_A_CIDR_MASK, a.cidr),
  ]);
}

function peerHead(p: PeerChange, continuation: boolean): Uint8Array[] {
  const out = [nla(WGPEER_A_PUBLIC_KEY, p.publicKey)];
  if (continuation) {
    out.push(nlaU32(WGPEER_A_FLAGS, WGPEER_F_UPDATE_ONLY));
    return out;
  }
  let flags = 0;
  if (p.remove) flags |= WGPEER_F_REMOVE_ME;
  if (p.updateOnly) flags |= WGPEER_F_UPDATE_ONLY;
  if (p.replaceAllowedIps) flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
  out.push(nlaU32(WGPEER_A_FLAGS, flags));
  if (p.remove) return out;
  if (p.presharedKey !== undefined)
    out.push(nla(WGPEER_A_PRESHARED_KEY, p.presharedKey ?? new Uint8Array(WG_KEY_LEN)));
  if (p.endpoint !== undefined) out.push(nla(WGPEER_A_ENDPOINT, encodeSockaddr(p.endpoint)));
  if (p.persistentKeepalive !== undefined)
    out.push(nlaU16(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p.persistentKeepalive));
  return out;
}

const size = (xs: readonly Uint8Array[]) => xs.reduce((n, x) => n + x.length, 0);

/**
 * The genl payloads (genlmsghdr and attributes) of a SET_DEVICE, split to fit `budget` bytes of
 * attributes each. Device attributes and REPLACE_PEERS go in the first message only.
 */
export function encodeWgSet(ifname: string, ch: Change, budget = WG_SET_BUDGET): Uint8Array[] {
  const NEST = 4; // the header of a nest attribute
  const ifnameAttr = nlaString(WGDEVICE_A_IFNAME, ifname);
  const msgs: Uint8Array[] = [];
  let dev: Uint8Array[] = [ifnameAttr];
  if (ch.privateKey !== undefined)
    dev.push(nla(WGDEVICE_A_PRIVATE_KEY, ch.privateKey ?? new Uint8Array(WG_KEY_LEN)));
  if (ch.listenPort !== undefined) dev.push(nlaU16(WGDEVICE_A_LISTEN_PORT, ch.listenPort));
  if (ch.fwmark !== undefined) dev.push(nlaU32(WGDEVICE_A_FWMARK, ch.fwmark));
  dev.push(nlaU32(WGDEVICE_A_FLAGS, ch.replacePeers ? WGDEVICE_F_REPLACE_PEERS : 0));
  let peers: Uint8Array[] = [];
  const flush = () => {
    const attrs = peers.length ? [...dev, nlaNested(WGDEVICE_A_PEERS, peers)] : dev;
    msgs.push(encodeGenl({ cmd: WG_CMD_SET_DEVICE, version: WG_GENL_VERSION, attrs: concat(attrs) }));
    dev = [ifnameAttr];
    peers = [];
  };
  const room = () => budget - size(dev) - NEST - size(peers);
  for (const p of ch.peers) {
    let head = peerHead(p, false);
    let ips = p.remove ? [] : p.allowedIps.map(allowedIpAttr);
    for (;;) {
      // How many allowed IPs of this peer fit after its head in this message?
      const fixed = NEST + size(head) + (ips.length ? NEST : 0);
      let fit = 0;
      let used = fixed;
      while (fit < ips.length && used + ips[fit]!.length <= room()) used += ips[fit++]!.length;
      if (fixed > room() || (fit === 0 && ips.length > 0)) {
        if (peers.length === 0) throw new RangeError('SET budget too small for one peer');
        flush();
        continue;
      }
      const part = ips.slice(0, fit);
      peers.push(nlaNested(0, part.length ? [...head, nlaNested(WGPEER_A_ALLOWEDIPS, part)] : head));
      ips = ips.slice(fit);
      if (ips.length === 0) break;
      flush();
      head = peerHead(p, true);
    }
  }
  flush();
  return msgs;
}

// ---- GET ------------------------------------------------------------------------------------

/** The genl payload of a GET_DEVICE dump request for one device. */
export function encodeWgGet(ifname: string): Uint8Array {
  return encodeGenl({
    cmd: WG_CMD_GET_DEVICE,
    version: WG_GENL_VERSION,
    attrs: nlaString(WGDEVICE_A_IFNAME, ifname),
  });
}

function key(a: NlAttr | undefined): Uint8Array | null | undefined {
  if (!a) return undefined;
  if (a.data.length !== WG_KEY_LEN) return null;
  return a.data.slice();
}

function decodeAllowedIp(a: NlAttr): Result<IpPrefix> {
  const inner = decodeAttrs(a.data);
  if (!inner.ok) return inner;
  const m = attrMap(inner.value);
  const fam = m.get(WGALLOWEDIP_A_FAMILY);
  const addr = m.get(WGALLOWEDIP_A_IPADDR);
  const mask = m.get(WGALLOWEDIP_A_CIDR_MASK);
  if (!fam || !addr || !mask) return { ok: false, reason: 'allowed IP without family, address or mask' };
  const f = readU16(fam);
  if (!f.ok) return f;
  const family = f.value === AF_INET ? 4 : f.value === AF_INET6 ? 6 : 0;
  if (family === 0 || addr.data.length !== (family === 4 ? 4 : 16) || mask.data.length < 1) {
    return { ok: false, reason: 'malformed allowed IP' };
  }
  const cidr = mask.data[0]!;
  if (cidr > (family === 4 ? 32 : 128)) return { ok: false, reason: 'allowed IP mask too long' };
  return { ok: true, value: { family, bytes: addr.data.slice(), cidr } };
}

function decodePeer(a: NlAttr): Result<PeerState> {
  const attrs = decodeAttrs(a.data);
  if (!attrs.ok) return attrs;
  const m = attrMap(attrs.value);
  const pub = key(m.get(WGPEER_A_PUBLIC_KEY));
  if (!pub) return { ok: false, reason: 'peer without a public key' };
  const peer: PeerState = {
    publicKey: pub,
    presharedKey: null,
    endpoint: null,
    persistentKeepalive: 0,
    lastHandshakeMs: 0,
    rxBytes: 0,
    txBytes: 0,
    allowedIps: [],
  };
  const psk = key(m.get(WGPEER_A_PRESHARED_KEY));
  if (psk === null) return { ok: false, reason: 'bad pre-shared key length' };
  if (psk && !isZeroKey(psk)) peer.presharedKey = psk;
  const ep = m.get(WGPEER_A_ENDPOINT);
  if (ep) {
    const e = decodeSockaddr(ep.data);
    if (!e.ok) return e;
    peer.endpoint = e.value;
  }
  const ka = m.get(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL);
  if (ka) {
    const v = readU16(ka);
    if (!v.ok) return v;
    peer.persistentKeepalive = v.value;
  }
  const hs = m.get(WGPEER_A_LAST_HANDSHAKE_TIME);
  if (hs) {
    if (hs.data.length < 16) return { ok: false, reason: 'short handshake time' };
    const dv = new DataView(hs.data.buffer, hs.data.byteOffset, 16);
    peer.lastHandshakeMs =
      Number(dv.getBigInt64(0, true)) * 1000 + Math.floor(Number(dv.getBigInt64(8, true)) / 1e6);
  }
  for (const [t, f] of [
    [WGPEER_A_RX_BYTES, 'rxBytes'],
    [WGPEER_A_TX_BYTES, 'txBytes'],
  ] as const) {
    const c = m.get(t);
    if (!c) continue;
    const v = readU64(c);
    if (!v.ok) return v;
    peer[f] = Number(v.value);
  }
  const ips = m.get(WGPEER_A_ALLOWEDIPS);
  if (ips) {
    const list = decodeAttrs(ips.data);
    if (!list.ok) return list;
    for (const x of list.value) {
      const ip = decodeAllowedIp(x);
      if (!ip.ok) return ip;
      peer.allowedIps.push(ip.value);
    }
  }
  return { ok: true, value: peer };
}

/**
 * Merges the messages of one GET_DEVICE dump into a device. A peer whose public key repeats the
 * last peer of the previous message continues it (its allowed IPs were split).
 */
export function decodeWgGetDump(payloads: readonly Uint8Array[]): Result<DeviceState> {
  const dev: DeviceState = {
    name: '',
    privateKey: null,
    publicKey: null,
    listenPort: 0,
    fwmark: 0,
    peers: [],
  };
  if (payloads.length === 0) return { ok: false, reason: 'empty dump' };
  for (const payload of payloads) {
    const g = decodeGenl(payload);
    if (!g.ok) return g;
    const attrs = decodeAttrs(g.value.attrs);
    if (!attrs.ok) return attrs;
    let first = true;
    for (const a of attrs.value) {
      switch (a.type) {
        case WGDEVICE_A_IFNAME:
          dev.name = readString(a);
          break;
        case WGDEVICE_A_PRIVATE_KEY: {
          const k = key(a);
          if (k === null || k === undefined) return { ok: false, reason: 'bad private key length' };
          dev.privateKey = isZeroKey(k) ? null : k;
          break;
        }
        case WGDEVICE_A_PUBLIC_KEY: {
          const k = key(a);
          if (k === null || k === undefined) return { ok: false, reason: 'bad public key length' };
          dev.publicKey = isZeroKey(k) ? null : k;
          break;
        }
        case WGDEVICE_A_LISTEN_PORT: {
          const v = readU16(a);
          if (!v.ok) return v;
          dev.listenPort = v.value;
          break;
        }
        case WGDEVICE_A_FWMARK: {
          const v = readU32(a);
          if (!v.ok) return v;
          dev.fwmark = v.value;
          break;
        }
        case WGDEVICE_A_PEERS: {
          const list = decodeAttrs(a.data);
          if (!list.ok) return list;
          for (const pa of list.value) {
            const p = decodePeer(pa);
            if (!p.ok) return p;
            const last = dev.peers[dev.peers.length - 1];
            if (first && last && Buffer.compare(last.publicKey, p.value.publicKey) === 0) {
              last.allowedIps.push(...p.value.allowedIps);
            } else {
              dev.peers.push(p.value);
            }
            first = false;
          }
          break;
        }
        default:
          break;
      }
    }
  }
  if (!dev.publicKey && dev.privateKey === null) dev.publicKey = null;
  return { ok: true, value: dev };
}

// ---- backend --------------------------------------------------------------------------------

export interface KernelBackendOptions {
  netns?: string | undefined;
  timeoutMs?: number | undefined;
  /** Sockets to use instead of opening Linux ones (the in-memory twin in tests). */
  sockets?: { genl: NetlinkClient; rtnl: NetlinkClient } | undefined;
}

/** Resolves the "wireguard" family id, or undefined if the kernel has no such family. */
export function resolveWgFamily(genl: NetlinkClient): number | undefined {
  try {
    const r = genl.request(GENL_ID_CTRL, NLM_F_ACK, encodeGetFamily(WG_GENL_NAME));
    for (const m of r) {
      const f = decodeFamily(m.payload);
      if (f.ok && f.value.name === WG_GENL_NAME) return f.value.id;
    }
    return undefined;
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === 2) return undefined;
    throw err;
  }
}

export function createKernelBackend(o: KernelBackendOptions = {}): Backend {
  const ns = o.netns ? { netns: o.netns } : {};
  const timeout = { timeoutMs: o.timeoutMs ?? 5000 };
  let genl: NetlinkClient | undefined = o.sockets?.genl;
  let rtnl: NetlinkClient | undefined = o.sockets?.rtnl;
  let family: number | undefined;
  let closed = false;

  const wrap = <T>(device: string | undefined, what: string, fn: () => T): T => {
    if (closed) throw new WgctrlError('ERR_WG_CLOSED', 'controller closed', { device, backend: 'kernel' });
    try {
      return fn();
    } catch (err) {
      if (err instanceof WgctrlError) throw err;
      if (err instanceof NetlinkError) {
        if (err.errno) throw errnoError(err.errno, what, { device, backend: 'kernel', cause: err });
        const code =
          err.code === 'ERR_NETLINK_TIMEOUT'
            ? 'ERR_WG_TIMEOUT'
            : err.code === 'ERR_NETLINK_PROTOCOL'
              ? 'ERR_WG_PROTOCOL'
              : 'ERR_WG_UNAVAILABLE';
        throw new WgctrlError(code, `${what}: ${err.message}`, { device, backend: 'kernel', cause: err });
      }
      throw err;
    }
  };
  const g = () => {
    genl ??= createNetlinkClient(openNetlinkSocket(NETLINK_GENERIC, ns));
    if (family === undefined) {
      family = resolveWgFamily(genl);
      if (family === undefined)
        throw new WgctrlError('ERR_WG_UNAVAILABLE', 'the kernel has no wireguard generic-netlink family', {
          backend: 'kernel',
        });
    }
    return { genl, family };
  };
  const r = () => {
    rtnl ??= createNetlinkClient(openNetlinkSocket(NETLINK_ROUTE, ns));
    return rtnl;
  };
  const checkName = (name: string) => {
    if (!validIfname(name))
      throw new WgctrlError(
        'ERR_WG_INVALID_CONFIG',
        'device name must be 1 to 15 characters, no "/" or spaces',
        { backend: 'kernel' },
      );
  };

  return {
    kind: 'kernel',
    async list() {
      return wrap(undefined, 'list links', () =>
        rtnlGetLinks(r())
          .filter((l) => l.kind === 'wireguard' && l.name)
          .map((l) => l.name!)
          .sort(),
      );
    },
    async read(name) {
      checkName(name);
      return wrap(name, 'get device', () => {
        const { genl: c, family: fam } = g();
        const msgs = c.dump(fam, encodeWgGet(name), timeout);
        const d = decodeWgGetDump(msgs.map((m) => m.payload));
        if (!d.ok)
          throw new WgctrlError('ERR_WG_PROTOCOL', `malformed GET_DEVICE reply: ${d.reason}`, {
            device: name,
            backend: 'kernel',
          });
        d.value.name ||= name;
        return d.value;
      });
    },
    async apply(name, change) {
      checkName(name);
      wrap(name, 'set device', () => {
        const { genl: c, family: fam } = g();
        for (const payload of encodeWgSet(name, change)) c.request(fam, NLM_F_ACK, payload, timeout);
      });
    },
    async create(name, opts) {
      checkName(name);
      wrap(name, 'create device', () => {
        rtnlNewLink(r(), { name, kind: 'wireguard' });
        if (opts.up) rtnlSetLink(r(), { name, flags: IFF_UP, change: IFF_UP });
      });
    },
    async remove(name) {
      checkName(name);
      wrap(name, 'delete device', () => rtnlDelLink(r(), { name }));
    },
    async close() {
      closed = true;
      genl?.close();
      rtnl?.close();
    },
  };
}

/** Whether the kernel in `netns` (or this process's namespace) has the wireguard family. */
export function kernelWireguardAvailable(netns?: string): boolean {
  let c: NetlinkClient | undefined;
  try {
    c = createNetlinkClient(openNetlinkSocket(NETLINK_GENERIC, netns ? { netns } : {}));
    return resolveWgFamily(c) !== undefined;
  } catch {
    return false;
  } finally {
    c?.close();
  }
}
