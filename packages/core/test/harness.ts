/**
 * A tiny in-test harness (not the testkit simulator): a manual clock with a timer queue and a
 * shared medium that delivers datagrams between engines' interfaces with a fixed delay.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type RsaPrivateKey, rsaKeyFromDer } from '@bmx7/crypto';
import { fixture } from '@bmx7/testenv/env';
import type { EngineInit } from '../src/config.js';
import type { Engine } from '../src/engine.js';
import { createEngine, type PluginComponents } from '../src/engine.js';

import type { Clock, Random, Route } from '../src/ports.js';

export class ManualClock implements Clock {
  t = 0;
  #seq = 0;
  readonly #q: Array<{ at: number; seq: number; fn: () => void; dead: boolean }> = [];
  now(): number {
    return this.t;
  }
  schedule(delayMs: number, fn: () => void): () => void {
    const e = { at: this.t + Math.max(0, delayMs), seq: this.#seq++, fn, dead: false };
    this.#q.push(e);
    return () => {
      e.dead = true;
    };
  }
  /** Runs timers in order until `until`. */
  run(until: number): void {
    for (;;) {
      let best = -1;
      for (let i = 0; i < this.#q.length; i++) {
        const e = this.#q[i]!;
        if (e.dead) continue;
        if (
          best < 0 ||
          e.at < this.#q[best]!.at ||
          (e.at === this.#q[best]!.at && e.seq < this.#q[best]!.seq)
        )
          best = i;
      }
      if (best < 0 || this.#q[best]!.at > until) break;
      const e = this.#q.splice(best, 1)[0]!;
      this.t = e.at;
      e.fn();
    }
    for (let i = this.#q.length - 1; i >= 0; i--) if (this.#q[i]!.dead) this.#q.splice(i, 1);
    this.t = until;
  }
}

export function seededRandom(seed: number): Random {
  let ctr = 0;
  const block = () => createHash('sha256').update(`${seed}:${ctr++}`).digest();
  return {
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let o = 0; o < n; o += 32) out.set(block().subarray(0, Math.min(32, n - o)), o);
      return out;
    },
    float: () => block().readUInt32BE(0) / 2 ** 32,
  };
}

export const fixtureKey = (name: string): RsaPrivateKey =>
  rsaKeyFromDer(new Uint8Array(readFileSync(fixture(`keys/${name}.der`))));

export interface TestNode {
  engine: Engine;
  routes: Map<string, Route>;
  sent: Array<{ ifname: string; payload: Uint8Array; time: number }>;
  stored: { v: number | undefined };
}

/** Wires nodes by (node, ifname) pairs; `lossy` decides per datagram whether it is dropped. */
export class Medium {
  readonly clock = new ManualClock();
  readonly nodes: TestNode[] = [];
  readonly #wires = new Map<string, Array<{ node: number; ifname: string; ll: string }>>();
  readonly #ll = new Map<string, string>();
  drop: (from: number, to: number) => boolean = () => false;
  /** Everything the engines logged. */
  readonly logs: Array<{
    node: number;
    level: number;
    msg: string;
    fields: Record<string, unknown> | undefined;
  }> = [];
  delayMs = 1;

  add(init: EngineInit, ifnames: string[], seed: number, extra: PluginComponents = {}): TestNode {
    const idx = this.nodes.length;
    const routes = new Map<string, Route>();
    const stored = { v: undefined as number | undefined };
    const sent: TestNode['sent'] = [];
    const engine = createEngine(init)({
      clock: this.clock,
      random: seededRandom(seed),
      datagrams: {
        send: (ifname, payload) => {
          sent.push({ ifname, payload, time: this.clock.t });
          this.#deliver(idx, ifname, payload);
        },
      },
      routes: { set: (r) => routes.set(r.prefix, r), remove: (p) => routes.delete(p) },
      storage: { loadDescSqn: () => stored.v, saveDescSqn: (v) => (stored.v = v) },
      logger: { log: (level, msg, fields) => this.logs.push({ node: idx, level, msg, fields }) },
      ...extra,
    });
    const node = { engine, routes, sent, stored };
    this.nodes.push(node);
    const infos = ifnames.map((name, i) => {
      const ll = `fe80::${(idx + 1).toString(16)}:${(i + 1).toString(16)}`;
      this.#ll.set(`${idx}/${name}`, ll);
      return { name, ifindex: i + 2, linkLocal: ll, up: true, rateMax: 1_000_000_000n, channel: 0 };
    });
    engine.setInterfaces(infos);
    return node;
  }

  /** Connects interface a of node i with interface b of node j (a point-to-point wire). */
  connect(i: number, a: string, j: number, b: string): void {
    const k1 = `${i}/${a}`;
    const k2 = `${j}/${b}`;
    for (const [k, other, on, oif] of [
      [k1, k2, j, b],
      [k2, k1, i, a],
    ] as const) {
      let l = this.#wires.get(k);
      if (!l) {
        l = [];
        this.#wires.set(k, l);
      }
      l.push({ node: on, ifname: oif, ll: this.#ll.get(other)! });
    }
  }

  disconnect(i: number, a: string): void {
    const k = `${i}/${a}`;
    for (const p of this.#wires.get(k) ?? []) {
      const back = this.#wires.get(`${p.node}/${p.ifname}`);
      if (back)
        this.#wires.set(
          `${p.node}/${p.ifname}`,
          back.filter((x) => !(x.node === i && x.ifname === a)),
        );
    }
    this.#wires.delete(k);
  }

  #deliver(from: number, ifname: string, payload: Uint8Array): void {
    const src = this.#ll.get(`${from}/${ifname}`)!;
    for (const p of this.#wires.get(`${from}/${ifname}`) ?? []) {
      if (this.drop(from, p.node)) continue;
      const copy = payload.slice();
      this.clock.schedule(this.delayMs, () => this.nodes[p.node]!.engine.receive(p.ifname, src, copy));
    }
  }

  /** Injects a datagram into node j's interface as if from `src`. */
  inject(j: number, ifname: string, src: string, payload: Uint8Array): void {
    this.clock.schedule(this.delayMs, () => this.nodes[j]!.engine.receive(ifname, src, payload));
  }

  /** Runs the clock until the absolute virtual time `untilMs`. */
  run(untilMs: number): void {
    this.clock.run(untilMs);
  }
}
