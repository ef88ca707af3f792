/**
 * The crypt policy (docs/protocol.md §4.13 "CRYPT_TUN"): what a search's setting and a gateway's
 * offer for one network make of a tunnel. Pure, and the whole of it:
 *
 * | setting \ offer        | 0 plain only | 1 plain and WireGuard        | 2 WireGuard only         |
 * | ---------------------- | ------------ | ---------------------------- | ------------------------ |
 * | 0 plain                | plain        | plain                        | none                     |
 * | 1 prefer WireGuard     | plain        | encrypted (plain: no peer)   | encrypted (none: no peer)|
 * | 2 WireGuard only       | none         | encrypted (none: no peer)    | encrypted (none: no peer)|
 *
 * "No peer": the gateway announces no usable WireGuard key, or this node does not admit it (trust),
 * or this node has no WireGuard itself. Setting 1 falls back to plain only where the gateway allows
 * plain; setting 2 never does: no route rather than plaintext.
 */
import type { CryptLevel } from '@bmx7/plugin-tun';

export type CryptDecision = 'plain' | 'encrypted' | 'none';

export function cryptDecision(setting: CryptLevel, offer: CryptLevel, peer: boolean): CryptDecision {
  const encrypted = offer >= 1 && peer;
  if (setting === 0) return offer === 2 ? 'none' : 'plain';
  if (encrypted) return 'encrypted';
  if (setting === 1 && offer <= 1) return 'plain';
  return 'none';
}

/** A crypt level from an option value (0, 1 or 2), or undefined. */
export function cryptLevel(v: unknown): CryptLevel | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return n === 0 || n === 1 || n === 2 ? n : undefined;
}
