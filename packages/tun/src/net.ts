/**
 * IPv4 and IPv6 prefixes as the tunnel plugin handles them: addresses and networks of tunDev, tunIn
 * and tunOut, the networks of TUNxIN6_NET and TUNxIN6_INGRESS (docs/protocol.md §4.8, §4.14). Pure.
 */
import { ip4FromString, ip4ToString, ip6FromString, ip6ToString } from '@bmx7/codec';

export type Family = 4 | 6;

/** An address with a prefix length; `address` has 4 (IPv4) or 16 (IPv6) bytes. */
export interface Prefix {
  readonly family: Family;
  readonly address: Uint8Array;
  readonly len: number;
}

export const maxLen = (family: Family): number => (family === 4 ? 32 : 128);

/** Parses an address of either family; undefined when it is neither. */
export function parseAddress(text: string): { family: Family; address: Uint8Array } | undefined {
  try {
    if (text.includes(':')) return { family: 6, address: ip6FromString(text) };
    return { family: 4, address: ip4FromString(text) };
  } catch {
    return undefined;
  }
}

/** Parses `address/len`; undefined when malformed or the length is out of range. */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const a = parseAddress(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!a || !/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > maxLen(a.family)) return undefined;
  return { family: a.family, address: a.address, len };
}

export function addressToString(family: Family, address: Uint8Array): string {
  return family === 4 ? ip4ToString(address) : ip6ToString(address);
}

/** The reference's text form of a network (`fdbb::/16`, `10.0.0.0/8`). */
export function prefixToString(p: Prefix): string {
  return `${addressToString(p.family, p.address)}/${p.len}`;
}

/** The address with the bits past `len` cleared. */
export function maskAddress(address: Uint8Array, len: number): Uint8Array {
  const out = address.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    out[i] = out[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** The network of a prefix (host bits cleared). */
export function networkOf(p: Prefix): Prefix {
  return { family: p.family, address: maskAddress(p.address, p.len), len: p.len };
}

export function hasHostBits(p: Prefix): boolean {
  return !bytesEqual(maskAddress(p.address, p.len), p.address);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `a` and `b` agree on their first `len` bits (the reference's is_ip_net_equal). */
export function sameNet(a: Uint8Array, b: Uint8Array, len: number): boolean {
  return a.length === b.length && bytesEqual(maskAddress(a, len), maskAddress(b, len));
}

/** Whether `outer` contains `inner` (same family, outer no longer, same leading bits). */
export function contains(outer: Prefix, inner: Prefix): boolean {
  return (
    outer.family === inner.family &&
    outer.len <= inner.len &&
    sameNet(outer.address, inner.address, outer.len)
  );
}

/** Whether one of the two contains the other. */
export function overlaps(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && sameNet(a.address, b.address, Math.min(a.len, b.len));
}

export function prefixEqual(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && a.len === b.len && bytesEqual(a.address, b.address);
}

/** Byte order of two equally long addresses. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
