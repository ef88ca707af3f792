/**
 * Mesh topologies as node and edge lists (pure). Nodes are named n1 … nN; an edge joins two nodes with
 * one veth pair. Text forms for the command line: `line:3`, `ring:5`, `grid:3x3`, `edges:1-2,2-3,3-1`.
 *
 *   line:4   n1 ── n2 ── n3 ── n4          ring:4   n1 ── n2
 *                                                    │      │
 *   grid:3x2 n1 ── n2 ── n3                          n4 ── n3
 *            │     │     │
 *            n4 ── n5 ── n6
 */
export type Topology =
  | { kind: 'line'; n: number }
  | { kind: 'ring'; n: number }
  | { kind: 'grid'; w: number; h: number }
  | { kind: 'edges'; edges: [number, number][] };

export interface MeshPlan {
  nodes: string[];
  edges: [string, string][];
}

export class TopologyError extends Error {
  override readonly name = 'TopologyError';
  readonly code = 'ERR_TOPOLOGY';
}

/** The largest mesh the bed builds: every node is a namespace and every edge two interfaces. */
export const MAX_NODES = 256;

const node = (i: number) => `n${i}`;

export function planTopology(t: Topology): MeshPlan {
  const count = (n: number, min: number, what: string) => {
    if (!Number.isInteger(n) || n < min || n > MAX_NODES) {
      throw new TopologyError(`${what} needs ${min} to ${MAX_NODES} nodes, got ${n}`);
    }
  };
  switch (t.kind) {
    case 'line': {
      count(t.n, 1, 'line');
      const nodes = Array.from({ length: t.n }, (_, i) => node(i + 1));
      return { nodes, edges: nodes.slice(1).map((b, i) => [nodes[i]!, b]) };
    }
    case 'ring': {
      count(t.n, 3, 'ring');
      const nodes = Array.from({ length: t.n }, (_, i) => node(i + 1));
      return { nodes, edges: nodes.map((a, i) => [a, nodes[(i + 1) % t.n]!]) };
    }
    case 'grid': {
      count(t.w * t.h, 1, 'grid');
      if (!Number.isInteger(t.w) || !Number.isInteger(t.h) || t.w < 1 || t.h < 1) {
        throw new TopologyError(`grid sides must be positive integers, got ${t.w}x${t.h}`);
      }
      const at = (x: number, y: number) => node(y * t.w + x + 1);
      const nodes: string[] = [];
      const edges: [string, string][] = [];
      for (let y = 0; y < t.h; y++) {
        for (let x = 0; x < t.w; x++) {
          nodes.push(at(x, y));
          if (x + 1 < t.w) edges.push([at(x, y), at(x + 1, y)]);
          if (y + 1 < t.h) edges.push([at(x, y), at(x, y + 1)]);
        }
      }
      return { nodes, edges };
    }
    case 'edges': {
      if (t.edges.length === 0) throw new TopologyError('an edge list needs at least one edge');
      const seen = new Set<string>();
      let max = 0;
      for (const [a, b] of t.edges) {
        for (const v of [a, b]) {
          if (!Number.isInteger(v) || v < 1 || v > MAX_NODES) {
            throw new TopologyError(`node numbers must be 1 to ${MAX_NODES}, got ${v}`);
          }
        }
        if (a === b) throw new TopologyError(`edge ${a}-${b} joins a node to itself`);
        const key = a < b ? `${a}-${b}` : `${b}-${a}`;
        if (seen.has(key)) throw new TopologyError(`edge ${key} is listed twice`);
        seen.add(key);
        max = Math.max(max, a, b);
      }
      const nodes = Array.from({ length: max }, (_, i) => node(i + 1));
      return { nodes, edges: t.edges.map(([a, b]) => [node(a), node(b)]) };
    }
  }
}

/** Parses `line:3`, `ring:5`, `grid:3x3` or `edges:1-2,2-3`. */
export function parseTopology(text: string): Topology {
  const m = /^(line|ring|grid|edges):(.+)$/.exec(text.trim());
  if (!m) throw new TopologyError(`topology "${text}" is not one of line:N, ring:N, grid:WxH, edges:A-B,…`);
  const [, kind, spec] = m as unknown as [string, string, string];
  const int = (s: string) => {
    if (!/^\d+$/.test(s)) throw new TopologyError(`"${s}" in topology "${text}" is not a number`);
    return Number(s);
  };
  if (kind === 'line' || kind === 'ring') return { kind, n: int(spec) };
  if (kind === 'grid') {
    const g = /^(\d+)x(\d+)$/.exec(spec);
    if (!g) throw new TopologyError(`grid "${spec}" is not WxH`);
    return { kind, w: int(g[1]!), h: int(g[2]!) };
  }
  const edges = spec.split(',').map((e): [number, number] => {
    const p = /^(\d+)-(\d+)$/.exec(e.trim());
    if (!p) throw new TopologyError(`edge "${e}" is not A-B`);
    return [int(p[1]!), int(p[2]!)];
  });
  return { kind: 'edges', edges };
}
