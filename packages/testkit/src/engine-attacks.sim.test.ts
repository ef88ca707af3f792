/**
 * The core engine against bad input and untrusted nodes, part of the routing core's acceptance
 * tests: forged and replayed descriptions, bad MACs and random bytes change nothing in anyone's
 * routes; with trust configured an untrusted node never gets a route and never carries traffic.
 */
import { decodePacket, fromHex, put32 } from '@bmx7/codec';
import { createEngine, type Engine, type EngineInit } from '@bmx7/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { testRsaKey } from './keys.js';
import { createSimulation, type EngineFactory, type SimInstance, type Simulation } from './simulation.js';

interface BmxInstance extends SimInstance {
  engine: Engine;
  sent: Array<{ ifname: string; payload: Uint8Array }>;
}

function bmxFactory(
  init: (name: string) => Partial<Omit<EngineInit, 'nodeKey'>> = () => ({}),
): EngineFactory<BmxInstance> {
  return (name, components) => {
    const sent: BmxInstance['sent'] = [];
    const datagrams = {
      send: (ifname: string, payload: Uint8Array) => {
        if (sent.length < 2000) sent.push({ ifname, payload: payload.slice() });
        components.datagrams.send(ifname, payload);
      },
    };
    const engine = createEngine({
      nodeKey: testRsaKey(`node:${name}`),
      linkRsaKeyMaterial: testRsaKey(`link:${name}`),
      hostname: name,
      ...init(name),
    })({ ...components, datagrams });
    return { engine, primaryAddress: engine.primaryIp, sent };
  };
}

/** Every node's routes as text, to compare before and after an attack. */
function routeSnapshot(s: Simulation<BmxInstance>): string {
  return s
    .nodes()
    .map(
      (n) =>
        `${n}: ${s
          .routesOf(n)
          .map((r) => `${r.prefix} via ${r.via} dev ${r.dev}`)
          .sort()
          .join(', ')}`,
    )
    .join('\n');
}

/** An attacker interface wired to `victim`'s default interface. */
function attacker(s: Simulation<BmxInstance>, name: string, victim: string) {
  s.network.addNode(name);
  s.network.addIface(name, 'wlan0');
  s.network.connect([
    { node: name, iface: 'wlan0' },
    { node: victim, iface: 'wlan0' },
  ]);
  return (payload: Uint8Array) => s.network.send(name, 'wlan0', payload);
}

/** The offset of the VERSION descSqn field inside a description (third TLV, 4.5). */
function descSqnOffset(desc: Uint8Array): number {
  let pos = 0;
  for (let i = 0; i < 2; i++) pos += ((desc[pos]! << 8) | desc[pos + 1]!) & 0x7ff;
  return pos + 2 + 6;
}

/** A DESC_ADV packet (unsigned) carrying `desc`, sent with node id `sender`. */
function descAdvPacket(sender: Uint8Array, desc: Uint8Array): Uint8Array {
  const p = new Uint8Array(30 + 2 + desc.length);
  p[0] = 21;
  p.set(sender, 2);
  const word = (2 << 11) | (2 + desc.length);
  p[30] = word >> 8;
  p[31] = word & 0xff;
  p.set(desc, 32);
  return p;
}

