/**
 * rtnetlink routes (linux/rtnetlink.h): RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE, each a 12-byte
 * `struct rtmsg` then RTA_* attributes. IPv4 and IPv6 host and prefix routes, via a gateway or on a
 * device alone, unreachable/blackhole/prohibit/throw routes, in any table, with a protocol, a
 * metric and a preferred source: `ip route replace/del/show table N`.
 *
 * The kernel identifies a route by (family, table, destination, metric) (and TOS for IPv4, always 0
 * here): a replace with another metric adds a second route, and a delete matches only on what it is
 * given (rtnetlink(7); for IPv4 fib_table_delete, for IPv6 ip6_route_del).
 */
import { attrMap, concat, decodeAttrs, nla, nlaU32, readU32 } from './attr.js';
import type { NetlinkClient } from './client.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, type Result } from './nlmsg.js';
import { RT_SCOPE_LINK, RT_SCOPE_UNIVERSE } from './rtnl-addr.js';
import { AF_INET, AF_INET6, bytesToIp, ipToBytes, parsePrefix } from './rtnl-ip.js';

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

export const RTMSG_LEN = 12;

export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;

export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;

/** `rtm_type` (linux/rtnetlink.h). RTN_UNSPEC in a delete matches every type. */
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;
export const RTN_THROW = 9;

/**
 * `rtm_scope` (RT_SCOPE_UNIVERSE, _LINK and _HOST are in rtnl-addr.ts). RT_SCOPE_NOWHERE in a
 * delete matches every scope, as `ip route del` sends it.
 */
export const RT_SCOPE_NOWHERE = 255;

export const RT_TABLE_UNSPEC = 0;
/** The header's 8-bit table field when the id needs RTA_TABLE. */
export const RT_TABLE_COMPAT = 252;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

export interface RouteMsg {
  family: number;
  /** Destination in `address/len` form. */
  dst: string;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  gateway?: string;
  /** Outgoing interface index. */
  oif?: number;
  /** Route metric (RTA_PRIORITY). */
  metric?: number;
  prefsrc?: string;
}

export function encodeRouteMsg(r: RouteMsg): Uint8Array {
  const { address, prefixLen } = parsePrefix(r.dst);
  const h = new Uint8Array(RTMSG_LEN);
  h[0] = r.family;
  h[1] = prefixLen;
  h[4] = r.table < 256 ? r.table : RT_TABLE_COMPAT; // the real id goes in RTA_TABLE
  h[5] = r.protocol;
  h[6] = r.scope;
  h[7] = r.type;
  const parts = [h, nla(RTA_DST, address), nlaU32(RTA_TABLE, r.table)];
  if (r.gateway !== undefined) parts.push(nla(RTA_GATEWAY, ipToBytes(r.gateway)));
  if (r.oif !== undefined) parts.push(nlaU32(RTA_OIF, r.oif));
  if (r.metric !== undefined) parts.push(nlaU32(RTA_PRIORITY, r.metric));
  if (r.prefsrc !== undefined) parts.push(nla(RTA_PREFSRC, ipToBytes(r.prefsrc)));
  return concat(parts);
}

export function decodeRouteMsg(payload: Uint8Array): Result<RouteMsg> {
  if (payload.length < RTMSG_LEN) return { ok: false, reason: 'truncated rtmsg' };
  const attrs = decodeAttrs(payload.subarray(RTMSG_LEN));
  if (!attrs.ok) return attrs;
  const m = attrMap(attrs.value);
  const family = payload[0]!;
  const size = family === AF_INET6 ? 16 : 4;
  const dst = m.get(RTA_DST);
  let dstText: string;
  if (dst) {
    if (dst.data.length !== size) return { ok: false, reason: 'RTA_DST of a bad size' };
    dstText = `${bytesToIp(dst.data)}/${payload[1]}`;
  } else dstText = family === AF_INET6 ? '::/0' : '0.0.0.0/0';
  let table = payload[4]!;
  const t = m.get(RTA_TABLE);
  if (t) {
    const v = readU32(t);
    if (v.ok) table = v.value;
  }
  const out: RouteMsg = {
    family,
    dst: dstText,
    table,
    protocol: payload[5]!,
    scope: payload[6]!,
    type: payload[7]!,
  };
  const gw = m.get(RTA_GATEWAY);
  if (gw && gw.data.length === size) out.gateway = bytesToIp(gw.data);
  const oif = m.get(RTA_OIF);
  if (oif) {
    const v = readU32(oif);
    if (v.ok) out.oif = v.value;
  }
  const prio = m.get(RTA_PRIORITY);
  if (prio) {
    const v = readU32(prio);
    if (v.ok) out.metric = v.value;
  }
  const ps = m.get(RTA_PREFSRC);
  if (ps && ps.data.length === size) out.prefsrc = bytesToIp(ps.data);
  return { ok: true, value: out };
}

