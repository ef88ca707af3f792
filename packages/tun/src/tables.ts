/**
 * The `tunnels` table (docs/protocol.md §5.3; tun.c tun_out_status_creator) from a selection result:
 * first the searches that matched nothing, then every candidate in rank order, then the announced
 * networks no search matched. Rows are keyed by the reference's column names; a missing key prints
 * as `---`. Bandwidths and metrics are numbers in bit/s (the table renderer prints them as the
 * reference's umetric_to_human).
 */
import { fm8ToUmetric } from '@bmx7/codec';
import type { ShowRows } from '@bmx7/core';
import { addressToString, type Prefix, prefixToString } from './net.js';
import { PREFIX_LEN_OF_NETWORK, type TunOutConfig } from './options.js';
import {
  type AnnouncedNet,
  type Candidate,
  effectiveMinBandwidth,
  type GatewayAnnouncement,
  type SelectionResult,
} from './selection.js';

/** The reference's columns in order with their relevance (2 high, 1 medium, 0 low) and kind. */
export const TUNNELS_COLUMNS: readonly {
  readonly name: string;
  readonly relevance: 0 | 1 | 2;
  readonly kind: 'text' | 'int' | 'umetric';
}[] = [
  { name: 'tunOut', relevance: 2, kind: 'text' },
  { name: 'id', relevance: 2, kind: 'text' },
  { name: 'longId', relevance: 1, kind: 'text' },
  { name: 'gwName', relevance: 2, kind: 'text' },
  { name: 'src', relevance: 1, kind: 'text' },
  { name: 'proto', relevance: 1, kind: 'int' },
  { name: 'net', relevance: 2, kind: 'text' },
  { name: 'min', relevance: 2, kind: 'int' },
  { name: 'max', relevance: 2, kind: 'int' },
  { name: 'aOLP', relevance: 0, kind: 'int' },
  { name: 'bOSP', relevance: 0, kind: 'int' },
  { name: 'hyst', relevance: 2, kind: 'int' },
  { name: 'rating', relevance: 2, kind: 'int' },
  { name: 'minBw', relevance: 2, kind: 'umetric' },
  { name: 'pref', relevance: 1, kind: 'int' },
  { name: 'table', relevance: 1, kind: 'int' },
  { name: 'ipMtc', relevance: 1, kind: 'int' },
  { name: 'tunIn', relevance: 1, kind: 'text' },
  { name: 'tunName', relevance: 2, kind: 'text' },
  { name: 'setProto', relevance: 1, kind: 'int' },
  { name: 'tunRoute', relevance: 2, kind: 'text' },
  { name: 'remoteId', relevance: 2, kind: 'text' },
  { name: 'remoteLongId', relevance: 1, kind: 'text' },
  { name: 'remoteName', relevance: 2, kind: 'text' },
  { name: 'tunId', relevance: 0, kind: 'int' },
  { name: 'advProto', relevance: 1, kind: 'int' },
  { name: 'advNet', relevance: 2, kind: 'text' },
  { name: 'srcIngress', relevance: 1, kind: 'text' },
  { name: 'advBwVal', relevance: 0, kind: 'umetric' },
  { name: 'advBw', relevance: 2, kind: 'umetric' },
  { name: 'pathMtc', relevance: 2, kind: 'umetric' },
  { name: 'tunMtcVal', relevance: 0, kind: 'umetric' },
  { name: 'tunMtc', relevance: 2, kind: 'umetric' },
  { name: 'localTunIp', relevance: 0, kind: 'text' },
  { name: 'remoteTunIp', relevance: 0, kind: 'text' },
];

/** The device a selected candidate is routed into now (the data plane knows it). */
export interface TunnelDevice {
  /** `X7Out_<gateway short id>` (dedicated) or `X7C6<tunDev>` (catch-all). */
  readonly tunName: string;
  /** The own tunDev's interface name (`X7dflt`). */
  readonly tunIn: string;
  /** `plain` (ip6tnl) or `encrypted` (a WireGuard device of crypt-tun); absent: plain. */
  readonly crypt?: 'plain' | 'encrypted';
}

export interface TunnelRowsOptions {
  /** The device of a selected candidate; without it the device columns print `---`. */
  readonly deviceOf?: (c: Candidate) => TunnelDevice | undefined;
  /**
   * Adds bmx7d's last column `crypt`: `plain` or `encrypted` for a selected tunnel with a device,
   * `---` otherwise (with crypt-tun; without it the table is the reference's).
   */
  readonly cryptColumn?: boolean;
}

/** int16 −1 ("no search") as the reference prints a 16-bit unsigned field. */
const NO_PROTO = 0xffff;

