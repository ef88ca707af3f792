/**
 * Just enough IPv6 text handling for the simulator: route prefixes and link-local addresses are
 * compared in their canonical form (RFC 5952), so an engine that prints `fe80:0:0::1` and a table
 * that says `fe80::1` agree.
 */

const GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseGroups(s: string): number[] | undefined {
  if (s === '') return [];
  const out: number[] = [];
  for (const g of s.split(':')) {
    if (!GROUP.test(g)) return undefined;
    out.push(Number.parseInt(g, 16));
  }
  return out;
}

/** Parses an IPv6 address in text form (no zone, no embedded IPv4) into 8 groups, or undefined. */
export function parseIPv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '');
  if (!head) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const tail = parseGroups(halves[1] ?? '');
  if (!tail || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 text of 8 groups: lower case, leading zeros dropped, the longest run (≥ 2) of zero groups as `::`. */
export function formatIPv6(groups: readonly number[]): string {
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: readonly number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

// Route tables repeat the same few thousand prefixes and next hops: remember their canonical form.
const memo = new Map<string, string>();
const MEMO_MAX = 100_000;

/** Canonical text of an address, or of a prefix `addr/len`; text that does not parse is returned as is. */
export function canonicalIPv6(text: string): string {
  const hit = memo.get(text);
  if (hit !== undefined) return hit;
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const groups = parseIPv6(addr);
  const out = !groups ? text : slash < 0 ? formatIPv6(groups) : `${formatIPv6(groups)}${text.slice(slash)}`;
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(text, out);
  return out;
}

/** The host part of a `/128` prefix (or an address as is), canonical; undefined for shorter prefixes. */
export function hostOfPrefix(prefix: string): string | undefined {
  const slash = prefix.indexOf('/');
  if (slash >= 0 && prefix.slice(slash + 1) !== '128') return undefined;
  return canonicalIPv6(slash < 0 ? prefix : prefix.slice(0, slash));
}
