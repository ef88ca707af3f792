import { encodeTlvBody, fm8ToUmetric, TLV_TYPE, type TopologyLink, umetricToFm8 } from '@bmx7/codec';
import type { NodeView } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { networkGraphErrors } from './test/netjson.js';
import { announcedLinks, buildNetworkGraph, type TopologyFacts, topologyRows } from './topology.js';

const hex = (c: string) => c.repeat(56);
const bytes = (c: string) => new Uint8Array(Buffer.from(hex(c), 'hex'));

function topologyBody(links: Partial<TopologyLink>[]): Uint8Array {
  return encodeTlvBody({
    type: TLV_TYPE.TOPOLOGY,
    topoType: 0,
    reserved: 0,
    links: links.map((l) => ({
      nbId: bytes('0'),
      nbDescSqn: 10,
      nbIdx: 0,
      idx: 0,
      txBw: umetricToFm8(1_000_000_000),
      rxBw: umetricToFm8(500_000_000),
      tq: 255,
      rq: 250,
      signal: -40,
      noise: -95,
      channel: 0,
      reserved1: 0,
      reserved2: 0,
      ...l,
    })),
  });
}

/** A rate as the TLV carries it (FM8, rounded down). */
const fm8 = (bps: number) => fm8ToUmetric(umetricToFm8(bps));

const node = (id: string, over: Partial<NodeView> = {}): NodeView => ({
  id: hex(id),
  shortId: hex(id).slice(0, 8).toUpperCase(),
  name: `n-${id}`,
  descSqn: 12,
  compatibility: 21,
  primaryIp: `fd70::${id}`,
  metric: 0,
  hops: 0,
  ...over,
});

/** a (this node) ─ b ─ c, b also a neighbour on a second interface; d announced by c only. */
const FACTS: TopologyFacts = {
  self: { id: hex('a'), name: 'n-a', primaryIp: 'fd70::a' },
  version: 'bmx7d-0.1.0',
  revision: 'abcdef1',
  links: [
    { nodeId: hex('b'), name: 'n-b', dev: 'eth1', address: 'fe80::b', rq: 255, tq: 250, metric: 1e9 },
    { nodeId: hex('b'), name: 'n-b', dev: 'eth2', address: 'fe80::b2', rq: 100, tq: 90, metric: 250e6 },
  ],
  nodes: [
    node('b', { metric: 999_000_000, hops: 1, via: { dev: 'eth1', address: 'fe80::b' } }),
    node('c', { metric: 700_000_000, hops: 2, via: { dev: 'eth1', address: 'fe80::b' } }),
    // known, but without a path
    node('e'),
  ],
  announced: new Map([
    [hex('c'), topologyBody([{ nbId: bytes('b') }, { nbId: bytes('d'), txBw: umetricToFm8(100_000_000) }])],
    // a body that does not decode is left out
    [hex('b'), new Uint8Array([0, 0, 1])],
  ]),
};

