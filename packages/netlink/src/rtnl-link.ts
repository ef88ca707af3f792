/**
 * rtnetlink links (linux/rtnetlink.h, linux/if_link.h): RTM_NEWLINK, RTM_DELLINK and RTM_GETLINK,
 * each a 16-byte `struct ifinfomsg` then IFLA_* attributes. Only what creating, changing, deleting
 * and listing links of a kind (veth, wireguard, ip6tnl …) needs; addresses, routes and rules get
 * files of their own.
 */
import {
  attrMap,
  concat,
  decodeAttrs,
  type NlAttr,
  nla,
  nlaNested,
  nlaString,
  nlaU8,
  nlaU32,
  readString,
  readU32,
} from './attr.js';
import type { NetlinkClient } from './client.js';
import { NetlinkError } from './errors.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, type Result } from './nlmsg.js';
import { AF_INET6, bytesToIp, ipToBytes } from './rtnl-ip.js';

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;

export const IFINFOMSG_LEN = 16;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_LINKINFO = 18;
export const IFLA_STATS64 = 23;
export const IFLA_AF_SPEC = 26;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;

/** Inside IFLA_AF_SPEC/AF_INET6 (linux/if_link.h): how the kernel makes the link-local address. */
export const IFLA_INET6_ADDR_GEN_MODE = 8;
export const IN6_ADDR_GEN_MODE_EUI64 = 0;
/** No automatic IPv6 address (and so no DAD, MLD or router solicitation of the kernel's own). */
export const IN6_ADDR_GEN_MODE_NONE = 1;
export const IN6_ADDR_GEN_MODE_STABLE_PRIVACY = 2;
export const IN6_ADDR_GEN_MODE_RANDOM = 3;

export const IFF_UP = 0x1;
export const AF_UNSPEC = 0;

/** Longest interface name (IFNAMSIZ - 1). */
export const IFNAMSIZ_MAX = 15;

const ENODEV = 19;

export interface IfInfoMsg {
  family: number;
  /** ARPHRD_* device type. */
  type: number;
  index: number;
  flags: number;
  change: number;
}

/** The first eight counters of `struct rtnl_link_stats64` (IFLA_STATS64). */
export interface LinkStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
}

export interface LinkMsg extends IfInfoMsg {
  name?: string;
  mtu?: number;
  /** IFLA_LINKINFO/IFLA_INFO_KIND: "wireguard", "veth", "ip6tnl" … */
  kind?: string;
  /** IFLA_INFO_DATA of an ip6tnl link, decoded (kind "ip6tnl"). */
  ip6tnl?: Ip6TnlParms;
  /** IFLA_STATS64, where the kernel sent it. */
  stats?: LinkStats;
  /**
   * IFLA_AF_SPEC/AF_INET6/IFLA_INET6_ADDR_GEN_MODE (IN6_ADDR_GEN_MODE_*). The kernel takes it on a
   * change, not at creation (rtnetlink applies IFLA_AF_SPEC in do_setlink only), and only on a link
   * with IPv6 (an MTU of at least 1280); it applies it after IFF_UP in the same message, so set it
   * before setting the link up.
   */
  addrGenMode?: number;
}

/**
 * A link to create or change: `infoData` is the kind's own attributes (IFLA_INFO_DATA), already
 * encoded; `ip6tnl` encodes them for kind "ip6tnl" (and implies that kind).
 */
export interface NewLink extends Partial<LinkMsg> {
  infoData?: Uint8Array;
}

export function encodeIfInfoMsg(h: IfInfoMsg): Uint8Array {
  const out = new Uint8Array(IFINFOMSG_LEN);
  const dv = new DataView(out.buffer);
  out[0] = h.family;
  dv.setUint16(2, h.type, true);
  dv.setInt32(4, h.index, true);
  dv.setUint32(8, h.flags >>> 0, true);
  dv.setUint32(12, h.change >>> 0, true);
  return out;
}

