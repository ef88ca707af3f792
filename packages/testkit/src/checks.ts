/**
 * Route-table checks over a whole mesh: who reaches whom, and whether following next hops from any
 * node towards any destination arrives without revisiting a node. The checker works on an
 * abstract view, so it can be tested on hand-made (deliberately broken) tables; the simulation
 * supplies a view of its nodes.
 *
 * Cost: O(n) per destination (each node's path is walked once and memoised), O(n²) in all.
 */
import type { RouteProblem } from './errors.js';

export interface RouteView {
  /** Nodes taking part, as sources and destinations. */
  readonly nodes: readonly string[];
  /**
   * The next node from `node` towards destination `dest`: a node name, `undefined` when `node`
   * has no route, or `{ bad }` when the route names a next hop that is no neighbour.
   */
  nextHop(node: string, dest: string): string | undefined | { bad: { via: string; dev: string } };
}

export interface RouteReport {
  /** Ordered pairs of distinct nodes. */
  pairs: number;
  /** Pairs (from, to) where `from` has a route towards `to` (whatever happens further on). */
  routed: number;
  /** Pairs whose next hops lead to the destination. */
  delivered: number;
  problems: RouteProblem[];
}

const UNSEEN = 0;
const ON_PATH = 1;
const REACHES = 2;
const FAILS = 3;

/** Walks every (source, destination) pair of `view`; each problem is reported once, where first found. */
export function checkRoutes(view: RouteView): RouteReport {
  const names = view.nodes;
  const n = names.length;
  const index = new Map(names.map((name, i) => [name, i] as const));
  const state = new Uint8Array(n);
  const path: number[] = [];
  const pathNames = () => path.map((i) => names[i]!);
  const report: RouteReport = { pairs: n * (n - 1), routed: 0, delivered: 0, problems: [] };

  for (let d = 0; d < n; d++) {
    const dest = names[d]!;
    state.fill(UNSEEN);
    state[d] = REACHES;
    for (let s = 0; s < n; s++) {
      if (s === d) continue;
      const first = view.nextHop(names[s]!, dest);
      if (first !== undefined) report.routed++;
      if (state[s] !== UNSEEN) {
        if (state[s] === REACHES) report.delivered++;
        continue;
      }
      path.length = 0;
      let cur = s;
      let hop: ReturnType<RouteView['nextHop']> = first;
      let outcome: number;
      for (;;) {
        path.push(cur);
        state[cur] = ON_PATH;
        if (hop === undefined) {
          report.problems.push(
            cur === s
              ? { kind: 'unreachable', from: names[s]!, to: dest }
              : { kind: 'dead-end', from: names[s]!, to: dest, path: pathNames(), at: names[cur]! },
          );
          outcome = FAILS;
          break;
        }
        if (typeof hop !== 'string') {
          report.problems.push({
            kind: 'bad-next-hop',
            from: names[s]!,
            to: dest,
            path: pathNames(),
            at: names[cur]!,
            via: hop.bad.via,
            dev: hop.bad.dev,
          });
          outcome = FAILS;
          break;
        }
        const next = index.get(hop);
        if (next === undefined) {
          report.problems.push({
            kind: 'bad-next-hop',
            from: names[s]!,
            to: dest,
            path: pathNames(),
            at: names[cur]!,
            via: hop,
            dev: '?',
          });
          outcome = FAILS;
          break;
        }
        const st = state[next];
        if (st === REACHES || st === FAILS) {
          outcome = st;
          break;
        }
        if (st === ON_PATH) {
          const loopAt = path.indexOf(next);
          const cycle = path.slice(loopAt).map((i) => names[i]!);
          cycle.push(names[next]!);
          report.problems.push({ kind: 'loop', from: names[s]!, to: dest, path: cycle });
          outcome = FAILS;
          break;
        }
        cur = next;
        hop = view.nextHop(names[cur]!, dest);
      }
      for (const i of path) state[i] = outcome;
      if (outcome === REACHES) report.delivered++;
    }
  }
  return report;
}
