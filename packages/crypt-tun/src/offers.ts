/**
 * What a node offers (docs/protocol.md §4.13 "CRYPT_TUN"): per tunnel network it announces, which
 * tunnels it takes. Its tunIn networks offer their `/crypt`, else the node's `cryptTun`; its tunDev
 * networks (the networks its tunnels send from, SOURCE entries) offer `cryptTun`: they are what a
 * gateway's way back to it selects, and the allowed IPs of its peer on a gateway's WireGuard
 * device. A node that offers only plain tunnels announces no CRYPT_TUN at all (absent means plain,
 * as for a reference node), so its description stays as without crypt-tun. Pure.
 */
import {
  CRYPT_TUN_FLAG,
  CRYPT_TUN_VERSION,
  type CryptTunEntry,
  type CryptTunTlv,
  decodeTlvBody,
  encodeTlvBody,
  TLV_TYPE,
} from '@bmx7/codec';
import { type CryptLevel, type Prefix, prefixToString, type TunConfig } from '@bmx7/plugin-tun';

/** A node's offers, decoded. */
export interface CryptOffers {
  /** Per announced network (`prefixToString`), its level. */
  readonly nets: ReadonlyMap<string, CryptLevel>;
  /** Its tunnel source networks offered with WireGuard (level 1 or 2), as prefixes. */
  readonly sources: readonly string[];
}

export const NO_OFFERS: CryptOffers = { nets: new Map(), sources: [] };

const entryOf = (crypt: CryptLevel, p: Prefix, source: boolean): CryptTunEntry => ({
  crypt,
  flags: source ? CRYPT_TUN_FLAG.SOURCE : 0,
  family: p.family,
  prefixLen: p.len,
  address: p.address,
});

/** The own CRYPT_TUN entries, in the order the tun plugin announces the networks. */
export function ownEntries(config: TunConfig, cryptTun: CryptLevel): CryptTunEntry[] {
  const out: CryptTunEntry[] = [];
  for (const family of [4, 6] as const) {
    for (const d of config.tunDevs) {
      const a = family === 4 ? d.tun4Address : d.tun6Address;
      if (a) out.push(entryOf(cryptTun, a.network, true));
    }
    for (const t of config.tunIns)
      if (t.network.family === family) out.push(entryOf(t.crypt ?? cryptTun, t.network, false));
  }
  return out;
}

/** The own CRYPT_TUN body; undefined when every network is plain only (nothing to announce). */
export function ownBody(config: TunConfig, cryptTun: CryptLevel): Uint8Array | undefined {
  const entries = ownEntries(config, cryptTun);
  if (entries.every((e) => e.crypt === 0)) return undefined;
  const tlv: CryptTunTlv = { type: TLV_TYPE.CRYPT_TUN, version: CRYPT_TUN_VERSION, flags: 0, entries };
  return encodeTlvBody(tlv);
}

/** Whether the node offers WireGuard anywhere: it then needs its own receiving device. */
export function offersWireguard(config: TunConfig, cryptTun: CryptLevel): boolean {
  return config.tunIns.some((t) => (t.crypt ?? cryptTun) >= 1);
}

/** Another node's offers from its CRYPT_TUN body; a malformed one offers nothing (plain only). */
export function decodeOffers(body: Uint8Array | undefined): CryptOffers {
  if (!body) return NO_OFFERS;
  const r = decodeTlvBody(TLV_TYPE.CRYPT_TUN, body);
  if (!r.ok || r.value.type !== TLV_TYPE.CRYPT_TUN || !('entries' in r.value)) return NO_OFFERS;
  const nets = new Map<string, CryptLevel>();
  const sources: string[] = [];
  for (const e of (r.value as CryptTunTlv).entries) {
    const text = prefixToString({ family: e.family, address: e.address, len: e.prefixLen });
    // the first entry of a network counts (a node announces each once)
    if (!nets.has(text)) nets.set(text, e.crypt);
    if (e.flags & CRYPT_TUN_FLAG.SOURCE && e.crypt >= 1 && !sources.includes(text)) sources.push(text);
  }
  return { nets, sources };
}

/** The offer for one announced network: plain only when the node says nothing of it. */
export function offerFor(offers: CryptOffers, network: Prefix): CryptLevel {
  return offers.nets.get(prefixToString(network)) ?? 0;
}