/** The payload of a link message; `kind` becomes IFLA_LINKINFO { IFLA_INFO_KIND, IFLA_INFO_DATA }. */
export function encodeLinkMsg(m: NewLink): Uint8Array {
  const parts = [
    encodeIfInfoMsg({
      family: m.family ?? AF_UNSPEC,
      type: m.type ?? 0,
      index: m.index ?? 0,
      flags: m.flags ?? 0,
      change: m.change ?? 0,
    }),
  ];
  if (m.name !== undefined) {
    if (m.name.length === 0 || m.name.length > IFNAMSIZ_MAX) {
      throw new RangeError(`interface name must be 1 to ${IFNAMSIZ_MAX} characters`);
    }
    parts.push(nlaString(IFLA_IFNAME, m.name));
  }
  if (m.mtu !== undefined) parts.push(nlaU32(IFLA_MTU, m.mtu));
  if (m.addrGenMode !== undefined) {
    const inet6 = nlaNested(AF_INET6, [nlaU8(IFLA_INET6_ADDR_GEN_MODE, m.addrGenMode)]);
    parts.push(nlaNested(IFLA_AF_SPEC, [inet6]));
  }
  const kind = m.kind ?? (m.ip6tnl ? IP6TNL_KIND : undefined);
  if (m.ip6tnl && kind !== IP6TNL_KIND) throw new RangeError(`ip6tnl parameters on a link of kind ${kind}`);
  if (kind !== undefined) {
    const info = [nla(IFLA_INFO_KIND, new TextEncoder().encode(kind))];
    const data = m.ip6tnl ? ip6tnlInfoData(m.ip6tnl) : m.infoData;
    if (data) info.push(nla(IFLA_INFO_DATA, data, true));
    parts.push(nlaNested(IFLA_LINKINFO, info));
  }
  return concat(parts);
}

export function decodeLinkMsg(payload: Uint8Array): Result<LinkMsg> {
  if (payload.length < IFINFOMSG_LEN) return { ok: false, reason: 'truncated ifinfomsg' };
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const msg: LinkMsg = {
    family: payload[0]!,
    type: dv.getUint16(2, true),
    index: dv.getInt32(4, true),
    flags: dv.getUint32(8, true),
    change: dv.getUint32(12, true),
  };
  const attrs = decodeAttrs(payload.subarray(IFINFOMSG_LEN));
  if (!attrs.ok) return attrs;
  const m = attrMap(attrs.value);
  const name = m.get(IFLA_IFNAME);
  if (name) msg.name = readString(name);
  const mtu = m.get(IFLA_MTU);
  if (mtu) {
    const v = readU32(mtu);
    if (v.ok) msg.mtu = v.value;
  }
  const info = m.get(IFLA_LINKINFO);
  if (info) {
    const inner = decodeAttrs(info.data);
    if (inner.ok) {
      const im = attrMap(inner.value);
      const kind = im.get(IFLA_INFO_KIND);
      if (kind) msg.kind = readString(kind);
      const data = im.get(IFLA_INFO_DATA);
      if (data && msg.kind === IP6TNL_KIND) {
        // A malformed INFO_DATA leaves `ip6tnl` out rather than hiding the link from a dump.
        const p = decodeIp6TnlInfoData(data.data);
        if (p.ok) msg.ip6tnl = p.value;
      }
    }
  }
  const afSpec = m.get(IFLA_AF_SPEC);
  if (afSpec) {
    const families = decodeAttrs(afSpec.data);
    const inet6 = families.ok ? attrMap(families.value).get(AF_INET6) : undefined;
    const inner = inet6 ? decodeAttrs(inet6.data) : undefined;
    const mode = inner?.ok ? attrMap(inner.value).get(IFLA_INET6_ADDR_GEN_MODE) : undefined;
    if (mode && mode.data.length >= 1) msg.addrGenMode = mode.data[0]!;
  }
  const stats = m.get(IFLA_STATS64);
  if (stats && stats.data.length >= 64) {
    const s = new DataView(stats.data.buffer, stats.data.byteOffset, stats.data.byteLength);
    const u64 = (i: number) => Number(s.getBigUint64(8 * i, true));
    msg.stats = {
      rxPackets: u64(0),
      txPackets: u64(1),
      rxBytes: u64(2),
      txBytes: u64(3),
      rxErrors: u64(4),
      txErrors: u64(5),
      rxDropped: u64(6),
      txDropped: u64(7),
    };
  }
  return { ok: true, value: msg };
}

