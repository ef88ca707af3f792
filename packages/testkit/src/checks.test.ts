import { describe, expect, it } from 'vitest';
import { checkRoutes, type RouteView } from './checks.js';

/** A view from a table "node → dest → next node" (or a bad next hop). */
function tableView(
  nodes: string[],
  next: Record<string, Record<string, string | { bad: string }>>,
): RouteView {
  return {
    nodes,
    nextHop(node, dest) {
      const h = next[node]?.[dest];
      if (h === undefined || typeof h === 'string') return h;
      return { bad: { via: h.bad, dev: 'eth0' } };
    },
  };
}

/** Shortest-path next hops on a line a — b — c — d. */
const line: Record<string, Record<string, string>> = {
  a: { b: 'b', c: 'b', d: 'b' },
  b: { a: 'a', c: 'c', d: 'c' },
  c: { a: 'b', b: 'b', d: 'd' },
  d: { a: 'c', b: 'c', c: 'c' },
};
const nodes = ['a', 'b', 'c', 'd'];

describe('checkRoutes', () => {
  it('passes a consistent table', () => {
    expect(checkRoutes(tableView(nodes, line))).toEqual({
      pairs: 12,
      routed: 12,
      delivered: 12,
      problems: [],
    });
  });

  it('catches a two-node loop and a longer one', () => {
    const looping = structuredClone(line);
    looping.c!.d = 'b'; // b → c → b …
    const r = checkRoutes(tableView(nodes, looping));
    expect(r.problems).toContainEqual({ kind: 'loop', from: 'a', to: 'd', path: ['b', 'c', 'b'] });
    expect(r.problems.every((p) => p.kind === 'loop')).toBe(true);
    expect(r.delivered).toBe(12 - 3); // a, b and c cannot reach d

    const ring = { a: { x: 'b' }, b: { x: 'c' }, c: { x: 'a' }, x: {} };
    const r2 = checkRoutes(tableView(['a', 'b', 'c', 'x'], ring));
    const loops = r2.problems.filter((p) => p.kind === 'loop');
    expect(loops).toEqual([{ kind: 'loop', from: 'a', to: 'x', path: ['a', 'b', 'c', 'a'] }]);
  });

  it('tells a dead end, a bad next hop and a missing route apart', () => {
    const t = structuredClone(line) as Record<string, Record<string, string | { bad: string }>>;
    delete t.c!.d; // b routes to d via c, which has no route
    t.d!.a = { bad: 'fe80::dead' };
    delete t.a!.c;
    const r = checkRoutes(tableView(nodes, t));
    expect(r.problems).toContainEqual({
      kind: 'dead-end',
      from: 'a',
      to: 'd',
      path: ['a', 'b', 'c'],
      at: 'c',
    });
    expect(r.problems).toContainEqual({
      kind: 'bad-next-hop',
      from: 'd',
      to: 'a',
      path: ['d'],
      at: 'd',
      via: 'fe80::dead',
      dev: 'eth0',
    });
    expect(r.problems).toContainEqual({ kind: 'unreachable', from: 'a', to: 'c' });
    expect(r.routed).toBe(10);
  });

  it('treats a next hop outside the node set as bad', () => {
    const r = checkRoutes(tableView(['a', 'b'], { a: { b: 'ghost' }, b: { a: 'a' } }));
    expect(r.problems).toEqual([
      { kind: 'bad-next-hop', from: 'a', to: 'b', path: ['a'], at: 'a', via: 'ghost', dev: '?' },
    ]);
  });

  it('is linear per destination on a long line', () => {
    const n = 1000;
    const names = Array.from({ length: n }, (_, i) => `n${i}`);
    let calls = 0;
    const view: RouteView = {
      nodes: names,
      nextHop(node, dest) {
        calls++;
        const i = Number(node.slice(1));
        const d = Number(dest.slice(1));
        return `n${d > i ? i + 1 : i - 1}`;
      },
    };
    const r = checkRoutes({ nodes: names.slice(0, 200), nextHop: view.nextHop });
    expect(r.problems).toHaveLength(0);
    expect(r.delivered).toBe(200 * 199);
    calls = 0;
    checkRoutes(view);
    // Each source's first hop is looked up once, plus at most one more per walked node.
    expect(calls).toBeLessThanOrEqual(2 * n * (n - 1));
  });
});
