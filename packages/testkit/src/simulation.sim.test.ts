import type { EngineComponents, EngineHandle } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { RoutingCheckError, SimCallbackError, SimTimeoutError } from './errors.js';
import { formatIPv6 } from './ipv6.js';
import { createSimulation, type EngineFactory, type SimInstance, type SimNodeContext } from './simulation.js';
import { createToyEngine, type ToyEngine } from './toy-engine.js';

interface ToyInstance extends SimInstance {
  engine: ToyEngine;
}

/** Address drawn once from the node's random stream and kept across restarts, like a key. */
function addressOf(c: EngineComponents, ctx: SimNodeContext): string {
  let address = ctx.persistent.get('address') as string | undefined;
  if (address === undefined) {
    const b = c.random.bytes(8);
    const groups = [0xfd00, 0, 0, 0];
    for (let i = 0; i < 8; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
    address = formatIPv6(groups);
    ctx.persistent.set('address', address);
  }
  return address;
}

const toy: EngineFactory<ToyInstance> = (_name, c, ctx) => {
  const address = addressOf(c, ctx);
  return { engine: createToyEngine({ address })(c), primaryAddress: address };
};

const HOLD = 3500;

function toySim(seed: string | number = 1, link = {}) {
  return createSimulation({ seed, engineFactory: toy, link });
}

describe('simulation with a toy distance-vector engine', () => {
  it('a line converges with next hops along the line', () => {
    const sim = toySim();
    const names = sim.line(6);
    sim.start();
    expect(sim.fullyReachable()).toBe(false);
    const t = sim.waitConverged({ timeoutMs: 60_000 });
    expect(t).toBeGreaterThan(0);
    expect(sim.fullyReachable()).toBe(true);
    sim.assertFullyReachable();
    sim.assertLoopFree();
    const r = sim.routeTo('n0', 'n5')!;
    expect(r).toMatchObject({ dev: 'wlan0', metric: 1024 });
    expect(sim.nodeOfLinkLocal(r.via)).toBe('n1');
    expect(sim.node('n0').instance.engine.table().get(sim.node('n5').primaryAddress)?.hops).toBe(5);
    expect(sim.routesOf('n3')).toHaveLength(names.length - 1);
    expect(sim.checkRoutes()).toMatchObject({ pairs: 30, routed: 30, delivered: 30, problems: [] });
  });

  it.each([
    ['ring of 10', (s: ReturnType<typeof toySim>) => s.ring(10)],
    ['4×4 grid', (s: ReturnType<typeof toySim>) => s.grid(4, 4)],
    ['5×3 wired grid', (s: ReturnType<typeof toySim>) => s.grid(5, 3, { style: 'wired' })],
    ['random geometric 40', (s: ReturnType<typeof toySim>) => s.randomGeometric(40, 0.3).nodes],
  ])('a %s converges loop-free', (_label, build) => {
    const sim = toySim('topologies');
    build(sim);
    sim.start();
    sim.waitConverged({ timeoutMs: 120_000 });
    sim.assertLoopFree();
    // Stays converged.
    sim.run(10_000);
    expect(sim.fullyReachable()).toBe(true);
    sim.assertLoopFree();
  });

  it('wired style gives each link its own interface at both ends', () => {
    const sim = toySim();
    sim.line(3, { style: 'wired', iface: { rateMax: 1_000_000_000n, channel: 0 } });
    expect(sim.network.ifaces('n1').map((i) => i.name)).toEqual(['eth0', 'eth1']);
    expect(sim.network.interfaceInfos('n1')[1]).toMatchObject({
      name: 'eth1',
      rateMax: 1_000_000_000n,
      channel: 0,
    });
    sim.addIface('n2', { name: 'wlan9', rateMax: 56_000_000n, channel: 11 });
    expect(sim.network.interfaceInfos('n2').map((i) => [i.name, i.channel])).toEqual([
      ['eth0', 0],
      ['wlan9', 11],
    ]);
    expect(sim.network.ifaces('n0').map((i) => i.name)).toEqual(['eth0']);
    sim.start();
    sim.waitConverged({ timeoutMs: 30_000 });
    expect(sim.routeTo('n0', 'n2')!.dev).toBe('eth0');
    expect(sim.routeTo('n2', 'n0')!.dev).toBe('eth0');
    expect(sim.nodeOfLinkLocal(sim.routeTo('n1', 'n2')!.via)).toBe('n2');
    expect(sim.routeTo('n1', 'n2')!.dev).toBe('eth1');
  });

  it('a shared segment puts everyone one hop apart; fromEdges adds nodes as needed', () => {
    const sim = toySim();
    for (const n of ['a', 'b', 'c', 'd']) sim.addNode(n);
    sim.segment(['a', 'b', 'c', 'd']);
    sim.fromEdges([
      ['d', 'e'],
      ['e', 'f'],
    ]);
    expect(sim.nodes()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    sim.start();
    sim.waitConverged({ timeoutMs: 30_000 });
    for (const x of ['b', 'c', 'd'])
      expect(sim.node('a').instance.engine.table().get(sim.node(x).primaryAddress)?.hops).toBe(1);
    expect(sim.node('a').instance.engine.table().get(sim.node('f').primaryAddress)?.hops).toBe(3);
  });

  it('loss slows convergence but not correctness, and is counted', () => {
    const times = [0, 0.4].map((loss) => {
      const sim = toySim('lossy', { loss });
      sim.line(8);
      sim.start();
      const t = sim.waitConverged({ timeoutMs: 300_000 });
      sim.assertLoopFree();
      return { t, lost: sim.network.totals().lost, sent: sim.network.totals().txPackets };
    });
    expect(times[0]!.lost).toBe(0);
    expect(times[1]!.lost).toBeGreaterThan(0);
    expect(times[1]!.t).toBeGreaterThan(times[0]!.t);
  });

  it('delay shows up in convergence time', () => {
    const at = (delayMs: number) => {
      const sim = toySim('delay', { delayMs });
      sim.line(5);
      sim.start();
      return sim.waitConverged({ timeoutMs: 60_000 });
    };
    expect(at(300)).toBeGreaterThan(at(1) + 300);
  });

  it('a link going down removes the routes across it; coming up restores them', () => {
    const sim = toySim('linkdown');
    sim.line(4);
    sim.start();
    sim.waitConverged({ timeoutMs: 30_000 });
    sim.setLink('n1', 'n2', { up: false });
    // Until the engine notices, its routes cross a link that is down: broken, though loop-free.
    expect(() => sim.assertLoopFree()).toThrow(expect.objectContaining({ code: 'ROUTING_BROKEN' }));
    expect(sim.checkRoutes().problems).toContainEqual(
      expect.objectContaining({ kind: 'bad-next-hop', to: 'n2', at: 'n1' }),
    );
    const gone = sim.clock.runUntil(() => sim.routeTo('n0', 'n3') === undefined, { timeoutMs: 30_000 });
    expect(gone).toBeLessThanOrEqual(sim.clock.now());
    sim.run(2 * HOLD);
    expect(sim.fullyReachable()).toBe(false);
    expect(sim.missingRoutes()).toContainEqual(['n0', 'n3']);
    expect(sim.missingRoutes()).not.toContainEqual(['n0', 'n1']);
    expect(sim.routeTo('n3', 'n0')).toBeUndefined();
    sim.assertLoopFree(); // the halves are consistent
    expect(() => sim.assertFullyReachable()).toThrow(RoutingCheckError);
    sim.setLink('n1', 'n2', { up: true });
    sim.waitConverged({ timeoutMs: 30_000 });
  });

  it('waitConverged notices a link change that no route change follows yet, and waits for the reroute', () => {
    const sim = toySim('reroute');
    sim.ring(6);
    sim.start();
    sim.waitConverged({ timeoutMs: 30_000 });
    expect(sim.nodeOfLinkLocal(sim.routeTo('n0', 'n1')!.via)).toBe('n1');
    const cut = sim.clock.now();
    sim.setLink('n0', 'n1', { up: false });
    const changes: string[] = [];
    const off = sim.onRouteChange((node, c) => changes.push(`${node} ${c.op} ${c.prefix}`));
    expect(sim.pathOf('n0', 'n1')).toBeUndefined(); // the next hop is across the cut link
    const t = sim.waitConverged({ timeoutMs: 60_000 });
    off();
    expect(t).toBeGreaterThan(cut);
    expect(sim.nodeOfLinkLocal(sim.routeTo('n0', 'n1')!.via)).toBe('n5');
    expect(sim.nodeOfLinkLocal(sim.routeTo('n1', 'n0')!.via)).toBe('n2');
    expect(sim.pathOf('n0', 'n1')).toEqual(['n0', 'n5', 'n4', 'n3', 'n2', 'n1']);
    expect(sim.pathOf('n0', 'n0')).toEqual(['n0']);
    expect(changes).toContain(`n0 set ${sim.node('n1').primaryAddress}/128`);
    const seen = changes.length;
    sim.run(10_000);
    expect(changes).toHaveLength(seen); // unsubscribed
  });

  it('partition cuts every link between two groups; heal restores them as they were', () => {
    const sim = toySim('partition');
    sim.grid(3, 2); // n0 n1 n2 / n3 n4 n5
    sim.setLink('n2', 'n5', { loss: 0.25 });
    sim.start();
    sim.waitConverged({ timeoutMs: 60_000 });
    const heal = sim.partition(['n0', 'n3']);
    expect(sim.network.linksBetween('n0', 'n1')[0]!.params.up).toBe(false);
    expect(sim.network.linksBetween('n4', 'n3')[0]!.params.up).toBe(false);
    expect(sim.network.linksBetween('n0', 'n3')[0]!.params.up).toBe(true);
    sim.run(3 * HOLD);
    expect(sim.routeTo('n0', 'n3')).toBeDefined();
    expect(sim.routeTo('n0', 'n2')).toBeUndefined();
    expect(sim.routeTo('n5', 'n3')).toBeUndefined();
    sim.assertLoopFree();
    heal();
    expect(sim.network.linksBetween('n0', 'n1')[0]!.params.up).toBe(true);
    expect(sim.network.linksBetween('n2', 'n5')[0]!.params.loss).toBe(0.25);
    sim.waitConverged({ timeoutMs: 60_000 });
  });

  it('churn takes links up and down at random, reproducibly, and stop brings them back', () => {
    const run = () => {
      const sim = toySim('churn');
      sim.ring(8);
      expect(sim.links()).toHaveLength(8);
      sim.start();
      const changes: string[] = [];
      const stop = sim.churn({
        meanUpMs: 20_000,
        meanDownMs: 5_000,
        onChange: (a, b, up) => changes.push(`${sim.clock.now().toFixed(3)} ${a}-${b} ${up ? 'up' : 'down'}`),
      });
      sim.run(120_000);
      stop();
      expect(sim.links().every(([a, b]) => sim.network.linksBetween(a, b).every((l) => l.params.up))).toBe(
        true,
      );
      sim.waitConverged({ timeoutMs: 60_000 });
      sim.assertLoopFree();
      return changes;
    };
    const changes = run();
    expect(changes.filter((c) => c.endsWith('down')).length).toBeGreaterThan(10);
    expect(changes.filter((c) => c.endsWith('up')).length).toBeGreaterThan(5);
    expect(run()).toEqual(changes);
  });

  it('an asymmetric link teaches routes only in the direction that carries packets', () => {
    const sim = toySim('oneway');
    sim.line(3);
    sim.setLink('n1', 'n2', { up: false }, 'forward');
    sim.start();
    sim.run(20_000);
    // n1 hears n2, n2 never hears n1: only n1 learns a route.
    expect(sim.routeTo('n1', 'n2')).toBeDefined();
    expect(sim.routeTo('n2', 'n1')).toBeUndefined();
    expect(sim.network.linksBetween('n1', 'n2')[0]!.counters.dropped).toBeGreaterThan(0);
    expect(sim.network.linksBetween('n2', 'n1')[0]!.counters.delivered).toBeGreaterThan(0);
  });

  it('an interface going down is reported to the engine, which drops the routes on it', () => {
    const sim = toySim('ifdown');
    sim.line(3);
    sim.start();
    sim.waitConverged({ timeoutMs: 30_000 });
    sim.setIfaceUp('n0', 'wlan0', false);
    expect(sim.routesOf('n0')).toEqual([]);
    sim.setIfaceUp('n0', 'wlan0', true);
    sim.waitConverged({ timeoutMs: 30_000 });
  });

  it('stop withdraws the node and its routes; restart brings it back with the same storage and address', () => {
    const sim = toySim('restart');
    sim.ring(5);
    sim.start();
    sim.waitConverged({ timeoutMs: 30_000 });
    const n2 = sim.node('n2');
    const address = n2.primaryAddress;
    expect(n2.instance.engine.sqn).toBe(1);
    sim.stop('n2');
    expect(n2.running).toBe(false);
    expect(sim.routesOf('n2')).toEqual([]); // the engine withdrew its routes
    // Converged again once the others forgot n2 (no stale routes to it); the rest stays reachable.
    expect(sim.staleRoutes().length).toBeGreaterThan(0);
    const t = sim.waitConverged({ timeoutMs: 30_000 });
    expect(t).toBeGreaterThan(sim.clock.now() - 1 - HOLD * 2);
    expect(sim.routeTo('n0', 'n2')).toBeUndefined();
    expect(sim.staleRoutes()).toEqual([]);
    const rxBefore = sim.network.counters('n2').rxPackets;
    sim.run(5000);
    expect(sim.network.counters('n2').rxPackets).toBe(rxBefore);

    const again = sim.restart('n2');
    expect(again.incarnation).toBe(1);
    expect(again.primaryAddress).toBe(address);
    expect(again.instance.engine.sqn).toBe(2);
    expect(again.storage.writes).toEqual([1, 2]);
    sim.waitConverged({ timeoutMs: 30_000 });
    expect(sim.routeTo('n0', 'n2')).toBeDefined();
    expect(again.logger.find('toy engine started')).toHaveLength(2);
  });

  it('a crash leaves the routes behind and silences the old engine for good', () => {
    const sim = toySim('crash');
    sim.line(3);
    sim.start();
    sim.waitConverged({ timeoutMs: 30_000 });
    const old = sim.node('n1').instance.engine;
    const pendingBefore = sim.clock.pending;
    sim.crash('n1');
    expect(sim.routesOf('n1')).toHaveLength(2); // kernel leftovers
    expect(sim.clock.pending).toBeLessThan(pendingBefore); // its timer is gone
    const tx = sim.network.counters('n1').txPackets;
    sim.run(10_000);
    expect(sim.network.counters('n1').txPackets).toBe(tx);
    expect(sim.routeTo('n0', 'n2')).toBeUndefined();
    // start() on a stopped node is a restart with a new engine.
    sim.start('n1');
    expect(sim.node('n1').instance.engine).not.toBe(old);
    sim.waitConverged({ timeoutMs: 30_000 });
  });

  it('the same seed replays the same run; another seed does not', () => {
    const run = (seed: string) => {
      const sim = toySim(seed, { loss: 0.1, jitterMs: 5 });
      sim.randomGeometric(15, 0.4);
      const trace: string[] = [];
      sim.network.onPacket((e) => {
        if (e.kind !== 'send') trace.push(`${e.at} ${e.kind} ${e.from.node}>${e.to.node} ${e.bytes}`);
      });
      sim.start();
      const t = sim.waitConverged({ timeoutMs: 60_000 });
      sim.run(5000);
      return { t, trace: trace.join('\n'), routes: sim.nodes().map((n) => JSON.stringify(sim.routesOf(n))) };
    };
    const a = run('det');
    expect(run('det')).toEqual(a);
    expect(run('det2').trace).not.toBe(a.trace);
  });

  it('waitConverged times out when a node is cut off', () => {
    const sim = toySim();
    sim.line(3);
    sim.addNode('lonely');
    sim.start();
    expect(() => sim.waitConverged({ timeoutMs: 20_000 })).toThrow(SimTimeoutError);
    expect(sim.clock.now()).toBe(20_000);
    expect(sim.missingRoutes().filter(([a, b]) => a === 'lonely' || b === 'lonely')).toHaveLength(6);
  });

  it('an engine that throws stops the run with its name and the virtual time', () => {
    const failing =
      (where: 'receive' | 'timer'): EngineFactory =>
      (name, c, ctx) => {
        const address = addressOf(c, ctx);
        const inner = createToyEngine({ address })(c);
        const engine: EngineHandle = {
          ...inner,
          start() {
            inner.start();
            if (where === 'timer' && name === 'n1') {
              c.clock.schedule(2500, () => {
                throw new Error('timer bug');
              });
            }
          },
          receive(ifname, src, payload) {
            if (where === 'receive' && name === 'n2') throw new Error('decoder bug');
            inner.receive(ifname, src, payload);
          },
        };
        return { engine, primaryAddress: address };
      };
    for (const [where, node, msg] of [
      ['timer', 'n1', 'timer bug'],
      ['receive', 'n2', 'decoder bug'],
    ] as const) {
      const sim = createSimulation({ seed: 1, engineFactory: failing(where) });
      sim.line(3);
      sim.start();
      let err: unknown;
      try {
        sim.run(10_000);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SimCallbackError);
      expect(err).toMatchObject({ node, code: 'SIM_CALLBACK_FAILED' });
      expect((err as Error).message).toContain(msg);
      expect((err as SimCallbackError).at).toBe(sim.clock.now());
    }
  });

  it('refuses two nodes with the same primary address', () => {
    const sim = createSimulation({
      seed: 1,
      engineFactory: (_n, c) => ({
        engine: createToyEngine({ address: 'fd00::1' })(c),
        primaryAddress: 'fd00::1',
      }),
    });
    sim.addNode('a');
    expect(() => sim.addNode('b')).toThrow(expect.objectContaining({ code: 'SIM_BAD_ARGUMENT' }));
  });

  it('100 nodes in a random geometric mesh converge and stay loop-free', () => {
    const sim = toySim('hundred');
    sim.randomGeometric(100, 0.18);
    sim.start();
    const t = sim.waitConverged({ timeoutMs: 120_000, pollMs: 500 });
    expect(t % 500).toBe(0);
    sim.assertLoopFree();
    expect(sim.network.totals().txPackets).toBeGreaterThan(100);
  });
});

/** A minimal engine: a 120-byte hello every 800 ms ± 10 % on each up interface; counts what it hears. */
function helloEngine(c: EngineComponents): EngineHandle & { heard: number } {
  let ifs: string[] = [];
  let cancel: (() => void) | undefined;
  const payload = new Uint8Array(120);
  const tick = () => {
    for (const i of ifs) c.datagrams.send(i, payload);
    cancel = c.clock.schedule(800 * (0.9 + 0.2 * c.random.float()), tick);
  };
  const e = {
    heard: 0,
    start() {
      cancel = c.clock.schedule(800 * c.random.float(), tick);
    },
    stop() {
      cancel?.();
    },
    receive() {
      e.heard++;
    },
    setInterfaces(list: { name: string; up: boolean }[]) {
      ifs = list.filter((i) => i.up).map((i) => i.name);
    },
  };
  return e;
}

describe('scale', () => {
  it('1000 nodes exchange hellos for two virtual minutes, every datagram accounted for', () => {
    let k = 0;
    const sim = createSimulation({
      seed: 'scale',
      engineFactory: (_n, c) => ({ engine: helloEngine(c), primaryAddress: `fd00::${(++k).toString(16)}` }),
    });
    const topo = sim.randomGeometric(1000, Math.sqrt(8 / (Math.PI * 1000)));
    sim.start();
    sim.run(120_000);
    const degree = new Map<string, number>();
    for (const [a, b] of topo.edges) {
      degree.set(a, (degree.get(a) ?? 0) + 1);
      degree.set(b, (degree.get(b) ?? 0) + 1);
    }
    let expectedRx = 0;
    let heard = 0;
    for (const n of sim.nodes()) {
      const tx = sim.network.counters(n).txPackets;
      expect(tx).toBeGreaterThan(130);
      expect(tx).toBeLessThan(170);
      expectedRx += tx * (degree.get(n) ?? 0);
      heard += (sim.node(n).engine as ReturnType<typeof helloEngine>).heard;
    }
    const totals = sim.network.totals();
    // Deliveries still in flight at the end are neither received nor lost.
    expect(totals.rxPackets).toBeLessThanOrEqual(expectedRx);
    expect(totals.rxPackets).toBeGreaterThan(expectedRx - 100);
    expect(heard).toBe(totals.rxPackets);
    expect(totals.lost + totals.dropped).toBe(0);
  }, 120_000);
});

/** An engine that installs a fixed table given by the test, to check the checker through the simulation. */
function staticEngine(table: Record<string, string>, sim: () => ReturnType<typeof createSimulation>) {
  return (c: EngineComponents, self: string): EngineHandle => ({
    start() {
      for (const [dest, next] of Object.entries(table)) {
        const s = sim();
        c.routes.set({
          prefix: `${s.node(dest).primaryAddress}/128`,
          via: s.network.iface(next, 'wlan0').linkLocal,
          dev: 'wlan0',
          metric: 1024,
        });
      }
      void self;
    },
    stop() {},
    receive() {},
    setInterfaces() {},
  });
}

describe('route checks through the simulation', () => {
  const tables: Record<string, Record<string, Record<string, string>>> = {
    // a — b — c, but b sends c's traffic back to a, and a sends it to b.
    looping: {
      a: { b: 'b', c: 'b' },
      b: { a: 'a', c: 'a' },
      c: { a: 'b', b: 'b' },
    },
    // b has no route to c though a sends c's traffic to b.
    deadEnd: {
      a: { b: 'b', c: 'b' },
      b: { a: 'a' },
      c: { a: 'b', b: 'b' },
    },
    // a routes to c "via c", which is not a's neighbour.
    notNeighbour: {
      a: { b: 'b', c: 'c' },
      b: { a: 'a', c: 'c' },
      c: { a: 'b', b: 'b' },
    },
  };

  function build(name: keyof typeof tables) {
    let s: ReturnType<typeof createSimulation> | undefined;
    const t = tables[name]!;
    s = createSimulation({
      seed: 1,
      engineFactory: (n, c) => ({
        engine: staticEngine(t[n]!, () => s!)(c, n),
        primaryAddress: `fd00::${n}`,
      }),
    });
    s.line(3, { prefix: 'x' }); // unused nodes do not matter: not started
    for (const n of ['a', 'b', 'c']) s.addNode(n);
    s.connect('a', 'b');
    s.connect('b', 'c');
    for (const n of ['a', 'b', 'c']) s.start(n);
    return s;
  }

  it('catches a deliberate loop', () => {
    const s = build('looping');
    expect(s.fullyReachable()).toBe(true); // every route is there…
    let err: unknown;
    try {
      s.assertLoopFree();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RoutingCheckError);
    expect((err as RoutingCheckError).code).toBe('ROUTING_LOOP');
    expect((err as RoutingCheckError).problems[0]).toMatchObject({ kind: 'loop', to: 'c' });
    expect(() => s.waitConverged({ timeoutMs: 1000 })).toThrow(SimTimeoutError);
    expect(s.waitConverged({ timeoutMs: 1000, consistent: false })).toBe(s.clock.now());
  });

  it('catches a dead end unless told to allow it', () => {
    const s = build('deadEnd');
    expect(() => s.assertLoopFree()).toThrow(expect.objectContaining({ code: 'ROUTING_BROKEN' }));
    expect(() => s.assertLoopFree({ allowDeadEnds: true })).not.toThrow();
  });

  it('catches a next hop that is not a neighbour on the route interface', () => {
    const s = build('notNeighbour');
    let err: RoutingCheckError | undefined;
    try {
      s.assertLoopFree();
    } catch (e) {
      err = e as RoutingCheckError;
    }
    expect(err?.code).toBe('ROUTING_BROKEN');
    expect(err?.problems).toContainEqual(
      expect.objectContaining({ kind: 'bad-next-hop', from: 'a', to: 'c' }),
    );
  });
});
