/**
 * Errors of the testkit (STYLE.md rule 13): named classes with a stable `code`. They are thrown at
 * test-harness boundaries only (a predicate that never held, a route table that loops); the
 * simulated network itself never throws on packets, it counts them.
 */

export type TestkitErrorCode =
  | 'SIM_TIMEOUT'
  | 'SIM_EVENT_LIMIT'
  | 'SIM_UNKNOWN_NODE'
  | 'SIM_UNKNOWN_IFACE'
  | 'SIM_BAD_ARGUMENT'
  | 'SIM_NOT_CONNECTED'
  | 'SIM_CALLBACK_FAILED'
  | 'ROUTING_LOOP'
  | 'ROUTING_BROKEN'
  | 'NOT_REACHABLE';

export class TestkitError extends Error {
  override readonly name: string = 'TestkitError';
  readonly code: TestkitErrorCode;
  constructor(code: TestkitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A `runUntil(predicate)` (or `waitConverged`) whose predicate did not hold before its deadline. */
export class SimTimeoutError extends TestkitError {
  override readonly name = 'SimTimeoutError';
  /** Virtual time at which the wait gave up. */
  readonly at: number;
  constructor(message: string, at: number) {
    super('SIM_TIMEOUT', message);
    this.at = at;
  }
}

/**
 * A simulated node's code threw (from a timer or while receiving): the simulation stops there.
 * `cause` is the original error; the message names the node and the virtual time.
 */
export class SimCallbackError extends TestkitError {
  override readonly name = 'SimCallbackError';
  readonly node: string;
  readonly at: number;
  constructor(node: string, at: number, cause: unknown) {
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super('SIM_CALLBACK_FAILED', `${node} threw at virtual time ${at} ms: ${why}`, { cause });
    this.node = node;
    this.at = at;
  }
}

/** Route tables that are not loop-free (or not consistent) where the check required it. */
export class RoutingCheckError extends TestkitError {
  override readonly name = 'RoutingCheckError';
  /** Every problem found (the message lists the first few). */
  readonly problems: readonly RouteProblem[];
  constructor(code: 'ROUTING_LOOP' | 'ROUTING_BROKEN' | 'NOT_REACHABLE', problems: readonly RouteProblem[]) {
    const head = problems.slice(0, 5).map(describeProblem).join('; ');
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    super(code, `${problems.length} routing problem(s): ${head}${more}`);
    this.problems = problems;
  }
}

/** One finding of the route checker (see checks.ts). */
export type RouteProblem =
  /** Following next hops from `from` towards `to` came back to a node already on `path`. */
  | { kind: 'loop'; from: string; to: string; path: string[] }
  /** A node on the path (`at`) has no route to `to`, though the path reached it. */
  | { kind: 'dead-end'; from: string; to: string; path: string[]; at: string }
  /** `at`'s route to `to` names a next hop that is not a neighbour on the route's interface. */
  | { kind: 'bad-next-hop'; from: string; to: string; path: string[]; at: string; via: string; dev: string }
  /** `from` has no route to `to` at all. */
  | { kind: 'unreachable'; from: string; to: string };

export function describeProblem(p: RouteProblem): string {
  switch (p.kind) {
    case 'loop':
      return `loop ${p.from}→${p.to}: ${p.path.join(' → ')}`;
    case 'dead-end':
      return `dead end ${p.from}→${p.to} at ${p.at}: ${p.path.join(' → ')}`;
    case 'bad-next-hop':
      return `bad next hop ${p.from}→${p.to} at ${p.at}: via ${p.via} dev ${p.dev}`;
    case 'unreachable':
      return `no route ${p.from}→${p.to}`;
  }
}
