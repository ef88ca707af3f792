/**
 * Fixtures for the gateway selection's tests (selection.test.ts, explain.test.ts): searches from
 * tunOut option values, the node's own tunDev, and gateways announcing networks.
 */
import type { PluginChildValues } from '@bmx7/core';
import { bandwidthFm8 } from '../description.js';
import { parsePrefix } from '../net.js';
import { parseTunSettings, type TunDevConfig, type TunOutConfig } from '../options.js';
import type { GatewayAnnouncement } from '../selection.js';

export const M = 1_000_000;
export const G = 1_000_000_000;

/** The searches of tunOut instances given as `{ name: { child: value } }`. */
export function searches(spec: Record<string, PluginChildValues>): TunOutConfig[] {
  return [
    ...parseTunSettings(new Map([['tunOut', { kind: 'multi', instances: new Map(Object.entries(spec)) }]]))
      .tunOuts,
  ];
}

/** The node's own tunDev `dflt`, fdaa:1::1/64 and 10.254.1.1/24. */
export const ownDevs: TunDevConfig[] = [
  ...parseTunSettings(
    new Map([
      [
        'tunDev',
        {
          kind: 'multi',
          instances: new Map([['dflt', { tun6Address: 'fdaa:1::1/64', tun4Address: '10.254.1.1/24' }]]),
        },
      ],
    ]),
  ).tunDevs,
];

/** A node id of one repeated hex digit. */
export const id = (c: string) => c.repeat(56);

/**
 * A gateway announcing `nets` ("net@bandwidth[:proto]") on tun6Id 0 at `path` bit/s, one hop away
 * unless `extra` says otherwise.
 */
export function gw(
  name: string,
  idChar: string,
  path: number,
  nets: string[],
  extra: Partial<GatewayAnnouncement> = {},
): GatewayAnnouncement {
  return {
    id: id(idChar),
    name,
    primaryIp: new Uint8Array(16).fill(0xfd, 0, 1),
    pathMetric: path,
    hops: 1,
    endpoints: [new Uint8Array(16).fill(0xfd, 0, 1).fill(1, 15)],
    nets: nets.map((n) => {
      const [net, rest] = n.split('@') as [string, string];
      const [bw, proto] = rest.split(':');
      return {
        tun6Id: 0,
        protoType: Number(proto ?? 0),
        bandwidth: bandwidthFm8(BigInt(bw as string)),
        network: parsePrefix(net) as NonNullable<ReturnType<typeof parsePrefix>>,
      };
    }),
    ...extra,
  };
}
