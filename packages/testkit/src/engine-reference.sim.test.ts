/**
 * The core engine's admission credits, pacing and packet handling as the reference does them
 * (docs/protocol.md §4.1, §4.9, §4.11): the qualifying credit is granted once, SUPPORTS of
 * level-3 friends recommend nodes, the transmit bucket slows rounds, own OGMs keep their timers,
 * and the frames of a packet before a bad one are still processed.
 */
import { fromHex } from '@bmx7/codec';
import { createEngine, type Engine, type EngineInit } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { testRsaKey } from './keys.js';
import { createSimulation, type EngineFactory, type SimInstance, type Simulation } from './simulation.js';

interface BmxInstance extends SimInstance {
  engine: Engine;
  /** Virtual send times of every packet. */
  sentAt: number[];
  /** While true the node sends nothing. */
  mute: { on: boolean };
}

function bmxFactory(
  init: (name: string) => Partial<Omit<EngineInit, 'nodeKey'>> = () => ({}),
): EngineFactory<BmxInstance> {
  return (name, components) => {
    const sentAt: number[] = [];
    const mute = { on: false };
    const datagrams = {
      send: (ifname: string, payload: Uint8Array) => {
        if (mute.on) return;
        sentAt.push(components.clock.now());
        components.datagrams.send(ifname, payload);
      },
    };
    const engine = createEngine({
      nodeKey: testRsaKey(`node:${name}`),
      linkRsaKeyMaterial: testRsaKey(`link:${name}`),
      hostname: name,
      ...init(name),
    })({ ...components, datagrams });
    return { engine, primaryAddress: engine.primaryIp, sentAt, mute };
  };
}

function keyRow(s: Simulation<BmxInstance>, of: string, about: string) {
  const id = s.node(about).instance.engine.nodeId;
  return s
    .node(of)
    .instance.engine.show('keys')
    .find((r) => r.nodeId === id);
}

describe('qualifying credit (4.11)', () => {
  it('a new neighbour qualifies once for 30 s, then stays a neighbour as an alien (nQ → nA)', () => {
    const s = createSimulation({ seed: 'credits', engineFactory: bmxFactory() });
    s.line(2);
    s.start();
    s.waitConverged({ timeoutMs: 30_000 });
    const t0 = s.clock.now();
    expect(keyRow(s, 'n0', 'n1')?.as).toBe('nQ');
    // packets keep coming, but the credit is not renewed: it ends 30 s after the first packet
    s.run(Math.max(0, 32_000 - t0));
    expect(keyRow(s, 'n0', 'n1')?.as).toBe('nA');
    expect(keyRow(s, 'n1', 'n0')?.as).toBe('nA');
    // without the credit the neighbour stays one on its verified packets and link quality
    s.run(30_000);
    expect(keyRow(s, 'n0', 'n1')).toMatchObject({ state: 'neighbor', as: 'nA' });
    expect(s.routeTo('n0', 'n1')).toBeDefined();
    expect(s.routeTo('n1', 'n0')).toBeDefined();
  });

  it('a friend (support level 2) is shown as nF once its credit has ended', () => {
    const ids = new Map<string, string>();
    const s = createSimulation({
      seed: 'credits-friend',
      engineFactory: bmxFactory((name) =>
        name === 'n0'
          ? {
              trustedNodes: ['n0', 'n1'].map((n) => ({ id: ids.get(n)!, trust: 2, support: 2 })),
            }
          : {},
      ),
    });
    // node ids come from the test keys, known before the simulation starts; a community's
    // trustedNodes directory holds every member's key, the node's own included
    for (const n of ['n0', 'n1']) ids.set(n, testNodeId(n));
    s.line(2);
    s.start();
    s.waitConverged({ timeoutMs: 30_000 });
    s.run(Math.max(0, 32_000 - s.clock.now()));
    expect(keyRow(s, 'n0', 'n1')?.as).toBe('nF');
    expect(keyRow(s, 'n1', 'n0')?.as).toBe('nA');
  });
});