/** VETH_INFO_PEER: the peer end of a veth pair, inside IFLA_INFO_DATA. */
export const VETH_INFO_PEER = 1;

/** IFLA_INFO_DATA of a veth pair whose other end is called `peer`. */
export function vethInfoData(peer: string): Uint8Array {
  return nla(VETH_INFO_PEER, encodeLinkMsg({ name: peer }), true);
}

// ip6tnl: IPv4/IPv6 in IPv6 (linux/if_tunnel.h IFLA_IPTUN_*, linux/ip6_tunnel.h IP6_TNL_F_*).

export const IP6TNL_KIND = 'ip6tnl';

export const IFLA_IPTUN_LINK = 1;
export const IFLA_IPTUN_LOCAL = 2;
export const IFLA_IPTUN_REMOTE = 3;
export const IFLA_IPTUN_TTL = 4;
export const IFLA_IPTUN_TOS = 5;
export const IFLA_IPTUN_ENCAP_LIMIT = 6;
export const IFLA_IPTUN_FLOWINFO = 7;
export const IFLA_IPTUN_FLAGS = 8;
export const IFLA_IPTUN_PROTO = 9;
export const IFLA_IPTUN_PMTUDISC = 10;
export const IFLA_IPTUN_ENCAP_TYPE = 15;
export const IFLA_IPTUN_ENCAP_FLAGS = 16;
export const IFLA_IPTUN_ENCAP_SPORT = 17;
export const IFLA_IPTUN_ENCAP_DPORT = 18;
export const IFLA_IPTUN_COLLECT_METADATA = 19;
export const IFLA_IPTUN_FWMARK = 20;

/** Send no Tunnel Encapsulation Limit option (RFC 2473): outer packets are plain IPv6 + 4/41. */
export const IP6_TNL_F_IGN_ENCAP_LIMIT = 0x1;
export const IP6_TNL_F_USE_ORIG_TCLASS = 0x2;
export const IP6_TNL_F_USE_ORIG_FLOWLABEL = 0x4;
export const IP6_TNL_F_MIP6_DEV = 0x8;
export const IP6_TNL_F_RCV_DSCP_COPY = 0x10;
export const IP6_TNL_F_USE_ORIG_FWMARK = 0x20;
export const IP6_TNL_F_ALLOW_LOCAL_REMOTE = 0x40;
/** The flags a user sets; the kernel reports internal capability bits (0x10000 …) beside them. */
export const IP6_TNL_F_USER_MASK = 0xffff;

/** linux/ip6_tunnel.h: the encapsulation limit iproute2 and the kernel's ioctl default to. */
export const IPV6_DEFAULT_TNL_ENCAP_LIMIT = 4;
/** linux/ip6_tunnel.h: the outer hop limit iproute2 defaults to (0 would take the route's). */
export const DEFAULT_TNL_HOP_LIMIT = 64;
/** IFLA_IPTUN_PROTO values: any (IPv4 and IPv6 inside, `mode any`), IPv4 only, IPv6 only. */
export const IP6TNL_PROTO_ANY = 0;
export const IPPROTO_IPIP = 4;
export const IPPROTO_IPV6 = 41;

/** An ip6tnl device's parameters (IFLA_INFO_DATA), addresses in text form. */
export interface Ip6TnlParms {
  /** IFLA_IPTUN_LOCAL: outer source address; `::` for none. */
  local: string;
  /** IFLA_IPTUN_REMOTE: outer destination; `::` takes encapsulated packets from any remote. */
  remote: string;
  /** IFLA_IPTUN_TTL: outer hop limit (0: the route's). */
  hopLimit: number;
  /** IFLA_IPTUN_ENCAP_LIMIT: unused with IP6_TNL_F_IGN_ENCAP_LIMIT. */
  encapLimit: number;
  /** IFLA_IPTUN_FLOWINFO: traffic class and flow label as in the IPv6 header's first word (big-endian on the wire). */
  flowinfo: number;
  /** IFLA_IPTUN_FLAGS: IP6_TNL_F_* (decoded: as the kernel reports them, capability bits included). */
  flags: number;
  /** IFLA_IPTUN_PROTO: IP6TNL_PROTO_ANY, IPPROTO_IPIP or IPPROTO_IPV6. */
  proto: number;
  /** IFLA_IPTUN_LINK: the ifindex outer packets are bound to; 0 for none. */
  link: number;
  /** IFLA_IPTUN_FWMARK: the mark of outer packets. */
  fwmark: number;
}