describe('buildNetworkGraph (NetJSON NetworkGraph)', () => {
  const g = buildNetworkGraph(FACTS);

  it('is a valid NetworkGraph: the schema from the specification, unique ids, links between nodes', () => {
    expect(networkGraphErrors(g)).toEqual([]);
    expect(networkGraphErrors(JSON.parse(JSON.stringify(g)))).toEqual([]);
    expect(g).toMatchObject({
      type: 'NetworkGraph',
      protocol: 'BMX7',
      version: 'bmx7d-0.1.0',
      revision: 'abcdef1',
      metric: 'bmx7',
      router_id: hex('A'),
      label: 'n-a',
    });
  });

  it('nodes: this one, the originators, and the nodes only links name; ids as show originators prints them', () => {
    expect(g.nodes.map((n) => [n.id.slice(0, 8), n.label])).toEqual([
      ['AAAAAAAA', 'n-a'],
      ['BBBBBBBB', 'n-b'],
      ['CCCCCCCC', 'n-c'],
      ['EEEEEEEE', 'n-e'],
      ['DDDDDDDD', undefined],
    ]);
    expect(g.nodes.every((n) => /^[0-9A-F]{56}$/.test(n.id))).toBe(true);
    expect(g.nodes[0]).toMatchObject({ local_addresses: ['fd70::a'], properties: { self: true } });
    expect(g.nodes[2]).toMatchObject({
      local_addresses: ['fd70::c'],
      properties: { shortId: 'CCCCCCCC', metric: 700_000_000, hops: 2, dev: 'eth1', via: hex('B') },
    });
  });

  it('links: own links with rq and tq, routes through another neighbour, announced links', () => {
    expect(g.links.map((l) => [l.source[0], l.target[0], l.properties?.type, l.cost_text, l.cost])).toEqual([
      ['A', 'C', 'route', '700M', 1e9 / 700e6],
      ['A', 'B', 'link', '1000M', 1],
      ['A', 'B', 'link', '250M', 4],
      ['C', 'B', 'announced', '939M', 1e9 / fm8(1e9)],
      ['C', 'D', 'announced', '92274K', 1e9 / fm8(100e6)],
    ]);
    expect(g.links[1]!.properties).toEqual({ type: 'link', dev: 'eth1', rq: 255, tq: 250, metric: 1e9 });
    expect(g.links[0]!.properties).toEqual({
      type: 'route',
      metric: 700e6,
      hops: 2,
      dev: 'eth1',
      via: hex('B'),
    });
    expect(g.links[3]!.properties).toMatchObject({
      type: 'announced',
      rq: 250,
      tq: 255,
      signal: -40,
      noise: -95,
    });
  });

  it('a graph of a node alone, and a hostile host name, are still valid JSON and NetJSON', () => {
    const alone = buildNetworkGraph({ ...FACTS, links: [], nodes: [], announced: new Map() });
    expect(alone.nodes).toHaveLength(1);
    expect(alone.links).toEqual([]);
    expect(networkGraphErrors(alone)).toEqual([]);
    const evil = buildNetworkGraph({ ...FACTS, nodes: [node('b', { name: '"},{"id":"x\n\u0000' })] });
    expect(networkGraphErrors(JSON.parse(JSON.stringify(evil)))).toEqual([]);
    expect(evil.nodes[1]!.label).toBe('"},{"id":"x\n\u0000');
  });

  it('the checker refuses what is no NetworkGraph', () => {
    expect(networkGraphErrors({ ...g, type: 'NetworkRoutes' })).not.toEqual([]);
    expect(networkGraphErrors({ ...g, nodes: [{ label: 'x' }] })).not.toEqual([]);
    expect(networkGraphErrors({ ...g, links: [{ source: hex('A'), target: 'nowhere', cost: 1 }] })).toEqual([
      '/links/0 target nowhere is no node',
    ]);
    expect(networkGraphErrors({ ...g, nodes: [...g.nodes, g.nodes[0]] })).toEqual([
      `node ${hex('A')} appears twice`,
    ]);
  });
});

describe('the TOPOLOGY TLV (docs/protocol.md §4.8, type 27)', () => {
  it('announcedLinks decodes a body, and none from a body that is not one', () => {
    expect(announcedLinks(topologyBody([{ nbId: bytes('b') }]))?.map((l) => l.rq)).toEqual([250]);
    expect(announcedLinks(new Uint8Array(2 + 43))).toBeUndefined();
  });

  it("topologyRows: the reference's topology table from the announced links", () => {
    const known = new Map(FACTS.nodes.map((n) => [n.id, n]));
    const rows = topologyRows(FACTS.announced, (id) => known.get(id));
    expect(rows).toEqual([
      {
        id: 'CCCCCCCC',
        name: 'n-c',
        primaryIp: 'fd70::c',
        idx: 0,
        neighId: 'BBBBBBBB',
        neighDescSqnDiff: 2,
        neighName: 'n-b',
        neighIp: 'fd70::b',
        neighIdx: 0,
        lastDesc: '---',
        signal: -40,
        noise: -95,
        snr: 55,
        channel: 0,
        rq: 250,
        tq: 255,
        rxRate: fm8(500e6),
        txRate: fm8(1e9),
      },
      expect.objectContaining({ neighId: 'DDDDDDDD', neighName: '---', neighDescSqnDiff: '---' }),
    ]);
  });
});