describe('credits table (4.11)', () => {
  it("counts keys per section and set as the reference's show=credits does", () => {
    const s = createSimulation({ seed: 'credits-table', engineFactory: bmxFactory() });
    s.line(3);
    s.start();
    s.waitConverged({ timeoutMs: 30_000 });
    s.run(Math.max(0, 35_000 - s.clock.now()));
    const rows = s.node('n0').instance.engine.show('credits');
    // n0 holds itself (nQ), its neighbour n1 (nA) and n2 two hops away (pA): the reference's
    // capture of a 3-node line shows the same first two rows (fixtures/bmx7-ref/show-tables.txt)
    expect(rows.map((r) => r.set)).toEqual(['Listed', 'Graded', 'Stranger', 'Alien']);
    expect(rows[0]).toMatchObject({
      row: 'qualifying',
      Listed: 'lQ=0/3/10000',
      lPref: 4000,
      Neighbor: 'nQ=1/2/100',
      nPref: 9999,
    });
    expect(rows[1]).toMatchObject({
      row: 'friend',
      Listed: 'lF=0/2/10000',
      Neighbor: 'nF=0/1/50',
      nPref: 7000,
    });
    expect(rows[3]).toMatchObject({
      row: 'alien',
      Promoted: 'pA=1/2/1000',
      Neighbor: 'nA=1/1/25',
      nPref: 5000,
    });
  });
});