/** Parameters with iproute2's defaults for what is not given (hop limit 64, encapsulation limit 4, mode any). */
export function ip6tnlParms(p: Pick<Ip6TnlParms, 'local' | 'remote'> & Partial<Ip6TnlParms>): Ip6TnlParms {
  return {
    hopLimit: DEFAULT_TNL_HOP_LIMIT,
    encapLimit: IPV6_DEFAULT_TNL_ENCAP_LIMIT,
    flowinfo: 0,
    flags: 0,
    proto: IP6TNL_PROTO_ANY,
    link: 0,
    fwmark: 0,
    ...p,
  };
}

function ipv6Bytes(what: string, text: string): Uint8Array {
  const b = ipToBytes(text);
  if (b.length !== 16) throw new RangeError(`ip6tnl ${what} must be an IPv6 address, not ${text}`);
  return b;
}

function u8Checked(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`ip6tnl ${what} must be 0 to 255`);
  return v;
}

/**
 * IFLA_INFO_DATA of an ip6tnl device. Every parameter is sent, in the order iproute2 sends them
 * (PROTO, LOCAL, REMOTE, TTL, ENCAP_LIMIT, FLOWINFO, FLAGS, LINK, FWMARK): the kernel's changelink
 * starts from zeros and takes only what the message carries, so a change must carry everything.
 */
export function ip6tnlInfoData(p: Ip6TnlParms): Uint8Array {
  const flowinfo = new Uint8Array(4);
  new DataView(flowinfo.buffer).setUint32(0, p.flowinfo >>> 0, false);
  return concat([
    nlaU8(IFLA_IPTUN_PROTO, u8Checked('proto', p.proto)),
    nla(IFLA_IPTUN_LOCAL, ipv6Bytes('local', p.local)),
    nla(IFLA_IPTUN_REMOTE, ipv6Bytes('remote', p.remote)),
    nlaU8(IFLA_IPTUN_TTL, u8Checked('hop limit', p.hopLimit)),
    nlaU8(IFLA_IPTUN_ENCAP_LIMIT, u8Checked('encapsulation limit', p.encapLimit)),
    nla(IFLA_IPTUN_FLOWINFO, flowinfo),
    nlaU32(IFLA_IPTUN_FLAGS, p.flags),
    nlaU32(IFLA_IPTUN_LINK, p.link),
    nlaU32(IFLA_IPTUN_FWMARK, p.fwmark),
  ]);
}

/** Decodes an ip6tnl IFLA_INFO_DATA; absent attributes read as zero (`::` for addresses). */
export function decodeIp6TnlInfoData(data: Uint8Array): Result<Ip6TnlParms> {
  const attrs = decodeAttrs(data);
  if (!attrs.ok) return attrs;
  const p = ip6tnlParms({ local: '::', remote: '::', hopLimit: 0, encapLimit: 0 });
  for (const a of attrs.value) {
    const r = readIp6TnlAttr(a, p);
    if (r) return { ok: false, reason: `attribute ${a.type}: ${r}` };
  }
  return { ok: true, value: p };
}

