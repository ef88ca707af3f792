/**
 * The routes port's in-memory twin: the kernel's routing tables of one simulated node. A route is
 * identified as the kernel identifies it, by (family, table, prefix, metric); addresses are kept in
 * canonical text (RFC 5952 for IPv6), as the kernel would compare them, and every change is logged.
 *
 * Stored routes are normalised the way the Linux adapter reads them back: `table` is left out when
 * it is the port's table, `type` when it is `unicast`.
 */
import { type Clock, ipFamily, type Millis, type Route, type RouteKey, type RoutesPort } from '@bmx7/core';
import { canonicalIPv6 } from './ipv6.js';

/** The port's table when a route names none (bmx7d's default, docs/protocol.md §2.1). */
export const DEFAULT_ROUTE_TABLE = 70;

export interface RouteChange {
  op: 'set' | 'remove';
  /** Canonical prefix. */
  prefix: string;
  /** The table, when it is not the port's own. */
  table?: number;
  /** The new route (op "set"). */
  route?: Route;
  /** The route this change replaced or removed, if there was one. */
  previous?: Route;
  /** Virtual time of the change, when the twin was given a clock. */
  at?: Millis;
}

export interface MemoryRoutes extends RoutesPort {
  removeKey(key: RouteKey): void;
  /**
   * The port's own table, keyed by canonical prefix: for each prefix the route the kernel would
   * use (the lowest metric).
   */
  readonly table: ReadonlyMap<string, Route>;
  /** The route to a prefix the kernel would use in the port's table (or in `table`). */
  get(prefix: string, table?: number): Route | undefined;
  /** Every route in every table, sorted by table (the port's first), prefix and metric. */
  list(): Route[];
  /** Recent changes, oldest first (at most `maxChanges`; older ones are dropped). */
  readonly changes: readonly RouteChange[];
  clearChanges(): void;
  /** Called synchronously on every set and every effective remove; returns an unsubscribe function. */
  onChange(listener: (change: RouteChange) => void): () => void;
  /** Number of changes so far (never reset). */
  readonly version: number;
  /** Empties every table without logging (a reboot of the simulated kernel). */
  flush(): void;
}

export interface MemoryRoutesInit {
  clock?: Clock;
  /** How many changes to keep (default 10 000). */
  maxChanges?: number;
  /** The port's table (default 70). */
  table?: number;
}

const ROUTE_TYPES = new Set(['unicast', 'unreachable', 'blackhole', 'prohibit', 'throw']);

/** Canonical text of an IPv4 or IPv6 address or prefix (IPv4 without leading zeros). */
function canonical(text: string): string {
  if (ipFamily(text) === 6) return canonicalIPv6(text);
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const parts = addr.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return text;
  return `${parts.map(Number).join('.')}${slash < 0 ? '' : text.slice(slash)}`;
}

export function createMemoryRoutes(init: MemoryRoutesInit = {}): MemoryRoutes {
  const own = init.table ?? DEFAULT_ROUTE_TABLE;
  /** identity → route, in every table. */
  const all = new Map<string, Route>();
  /** `table prefix` → the identities of its routes (one per metric). */
  const byPrefix = new Map<string, Set<string>>();
  /** The port's table as the kernel would look it up: prefix → lowest-metric route. */
  const table = new Map<string, Route>();
  let changes: RouteChange[] = [];
  const listeners = new Set<(change: RouteChange) => void>();
  const maxChanges = init.maxChanges ?? 10_000;
  let version = 0;

  const tableOf = (t: number | undefined) => t ?? own;
  const identity = (family: number, t: number, prefix: string, metric: number) =>
    `${family} ${t} ${prefix} ${metric}`;

  function record(change: RouteChange): void {
    if (init.clock) change.at = init.clock.now();
    version++;
    if (maxChanges > 0) {
      changes.push(change);
      if (changes.length > 2 * maxChanges) changes = changes.slice(-maxChanges);
    }
    for (const l of listeners) l(change);
  }

  function best(t: number, prefix: string): Route | undefined {
    let out: Route | undefined;
    for (const id of byPrefix.get(`${t} ${prefix}`) ?? []) {
      const r = all.get(id)!;
      if (!out || r.metric < out.metric) out = r;
    }
    return out;
  }

  function refresh(t: number, prefix: string): void {
    if (t !== own) return;
    const b = best(t, prefix);
    if (b) table.set(prefix, b);
    else table.delete(prefix);
  }

  function drop(id: string, t: number, prefix: string): void {
    const previous = all.get(id);
    if (!previous) return;
    all.delete(id);
    const ids = byPrefix.get(`${t} ${prefix}`)!;
    ids.delete(id);
    if (ids.size === 0) byPrefix.delete(`${t} ${prefix}`);
    refresh(t, prefix);
    record(t === own ? { op: 'remove', prefix, previous } : { op: 'remove', prefix, table: t, previous });
  }

  function removeMatching(prefixText: string, t: number, metric: number | undefined): void {
    const prefix = canonical(prefixText);
    const ids = byPrefix.get(`${t} ${prefix}`);
    if (!ids) return;
    for (const id of [...ids])
      if (metric === undefined || all.get(id)!.metric === metric) drop(id, t, prefix);
  }

  return {
    table,
    set(route) {
      const type = route.type ?? 'unicast';
      if (!ROUTE_TYPES.has(type)) throw new RangeError(`unknown route type ${JSON.stringify(type)}`);
      const prefix = canonical(route.prefix);
      const t = tableOf(route.table);
      const stored: Route = { prefix, metric: route.metric };
      if (route.via !== undefined) stored.via = canonical(route.via);
      if (route.dev !== undefined) stored.dev = route.dev;
      if (t !== own) stored.table = t;
      if (route.src !== undefined) stored.src = canonical(route.src);
      if (type !== 'unicast') stored.type = type;
      const id = identity(ipFamily(prefix), t, prefix, route.metric);
      const previous = all.get(id);
      all.set(id, stored);
      let ids = byPrefix.get(`${t} ${prefix}`);
      if (!ids) {
        ids = new Set();
        byPrefix.set(`${t} ${prefix}`, ids);
      }
      ids.add(id);
      refresh(t, prefix);
      const change: RouteChange = { op: 'set', prefix, route: stored };
      if (t !== own) change.table = t;
      if (previous) change.previous = previous;
      record(change);
    },
    remove(prefix) {
      removeMatching(prefix, own, undefined);
    },
    removeKey(key) {
      removeMatching(key.prefix, tableOf(key.table), key.metric);
    },
    get: (prefix, t) =>
      t === undefined || t === own ? table.get(canonical(prefix)) : best(t, canonical(prefix)),
    list: () =>
      [...all.values()].sort((a, b) => {
        const ta = a.table ?? -1;
        const tb = b.table ?? -1;
        if (ta !== tb) return ta - tb;
        if (a.prefix !== b.prefix) return a.prefix < b.prefix ? -1 : 1;
        return a.metric - b.metric;
      }),
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
      all.clear();
      byPrefix.clear();
      table.clear();
    },
  };
}
