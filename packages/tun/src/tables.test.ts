import { readFileSync } from 'node:fs';
import { ip6FromString, umetricToHuman } from '@bmx7/codec';
import type { PluginChildValues } from '@bmx7/core';
import { fixture } from '@bmx7/testenv/env';
import { describe, expect, it } from 'vitest';
import { bandwidthFm8, tunnelContributions } from './description.js';
import { parsePrefix } from './net.js';
import { parseTunSettings } from './options.js';
import { type GatewayAnnouncement, selectGateways } from './selection.js';
import { TUNNELS_COLUMNS, tunnelRows } from './tables.js';

/** The header line after `######## show=tunnels <view>` and `TUNNELS:` in show-tables.txt. */
function fixtureTable(view: string): string[][] {
  const lines = readFileSync(fixture('show-tables.txt'), 'utf8').split('\n');
  const at = lines.indexOf(`######## show=tunnels ${view}`);
  expect(at).toBeGreaterThanOrEqual(0);
  expect(lines[at + 1]).toBe('TUNNELS:');
  const out: string[][] = [];
  for (let i = at + 2; i < lines.length && !lines[i]!.startsWith('########'); i++)
    if (lines[i]!.trim()) out.push(lines[i]!.trim().split(/\s+/));
  return out;
}

const multi = (instances: Record<string, PluginChildValues>) => ({
  kind: 'multi' as const,
  instances: new Map(Object.entries(instances)),
});

describe('show=tunnels (docs/protocol.md §5.3, tun.c tun_out_status_creator)', () => {
  it('has the columns of the reference, in order, at every relevance', () => {
    expect(fixtureTable('/r=0')[0]).toEqual(TUNNELS_COLUMNS.map((c) => c.name));
    expect(fixtureTable('(default relevance)')[0]).toEqual(
      TUNNELS_COLUMNS.filter((c) => c.relevance === 2).map((c) => c.name),
    );
  });

  it("reproduces client n1's rows of tun.pcap from its configuration and n3's announcement", () => {
    // n1: tunDev=dflt /tun6Address=fdaa:1::1/64 tunOut=v6 /network=fdbb::/16 (docs/protocol.md §3)
    const n1 = parseTunSettings(
      new Map([
        ['tunDev', multi({ dflt: { tun6Address: 'fdaa:1::1/64' } })],
        ['tunOut', multi({ v6: { network: 'fdbb::/16' } })],
      ]),
    );
    const n3Primary = ip6FromString('fd70:6484:b2ed:c1c9:7e28:b611:6dc0:3894');
    const n3 = tunnelContributions(
      parseTunSettings(
        new Map([
          ['tunDev', multi({ dflt: { tun6Address: 'fdaa:3::1/64' } })],
          ['tunIn', multi({ net6: { network: 'fdbb::/16', bandwidth: 100000000 } })],
        ]),
      ),
      n3Primary,
    );
    const gateway: GatewayAnnouncement = {
      id: '6484b2edc1c97e28b6116dc03894'.padEnd(56, '0'),
      name: 'ref-n3',
      primaryIp: n3Primary,
      pathMetric: 706_000_000,
      hops: 2,
      endpoints: n3.tunDevs.map((t) => t.endpoint),
      nets: [
        { tun6Id: 0, protoType: 0, bandwidth: 0xff, network: parsePrefix('fdaa:3::/64')! },
        { tun6Id: 0, protoType: 0, bandwidth: bandwidthFm8(100000000n), network: parsePrefix('fdbb::/16')! },
      ],
    };
    const result = selectGateways({
      searches: n1.tunOuts,
      gateways: [gateway],
      tunDevs: n1.tunDevs,
      active: [{ search: 'v6', gatewayId: gateway.id, network: 'fdbb::/16' }],
    });
    const rows = tunnelRows(result, { deviceOf: () => ({ tunName: 'X7Out_6484B2ED', tunIn: 'X7dflt' }) });
    const visible = TUNNELS_COLUMNS.filter((c) => c.relevance === 2);
    const printed = rows.map((r) =>
      visible.map((c) => {
        const v = r[c.name];
        if (v === undefined) return '---';
        return c.kind === 'umetric' && typeof v === 'number' ? umetricToHuman(v) : String(v);
      }),
    );
    expect(printed).toEqual(fixtureTable('(default relevance)').slice(1));
    expect(rows[0]).toMatchObject({
      tunIn: 'X7dflt',
      pref: 32767,
      table: 254,
      ipMtc: 1024,
      localTunIp: 'fd71:6484:b2ed:c1c9:7e28:b611:6dc0:3894',
      remoteTunIp: 'fd70:6484:b2ed:c1c9:7e28:b611:6dc0:3894',
      srcIngress: '::/0',
    });
  });

  it('lists a search without candidates first, with its settings', () => {
    const cfg = parseTunSettings(
      new Map([['tunOut', multi({ inet: { network: '0.0.0.0/0', maxPrefixLen: 129, gwName: 'gw' } })]]),
    );
    const rows = tunnelRows(selectGateways({ searches: cfg.tunOuts, gateways: [], tunDevs: [] }));
    expect(rows).toEqual([
      expect.objectContaining({ tunOut: 'inet', gwName: 'gw', net: '0.0.0.0/0', min: 0, max: 0, minBw: 960 }),
    ]);
    expect(rows[0]!['tunRoute']).toBeUndefined();
  });
});
