/**
 * Node identity (docs/protocol.md §4.6): node id = SHA-224(0x00 ‖ key type ‖ modulus), the short id,
 * the primary address (ipAutoPrefix fd70::/16 followed by the first 14 id bytes) and the tunnel
 * endpoint addresses the tun plugin derives from it.
 */
import { requireBytes } from './bytes.js';
import { CryptoInputError } from './errors.js';
import { contentHash, SHA224_LEN } from './hash.js';

/** Node id of public-key content (type u8 ‖ modulus): its content hash with header byte 0x00. */
export function nodeIdOf(pubkeyContent: Uint8Array): Uint8Array {
  if (!(pubkeyContent instanceof Uint8Array) || pubkeyContent.length < 2) {
    throw new CryptoInputError('public-key content must be type u8 followed by the modulus');
  }
  return contentHash(0, pubkeyContent);
}

/** The first 4 bytes of a node id in upper-case hex, as the reference shows it (e.g. `0C476241`). */
export function shortId(id: Uint8Array): string {
  requireBytes(id, SHA224_LEN, 'node id');
  return Buffer.from(id.subarray(0, 4)).toString('hex').toUpperCase();
}

/** An IPv6 prefix: 16 address bytes and a length in bits. */
export interface Ip6Prefix {
  readonly address: Uint8Array;
  readonly length: number;
}

/** The reference's default `ipAutoPrefix`: fd70::/16. */
export const AUTO_IP6_PREFIX: Ip6Prefix = Object.freeze({
  address: Uint8Array.of(0xfd, 0x70, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
  length: 16,
});

function checkPrefix(prefix: Ip6Prefix): void {
  requireBytes(prefix.address, 16, 'prefix address');
  // The reference requires /16 for ipAutoPrefix; any byte-aligned length that leaves room for the
  // id's first bytes is computed the same way (create_crypto_IPv6).
  if (
    !Number.isInteger(prefix.length) ||
    prefix.length % 8 !== 0 ||
    prefix.length < 8 ||
    prefix.length > 120
  ) {
    throw new CryptoInputError(
      `prefix length must be a multiple of 8 between 8 and 120, got ${prefix.length}`,
    );
  }
}

/**
 * Primary address: the prefix's bytes followed by the node id's first (128 − length)/8 bytes
 * (fd70::/16 → fd70:<id bytes 0-13>).
 */
export function primaryAddress(id: Uint8Array, prefix: Ip6Prefix = AUTO_IP6_PREFIX): Uint8Array {
  requireBytes(id, SHA224_LEN, 'node id');
  checkPrefix(prefix);
  const a = prefix.address.slice();
  const at = prefix.length / 8;
  a.set(id.subarray(0, 16 - at), at);
  return a;
}

/** Highest tunDev index the reference can number (its tun6Id octet runs 0x1 … 0xF, 4.8/4.14). */
export const MAX_TUNNEL_ENDPOINT_INDEX = 13;

/**
 * Tunnel endpoint address of the tunDev with this index (0-based, in the order the reference
 * numbers them): the primary address with byte 1 incremented by 1 + index (fd70 → fd71, fd72 …),
 * as the tun plugin derives `tun6Address`-less endpoints (reconfigure_tun_ins, DEF_AUTO_TUNID_OCT_POS).
 */
export function tunnelEndpointAddress(
  id: Uint8Array,
  index: number,
  prefix: Ip6Prefix = AUTO_IP6_PREFIX,
): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index > MAX_TUNNEL_ENDPOINT_INDEX) {
    throw new CryptoInputError(`tunnel index must be 0-${MAX_TUNNEL_ENDPOINT_INDEX}, got ${index}`);
  }
  const a = primaryAddress(id, prefix);
  a[1] = (a[1]! + 1 + index) & 0xff;
  return a;
}

/** Whether an address inside ipAutoPrefix/12 is a valid /128 of this node (bytes 2-15 = id bytes 0-13). */
export function isAddressOfNode(
  address: Uint8Array,
  id: Uint8Array,
  prefix: Ip6Prefix = AUTO_IP6_PREFIX,
): boolean {
  if (!(address instanceof Uint8Array) || address.length !== 16) return false;
  if (!(id instanceof Uint8Array) || id.length !== SHA224_LEN) return false;
  const at = prefix.length / 8;
  for (let i = at; i < 16; i++) if (address[i] !== id[i - at]) return false;
  return true;
}

/** RFC 5952 text form of a 16-byte IPv6 address (lower case, longest zero run as `::`). */
export function ip6ToString(address: Uint8Array): string {
  requireBytes(address, 16, 'IPv6 address');
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((address[i]! << 8) | address[i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}
