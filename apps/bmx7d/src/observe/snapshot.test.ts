import { DROP_REASONS, type Engine, type EngineCounters, type EngineTraffic } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { takeSnapshot } from './snapshot.js';

const SELF = 'aa'.repeat(28);
const B = 'bb'.repeat(28);
const C = 'cc'.repeat(28);

const zeros = () => new Array<number>(32).fill(0);
function traffic(): EngineTraffic {
  const rx = { frames: zeros(), bytes: zeros() };
  const tx = { frames: zeros(), bytes: zeros() };
  rx.frames[12] = 5;
  rx.bytes[12] = 20;
  tx.frames[2] = 1;
  tx.bytes[2] = 600;
  const drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<
    (typeof DROP_REASONS)[number],
    number
  >;
  drops.bad_source = 2;
  return { rxPackets: 7, rxBytes: 300, txPackets: 3, txBytes: 700, rx, tx, drops };
}

/** An engine with these show rows (and the wg and tunnels tables of its plugins). */
function engine(rows: Record<string, Record<string, unknown>[]>): Engine {
  return {
    nodeId: SELF,
    shortId: 'AAAAAAAA',
    primaryIp: 'fd70::a',
    show: (t: string) => rows[t] ?? [],
    tables: () => Object.keys(rows),
    traffic,
    counters: () => ({ descRejected: 1, txTasksRefused: 2, pluginErrors: 3 }) as EngineCounters,
  } as unknown as Engine;
}

// a field no renderer may pass on: snapshot.ts picks fields by name
const SECRET = 'c2VjcmV0LXByaXZhdGUta2V5LW1hdGVyaWFsLTEyMzQ1Njc4OTA=';

const rows = {
  status: [{ name: 'n1', uptime: 12, descSqn: 11, rts: 2, nodeKey: 'RSA2048', privateKey: SECRET }],
  links: [
    {
      shortId: 'BBBBBBBB',
      name: 'n2',
      nbLocalIp: 'fe80::b',
      dev: 'eth1',
      rq: 255,
      tq: 204,
      linkKey: 'DHM',
      secret: SECRET,
    },
  ],
  originators: [
    {
      shortId: 'BBBBBBBB',
      nodeId: B.toUpperCase(),
      name: 'n2',
      primaryIp: 'fd70::b',
      dev: 'eth1',
      nbLocalIp: 'fe80::b',
      metric: 1e9,
      hops: 1,
      descSqn: 11,
      lastRef: 0,
      privateKey: SECRET,
    },
    {
      shortId: 'CCCCCCCC',
      nodeId: C.toUpperCase(),
      name: 'n3',
      primaryIp: 'fd70::c',
      dev: '---',
      nbLocalIp: '---',
      metric: 0,
      hops: 0,
      descSqn: 10,
      lastRef: 3,
    },
  ],
  keys: [
    { nodeId: B, state: 'neighbor', descSqn: 11 },
    { nodeId: C, state: 'promoted', descSqn: 10 },
    { nodeId: SELF, state: 'neighbor', descSqn: 11 },
  ],
  tunnels: [
    {
      tunOut: 'up4',
      advNet: '192.0.2.0/24',
      tunRoute: '192.0.2.0/24',
      remoteName: 'n2',
      remoteId: 'BBBBBBBB',
      tunName: 'X1out_BBBBBBBB',
      crypt: 'plain',
    },
    {
      tunOut: 'up6',
      advNet: '2001:db8::/64',
      tunRoute: '2001:db8::/64',
      remoteName: 'n3',
      remoteId: 'CCCCCCCC',
      tunName: 'X1wg_CCCCCCCC',
      crypt: 'encrypted',
    },
    // a candidate not selected, and a search without a gateway: no tunnel in use
    { tunOut: 'up6', advNet: '2001:db8::/64', remoteName: 'n2', remoteId: 'BBBBBBBB', crypt: '---' },
    { tunOut: 'none', crypt: '---' },
  ],
  wg: [
    {
      dev: 'X1wg_CCCCCCCC',
      name: 'n3',
      shortId: 'CCCCCCCC',
      nodeId: C,
      publicKey: SECRET,
      lastHandshake: 4,
      rx: 100,
      tx: 200,
      psk: 'pq',
      pqEpoch: 2,
      pskAge: 30,
    },
    {
      dev: '---',
      name: 'n2',
      shortId: 'BBBBBBBB',
      publicKey: SECRET,
      lastHandshake: '---',
      rx: 0,
      tx: 0,
      psk: 'none',
      pqEpoch: '---',
      pskAge: '---',
    },
  ],
};

