/**
 * rtnetlink policy-routing rules (linux/fib_rules.h): RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE, each
 * a 12-byte `struct fib_rule_hdr` then FRA_* attributes. IPv4 and IPv6 rules with a preference, a
 * table to look up, and optionally source and destination prefixes and input and output
 * interfaces: `ip rule add pref P from S to D iif I oif O lookup T` and its removal.
 *
 * The kernel compares every selector a rule has when it checks for a duplicate (NLM_F_EXCL) and
 * only those given when it deletes (the first rule that matches goes): a delete must give every
 * selector of the rule it means.
 */
import { attrMap, concat, decodeAttrs, nla, nlaString, nlaU32, readString, readU32 } from './attr.js';
import type { NetlinkClient } from './client.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, type Result } from './nlmsg.js';
import { AF_INET6, bytesToIp, parsePrefix } from './rtnl-ip.js';
import { canonicalPrefix } from './rtnl-route.js';

export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
export const RTM_GETRULE = 34;

/** family, dst_len, src_len, tos, table, res1, res2, action (u8 each), flags (u32). */
export const FIB_RULE_HDR_LEN = 12;

export const FRA_DST = 1;
export const FRA_SRC = 2;
/** The input interface by name (FRA_IFNAME in older headers). */
export const FRA_IIFNAME = 3;
export const FRA_PRIORITY = 6;
export const FRA_TABLE = 15;
export const FRA_OIFNAME = 17;

export const FR_ACT_TO_TBL = 1;

/** Interface names are at most IFNAMSIZ - 1 bytes. */
const IFNAMSIZ = 16;

export interface RuleMsg {
  family: number;
  /** FRA_PRIORITY (`pref`). */
  priority: number;
  /** Table looked up (`lookup`). */
  table: number;
  action: number;
  dstLen: number;
  srcLen: number;
  /** FRA_SRC as `address/len` (`from`), absent for `from all`. */
  src?: string;
  /** FRA_DST as `address/len` (`to`), absent for `to all`. */
  dst?: string;
  /** FRA_IIFNAME (`iif`). */
  iif?: string;
  /** FRA_OIFNAME (`oif`). */
  oif?: string;
}

/** What `ip rule add/del` takes: the family, preference and table, and optional selectors. */
export interface RuleSpec {
  family: number;
  priority: number;
  table: number;
  /** `address/len` of the family (a bare address is a host prefix). */
  src?: string;
  dst?: string;
  iif?: string;
  oif?: string;
}

function prefixFor(family: number, text: string, what: string): { address: Uint8Array; prefixLen: number } {
  const p = parsePrefix(text);
  if (p.family !== family)
    throw new RangeError(`rule ${what} ${JSON.stringify(text)} is not of family ${family}`);
  return p;
}

function ifname(text: string, what: string): string {
  if (text.length === 0 || new TextEncoder().encode(text).length >= IFNAMSIZ)
    throw new RangeError(`rule ${what} ${JSON.stringify(text)} is not an interface name`);
  return text;
}

/** Throws RangeError on a prefix of another family or a bad interface name (programmer errors). */
export function encodeRuleMsg(r: RuleSpec): Uint8Array {
  const h = new Uint8Array(FIB_RULE_HDR_LEN);
  h[0] = r.family;
  h[4] = r.table < 256 ? r.table : 252; // RT_TABLE_COMPAT: the real id goes in FRA_TABLE
  h[7] = FR_ACT_TO_TBL;
  const parts = [h, nlaU32(FRA_PRIORITY, r.priority), nlaU32(FRA_TABLE, r.table)];
  if (r.src !== undefined) {
    const p = prefixFor(r.family, r.src, 'from');
    h[2] = p.prefixLen;
    parts.push(nla(FRA_SRC, p.address));
  }
  if (r.dst !== undefined) {
    const p = prefixFor(r.family, r.dst, 'to');
    h[1] = p.prefixLen;
    parts.push(nla(FRA_DST, p.address));
  }
  if (r.iif !== undefined) parts.push(nlaString(FRA_IIFNAME, ifname(r.iif, 'iif')));
  if (r.oif !== undefined) parts.push(nlaString(FRA_OIFNAME, ifname(r.oif, 'oif')));
  return concat(parts);
}

export function decodeRuleMsg(payload: Uint8Array): Result<RuleMsg> {
  if (payload.length < FIB_RULE_HDR_LEN) return { ok: false, reason: 'truncated fib_rule_hdr' };
  const attrs = decodeAttrs(payload.subarray(FIB_RULE_HDR_LEN));
  if (!attrs.ok) return attrs;
  const m = attrMap(attrs.value);
  const u32 = (t: number, dflt: number) => {
    const a = m.get(t);
    if (!a) return dflt;
    const v = readU32(a);
    return v.ok ? v.value : dflt;
  };
  const family = payload[0]!;
  const dstLen = payload[1]!;
  const srcLen = payload[2]!;
  const size = family === AF_INET6 ? 16 : 4;
  if (dstLen > size * 8 || srcLen > size * 8) return { ok: false, reason: 'prefix length beyond the family' };
  const out: RuleMsg = {
    family,
    dstLen,
    srcLen,
    table: u32(FRA_TABLE, payload[4]!),
    action: payload[7]!,
    priority: u32(FRA_PRIORITY, 0),
  };
  const src = m.get(FRA_SRC);
  if (src) {
    if (src.data.length !== size) return { ok: false, reason: 'FRA_SRC of a bad size' };
    out.src = `${bytesToIp(src.data)}/${srcLen}`;
  }
  const dst = m.get(FRA_DST);
  if (dst) {
    if (dst.data.length !== size) return { ok: false, reason: 'FRA_DST of a bad size' };
    out.dst = `${bytesToIp(dst.data)}/${dstLen}`;
  }
  const iif = m.get(FRA_IIFNAME);
  if (iif) out.iif = readString(iif);
  const oif = m.get(FRA_OIFNAME);
  if (oif) out.oif = readString(oif);
  return { ok: true, value: out };
}

export function rtnlGetRules(client: NetlinkClient, family: number): RuleMsg[] {
  const req = new Uint8Array(FIB_RULE_HDR_LEN);
  req[0] = family;
  const out: RuleMsg[] = [];
  for (const msg of client.dump(RTM_GETRULE, req)) {
    if (msg.type !== RTM_NEWRULE) continue;
    const d = decodeRuleMsg(msg.payload);
    if (d.ok) out.push(d.value);
  }
  return out;
}

/** `ip rule add pref P [from S] [to D] [iif I] [oif O] lookup T` (EEXIST when the same rule exists). */
export function rtnlNewRule(client: NetlinkClient, r: RuleSpec): void {
  client.request(RTM_NEWRULE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, encodeRuleMsg(r));
}

/** `ip rule del …` with every selector of the rule (ENOENT when there is none). */
export function rtnlDelRule(client: NetlinkClient, r: RuleSpec): void {
  client.request(RTM_DELRULE, NLM_F_ACK, encodeRuleMsg(r));
}

/** Whether a dumped rule is exactly this one: same preference, table and selectors, action lookup. */
export function ruleMatches(m: RuleMsg, r: RuleSpec): boolean {
  const norm = (p: string | undefined) => (p === undefined ? undefined : canonicalPrefix(p));
  return (
    m.family === r.family &&
    m.priority === r.priority &&
    m.table === r.table &&
    m.action === FR_ACT_TO_TBL &&
    m.src === norm(r.src) &&
    m.dst === norm(r.dst) &&
    m.iif === r.iif &&
    m.oif === r.oif
  );
}
