/**
 * Pure helpers of the tunnel data plane: IPv6 address text, the inner packet's family, the outer
 * IPv6 header of ip6tnl in `mode any` without an encapsulation limit option (docs/protocol.md
 * §4.14), and the checks every backend applies to a TunnelSpec. No I/O.
 */
import { ip6FromString, ip6ToString } from '@bmx7/codec';
import type { TunnelSpec } from './types.js';

/** Next header of the outer IPv6 header: IPv4-in-IPv6 and IPv6-in-IPv6. */
export const NEXT_HEADER_IPV4 = 4;
export const NEXT_HEADER_IPV6 = 41;
export const IPV4_HEADER_MIN = 20;
export const IPV6_HEADER = 40;
/** Outer hop limit when the spec names none (ip6tnl's default). */
export const DEFAULT_HOP_LIMIT = 64;
/** MTU bounds of a device: ip6tnl in mode any takes 68 (IPv4's minimum) up to an IPv6 payload's maximum. */
export const MTU_MIN = 68;
export const MTU_MAX = 65535;
/** Interface names hold at most 15 bytes (IFNAMSIZ 16 with the NUL). */
export const IFNAME_MAX = 15;

export type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parses an IPv6 address in text form (`::`, `fd70::1`, `::ffff:10.0.0.1`) into 16 bytes, or null. */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.length === 0 || text.length > 45) return null;
  try {
    return ip6FromString(text);
  } catch {
    return null;
  }
}

/** The RFC 5952 text form of 16 address bytes (longest run of two or more zero groups as `::`). */
export function formatIPv6(addr: Uint8Array): string {
  if (addr.length !== 16) throw new RangeError(`an IPv6 address has 16 bytes, not ${addr.length}`);
  return ip6ToString(addr);
}

export function isUnspecified(addr: Uint8Array): boolean {
  return addr.every((b) => b === 0);
}

/** The outer next header that carries an inner packet (by its version nibble), or null for neither. */
export function nextHeaderOf(inner: Uint8Array): typeof NEXT_HEADER_IPV4 | typeof NEXT_HEADER_IPV6 | null {
  if (inner.length === 0) return null;
  const version = inner[0]! >> 4;
  if (version === 4 && inner.length >= IPV4_HEADER_MIN) return NEXT_HEADER_IPV4;
  if (version === 6 && inner.length >= IPV6_HEADER) return NEXT_HEADER_IPV6;
  return null;
}

export interface OuterHeader {
  /** 16 bytes each. */
  readonly local: Uint8Array;
  readonly remote: Uint8Array;
  readonly hopLimit: number;
}

/**
 * The packet ip6tnl sends for `inner`: a 40-byte IPv6 header (traffic class 0, flow label 0 — the
 * kernel may put its automatic flow label there — next header 4 or 41, no extension headers), then
 * the inner packet unchanged.
 */
export function encapsulate(inner: Uint8Array, outer: OuterHeader): Result<Uint8Array> {
  const nh = nextHeaderOf(inner);
  if (nh === null) return { ok: false, reason: 'the inner packet is neither IPv4 nor IPv6' };
  if (inner.length > MTU_MAX)
    return { ok: false, reason: `an inner packet of ${inner.length} bytes is too big` };
  const out = new Uint8Array(IPV6_HEADER + inner.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 6 << 28);
  dv.setUint16(4, inner.length);
  out[6] = nh;
  out[7] = outer.hopLimit;
  out.set(outer.local, 8);
  out.set(outer.remote, 24);
  out.set(inner, IPV6_HEADER);
  return { ok: true, value: out };
}

export interface Decapsulated {
  /** The outer source and destination (the sender's local end, this end's local). */
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  readonly nextHeader: typeof NEXT_HEADER_IPV4 | typeof NEXT_HEADER_IPV6;
  readonly hopLimit: number;
  /** A view into the outer packet. */
  readonly inner: Uint8Array;
}

/**
 * Reads an encapsulated packet as ip6tnl receives it: an IPv6 header whose next header is 4 or 41
 * directly (extension headers are not followed), an inner packet of that family, and a payload
 * length that fits the bytes at hand.
 */
