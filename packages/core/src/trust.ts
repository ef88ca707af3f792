/**
 * Trust and support as the reference applies them (docs/protocol.md §4.11 "Trust"; sec.c
 * idChanged_Trusted, setted_pubkey, update_neighTrust; ogm.c lndev_best_via_router):
 *
 * - A trust list exists while trust is configured (`trustedNodes`, even empty), and then always
 *   holds the node itself at trust 2 and support 2.
 * - TRUSTS limits next hops, nothing else: a path to originator O via neighbour N is a candidate
 *   only when O publishes no TRUSTS, lists N at level 2 or more, or lists some Y at level 3 whose
 *   own TRUSTS lists N at 2 or more (one step, Y may be this node).
 * - Support decides a key's admission row only (friend at support 2 or more, recommended through
 *   the SUPPORTS of a friend at support 3): unsupported keys are admitted, as aliens, and routed.
 */
import type { EngineState, KeyRec } from './state.js';

/** One entry of the own trust list. */
export interface TrustEntry {
  trust: number;
  support: number;
  /** The file it came from ('' for the node itself). */
  fileName: string;
}

/** A lookup that no TLV restricts: the reference's "ALL" (shown as `A`). */
export const TRUST_ALL = -1;

/** Trust is configured (the reference: trustedNodesDir is set). */
export function trustOn(s: EngineState): boolean {
  return s.cfg.trustedNodes !== undefined;
}

/**
 * Rebuilds the own trust list from the configuration: every node given, and the node itself at
 * 2/2 whatever a file says (levels are 0, 2 or 3; 1 counts as 0, above 3 as 3).
 */
export function applyTrust(s: EngineState): void {
  s.trusted.clear();
  s.ownTrusts.clear();
  s.ownSupports.clear();
  if (!trustOn(s)) return;
  const level = (n: number) => (n >= 3 ? 3 : n >= 2 ? 2 : 0);
  for (const t of s.cfg.trustedNodes ?? []) {
    const id = t.id.toLowerCase();
    if (!/^[0-9a-f]{56}$/.test(id)) continue;
    s.trusted.set(id, { trust: level(t.trust), support: level(t.support), fileName: t.fileName ?? '' });
  }
  const self = s.trusted.get(s.hex);
  s.trusted.set(s.hex, { trust: 2, support: 2, fileName: self?.fileName ?? '' });
  for (const [id, e] of s.trusted) {
    if (e.trust >= 2) s.ownTrusts.set(id, e.trust);
    if (e.support >= 2) s.ownSupports.set(id, e.support);
  }
}

/**
 * This node's trust and support levels for a node (hex id, lower case): undefined while trust is
 * not configured, else the entry's levels, or 0/0 for a node the list does not hold
 * (docs/protocol.md §4.11).
 */
export function trustOf(s: EngineState, h: string): { trust: number; support: number } | undefined {
  if (!trustOn(s)) return undefined;
  const e = s.trusted.get(h);
  return { trust: e?.trust ?? 0, support: e?.support ?? 0 };
}

/**
 * What `trustOf` answers, as one comparable text: '' while trust is off, else the id, trust and
 * support of every entry above 0/0 in id order (an entry at 0/0 answers as an absent one, and file
 * names are left out: a renamed file alone changes nothing).
 */
export function trustLevels(s: EngineState): string {
  if (!trustOn(s)) return '';
  const rows: Array<[string, number, number]> = [];
  for (const [id, e] of s.trusted) if (e.trust || e.support) rows.push([id, e.trust, e.support]);
  rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(rows);
}

/** My support level for a node (0 without trust or without an entry). */
export function supportLevel(s: EngineState, h: string): number {
  return s.trusted.get(h)?.support ?? 0;
}

/** The TRUSTS or SUPPORTS list a node publishes (this node's own included), undefined for none. */
function listOf(
  s: EngineState,
  id: string,
  which: 'trusts' | 'supports',
): ReadonlyMap<string, number> | undefined {
  if (id === s.hex) {
    if (!trustOn(s)) return undefined;
    return which === 'trusts' ? s.ownTrusts : s.ownSupports;
  }
  const k = s.keys.get(id);
  return k?.orig ? k.current?.facts?.[which] : undefined;
}

/**
 * The level at which `list` (a TRUSTS or SUPPORTS list of some node) admits `x`: TRUST_ALL when there
 * is no list, the listed level when it is 2 or more, 1 when a node listed at level 3 lists `x`
 * in its own list of the same kind at 2 or more, else 0 (sec.c setted_pubkey).
 */
export function trustLookup(
  s: EngineState,
  list: ReadonlyMap<string, number> | undefined,
  x: string,
  which: 'trusts' | 'supports',
): number {
  if (!list || list.size === 0) return TRUST_ALL;
  const direct = list.get(x) ?? 0;
  if (direct >= 2) return direct;
  for (const [y, level] of list) {
    if (level !== 3) continue;
    if ((listOf(s, y, which)?.get(x) ?? 0) >= 2) return 1;
  }
  return 0;
}

/** Originator `k`'s TRUSTS allow neighbour `nbHex` as the next hop towards it. */
export function neighTrusted(s: EngineState, k: KeyRec, nbHex: string): boolean {
  return trustLookup(s, k.current?.facts?.trusts, nbHex, 'trusts') !== 0;
}

/** A lookup as the show tables print it: `A` for no restriction, else the level. */
export function trustText(level: number): string {
  return level === TRUST_ALL ? 'A' : String(level);
}