describe('bad input changes nothing', () => {
  let s: Simulation<BmxInstance>;
  beforeAll(() => {
    s = createSimulation({ seed: 'attacks', engineFactory: bmxFactory() });
    s.line(4);
    s.start();
    s.waitConverged({ timeoutMs: 60_000 });
    s.run(15_000);
  });

  it('a description with a bad signature', () => {
    const before = routeSnapshot(s);
    const victim = s.node('n1').instance.engine;
    const n0 = s.node('n0').instance.engine;
    const desc = n0.ownDescription()!.slice();
    put32(desc, descSqnOffset(desc), 1_000_000); // newer descSqn, signature no longer matches
    const send = attacker(s, 'evil1', 'n1');
    const rejected = victim.counters().descRejected;
    for (let i = 0; i < 5; i++) {
      send(descAdvPacket(fromHex(n0.nodeId), desc));
      s.run(1_000);
    }
    expect(victim.counters().descRejected).toBeGreaterThan(rejected);
    expect(victim.nodes().find((n) => n.id === n0.nodeId)!.descSqn).toBeLessThan(1_000_000);
    s.run(5_000);
    expect(routeSnapshot(s)).toBe(before);
  });

  it('a replayed older description', () => {
    const n3 = s.node('n3').instance.engine;
    const old = n3.ownDescription()!.slice();
    n3.descUpdate();
    s.run(5_000);
    const victim = s.node('n1').instance.engine;
    const current = victim.nodes().find((n) => n.id === n3.nodeId)!.descSqn;
    const before = routeSnapshot(s);
    const send = attacker(s, 'evil2', 'n1');
    for (let i = 0; i < 5; i++) {
      send(descAdvPacket(fromHex(n3.nodeId), old));
      s.run(1_000);
    }
    expect(victim.nodes().find((n) => n.id === n3.nodeId)!.descSqn).toBe(current);
    s.run(5_000);
    expect(routeSnapshot(s)).toBe(before);
    s.waitConverged({ timeoutMs: 60_000 });
  });

  it('a packet with a bad MAC', () => {
    const before = routeSnapshot(s);
    const victim = s.node('n1').instance.engine;
    const n0node = s.node('n0');
    // a signed packet n0 sent, with one bit of its (MAC-covered) tail flipped, from n0's own address
    const pkt = [...n0node.instance.sent].reverse().find((x) => {
      const d = decodePacket(x.payload);
      return d.ok && d.value.signature && d.value.signature.messagesLength > 0;
    })!.payload;
    const d = decodePacket(pkt);
    if (!d.ok || !d.value.signature) throw new Error('no signed packet');
    // sent from n0's own interface, as an attacker spoofing n0's link-local address would
    const spoofed = n0node.components.datagrams;
    let verified = 0;
    let unverified = 0;
    for (let i = 0; i < 5; i++) {
      const bad = pkt.slice();
      bad[d.value.signature.tailOffset + 3]! ^= 0x01;
      const c0 = victim.counters();
      spoofed.send('wlan0', bad);
      s.run(2); // delivery only (1 ms links), before n0's next round
      const c1 = victim.counters();
      verified += c1.rxVerified - c0.rxVerified;
      unverified += c1.rxUnverified - c0.rxUnverified;
    }
    expect(unverified).toBeGreaterThanOrEqual(5);
    expect(verified).toBeLessThan(5);
    s.run(2_000);
    expect(routeSnapshot(s)).toBe(before);
  });

  it('a node sending random bytes', () => {
    const before = routeSnapshot(s);
    const send = attacker(s, 'evil4', 'n2');
    const rnd = s.random.fork('garbage');
    for (let i = 0; i < 300; i++) {
      const len = 1 + Math.floor(rnd.float() * 1300);
      const b = rnd.bytes(len);
      if (i % 3 === 0 && len > 32) b[0] = 21; // past the version check
      send(b);
      s.run(50);
    }
    s.run(5_000);
    expect(routeSnapshot(s)).toBe(before);
    expect(s.fullyReachable()).toBe(true);
    s.assertLoopFree();
  });
});

describe('trust', () => {
  it('an untrusted node never carries traffic between trusted nodes, though it is admitted and routed', () => {
    const good = ['g0', 'g1', 'g2', 'g3'];
    const trustedNodes = good.map((n) => ({
      id: Buffer.from(testRsaKey(`node:${n}`).id).toString('hex'),
      trust: 2,
      support: 2,
    }));
    const s = createSimulation({
      seed: 'trust',
      engineFactory: bmxFactory((name) => (name.startsWith('g') ? { trustedNodes } : {})),
    });
    // g0 - g1 - g2 - g3, and the untrusted x as a shortcut between g0 and g3
    s.fromEdges([
      ['g0', 'g1'],
      ['g1', 'g2'],
      ['g2', 'g3'],
      ['g0', 'x'],
      ['x', 'g3'],
    ]);
    s.start();
    const primaries = new Set(good.map((g) => `${s.node(g).primaryAddress}/128`));
    for (let t = 0; t < 60_000; t += 1_000) {
      s.run(1_000);
      // the trusted nodes' TRUSTS never allow x as a next hop towards them (docs/protocol.md §4.11)
      for (const g of good)
        for (const r of s.routesOf(g))
          if (primaries.has(r.prefix)) expect(s.nodeOfLinkLocal(r.via)).not.toBe('x');
    }
    // x publishes no TRUSTS: it is an alien originator that everybody routes to, as the reference does
    for (const g of good) expect(s.routeTo(g, 'x')).toBeDefined();
    for (const g of good) expect(s.routeTo('x', g)).toBeDefined();
    // the trusted nodes reach each other over the long way round
    for (const a of good) for (const b of good) if (a !== b) expect(s.routeTo(a, b)).toBeDefined();
    expect(s.nodeOfLinkLocal(s.routeTo('g0', 'g3')!.via)).toBe('g1');
  });
});