/** Routes of one family (and table, when given); undecodable entries are skipped. */
export function rtnlGetRoutes(client: NetlinkClient, family: number, table?: number): RouteMsg[] {
  const req = new Uint8Array(RTMSG_LEN);
  req[0] = family;
  const out: RouteMsg[] = [];
  for (const msg of client.dump(RTM_GETROUTE, req)) {
    if (msg.type !== RTM_NEWROUTE) continue;
    const d = decodeRouteMsg(msg.payload);
    if (d.ok && (table === undefined || d.value.table === table)) out.push(d.value);
  }
  return out;
}

export interface RouteSpec {
  /** `address/len`, IPv4 or IPv6 (the family follows from it). */
  dst: string;
  gateway?: string;
  oif?: number;
  /** Default RT_TABLE_MAIN. */
  table?: number;
  /** Default RTPROT_STATIC on add; any protocol on delete. */
  protocol?: number;
  metric?: number;
  prefsrc?: string;
  /** RTN_*; default RTN_UNICAST on add, any type on delete. */
  type?: number;
  /**
   * Default as `ip route add` chooses it: RT_SCOPE_LINK for an IPv4 unicast route without a
   * gateway (a device route), RT_SCOPE_UNIVERSE otherwise; RT_SCOPE_NOWHERE (any) on delete.
   */
  scope?: number;
}

function full(r: RouteSpec): RouteMsg {
  const family = parsePrefix(r.dst).family;
  const type = r.type ?? RTN_UNICAST;
  const deviceRoute = family === AF_INET && type === RTN_UNICAST && r.gateway === undefined;
  const out: RouteMsg = {
    family,
    dst: r.dst,
    table: r.table ?? RT_TABLE_MAIN,
    protocol: r.protocol ?? RTPROT_STATIC,
    scope: r.scope ?? (deviceRoute ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE),
    type,
  };
  if (r.gateway !== undefined) out.gateway = r.gateway;
  if (r.oif !== undefined) out.oif = r.oif;
  if (r.metric !== undefined) out.metric = r.metric;
  if (r.prefsrc !== undefined) out.prefsrc = r.prefsrc;
  return out;
}

/** `ip route replace` (or `add` with `exclusive`, EEXIST when present). */
export function rtnlNewRoute(client: NetlinkClient, r: RouteSpec, opts: { exclusive?: boolean } = {}): void {
  const flags = NLM_F_ACK | NLM_F_CREATE | (opts.exclusive ? NLM_F_EXCL : NLM_F_REPLACE);
  client.request(RTM_NEWROUTE, flags, encodeRouteMsg(full(r)));
}

/**
 * `ip route del` (ESRCH when there is no such route). Given fields must match; protocol, type and
 * scope are left open unless given, and a metric should be given wherever two routes to the same
 * destination may differ only in it (the kernel deletes the first match).
 */
export function rtnlDelRoute(client: NetlinkClient, r: RouteSpec): void {
  const m = full(r);
  if (r.protocol === undefined) m.protocol = 0;
  if (r.type === undefined) m.type = RTN_UNSPEC;
  if (r.scope === undefined) m.scope = RT_SCOPE_NOWHERE;
  client.request(RTM_DELROUTE, NLM_F_ACK, encodeRouteMsg(m));
}

/** `address/len` in the kernel's text form (RFC 5952 for IPv6; a bare address gets its full length). */
export function canonicalPrefix(text: string): string {
  const p = parsePrefix(text);
  return `${bytesToIp(p.address)}/${p.prefixLen}`;
}
