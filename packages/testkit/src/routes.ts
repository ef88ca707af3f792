/**
 * The routes port's in-memory twin: the "kernel table" of one simulated node. Prefixes are kept in
 * canonical text (RFC 5952), as the kernel would compare them, and every change is logged.
 */
import type { Clock, Millis, Route, RoutesPort } from '@bmx7/core';
import { canonicalIPv6 } from './ipv6.js';

export interface RouteChange {
  op: 'set' | 'remove';
  /** Canonical prefix. */
  prefix: string;
  /** The new route (op "set"). */
  route?: Route;
  /** The route this change replaced or removed, if there was one. */
  previous?: Route;
  /** Virtual time of the change, when the twin was given a clock. */
  at?: Millis;
}

export interface MemoryRoutes extends RoutesPort {
  /** The current table, keyed by canonical prefix. */
  readonly table: ReadonlyMap<string, Route>;
  get(prefix: string): Route | undefined;
  /** The routes, sorted by prefix. */
  list(): Route[];
  /** Recent changes, oldest first (at most `maxChanges`; older ones are dropped). */
  readonly changes: readonly RouteChange[];
  clearChanges(): void;
  /** Called synchronously on every set and every effective remove; returns an unsubscribe function. */
  onChange(listener: (change: RouteChange) => void): () => void;
  /** Number of changes so far (never reset). */
  readonly version: number;
  /** Empties the table without logging (a reboot of the simulated kernel). */
  flush(): void;
}

export interface MemoryRoutesInit {
  clock?: Clock;
  /** How many changes to keep (default 10 000). */
  maxChanges?: number;
}

export function createMemoryRoutes(init: MemoryRoutesInit = {}): MemoryRoutes {
  const table = new Map<string, Route>();
  let changes: RouteChange[] = [];
  const listeners = new Set<(change: RouteChange) => void>();
  const maxChanges = init.maxChanges ?? 10_000;
  let version = 0;

  function record(change: RouteChange): void {
    if (init.clock) change.at = init.clock.now();
    version++;
    if (maxChanges > 0) {
      changes.push(change);
      if (changes.length > 2 * maxChanges) changes = changes.slice(-maxChanges);
    }
    for (const l of listeners) l(change);
  }

  return {
    table,
    set(route) {
      const prefix = canonicalIPv6(route.prefix);
      const stored: Route = { ...route, prefix, via: canonicalIPv6(route.via) };
      const previous = table.get(prefix);
      table.set(prefix, stored);
      record(
        previous ? { op: 'set', prefix, route: stored, previous } : { op: 'set', prefix, route: stored },
      );
    },
    remove(prefixText) {
      const prefix = canonicalIPv6(prefixText);
      const previous = table.get(prefix);
      if (!previous) return;
      table.delete(prefix);
      record({ op: 'remove', prefix, previous });
    },
    get: (prefix) => table.get(canonicalIPv6(prefix)),
    list: () => [...table.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0)),
    get changes() {
      return maxChanges > 0 && changes.length > maxChanges ? changes.slice(-maxChanges) : changes;
    },
    clearChanges() {
      changes = [];
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get version() {
      return version;
    },
    flush() {
      table.clear();
    },
  };
}