export function decapsulate(outer: Uint8Array): Result<Decapsulated> {
  if (outer.length < IPV6_HEADER) return { ok: false, reason: 'shorter than an IPv6 header' };
  if (outer[0]! >> 4 !== 6) return { ok: false, reason: 'not IPv6' };
  const dv = new DataView(outer.buffer, outer.byteOffset, outer.byteLength);
  const payload = dv.getUint16(4);
  if (IPV6_HEADER + payload > outer.length) return { ok: false, reason: 'payload length beyond the packet' };
  const nh = outer[6];
  if (nh !== NEXT_HEADER_IPV4 && nh !== NEXT_HEADER_IPV6) {
    return { ok: false, reason: `next header ${nh} is neither 4 nor 41` };
  }
  const inner = outer.subarray(IPV6_HEADER, IPV6_HEADER + payload);
  if (nextHeaderOf(inner) !== nh)
    return { ok: false, reason: `the inner packet does not match next header ${nh}` };
  return {
    ok: true,
    value: {
      source: outer.subarray(8, 24),
      destination: outer.subarray(24, 40),
      nextHeader: nh,
      hopLimit: outer[7]!,
      inner,
    },
  };
}

/** A spec with its addresses parsed, as backends keep it. */
export interface CheckedSpec {
  readonly spec: TunnelSpec;
  readonly local: Uint8Array;
  readonly remote: Uint8Array;
  readonly hopLimit: number;
}

/** Checks a spec as every backend must (name, addresses, MTU, hop limit); the reason names the field. */
export function checkSpec(spec: TunnelSpec): Result<CheckedSpec> {
  const nameBytes = Buffer.byteLength(spec.name, 'utf8');
  if (nameBytes === 0 || nameBytes > IFNAME_MAX) {
    return { ok: false, reason: `name must be 1 to ${IFNAME_MAX} bytes (has ${nameBytes})` };
  }
  // the kernel's dev_valid_name: no '/', ':' or white space, not "." or ".."
  if (/[/:\s]/.test(spec.name) || spec.name === '.' || spec.name === '..' || spec.name.includes('%')) {
    return { ok: false, reason: `name "${spec.name}" is not a valid interface name` };
  }
  const local = parseIPv6(spec.local);
  if (!local) return { ok: false, reason: `local "${spec.local}" is not an IPv6 address` };
  const remote = parseIPv6(spec.remote);
  if (!remote) return { ok: false, reason: `remote "${spec.remote}" is not an IPv6 address` };
  if (!Number.isInteger(spec.mtu) || spec.mtu < MTU_MIN || spec.mtu > MTU_MAX) {
    return { ok: false, reason: `mtu ${spec.mtu} is outside ${MTU_MIN}..${MTU_MAX}` };
  }
  const hopLimit = spec.hopLimit ?? DEFAULT_HOP_LIMIT;
  if (!Number.isInteger(hopLimit) || hopLimit < 1 || hopLimit > 255) {
    return { ok: false, reason: `hopLimit ${hopLimit} is outside 1..255` };
  }
  return { ok: true, value: { spec, local, remote, hopLimit } };
}

export function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Which device takes an encapsulated packet, in ip6tnl's order: exact (local, remote), then a
 * device with that local and any remote, then one with that remote and any local.
 */
export function matchTunnel<T extends { local: Uint8Array; remote: Uint8Array }>(
  devices: Iterable<T>,
  destination: Uint8Array,
  source: Uint8Array,
): T | undefined {
  let anyRemote: T | undefined;
  let anyLocal: T | undefined;
  for (const d of devices) {
    const localAny = isUnspecified(d.local);
    const remoteAny = isUnspecified(d.remote);
    const localOk = sameAddress(d.local, destination);
    const remoteOk = sameAddress(d.remote, source);
    if (localOk && remoteOk) return d;
    if (localOk && remoteAny) anyRemote ??= d;
    else if (localAny && remoteOk) anyLocal ??= d;
  }
  return anyRemote ?? anyLocal;
}
