/**
 * rtnetlink links (linux/rtnetlink.h, linux/if_link.h): RTM_NEWLINK, RTM_DELLINK and RTM_GETLINK,
 * each a 16-byte `struct ifinfomsg` then IFLA_* attributes. Only what creating, deleting and
 * listing links of a kind (veth, wireguard, …) needs; addresses, routes and rules get files of
 * their own.
 */
import { attrMap, decodeAttrs, nla, nlaNested, nlaString, nlaU32, readString, readU32 } from './attr.js';
import type { NetlinkClient } from './client.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, type Result } from './nlmsg.js';

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;

export const IFINFOMSG_LEN = 16;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_LINKINFO = 18;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;

export const IFF_UP = 0x1;
export const AF_UNSPEC = 0;

/** Longest interface name (IFNAMSIZ - 1). */
export const IFNAMSIZ_MAX = 15;

export interface IfInfoMsg {
  family: number;
  /** ARPHRD_* device type. */
  type: number;
  index: number;
  flags: number;
  change: number;
}

export interface LinkMsg extends IfInfoMsg {
  name?: string;
  mtu?: number;
  /** IFLA_LINKINFO/IFLA_INFO_KIND: "wireguard", "veth", … */
  kind?: string;
}

/** A link to create: `infoData` is the kind's own attributes (IFLA_INFO_DATA), already encoded. */
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

/** The payload of a link message; `kind` becomes IFLA_LINKINFO { IFLA_INFO_KIND }. */
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
  if (m.kind !== undefined) {
    const info = [nla(IFLA_INFO_KIND, new TextEncoder().encode(m.kind))];
    if (m.infoData) info.push(nla(IFLA_INFO_DATA, m.infoData, true));
    parts.push(nlaNested(IFLA_LINKINFO, info));
  }
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
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
      const kind = attrMap(inner.value).get(IFLA_INFO_KIND);
      if (kind) msg.kind = readString(kind);
    }
  }
  return { ok: true, value: msg };
}

/** VETH_INFO_PEER: the peer end of a veth pair, inside IFLA_INFO_DATA. */
export const VETH_INFO_PEER = 1;

/** IFLA_INFO_DATA of a veth pair whose other end is called `peer`. */
export function vethInfoData(peer: string): Uint8Array {
  return nla(VETH_INFO_PEER, encodeLinkMsg({ name: peer }), true);
}

/** Creates a link (RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL); EEXIST if the name is taken. */
export function rtnlNewLink(client: NetlinkClient, link: NewLink): void {
  client.request(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, encodeLinkMsg(link));
}

/** Changes a link found by `index` or `name` (flags with `change` as the mask, MTU). */
export function rtnlSetLink(client: NetlinkClient, link: Partial<LinkMsg>): void {
  client.request(RTM_NEWLINK, NLM_F_ACK, encodeLinkMsg(link));
}

/** Deletes a link by name or index (ENODEV if there is none). */
export function rtnlDelLink(client: NetlinkClient, link: { name?: string; index?: number }): void {
  const m: NewLink = {};
  if (link.name !== undefined) m.name = link.name;
  if (link.index !== undefined) m.index = link.index;
  client.request(RTM_DELLINK, NLM_F_ACK, encodeLinkMsg(m));
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
