/**
 * What a gateway adds to its own description (docs/protocol.md §3, §4.8 types 17–23, §4.14
 * "Gateway side"): TUN6 with one endpoint per tunDev, TUN4IN6_INGRESS / TUN6IN6_INGRESS for
 * configured ingress prefixes, TUN4IN6_NET / TUN6IN6_NET for each tunDev's own network and each
 * tunIn, and an HNA6 /128 with flag 0x01 per endpoint. Pure: the plugin hands the bodies to the
 * engine's TLV producers and the HNA6 entries to `contributeHna6`.
 */
import {
  encodeTlvBody,
  FM8_MAX,
  HNA6_FLAG_NO_ROUTE,
  type Hna6Entry,
  TLV_TYPE,
  type TunIngressEntry,
  type TunNetEntry,
  umetricToFm8,
} from '@bmx7/codec';
import type { Family, Prefix } from './net.js';
import type { TunConfig, TunDevConfig } from './options.js';

/** The endpoint's address byte raised by 1 + the tunDev's index (DEF_AUTO_TUNID_OCT_POS, §4.14). */
const ENDPOINT_BYTE = 1;

/** The tunnel endpoint of a tunDev: its `remote`, else the primary address with byte 1 raised by 1 + index. */
export function tunnelEndpoint(
  primary: Uint8Array,
  index: number,
  dev?: Pick<TunDevConfig, 'remote'>,
): Uint8Array {
  if (primary.length !== 16) throw new TypeError('tunnelEndpoint: the primary address must have 16 bytes');
  if (dev?.remote) return dev.remote.slice();
  const a = primary.slice();
  a[ENDPOINT_BYTE] = (a[ENDPOINT_BYTE]! + 1 + index) & 0xff;
  return a;
}

/** A tunDev as announced: its tun6Id (index among the tunDevs ordered by interface name) and endpoint. */
export interface AnnouncedTunDev {
  readonly tun6Id: number;
  readonly dev: TunDevConfig;
  readonly endpoint: Uint8Array;
}

export interface TunnelContributions {
  readonly tunDevs: readonly AnnouncedTunDev[];
  /** Non-empty bodies by TLV type (TLV_TYPE.TUN6, TUN4IN6_INGRESS … TUN6IN6_NET). */
  readonly bodies: ReadonlyMap<number, Uint8Array>;
  /** Entries for the core's HNA6 TLV, after the primary address. */
  readonly hna6: readonly Hna6Entry[];
  /** tunIns left out because the tunDev they name does not exist (the reference skips them too). */
  readonly skipped: readonly string[];
}

const bytesOf = (p: Prefix): Uint8Array => p.address;

/**
 * The own description's tunnel contributions from the configuration, in the reference's order
 * (tun.c create_dsc_tlv_tun6, create_dsc_tlv_tunXin6ingress, create_dsc_tlv_tunXin6net; hna.c
 * create_dsc_tlv_hna). Every tunDev counts as up: the plugin withholds the configuration of a
 * device it could not create.
 */
export function tunnelContributions(config: TunConfig, primary: Uint8Array): TunnelContributions {
  const tunDevs = config.tunDevs.map((dev, i) => ({
    tun6Id: i,
    dev,
    endpoint: tunnelEndpoint(primary, i, dev),
  }));
  const bodies = new Map<number, Uint8Array>();
  if (tunDevs.length > 0)
    bodies.set(
      TLV_TYPE.TUN6,
      encodeTlvBody({ type: TLV_TYPE.TUN6, endpoints: tunDevs.map((t) => t.endpoint) }),
    );

  for (const family of [4, 6] as const) {
    const ingress: TunIngressEntry[] = [];
    for (const t of tunDevs) {
      const p = family === 4 ? t.dev.ingress4Prefix : t.dev.ingress6Prefix;
      if (p) ingress.push({ tun6Id: t.tun6Id, prefixLen: p.len, prefix: bytesOf(p) });
    }
    const type = family === 4 ? TLV_TYPE.TUN4IN6_INGRESS : TLV_TYPE.TUN6IN6_INGRESS;
    if (ingress.length > 0) bodies.set(type, encodeTlvBody({ type, entries: ingress }));
  }

  const skipped: string[] = [];
  for (const family of [4, 6] as const) {
    const entries: TunNetEntry[] = [];
    // First each tunDev's own network, at the maximum bandwidth (FM8 0xFF).
    for (const t of tunDevs) {
      const a = family === 4 ? t.dev.tun4Address : t.dev.tun6Address;
      if (a)
        entries.push({
          tun6Id: t.tun6Id,
          protoType: t.dev.advProto,
          bandwidth: FM8_MAX,
          networkLen: a.network.len,
          network: bytesOf(a.network),
        });
    }
    // Then the tunIns of this family, in configuration order; without /tunDev on the first tunDev.
    for (const tin of config.tunIns) {
      if (tin.network.family !== family) continue;
      const t = tin.tunDev === undefined ? tunDevs[0] : tunDevs.find((d) => d.dev.ifname === tin.tunDev);
      if (!t) {
        skipped.push(tin.name);
        continue;
      }
      entries.push({
        tun6Id: t.tun6Id,
        protoType: tin.advProto,
        bandwidth: bandwidthFm8(tin.bandwidth),
        networkLen: tin.network.len,
        network: bytesOf(tin.network),
      });
    }
    const type = family === 4 ? TLV_TYPE.TUN4IN6_NET : TLV_TYPE.TUN6IN6_NET;
    if (entries.length > 0) bodies.set(type, encodeTlvBody({ type, entries }));
  }

  const hna6 = tunDevs.map((t) => ({ prefixLen: 128, flags: HNA6_FLAG_NO_ROUTE, address: t.endpoint }));
  return { tunDevs, bodies, hna6, skipped };
}

/** A bandwidth in bit/s as FM8, rounding down as the reference does (100 Mbit/s → 0xA3). */
export function bandwidthFm8(bw: bigint): number {
  return umetricToFm8(Number(bw));
}

/** The family of a TUNxIN6 TLV type. */
export function familyOfTunType(type: number): Family | undefined {
  if (type === TLV_TYPE.TUN4IN6_NET || type === TLV_TYPE.TUN4IN6_INGRESS) return 4;
  if (type === TLV_TYPE.TUN6IN6_NET || type === TLV_TYPE.TUN6IN6_INGRESS) return 6;
  return undefined;
}
