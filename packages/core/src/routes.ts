/**
 * Kernel export (bmx7-wire 4.10 "Routes", 2.1): the engine states the routes it wants per
 * originator; this module diffs them against what it last exported and calls the routes port only
 * for changes.
 */
import type { Route, RoutesPort } from './ports.js';

export class RouteExport {
  readonly #port: RoutesPort;
  readonly #set = new Map<string, Route>();
  /** Prefixes wanted per owner (originator hex id). */
  readonly #byOwner = new Map<string, Route[]>();

  constructor(port: RoutesPort) {
    this.#port = port;
  }

  /** Replaces the routes of one owner; an empty list withdraws them. */
  setOwner(owner: string, routes: Route[]): void {
    const old = this.#byOwner.get(owner) ?? [];
    const keep = new Set(routes.map((r) => r.prefix));
    for (const r of old) {
      if (!keep.has(r.prefix) && this.#set.get(r.prefix) === r) {
        this.#set.delete(r.prefix);
        this.#port.remove(r.prefix);
      }
    }
    for (const r of routes) {
      const cur = this.#set.get(r.prefix);
      if (!cur || cur.via !== r.via || cur.dev !== r.dev || cur.metric !== r.metric) {
        this.#port.set(r);
      }
      this.#set.set(r.prefix, r);
    }
    if (routes.length) this.#byOwner.set(owner, routes);
    else this.#byOwner.delete(owner);
  }

  /** Withdraws everything (engine stop). */
  clear(): void {
    for (const prefix of this.#set.keys()) this.#port.remove(prefix);
    this.#set.clear();
    this.#byOwner.clear();
  }

  get size(): number {
    return this.#set.size;
  }

  routes(): Route[] {
    return [...this.#set.values()];
  }
}