/** Reads one IFLA_IPTUN_* attribute into `p`; returns why it is malformed, if it is. */
function readIp6TnlAttr(a: NlAttr, p: Ip6TnlParms): string | undefined {
  const need = (n: number) => (a.data.length < n ? `${a.data.length} bytes, needs ${n}` : undefined);
  const dv = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  switch (a.type) {
    case IFLA_IPTUN_LOCAL:
    case IFLA_IPTUN_REMOTE: {
      if (a.data.length !== 16) return `${a.data.length}-byte IPv6 address`;
      p[a.type === IFLA_IPTUN_LOCAL ? 'local' : 'remote'] = bytesToIp(a.data);
      return undefined;
    }
    case IFLA_IPTUN_TTL:
    case IFLA_IPTUN_ENCAP_LIMIT:
    case IFLA_IPTUN_PROTO: {
      const bad = need(1);
      if (bad) return bad;
      const key =
        a.type === IFLA_IPTUN_TTL ? 'hopLimit' : a.type === IFLA_IPTUN_PROTO ? 'proto' : 'encapLimit';
      p[key] = a.data[0]!;
      return undefined;
    }
    case IFLA_IPTUN_FLOWINFO:
    case IFLA_IPTUN_FLAGS:
    case IFLA_IPTUN_LINK:
    case IFLA_IPTUN_FWMARK: {
      const bad = need(4);
      if (bad) return bad;
      if (a.type === IFLA_IPTUN_FLOWINFO) p.flowinfo = dv.getUint32(0, false);
      else if (a.type === IFLA_IPTUN_FLAGS) p.flags = dv.getUint32(0, true);
      else if (a.type === IFLA_IPTUN_LINK) p.link = dv.getUint32(0, true);
      else p.fwmark = dv.getUint32(0, true);
      return undefined;
    }
    default:
      return undefined; // encapsulation (FOU/GUE) and collect-metadata attributes: not used here
  }
}

/** Creates a link (RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL); EEXIST if the name is taken. */
export function rtnlNewLink(client: NetlinkClient, link: NewLink): void {
  client.request(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, encodeLinkMsg(link));
}

/**
 * Changes a link found by `index` or `name`: flags with `change` as the mask, MTU, and with `kind`
 * plus `infoData` (or `ip6tnl`) the kind's own parameters, which the kernel hands to the kind's
 * changelink (EOPNOTSUPP when the link is of another kind). RTM_NEWLINK without NLM_F_CREATE:
 * NLM_F_REPLACE is refused for links (EOPNOTSUPP), a change in place needs no flag.
 */
export function rtnlSetLink(client: NetlinkClient, link: NewLink): void {
  client.request(RTM_NEWLINK, NLM_F_ACK, encodeLinkMsg(link));
}

/** Deletes a link by name or index (ENODEV if there is none). */
export function rtnlDelLink(client: NetlinkClient, link: { name?: string; index?: number }): void {
  const m: NewLink = {};
  if (link.name !== undefined) m.name = link.name;
  if (link.index !== undefined) m.index = link.index;
  client.request(RTM_DELLINK, NLM_F_ACK, encodeLinkMsg(m));
}

/** One link by name or index (RTM_GETLINK without NLM_F_DUMP), or undefined when there is none. */
export function rtnlGetLink(
  client: NetlinkClient,
  link: { name?: string; index?: number },
): LinkMsg | undefined {
  const m: NewLink = {};
  if (link.name !== undefined) m.name = link.name;
  if (link.index !== undefined) m.index = link.index;
  let replies: ReturnType<NetlinkClient['request']>;
  try {
    replies = client.request(RTM_GETLINK, 0, encodeLinkMsg(m));
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === ENODEV) return undefined;
    throw err;
  }
  for (const r of replies) {
    if (r.type !== RTM_NEWLINK) continue;
    const d = decodeLinkMsg(r.payload);
    if (!d.ok) throw new NetlinkError('ERR_NETLINK_PROTOCOL', `bad RTM_NEWLINK answer: ${d.reason}`);
    return d.value;
  }
  throw new NetlinkError('ERR_NETLINK_PROTOCOL', 'RTM_GETLINK answered without a link');
}

/** Every link of the socket's namespace; undecodable entries are skipped. */
export function rtnlGetLinks(client: NetlinkClient): LinkMsg[] {
  const out: LinkMsg[] = [];
  for (const m of client.dump(RTM_GETLINK, encodeLinkMsg({}))) {
    if (m.type !== RTM_NEWLINK) continue;
    const d = decodeLinkMsg(m.payload);
    if (d.ok) out.push(d.value);
  }
  return out;
}
