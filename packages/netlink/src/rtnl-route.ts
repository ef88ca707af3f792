/**
 * rtnetlink routes (linux/rtnetlink.h): RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE, each a 12-byte
 * `struct rtmsg` then RTA_* attributes. Enough for host and prefix routes via a gateway on a
 * device, in any table, with a protocol and a metric: `ip route replace/del/show table N`.
 */
import { attrMap, concat, decodeAttrs, nla, nlaU32, readU32 } from './attr.js';
import type { NetlinkClient } from './client.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, type Result } from './nlmsg.js';
import { AF_INET6, bytesToIp, ipToBytes, parsePrefix } from './rtnl-ip.js';

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
export const RTN_UNICAST = 1;
export const RT_TABLE_MAIN = 254;

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
  h[4] = r.table < 256 ? r.table : 252; // RT_TABLE_COMPAT; the real id goes in RTA_TABLE
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
  dst: string;
  gateway?: string;
  oif?: number;
  table?: number;
  protocol?: number;
  metric?: number;
  prefsrc?: string;
}

function full(r: RouteSpec): RouteMsg {
  const out: RouteMsg = {
    family: r.dst.includes(':') ? AF_INET6 : 2,
    dst: r.dst,
    table: r.table ?? RT_TABLE_MAIN,
    protocol: r.protocol ?? RTPROT_STATIC,
    scope: 0,
    type: RTN_UNICAST,
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

/** `ip route del` (ESRCH when there is no such route). Given fields must match. */
export function rtnlDelRoute(client: NetlinkClient, r: RouteSpec): void {
  const m = full(r);
  // a delete matches on what is given: leave the protocol open unless asked
  if (r.protocol === undefined) m.protocol = 0;
  client.request(RTM_DELROUTE, NLM_F_ACK, encodeRouteMsg(m));
}
