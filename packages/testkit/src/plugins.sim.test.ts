/**
 * Engines with plugins in the simulator: the example plugin proves the plugin API end to end (a TLV
 * spreads, options change it at runtime, events fire, a node leaves, files survive a restart), and
 * a plugin that throws in every callback does not stop a mesh from converging and routing.
 */
import type { EnginePlugin } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { createBmx7Factory } from './bmx7.js';
import { createGreeter, type Greeter } from './example-plugin.js';
import { createSimulation } from './simulation.js';

describe('plugins in the simulator', () => {
  it('the example plugin: greetings spread, change at runtime, and go with their node', () => {
    const greeters = new Map<string, Greeter>();
    const sim = createSimulation({
      seed: 'greeter',
      engineFactory: createBmx7Factory({
        plugins: (name) => {
          const g = createGreeter({ greeting: `hello from ${name}` });
          greeters.set(name, g);
          return [g];
        },
      }),
    });
    const names = sim.line(5);
    sim.start();
    sim.waitConverged({ timeoutMs: 60_000 });
    sim.run(5_000);
    const table = (n: string) => sim.node(n).instance.engine.show('greetings');
    expect(
      table('n0')
        .map((r) => `${r.name}: ${r.greeting} (${r.hops})`)
        .sort(),
    ).toEqual([
      'n1: hello from n1 (1)',
      'n2: hello from n2 (2)',
      'n3: hello from n3 (3)',
      'n4: hello from n4 (4)',
    ]);
    // the option reaches reconfigure, which announces the new text in a new description
    sim
      .node('n4')
      .instance.engine.configurePlugins(
        new Map([['greeting', { kind: 'single', value: 'moin', children: {} }]]),
      );
    sim.run(10_000);
    expect(table('n0').find((r) => r.name === 'n4')?.greeting).toBe('moin');
    expect(greeters.get('n0')!.events.get('description-changed')).toBeGreaterThanOrEqual(names.length);
    // n4 leaves: its greeting goes from every table once its originator is purged
    sim.stop('n4');
    sim.run(200_000);
    for (const n of ['n0', 'n1', 'n2', 'n3']) expect(table(n).map((r) => r.name)).not.toContain('n4');
    expect(greeters.get('n0')!.events.get('node-gone')).toBe(1);
    // the private file outlives the engine: a restarted node counts two starts
    sim.restart('n2');
    expect(greeters.get('n2')!.starts()).toBe(2);
  });

  it('a plugin that throws in every callback on every node: the mesh converges and routes', () => {
    const boom = () => {
      throw new Error('boom');
    };
    const thrower = (): EnginePlugin => ({
      name: 'thrower',
      attach(h) {
        h.registerTlv(30, { produce: boom, consume: boom });
        h.contributeHna6(boom);
        h.on(boom);
        h.registerTable('boom', boom);
      },
      start: boom,
      stop: boom,
      reconfigure: boom,
    });
    const sim = createSimulation({
      seed: 'thrower',
      engineFactory: createBmx7Factory({ plugins: () => [thrower()] }),
    });
    sim.grid(3, 3);
    sim.start();
    const t = sim.waitConverged({ timeoutMs: 60_000 });
    console.log(`3x3 grid with a throwing plugin on every node converged at ${Math.round(t)} ms`);
    sim.assertLoopFree();
    for (const n of sim.nodes()) {
      const e = sim.node(n).instance.engine;
      expect(e.counters().pluginErrors).toBeGreaterThan(0);
      expect(e.show('boom')).toEqual([]);
    }
  });
});
