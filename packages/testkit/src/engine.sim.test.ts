/**
 * The core engine in the simulator, the routing core's acceptance tests: convergence on lines and
 * grids, rerouting, restarts and loss.
 */
import { createEngine, type Engine, type EngineInit } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { testRsaKey } from './keys.js';
import { createSimulation, type EngineFactory, type SimInstance } from './simulation.js';

interface BmxInstance extends SimInstance {
  engine: Engine;
}

/** The real engine as a simulation node: test keys by node name (kept across restarts). */
function bmxFactory(
  init: (name: string) => Partial<Omit<EngineInit, 'nodeKey'>> = () => ({}),
): EngineFactory<BmxInstance> {
  return (name, components) => {
    const engine = createEngine({
      nodeKey: testRsaKey(`node:${name}`),
      linkRsaKeyMaterial: testRsaKey(`link:${name}`),
      hostname: name,
      ...init(name),
    })(components);
    return { engine, primaryAddress: engine.primaryIp };
  };
}

const sim = (seed: string | number, link = {}) =>
  createSimulation({ seed, engineFactory: bmxFactory(), link });

/** Virtual time until `cond` holds, polling every 100 ms. */
function timeUntil(s: ReturnType<typeof sim>, cond: () => boolean, limit: number): number {
  const t0 = s.clock.now();
  while (!cond()) {
    if (s.clock.now() - t0 > limit) return Infinity;
    s.run(100);
  }
  return s.clock.now() - t0;
}

describe('core engine in the simulator', () => {
  it('three nodes in a line: first route within 8 s, all routes within 16 s', () => {
    const s = sim('line3');
    const names = s.line(3);
    s.start();
    const first = new Map<string, number>();
    const all = new Map<string, number>();
    const t0 = s.clock.now();
    while (s.clock.now() - t0 < 20_000 && all.size < 3) {
      s.run(100);
      for (const n of names) {
        const r = s.routesOf(n).length;
        if (r >= 1 && !first.has(n)) first.set(n, s.clock.now() - t0);
        if (r >= 2 && !all.has(n)) all.set(n, s.clock.now() - t0);
      }
    }
    for (const n of names) {
      expect(first.get(n), `first route of ${n}`).toBeLessThanOrEqual(8000);
      expect(all.get(n), `all routes of ${n}`).toBeLessThanOrEqual(16000);
    }
    s.assertFullyReachable();
    s.assertLoopFree();
    console.log('line3 first', Object.fromEntries(first), 'all', Object.fromEntries(all));
  });

  it('a 10-node line converges loop-free', () => {
    const s = sim('line10');
    s.line(10);
    s.start();
    const t = s.waitConverged({ timeoutMs: 120_000 });
    console.log('line10 converged at', t);
    s.assertLoopFree();
    s.run(20_000);
    expect(s.fullyReachable()).toBe(true);
    s.assertLoopFree();
  });

  it('a 5×5 grid converges loop-free', () => {
    const s = sim('grid5');
    s.grid(5, 5);
    s.start();
    const t = s.waitConverged({ timeoutMs: 120_000 });
    console.log('grid5x5 converged at', t);
    s.assertLoopFree();
    s.run(20_000);
    expect(s.fullyReachable()).toBe(true);
    s.assertLoopFree();
  });

  it('a broken link reroutes around it', () => {
    const s = sim('ring');
    s.ring(6);
    s.start();
    s.waitConverged({ timeoutMs: 60_000 });
    s.run(10_000);
    // n0's route to n1 goes direct; break that link
    expect(s.nodeOfLinkLocal(s.routeTo('n0', 'n1')!.via)).toBe('n1');
    s.setLink('n0', 'n1', { up: false });
    // the dead next hop goes with its link after linkTimeout (20 s, docs/protocol.md §4.10)
    const via = (a: string, b: string) => s.nodeOfLinkLocal(s.routeTo(a, b)?.via ?? '');
    const t = timeUntil(s, () => via('n0', 'n1') === 'n5' && via('n1', 'n0') === 'n2', 60_000);
    console.log('ring reroute after', t);
    expect(t).toBeLessThan(60_000);
    s.waitConverged({ timeoutMs: 60_000 });
    expect(s.nodeOfLinkLocal(s.routeTo('n0', 'n1')!.via)).toBe('n5');
    expect(s.nodeOfLinkLocal(s.routeTo('n1', 'n0')!.via)).toBe('n2');
    s.assertLoopFree();
  });

  it('a restarted node gets its new description (higher descSqn) accepted', () => {
    const s = sim('restart');
    s.line(3);
    s.start();
    s.waitConverged({ timeoutMs: 60_000 });
    const before = s
      .node('n1')
      .instance.engine.nodes()
      .find((n) => n.name === 'n0')!.descSqn;
    s.restart('n0');
    s.run(1_000);
    const t = s.waitConverged({ timeoutMs: 60_000 });
    console.log('restart reconverged after', t);
    const after = s
      .node('n1')
      .instance.engine.nodes()
      .find((n) => n.name === 'n0')!.descSqn;
    expect(after).toBeGreaterThan(before);
    expect(
      s
        .node('n2')
        .instance.engine.nodes()
        .find((n) => n.name === 'n0')!.descSqn,
    ).toBe(after);
    s.assertLoopFree();
  });

  it('a TLV unknown to the middle node is relayed unchanged to the far end (docs/protocol.md §4.13)', () => {
    const got: string[] = [];
    const s = createSimulation({
      seed: 'relay',
      engineFactory: (name, components, ctx) => {
        const inst = bmxFactory()(name, components, ctx);
        if (name === 'n0')
          inst.engine.use({
            name: 'x',
            attach: (h) => h.registerTlv(30, { produce: () => new TextEncoder().encode('from n0') }),
          });
        if (name === 'n2')
          inst.engine.use({
            name: 'x',
            attach: (h) =>
              h.registerTlv(30, {
                consume: (node, body) => {
                  if (body) got.push(`${node.name}: ${new TextDecoder().decode(body)}`);
                },
              }),
          });
        return inst;
      },
    });
    s.line(3);
    s.start();
    s.waitConverged({ timeoutMs: 60_000 });
    expect(got).toContain('n0: from n0');
  });

  it('with 20 % loss on every link the mesh still converges', () => {
    const s = sim('loss', { loss: 0.2 });
    s.grid(3, 3);
    s.start();
    const t = s.waitConverged({ timeoutMs: 180_000 });
    console.log('3x3 grid with 20% loss converged at', t);
    s.assertLoopFree();
  });
});
