import { describe, expect, it } from 'vitest';
import { createSeededRandom } from './random.js';
import {
  gridTopology,
  isConnected,
  lineTopology,
  randomGeometricTopology,
  ringTopology,
} from './topology.js';

describe('topologies', () => {
  it('line, ring and grid have the expected edges', () => {
    expect(lineTopology(3)).toEqual({
      nodes: ['n0', 'n1', 'n2'],
      edges: [
        ['n0', 'n1'],
        ['n1', 'n2'],
      ],
    });
    expect(ringTopology(4, 'r').edges).toEqual([
      ['r0', 'r1'],
      ['r1', 'r2'],
      ['r2', 'r3'],
      ['r3', 'r0'],
    ]);
    expect(() => ringTopology(2)).toThrow(expect.objectContaining({ code: 'SIM_BAD_ARGUMENT' }));
    const g = gridTopology(3, 2);
    // (w-1)·h horizontal + w·(h-1) vertical
    expect(g.edges).toHaveLength(2 * 2 + 3 * 1);
    expect(g.edges).toContainEqual(['n1', 'n4']);
    expect(g.edges).not.toContainEqual(['n2', 'n3']); // no wrap-around
    for (const t of [lineTopology(5), ringTopology(5), g]) expect(isConnected(t.nodes, t.edges)).toBe(true);
  });

  it('isConnected sees a split graph', () => {
    expect(isConnected(['a', 'b', 'c'], [['a', 'b']])).toBe(false);
    expect(isConnected([], [])).toBe(true);
  });

  it('random geometric layouts are connected, within the radius, and reproducible', () => {
    const t = randomGeometricTopology(60, 0.25, createSeededRandom('geo'));
    expect(isConnected(t.nodes, t.edges)).toBe(true);
    const all: [string, string][] = [];
    for (let i = 0; i < t.nodes.length; i++) {
      for (let j = i + 1; j < t.nodes.length; j++) {
        const p = t.positions.get(t.nodes[i]!)!;
        const q = t.positions.get(t.nodes[j]!)!;
        if (Math.hypot(p.x - q.x, p.y - q.y) <= 0.25) all.push([t.nodes[i]!, t.nodes[j]!]);
      }
    }
    // The cell index finds exactly the brute-force edge set.
    expect(t.edges.map((e) => [...e])).toEqual(all);
    expect(randomGeometricTopology(60, 0.25, createSeededRandom('geo'))).toEqual(t);
  });

  it('random geometric retries until connected, and gives up with a clear error', () => {
    const t = randomGeometricTopology(30, 0.2, createSeededRandom('retry'));
    expect(t.attempts).toBeGreaterThanOrEqual(1);
    expect(isConnected(t.nodes, t.edges)).toBe(true);
    expect(() => randomGeometricTopology(50, 0.01, createSeededRandom('x'), { maxAttempts: 5 })).toThrow(
      expect.objectContaining({ code: 'SIM_NOT_CONNECTED' }),
    );
  });
});
