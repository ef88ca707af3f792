/**
 * rtnetlink policy-routing rules (linux/fib_rules.h): RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE, each
 * a 12-byte `struct fib_rule_hdr` then FRA_* attributes. Enough for `ip -6 rule add pref 70
 * lookup 70` and its removal.
 */
import { attrMap, concat, decodeAttrs, nlaU32, readU32 } from './attr.js';
import type { NetlinkClient } from './client.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, type Result } from './nlmsg.js';

export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
export const RTM_GETRULE = 34;

export const FIB_RULE_HDR_LEN = 12;

export const FRA_PRIORITY = 6;
export const FRA_TABLE = 15;

export const FR_ACT_TO_TBL = 1;

export interface RuleMsg {
  family: number;
  /** FRA_PRIORITY (`pref`). */
  priority: number;
  /** Table looked up (`lookup`). */
  table: number;
  action: number;
  dstLen: number;
  srcLen: number;
}

export function encodeRuleMsg(r: Pick<RuleMsg, 'family' | 'priority' | 'table'>): Uint8Array {
  const h = new Uint8Array(FIB_RULE_HDR_LEN);
  h[0] = r.family;
  h[4] = r.table < 256 ? r.table : 252;
  h[7] = FR_ACT_TO_TBL;
  return concat([h, nlaU32(FRA_PRIORITY, r.priority), nlaU32(FRA_TABLE, r.table)]);
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
  return {
    ok: true,
    value: {
      family: payload[0]!,
      dstLen: payload[1]!,
      srcLen: payload[2]!,
      table: u32(FRA_TABLE, payload[4]!),
      action: payload[7]!,
      priority: u32(FRA_PRIORITY, 0),
    },
  };
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

/** `ip rule add pref P lookup T` (EEXIST when the same rule exists). */
export function rtnlNewRule(client: NetlinkClient, r: Pick<RuleMsg, 'family' | 'priority' | 'table'>): void {
  client.request(RTM_NEWRULE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, encodeRuleMsg(r));
}

/** `ip rule del pref P lookup T` (ENOENT when there is none). */
export function rtnlDelRule(client: NetlinkClient, r: Pick<RuleMsg, 'family' | 'priority' | 'table'>): void {
  client.request(RTM_DELRULE, NLM_F_ACK, encodeRuleMsg(r));
}