describe('takeSnapshot', () => {
  const s = takeSnapshot({
    engine: engine(rows),
    version: '0.1.0',
    revision: 'abcdef0',
    deviceStats: () =>
      new Map([
        ['X1wg_CCCCCCCC', { rxBytes: 1, txBytes: 2, rxPackets: 3, txPackets: 4, rxErrors: 9 }],
        ['eth1', { rxBytes: 5, txBytes: 6, rxPackets: 7, txPackets: 8 }],
      ]),
  });

  it('picks its fields by name: nothing a table row carries beyond them gets out', () => {
    const text = JSON.stringify(s);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('RSA2048');
    expect(text).not.toContain('rxErrors');
  });

  it('reads the node, originators (next hop by its link) and links (quality 0-1)', () => {
    expect(s.node).toEqual({
      name: 'n1',
      shortId: 'AAAAAAAA',
      nodeId: SELF.toUpperCase(),
      primaryIp: 'fd70::a',
      version: '0.1.0',
      revision: 'abcdef0',
      uptimeSeconds: 12,
      descSqn: 11,
    });
    expect(s.originators[0]!.via).toEqual({ dev: 'eth1', shortId: 'BBBBBBBB', name: 'n2' });
    expect(s.originators[1]!.via).toBeNull();
    expect(s.links).toEqual([
      { name: 'n2', shortId: 'BBBBBBBB', dev: 'eth1', address: 'fe80::b', rq: 1, tq: 0.8 },
    ]);
    expect(s.routes).toBe(2);
    // the two others' descriptions and the own one
    expect(s.descriptions).toBe(3);
    expect(s.keys).toEqual({ neighbor: 2, promoted: 1 });
  });

  it('lists the tunnels in use with their crypt, and the WireGuard state of the encrypted ones', () => {
    expect(s.tunnels.map((t) => [t.search, t.crypt, t.psk, t.dev])).toEqual([
      ['up4', 'plain', 'none', 'X1out_BBBBBBBB'],
      ['up6', 'encrypted', 'pq', 'X1wg_CCCCCCCC'],
    ]);
    expect(s.tunnels[1]!.wg).toEqual({
      handshakeAgeSeconds: 4,
      rxBytes: 100,
      txBytes: 200,
      pqEpoch: 2,
      pskAgeSeconds: 30,
    });
    // peers on a device only; `---` cells are null
    expect(s.wgPeers).toHaveLength(1);
    expect(s.devices).toEqual([{ dev: 'X1wg_CCCCCCCC', rxBytes: 1, txBytes: 2, rxPackets: 3, txPackets: 4 }]);
  });

  it('names the frame types that occurred, and every drop reason', () => {
    expect(s.traffic.frames).toEqual([
      { type: 'DESC_ADV', rxFrames: 0, rxBytes: 0, txFrames: 1, txBytes: 600 },
      { type: 'HELLO_ADV', rxFrames: 5, rxBytes: 20, txFrames: 0, txBytes: 0 },
    ]);
    expect(Object.keys(s.traffic.drops)).toEqual([...DROP_REASONS]);
    expect(s.traffic).toMatchObject({ rxPackets: 7, txBytes: 700, descriptionsRejected: 1, pluginErrors: 3 });
  });

  it("without the plugins' tables: no tunnels, no peers", () => {
    const bare = takeSnapshot({
      engine: engine({ status: rows.status, links: [], originators: [], keys: [] }),
      version: 'v',
      revision: 'r',
    });
    expect(bare.tunnels).toEqual([]);
    expect(bare.wgPeers).toEqual([]);
    expect(bare.descriptions).toBe(1);
  });
});
