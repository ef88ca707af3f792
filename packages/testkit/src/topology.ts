/**
 * Topologies as plain edge lists over node names, so they can be inspected, printed and reused;
 * the simulation turns them into nodes and links. Node i is named `${prefix}${i}`; in a grid,
 * node (x, y) is number y·w + x.
 */
import { TestkitError } from './errors.js';
import type { SeededRandom } from './random.js';

export type Edge = readonly [string, string];

export interface Topology {
  nodes: string[];
  edges: Edge[];
}

export const nodeNames = (n: number, prefix = 'n'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** n0 — n1 — … — n(n-1). */
export function lineTopology(n: number, prefix = 'n'): Topology {
  const nodes = nodeNames(n, prefix);
  return { nodes, edges: nodes.slice(1).map((b, i) => [nodes[i]!, b] as const) };
}

/** A line closed into a cycle (n ≥ 3). */
export function ringTopology(n: number, prefix = 'n'): Topology {
  if (n < 3) throw new TestkitError('SIM_BAD_ARGUMENT', `a ring needs at least 3 nodes, got ${n}`);
  const t = lineTopology(n, prefix);
  t.edges.push([t.nodes[n - 1]!, t.nodes[0]!]);
  return t;
}

/** A w × h grid, each node linked to its right and lower neighbour. */
export function gridTopology(w: number, h: number, prefix = 'n'): Topology {
  const nodes = nodeNames(w * h, prefix);
  const edges: Edge[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (x + 1 < w) edges.push([nodes[i]!, nodes[i + 1]!]);
      if (y + 1 < h) edges.push([nodes[i]!, nodes[i + w]!]);
    }
  }
  return { nodes, edges };
}

export interface GeometricTopology extends Topology {
  /** Positions in the unit square, by node name. */
  positions: Map<string, { x: number; y: number }>;
  /** How many layouts were drawn before one was connected. */
  attempts: number;
}

/**
 * n points uniform in the unit square, linked when closer than `radius`; draws again until the
 * graph is connected (throws SIM_NOT_CONNECTED after `maxAttempts`: raise the radius).
 */
export function randomGeometricTopology(
  n: number,
  radius: number,
  random: SeededRandom,
  options: { prefix?: string; maxAttempts?: number } = {},
): GeometricTopology {
  const nodes = nodeNames(n, options.prefix);
  const maxAttempts = options.maxAttempts ?? 1000;
  const r2 = radius * radius;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const pts = nodes.map(() => ({ x: random.float(), y: random.float() }));
    const pairs: [number, number][] = [];
    // A cell grid of side `radius` keeps this near-linear for large n.
    const cells = Math.max(1, Math.floor(1 / Math.max(radius, 1e-9)));
    const buckets = new Map<number, number[]>();
    const cellOf = (v: number) => Math.min(cells - 1, Math.floor(v * cells));
    pts.forEach((p, i) => {
      const key = cellOf(p.x) * cells + cellOf(p.y);
      const b = buckets.get(key);
      if (b) b.push(i);
      else buckets.set(key, [i]);
    });
    pts.forEach((p, i) => {
      const cx = cellOf(p.x);
      const cy = cellOf(p.y);
      for (let dx = -1; dx <= 1; dx++) {
        for (let dy = -1; dy <= 1; dy++) {
          const b = buckets.get((cx + dx) * cells + (cy + dy));
          if (!b || cx + dx < 0 || cy + dy < 0 || cx + dx >= cells || cy + dy >= cells) continue;
          for (const j of b) {
            if (j <= i) continue;
            const q = pts[j]!;
            if ((p.x - q.x) ** 2 + (p.y - q.y) ** 2 <= r2) pairs.push([i, j]);
          }
        }
      }
    });
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const edges: Edge[] = pairs.map(([i, j]) => [nodes[i]!, nodes[j]!] as const);
    if (isConnected(nodes, edges)) {
      const positions = new Map(nodes.map((name, i) => [name, pts[i]!] as const));
      return { nodes, edges, positions, attempts: attempt };
    }
  }
  throw new TestkitError(
    'SIM_NOT_CONNECTED',
    `no connected layout of ${n} nodes with radius ${radius} in ${maxAttempts} attempts; raise the radius`,
  );
}

/** Whether the undirected graph is connected (an empty graph is). */
export function isConnected(nodes: readonly string[], edges: readonly Edge[]): boolean {
  if (nodes.length === 0) return true;
  const adj = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const [a, b] of edges) {
    adj.get(a)?.push(b);
    adj.get(b)?.push(a);
  }
  const seen = new Set<string>([nodes[0]!]);
  const stack = [nodes[0]!];
  while (stack.length > 0) {
    for (const m of adj.get(stack.pop()!) ?? []) {
      if (!seen.has(m)) {
        seen.add(m);
        stack.push(m);
      }
    }
  }
  return seen.size === nodes.length;
}
