/**
 * rtnetlink addresses (linux/if_addr.h): RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR, each an 8-byte
 * `struct ifaddrmsg` then IFA_* attributes. `ip addr add/del/show` without spawning `ip`.
 */
import { attrMap, concat, decodeAttrs, nla, nlaU32, readString, readU32 } from './attr.js';
import type { NetlinkClient } from './client.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, type Result } from './nlmsg.js';
import { AF_INET6, bytesToIp, ipToBytes } from './rtnl-ip.js';

export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;

export const IFADDRMSG_LEN = 8;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
/** `struct ifa_cacheinfo`: preferred and valid lifetime (s), then two timestamps the kernel fills. */
export const IFA_CACHEINFO = 6;
export const IFA_FLAGS = 8;
/** A lifetime that never ends. */
export const INFINITY_LIFE_TIME = 0xffffffff;

export const IFA_F_NODAD = 0x02;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;

export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;

export interface AddrMsg {
  family: number;
  prefixLen: number;
  /** IFA_F_* (the 32-bit IFA_FLAGS attribute when present, else the 8-bit header field). */
  flags: number;
  scope: number;
  index: number;
  /** Address in text form. */
  address: string;
  label?: string;
  /**
   * Preferred and valid lifetime in seconds (IFA_CACHEINFO); a preferred lifetime of 0 makes an
   * IPv6 address deprecated: usable, but never chosen as a source address.
   */
  lifetimes?: { preferred: number; valid: number };
}

export function encodeAddrMsg(m: AddrMsg): Uint8Array {
  const h = new Uint8Array(IFADDRMSG_LEN);
  const dv = new DataView(h.buffer);
  h[0] = m.family;
  h[1] = m.prefixLen;
  h[2] = m.flags & 0xff;
  h[3] = m.scope;
  dv.setUint32(4, m.index >>> 0, true);
  const a = ipToBytes(m.address);
  const parts = [h, nla(IFA_LOCAL, a), nla(IFA_ADDRESS, a)];
  if (m.flags > 0xff) parts.push(nlaU32(IFA_FLAGS, m.flags));
  if (m.lifetimes) {
    const ci = new Uint8Array(16);
    const cv = new DataView(ci.buffer);
    cv.setUint32(0, m.lifetimes.preferred >>> 0, true);
    cv.setUint32(4, m.lifetimes.valid >>> 0, true);
    parts.push(nla(IFA_CACHEINFO, ci));
  }
  return concat(parts);
}

export function decodeAddrMsg(payload: Uint8Array): Result<AddrMsg> {
  if (payload.length < IFADDRMSG_LEN) return { ok: false, reason: 'truncated ifaddrmsg' };
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const attrs = decodeAttrs(payload.subarray(IFADDRMSG_LEN));
  if (!attrs.ok) return attrs;
  const m = attrMap(attrs.value);
  // IPv6 puts the address in IFA_ADDRESS; IPv4 in IFA_LOCAL (IFA_ADDRESS is the peer there)
  const addr = m.get(IFA_LOCAL) ?? m.get(IFA_ADDRESS);
  if (!addr || (addr.data.length !== 4 && addr.data.length !== 16)) {
    return { ok: false, reason: 'address attribute missing or of a bad size' };
  }
  let flags = payload[2]!;
  const f = m.get(IFA_FLAGS);
  if (f) {
    const v = readU32(f);
    if (v.ok) flags = v.value;
  }
  const out: AddrMsg = {
    family: payload[0]!,
    prefixLen: payload[1]!,
    flags,
    scope: payload[3]!,
    index: dv.getUint32(4, true),
    address: bytesToIp(addr.data),
  };
  const label = m.get(IFA_LABEL);
  if (label) out.label = readString(label);
  return { ok: true, value: out };
}

/** Every address of the namespace (`family` 0 = all); undecodable entries are skipped. */
export function rtnlGetAddrs(client: NetlinkClient, family = 0): AddrMsg[] {
  const req = new Uint8Array(IFADDRMSG_LEN);
  req[0] = family;
  const out: AddrMsg[] = [];
  for (const msg of client.dump(RTM_GETADDR, req)) {
    if (msg.type !== RTM_NEWADDR) continue;
    const d = decodeAddrMsg(msg.payload);
    if (d.ok) out.push(d.value);
  }
  return out;
}

export interface AddrSpec {
  index: number;
  address: string;
  prefixLen: number;
  /** IFA_F_NODAD for an address usable at once. */
  flags?: number;
  scope?: number;
  /** See AddrMsg.lifetimes (`ip addr add … preferred_lft 0` for a deprecated address). */
  lifetimes?: { preferred: number; valid: number };
}

function spec(a: AddrSpec): AddrMsg {
  return {
    family: a.address.includes(':') ? AF_INET6 : 2,
    prefixLen: a.prefixLen,
    flags: a.flags ?? 0,
    scope: a.scope ?? RT_SCOPE_UNIVERSE,
    index: a.index,
    address: a.address,
    ...(a.lifetimes ? { lifetimes: a.lifetimes } : {}),
  };
}

/** `ip addr add`: EEXIST when the interface has the address already (unless `replace`). */
export function rtnlNewAddr(client: NetlinkClient, a: AddrSpec, opts: { replace?: boolean } = {}): void {
  const flags = NLM_F_ACK | NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : NLM_F_EXCL);
  client.request(RTM_NEWADDR, flags, encodeAddrMsg(spec(a)));
}

/** `ip addr del`: EADDRNOTAVAIL when the interface does not have it. */
export function rtnlDelAddr(client: NetlinkClient, a: AddrSpec): void {
  client.request(RTM_DELADDR, NLM_F_ACK, encodeAddrMsg(spec(a)));
}