const shortIdOf = (hex: string): string => hex.slice(0, 8).toUpperCase();

function searchCells(s: TunOutConfig | undefined): Record<string, string | number> {
  if (!s)
    return {
      proto: NO_PROTO,
      setProto: NO_PROTO,
      min: 0,
      max: 0,
      aOLP: 0,
      bOSP: 0,
      hyst: 0,
      rating: 0,
      pref: 0,
      table: 0,
      ipMtc: 0,
    };
  const gwId = s.gwId ?? '0'.repeat(56);
  const row: Record<string, string | number> = {
    tunOut: s.name,
    id: shortIdOf(gwId),
    longId: gwId.toUpperCase(),
    proto: s.proto,
    setProto: s.setProto,
    net: prefixToString(s.network),
    min: s.minPrefixLen === PREFIX_LEN_OF_NETWORK ? s.network.len : s.minPrefixLen,
    max: s.maxPrefixLen === PREFIX_LEN_OF_NETWORK ? s.network.len : s.maxPrefixLen,
    aOLP: s.allowOverlappingPrefix ? 1 : 0,
    bOSP: s.breakOverlappingPrefix ? 1 : 0,
    hyst: s.hysteresis,
    rating: s.rating,
    minBw: effectiveMinBandwidth(s),
    pref: s.pref,
    table: s.table,
    ipMtc: s.ipMetric,
  };
  if (s.gwName !== undefined) row['gwName'] = s.gwName;
  if (s.srcNet) row['src'] = prefixToString(s.srcNet);
  return row;
}

function netCells(
  gateway: GatewayAnnouncement,
  net: AnnouncedNet,
  ingress: Prefix | undefined,
  advBandwidth: number,
): Record<string, string | number> {
  const family = net.network.family;
  const row: Record<string, string | number> = {
    remoteId: shortIdOf(gateway.id),
    remoteLongId: gateway.id.toUpperCase(),
    tunId: net.tun6Id,
    advProto: net.protoType,
    advNet: prefixToString(net.network),
    // Without an announced ingress prefix the reference prints its zero prefix of the family.
    srcIngress: ingress ? prefixToString(ingress) : family === 4 ? '0.0.0.0/0' : '::/0',
    advBwVal: advBandwidth,
    remoteTunIp: addressToString(6, gateway.primaryIp),
  };
  const endpoint = gateway.endpoints[net.tun6Id];
  if (endpoint) row['localTunIp'] = addressToString(6, endpoint);
  if (gateway.name) row['remoteName'] = gateway.name;
  if (advBandwidth) row['advBw'] = advBandwidth;
  if (gateway.pathMetric) row['pathMtc'] = gateway.pathMetric;
  return row;
}

/** The rows of `show=tunnels`. */
export function tunnelRows(result: SelectionResult, options: TunnelRowsOptions = {}): ShowRows {
  const rows: ShowRows = [];
  const unmatchedSearches = result.searches
    .filter((s) => s.candidates.length === 0)
    .map((s) => s.search)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Cells the reference leaves zeroed when a row has no candidate or no announced network.
  const noNet = { tunId: 0, advProto: 0, advBwVal: 0, tunMtcVal: 0 };
  const crypt = options.cryptColumn ? { crypt: '---' } : {};
  for (const s of unmatchedSearches) rows.push({ ...searchCells(s), ...noNet, ...crypt });
  for (const c of result.order) {
    const row: Record<string, string | number> = {
      ...searchCells(c.search),
      ...netCells(c.gateway, c.net, c.ingress, c.advBandwidth),
      tunRoute: prefixToString(c.route),
      tunMtcVal: c.tunMetric,
    };
    if (c.tunMetric) row['tunMtc'] = c.tunMetric;
    const dev = c.selected ? options.deviceOf?.(c) : undefined;
    if (dev) {
      row['tunName'] = dev.tunName;
      row['tunIn'] = dev.tunIn;
    }
    if (options.cryptColumn) row['crypt'] = dev ? (dev.crypt ?? 'plain') : '---';
    rows.push(row);
  }
  for (const { gateway, net } of result.unmatched) {
    const ingress = gateway.ingress?.find(
      (i) => i.tun6Id === net.tun6Id && i.prefix.family === net.network.family,
    )?.prefix;
    rows.push({
      ...searchCells(undefined),
      ...netCells(gateway, net, ingress, fm8Bandwidth(net)),
      tunMtcVal: 0,
      ...crypt,
    });
  }
  return rows;
}

const fm8Bandwidth = (net: AnnouncedNet): number => fm8ToUmetric(net.bandwidth);
