/**
 * Kernel export (docs/protocol.md §4.10 "Routes", §2.1): the engine and the plugins state the
 * routes and policy rules they want per owner (an originator's hex id, a tunnel search…); these
 * exports diff them against what was exported last and call the port only for changes.
 *
 * Routes are identified as the kernel identifies them, by (family, table, prefix, metric): two
 * owners may want the same prefix in different tables, or with different metrics, and get both.
 * When two owners want the same route (same identity), the one that asked last is exported; when
 * it withdraws, the other's comes back.
 */
import type { IpFamily, Route, RouteKey, RoutesPort, Rule, RulesPort } from './ports.js';

/** The family of an address or prefix in text form. */
export function ipFamily(text: string): IpFamily {
  return text.includes(':') ? 6 : 4;
}

/**
 * The identity of a route as text: family, table (empty for the port's table), prefix, metric.
 * Prefixes are compared as given (no canonicalisation here).
 */
export function routeIdentity(r: Route): string {
  return `${ipFamily(r.prefix)} ${r.table ?? ''} ${r.prefix} ${r.metric}`;
}

/** The identity of a rule as text: every field. */
export function ruleIdentity(r: Rule): string {
  return `${r.family} ${r.priority} ${r.table} ${r.from ?? '*'} ${r.to ?? '*'} ${r.iif ?? '*'} ${r.oif ?? '*'}`;
}

/** Whether two routes of the same identity would look the same in the kernel. */
function sameRoute(a: Route, b: Route): boolean {
  return (
    a.via === b.via && a.dev === b.dev && a.src === b.src && (a.type ?? 'unicast') === (b.type ?? 'unicast')
  );
}

/**
 * Owner → items, diffed by identity. Each identity has its claimants in the order they claimed it;
 * the last one's item is the exported one.
 */
class OwnedSet<T> {
  readonly #byOwner = new Map<string, Map<string, T>>();
  readonly #claims = new Map<string, Map<string, T>>();
  readonly #identity: (item: T) => string;
  readonly #same: (a: T, b: T) => boolean;
  readonly #put: (item: T) => void;
  readonly #drop: (item: T) => void;

  constructor(
    identity: (item: T) => string,
    same: (a: T, b: T) => boolean,
    put: (item: T) => void,
    drop: (item: T) => void,
  ) {
    this.#identity = identity;
    this.#same = same;
    this.#put = put;
    this.#drop = drop;
  }

  setOwner(owner: string, items: readonly T[]): void {
    const old = this.#byOwner.get(owner);
    const next = new Map<string, T>();
    for (const item of items) next.set(this.#identity(item), item);
    // make before break: new routes first, so a route that changes its metric never has a gap
    for (const [id, item] of next) {
      let claims = this.#claims.get(id);
      if (!claims) {
        claims = new Map();
        this.#claims.set(id, claims);
      }
      const exported = lastValue(claims);
      const prev = claims.get(owner);
      if (prev !== undefined && lastKey(claims) === owner) {
        // the exported one stays the exported one: update it in place when it changed
        claims.set(owner, item);
        if (!this.#same(prev, item)) this.#put(item);
        continue;
      }
      if (prev !== undefined && this.#same(prev, item)) {
        claims.set(owner, item); // an unchanged claim keeps its place behind the exported one
        continue;
      }
      claims.delete(owner);
      claims.set(owner, item);
      if (exported === undefined || !this.#same(exported, item)) this.#put(item);
    }
    if (old) {
      for (const [id, item] of old) {
        if (next.has(id)) continue;
        const claims = this.#claims.get(id)!;
        const wasExported = lastKey(claims) === owner;
        claims.delete(owner);
        if (claims.size === 0) {
          this.#claims.delete(id);
          this.#drop(item);
        } else if (wasExported) {
          const back = lastValue(claims)!;
          if (!this.#same(back, item)) this.#put(back);
        }
      }
    }
    if (next.size > 0) this.#byOwner.set(owner, next);
    else this.#byOwner.delete(owner);
  }

  clear(): void {
    for (const claims of this.#claims.values()) this.#drop(lastValue(claims)!);
    this.#claims.clear();
    this.#byOwner.clear();
  }

  get size(): number {
    return this.#claims.size;
  }

  exported(): T[] {
    return [...this.#claims.values()].map((c) => lastValue(c)!);
  }
}

function lastKey<K, V>(m: Map<K, V>): K | undefined {
  let out: K | undefined;
  for (const k of m.keys()) out = k;
  return out;
}
function lastValue<K, V>(m: Map<K, V>): V | undefined {
  let out: V | undefined;
  for (const v of m.values()) out = v;
  return out;
}

/** The routes the engine and plugins want, per owner, kept in the kernel through a `RoutesPort`. */
export class RouteExport {
  readonly #set: OwnedSet<Route>;

  constructor(port: RoutesPort) {
    this.#set = new OwnedSet<Route>(
      routeIdentity,
      (a, b) => sameRoute(a, b),
      (r) => port.set(r),
      port.removeKey ? (r) => port.removeKey!(keyOf(r)) : (r) => port.remove(r.prefix),
    );
  }

  /** Replaces the routes of one owner; an empty list withdraws them. */
  setOwner(owner: string, routes: readonly Route[]): void {
    this.#set.setOwner(owner, routes);
  }

  /** Withdraws everything (engine stop). */
  clear(): void {
    this.#set.clear();
  }

  /** Routes exported (distinct identities). */
  get size(): number {
    return this.#set.size;
  }

  routes(): Route[] {
    return this.#set.exported();
  }
}

function keyOf(r: Route): RouteKey {
  return r.table === undefined
    ? { prefix: r.prefix, metric: r.metric }
    : { prefix: r.prefix, table: r.table, metric: r.metric };
}

/** The policy rules the daemon and plugins want, per owner, kept in the kernel through a `RulesPort`. */
export class RuleExport {
  readonly #set: OwnedSet<Rule>;

  constructor(port: RulesPort) {
    // a rule's identity is all of it: two claims of one identity are the same rule
    this.#set = new OwnedSet<Rule>(
      ruleIdentity,
      () => true,
      (r) => port.add(r),
      (r) => port.remove(r),
    );
  }

  /** Replaces the rules of one owner; an empty list withdraws them. */
  setOwner(owner: string, rules: readonly Rule[]): void {
    this.#set.setOwner(owner, rules);
  }

  /** Withdraws everything. */
  clear(): void {
    this.#set.clear();
  }

  get size(): number {
    return this.#set.size;
  }

  rules(): Rule[] {
    return this.#set.exported();
  }
}
