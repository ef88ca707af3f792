/**
 * A toy distance-vector engine (RIP-like) that drives every port the way the real engine does:
 * timers on the clock, jitter from random, broadcasts on each interface, receptions from
 * link-local sources, routes through the routes port, a sequence number in storage, log lines.
 * It exists to test the simulator itself and to give examples; it is no part of BMX7.
 *
 * Every `helloMs` (±10 %) a node broadcasts its table on each up interface as JSON:
 * `{ a: address, q: sqn, r: [[dest, hops, viaLinkLocal], …] }`. The receiver treats entries whose
 * next hop is itself as unreachable (poisoned reverse per neighbour, which works on shared media
 * where per-interface split horizon would not), adds one hop and keeps the best; a route not
 * refreshed by its next hop within `holdMs` is dropped.
 */
import type { EngineComponents, EngineHandle, InterfaceInfo } from '@bmx7/core';

export interface ToyEngineInit {
  /** The node's primary address; others get a /128 route to it. */
  address: string;
  /** Broadcast interval (default 1000 ms). */
  helloMs?: number;
  /** Drop routes not refreshed for this long (default 3.5 × helloMs). */
  holdMs?: number;
  /** Hop count that means unreachable (default 16). */
  infinity?: number;
  /** Kernel route metric put on every route (default 1024, as the reference). */
  routeMetric?: number;
}

export interface ToyRoute {
  dest: string;
  hops: number;
  via: string;
  dev: string;
  expires: number;
}

export interface ToyEngine extends EngineHandle {
  readonly address: string;
  /** The engine's own table (the routes port mirrors it). */
  table(): ReadonlyMap<string, ToyRoute>;
  /** The sequence number this incarnation started with (loaded from storage + 1). */
  readonly sqn: number;
  /** Datagrams that failed to parse (counted, never thrown). */
  readonly badPackets: number;
}

type Entry = [dest: string, hops: number, via: string];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function createToyEngine(init: ToyEngineInit) {
  const helloMs = init.helloMs ?? 1000;
  const holdMs = init.holdMs ?? 3.5 * helloMs;
  const infinity = init.infinity ?? 16;
  const routeMetric = init.routeMetric ?? 1024;
  return (c: EngineComponents): ToyEngine => {
    const table = new Map<string, ToyRoute>();
    let interfaces: InterfaceInfo[] = [];
    let cancelTimer: (() => void) | undefined;
    let running = false;
    let badPackets = 0;
    const sqn = (c.storage.loadDescSqn() ?? 0) + 1;

    function install(r: ToyRoute): void {
      c.routes.set({ prefix: `${r.dest}/128`, via: r.via, dev: r.dev, metric: routeMetric });
    }

    function drop(dest: string, why: string): void {
      if (!table.delete(dest)) return;
      c.routes.remove(`${dest}/128`);
      c.logger.log(3, 'route removed', { dest, why });
    }

    function broadcast(): void {
      for (const i of interfaces) {
        if (!i.up) continue;
        const entries: Entry[] = [[init.address, 0, '']];
        for (const r of table.values()) entries.push([r.dest, r.hops, r.via]);
        c.datagrams.send(i.name, encoder.encode(JSON.stringify({ a: init.address, q: sqn, r: entries })));
      }
    }

    function tick(): void {
      const now = c.clock.now();
      for (const r of [...table.values()]) if (r.expires <= now) drop(r.dest, 'expired');
      broadcast();
      cancelTimer = c.clock.schedule(helloMs * (0.9 + 0.2 * c.random.float()), tick);
    }

    function receive(ifname: string, src: string, payload: Uint8Array): void {
      if (!running) return;
      const iface = interfaces.find((i) => i.name === ifname && i.up);
      if (!iface) return;
      let msg: { a: string; r: Entry[] };
      try {
        msg = JSON.parse(decoder.decode(payload));
        if (typeof msg.a !== 'string' || !Array.isArray(msg.r)) throw new Error('shape');
      } catch {
        badPackets++;
        return;
      }
      const now = c.clock.now();
      for (const e of msg.r) {
        if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') continue;
        const [dest, hops, via] = e;
        if (dest === init.address) continue;
        const cost = via === iface.linkLocal ? infinity : Math.min(infinity, hops + 1);
        const cur = table.get(dest);
        const fromNextHop = cur !== undefined && cur.via === src && cur.dev === ifname;
        if (cost >= infinity) {
          if (fromNextHop) drop(dest, 'poisoned');
          continue;
        }
        if (fromNextHop) {
          cur.expires = now + holdMs;
          if (cur.hops !== cost) cur.hops = cost;
          continue;
        }
        if (cur === undefined || cost < cur.hops) {
          const r: ToyRoute = { dest, hops: cost, via: src, dev: ifname, expires: now + holdMs };
          table.set(dest, r);
          install(r);
          c.logger.log(3, 'route set', { dest, via: src, dev: ifname, hops: cost });
        }
      }
    }

    return {
      address: init.address,
      sqn,
      get badPackets() {
        return badPackets;
      },
      table: () => table,
      start() {
        if (running) return;
        running = true;
        c.storage.saveDescSqn(sqn);
        c.logger.log(0, 'toy engine started', { address: init.address, sqn });
        cancelTimer = c.clock.schedule(c.random.float() * helloMs, tick);
      },
      stop() {
        if (!running) return;
        running = false;
        cancelTimer?.();
        for (const dest of [...table.keys()]) drop(dest, 'stopped');
        c.logger.log(0, 'toy engine stopped', { address: init.address });
      },
      receive,
      setInterfaces(next) {
        interfaces = next.map((i) => ({ ...i }));
        for (const r of [...table.values()]) {
          if (!interfaces.some((i) => i.name === r.dev && i.up)) drop(r.dest, 'interface gone');
        }
      },
    };
  };
}