describe('credit set limits (4.11 setCredits)', () => {
  it('a set over its limit loses its least preferred keys: at most nA alien neighbours', () => {
    const s = createSimulation({
      seed: 'credits-limit-nA',
      engineFactory: bmxFactory((name) => (name === 'hub' ? { credits: { nA: { maxNodes: 1 } } } : {})),
    });
    s.fromEdges(['a', 'b', 'c', 'd'].map((x) => ['hub', x] as const));
    s.start();
    s.waitConverged({ timeoutMs: 30_000, consistent: false });
    const hub = s.node('hub').instance.engine;
    // while their qualifying credits run (30 s) all four are neighbours (nQ); after that each
    // second's limit check leaves at most one alien neighbour, and a dropped one qualifies again
    // with its next packet, as in the reference
    let maxAliens = 0;
    for (let t = 35_000; t <= 90_000; t += 1_000) {
      s.run(Math.max(0, t - s.clock.now()));
      const aliens = hub.show('keys').filter((r) => r.as === 'nA').length;
      maxAliens = Math.max(maxAliens, aliens);
    }
    expect(maxAliens).toBe(1);
    expect(hub.counters().keysLimited).toBeGreaterThan(0);
    expect(hub.show('credits')[3]).toMatchObject({ Neighbor: expect.stringMatching(/^nA=[01]\/[01]\/1$/) });
    // the leaves never see the hub's limit
    expect(s.node('a').instance.engine.counters().keysLimited).toBe(0);
  });

  it('a node tracks no more keys than its Tracked sets allow, and the others route on', () => {
    const s = createSimulation({
      seed: 'credits-limit-tQ',
      engineFactory: bmxFactory((name) => (name === 'n0' ? { credits: { tQ: { maxNodes: 3 } } } : {})),
    });
    s.line(6);
    s.start();
    s.run(40_000);
    const n0 = s.node('n0').instance.engine;
    // the node itself and two others fill tQ; its neighbour's key came first
    expect(n0.show('keys').filter((r) => r.state !== 'listed').length).toBe(2);
    expect(n0.counters().keysNotTracked).toBeGreaterThan(0);
    expect(s.routeTo('n0', 'n1')).toBeDefined();
    expect(s.routesOf('n0').length).toBe(2);
    // everybody else still reaches everybody, n0 included
    for (const a of ['n1', 'n2', 'n3', 'n4', 'n5'])
      for (const b of ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'])
        if (a !== b) expect(s.routeTo(a, b)).toBeDefined();
  });
});

describe('a full transmit queue (maxTxTaskTreeSize)', () => {
  it('a busy hub whose queue overflows keeps every link: every HELLO and reply arrives', () => {
    const leaves = Array.from({ length: 24 }, (_, i) => `l${i}`);
    const s = createSimulation({
      seed: 'tx-cap-hub',
      engineFactory: bmxFactory((name) => (name === 'hub' ? { txBucketSize: 1 } : {})),
    });
    s.fromEdges(leaves.map((x) => ['hub', x] as const));
    s.start();
    s.run(60_000);
    const hub = s.node('hub').instance.engine;
    // 24 leaves (within the 25 alien neighbours of nA) around a hub held to one round per ~800 ms:
    // the queue did overflow, requests and answers were refused
    expect(hub.counters().txTasksRefused).toBeGreaterThan(0);
    // yet every leaf hears every HELLO (rq 255 after 48 of them) and every reply (tq)
    const links = hub.show('links');
    expect(links).toHaveLength(24);
    for (const l of links) {
      expect(l.rq).toBeGreaterThanOrEqual(229);
      expect(l.tq).toBeGreaterThanOrEqual(229);
    }
    for (const x of leaves) {
      const row = s.node(x).instance.engine.show('links')[0]!;
      expect(row.rq).toBeGreaterThanOrEqual(229);
      expect(s.routeTo(x, 'hub')).toBeDefined();
    }
  });
});

describe('SUPPORTS (4.11 row R)', () => {
  it("a friend supported at level 3 recommends the nodes in its SUPPORTS; others' SUPPORTS count for nothing", () => {
    const ids = new Map<string, string>();
    for (const n of ['n0', 'n1', 'n2']) ids.set(n, testNodeId(n));
    const entry = (n: string, trust: number, support: number) => ({ id: ids.get(n)!, trust, support });
    const s = createSimulation({
      seed: 'supports',
      engineFactory: bmxFactory((name) => {
        if (name === 'n0') return { trustedNodes: [entry('n0', 2, 2), entry('n1', 2, 3), entry('n2', 1, 0)] };
        if (name === 'n1') return { trustedNodes: [entry('n0', 2, 2), entry('n1', 2, 2), entry('n2', 2, 2)] };
        return { trustedNodes: [entry('n0', 2, 0), entry('n1', 2, 2), entry('n2', 2, 2)] };
      }),
    });
    s.line(3);
    s.start();
    s.waitConverged({ timeoutMs: 60_000 });
    s.run(Math.max(0, 35_000 - s.clock.now()));
    const originator = (of: string, about: string) =>
      s
        .node(of)
        .instance.engine.show('originators')
        .find((r) => r.nodeId === ids.get(about)!.toUpperCase());
    // n1 (support 3 at n0) lists n2 at level 2: n2 is recommended, and supported "1" via n1
    expect(originator('n0', 'n2')).toMatchObject({ as: 'pR', S: '1' });
    expect(originator('n0', 'n1')).toMatchObject({ as: 'nF', S: '3' });
    // n2 supports n1 at level 2 only: n1's SUPPORTS are nothing to n2
    expect(originator('n2', 'n0')).toMatchObject({ as: 'pA', S: '0' });
  });
});

/** A node's id (hex) from its test key, known before the simulation starts. */
function testNodeId(name: string): string {
  return Buffer.from(testRsaKey(`node:${name}`).id).toString('hex');
}

describe('transmit bucket (txBucketSize, txBucketDrain)', () => {
  /** Gaps between the node's send rounds (packets of one round share a time). */
  function roundGaps(times: number[]): number[] {
    const rounds = [...new Set(times)];
    return rounds.slice(1).map((t, i) => t - rounds[i]!);
  }

  it('rounds come txMinInterval apart while the bucket has room, txAvgInterval apart when it is full', () => {
    const s = createSimulation({
      seed: 'bucket',
      engineFactory: bmxFactory((name) => (name === 'n1' ? { txBucketSize: 1, txBucketDrain: 0 } : {})),
    });
    s.line(3);
    s.start();
    s.waitConverged({ timeoutMs: 60_000 });
    const free = roundGaps(s.node('n0').instance.sentAt);
    const full = roundGaps(s.node('n1').instance.sentAt);
    // convergence keeps a free node busy at the fast cadence (100 ms ± 5 %)
    expect(Math.min(...free)).toBeLessThan(200);
    expect(Math.min(...free)).toBeGreaterThanOrEqual(95);
    // one coin per busy round, drained at one per 800 ms: every round waits 800 ms ± 5 %
    expect(full.length).toBeGreaterThan(5);
    expect(Math.min(...full)).toBeGreaterThanOrEqual(760);
    expect(s.node('n1').instance.engine.show('status')[0]?.txQ).toMatch(/^[01]\/1$/);
    expect(s.node('n0').instance.engine.show('status')[0]?.txQ).toMatch(/^\d+\/50$/);
  });
});

describe('own OGM timer (4.9)', () => {
  it('own OGMs ride along on a phase-keeping ogmInterval timer and never wait longer than the guarantee', () => {
    const s = createSimulation({ seed: 'own-ogm', engineFactory: bmxFactory() });
    s.line(3);
    s.start();
    s.waitConverged({ timeoutMs: 60_000 });
    const sqnOf = (n: string) => s.node(n).instance.engine.show('status')[0]!.ogmSqn as number;
    const times: number[] = [];
    let last = sqnOf('n1');
    const t0 = s.clock.now();
    while (s.clock.now() - t0 < 120_000) {
      s.run(100);
      const now = sqnOf('n1');
      if (now !== last) {
        expect(now).toBe(last + 1);
        times.push(s.clock.now());
        last = now;
      }
    }
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // alone, an own OGM waits at most ogmInterval·factor (6.6 s) plus one casual pass (≤ 0.84 s);
    // the times are polled every 100 ms
    expect(Math.max(...gaps)).toBeLessThanOrEqual(7_550);
    // riding along, the 6 s timer keeps its phase: one OGM per 6 s on average, so at most 21 in
    // 120 s (a late ride-along may be followed by one a single pass later, as in the reference)
    expect(times.length).toBeGreaterThanOrEqual(16);
    expect(times.length).toBeLessThanOrEqual(21);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(700);
  });
});

describe('IID_ADV after a new description (4.9)', () => {
  // Found at 60 nodes: an IID_ADV naming a node's next descSqn reached a forwarder before that
  // description did; its IID reference kept the sqn and chain value of the old chain, and the
  // forwarder announced them under the new descSqn, so every receiver searched the whole chain
  // (6,000 hashes) in vain. Seeds as in bench/sim, where it showed.
  it('nobody announces a chain value of an old description under the new descSqn', () => {
    const n = 60;
    const s = createSimulation({ seed: `bench-${n}`, engineFactory: bmxFactory(), maxRouteChanges: 0 });
    const names = s.randomGeometric(n, Math.sqrt(8 / (Math.PI * n)), `topo-${n}`, { prefix: 'm' }).nodes;
    s.start();
    s.waitConverged({ timeoutMs: 60_000, pollMs: 1_000, consistent: false });
    const unproven = names.map((x) => s.node(x).instance.engine.counters().iidAdvUnproven);
    expect(unproven.reduce((a, b) => a + b, 0)).toBe(0);
  }, 120_000);
});

describe('a packet with a bad frame (4.2)', () => {
  it('processes the frames before it and drops the rest', () => {
    const s = createSimulation({ seed: 'partial', engineFactory: bmxFactory() });
    s.line(3);
    s.start();
    s.waitConverged({ timeoutMs: 60_000 });
    s.run(5_000);
    // n2 makes a new description that nobody has seen yet
    const n2 = s.node('n2').instance;
    n2.mute.on = true;
    n2.engine.descUpdate();
    s.run(1_000);
    const desc = n2.engine.ownDescription()!;
    const newSqn = n2.engine.show('status')[0]!.descSqn as number;
    const victim = s.node('n0').instance.engine;
    expect(victim.nodes().find((n) => n.id === n2.engine.nodeId)!.descSqn).toBeLessThan(newSqn);
    // a packet from n1's address: DESC_ADV with that description, then a frame with a bad length
    s.network.addNode('x');
    s.network.addIface('x', 'wlan0');
    s.network.connect([
      { node: 'x', iface: 'wlan0' },
      { node: 'n0', iface: 'wlan0' },
    ]);
    const p = new Uint8Array(30 + 2 + desc.length + 4);
    p[0] = 21;
    p.set(fromHex(n2.engine.nodeId), 2);
    const word = (2 << 11) | (2 + desc.length);
    p[30] = word >> 8;
    p[31] = word & 0xff;
    p.set(desc, 32);
    p.set([0x60, 0x7f, 0, 0], 32 + desc.length); // frame type 12, length 127: past the end
    const dropped = victim.counters().rxDropped;
    s.network.send('x', 'wlan0', p);
    s.run(1_000);
    expect(victim.counters().rxDropped).toBe(dropped + 1);
    expect(victim.nodes().find((n) => n.id === n2.engine.nodeId)!.descSqn).toBe(newSqn);
    n2.mute.on = false;
  });
});
