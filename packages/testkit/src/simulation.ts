/**
 * The simulator: many engines in one process, on one virtual clock, over a simulated network.
 *
 * Each node gets the in-memory twins of every port (a clock scope, a seeded random stream, a
 * datagram port on the network, a routes table, storage and a logger) and an engine built by the
 * caller's factory, so the real core engine and toy engines plug in alike. A node's routes table,
 * storage, logger and `persistent` map outlive its engine: restart builds a new engine on them,
 * as a daemon restart finds the same kernel table, state file and key.
 *
 * Lifecycle of a node: added (engine built, interfaces set) → start → running → stop (the engine
 * withdraws its routes) or crash (timers and deliveries cut, routes left behind) → start again
 * with restart.
 */
import type { EngineComponents, EngineHandle, InterfaceInfo, LogLevel, Millis, Route } from '@bmx7/core';
import { checkRoutes, type RouteReport, type RouteView } from './checks.js';
import { type ClockScope, createVirtualClock, type VirtualClock } from './clock.js';
import { RoutingCheckError, SimCallbackError, TestkitError } from './errors.js';
import { canonicalIPv6 } from './ipv6.js';
import { createMemoryLogger, type MemoryLogger } from './logger.js';
import { createSimNetwork, type Endpoint, type LinkParams, type SimNetwork } from './network.js';
import { createSeededRandom, type SeededRandom } from './random.js';
import { createMemoryRoutes, type MemoryRoutes, type RouteChange } from './routes.js';
import { createMemoryStorage, type MemoryStorage } from './storage.js';
import {
  type Edge,
  gridTopology,
  lineTopology,
  randomGeometricTopology,
  ringTopology,
  type Topology,
} from './topology.js';

/** What a factory returns: at least the engine and the node's primary address. */
export interface SimInstance {
  engine: EngineHandle;
  /** The address other nodes route to (a /128 route to it counts as reaching this node). */
  primaryAddress: string;
}

export interface SimNodeContext {
  name: string;
  /** 0 for the first engine of this node, then 1, 2, … per restart. */
  incarnation: number;
  /** Survives restarts: keep the node's key here. */
  persistent: Map<string, unknown>;
  /** The node's interfaces at the time of the call (setInterfaces is called with them after). */
  interfaces: InterfaceInfo[];
  /** The whole-simulation clock (to read time; engines schedule through components.clock). */
  clock: VirtualClock;
  network: SimNetwork;
}

export type EngineFactory<T extends SimInstance = SimInstance> = (
  name: string,
  components: EngineComponents,
  ctx: SimNodeContext,
) => T;

export interface SimNode<T extends SimInstance = SimInstance> {
  readonly name: string;
  /** The current engine and whatever else the factory returned. */
  readonly instance: T;
  readonly engine: EngineHandle;
  /** Canonical primary address. */
  readonly primaryAddress: string;
  readonly components: EngineComponents;
  readonly routes: MemoryRoutes;
  readonly storage: MemoryStorage;
  readonly logger: MemoryLogger;
  readonly persistent: Map<string, unknown>;
  readonly running: boolean;
  readonly incarnation: number;
}

export interface SimulationInit<T extends SimInstance> {
  seed: number | string;
  engineFactory: EngineFactory<T>;
  /** Parameters of new links (default: up, no loss, 1 ms delay, no jitter). */
  link?: Partial<LinkParams>;
  /** Interface every node gets unless told otherwise (default "wlan0"). */
  defaultIface?: string;
  /** Log level of each node's memory logger (default 3, "changes"). */
  logLevel?: LogLevel;
  /** Echo every node's log lines (for debugging a test). */
  echoLogs?: boolean;
  /** Start time of the virtual clock (default 0). */
  startTime?: Millis;
  /** Log lines kept per node (default 1000). */
  maxLogLines?: number;
  /** Route changes kept per node (default 1000). */
  maxRouteChanges?: number;
}

/**
 * An interface to create: its name, and what the engine is told about its medium
 * (docs/protocol.md §4.10).
 */
export interface IfaceSpec {
  name: string;
  /** Maximum link rate in bit/s. */
  rateMax?: bigint;
  /** 0 = exclusive (wired), 1–254 = wireless channel, 255 = shared/unknown. */
  channel?: number;
}

export interface TopologyOptions {
  /** Rate and channel of the interfaces the topology creates. */
  iface?: Omit<IfaceSpec, 'name'>;
  /** Node name prefix (default "n"). */
  prefix?: string;
  /** Link parameters for the topology's links. */
  link?: Partial<LinkParams>;
  /**
   * "radio" (default): each node has one interface and every link is a point-to-point segment on
   * it, so a node's neighbours do not hear each other. "wired": a new interface (eth0, eth1, …)
   * at both ends of every link.
   */
  style?: 'radio' | 'wired';
}

export interface ChurnOptions {
  meanUpMs: Millis;
  meanDownMs: Millis;
  links?: ReadonlyArray<readonly [string, string]>;
  /** Called on every change (e.g. to record a trace). */
  onChange?: (a: string, b: string, up: boolean) => void;
}

export interface WaitConvergedOptions {
  timeoutMs: Millis;
  /** Check at most once per this many virtual ms (default 0: after every instant with events). */
  pollMs?: Millis;
  /** Also require consistent tables: no loops, dead ends, bad next hops or stale routes (default true). */
  consistent?: boolean;
}

export interface Simulation<T extends SimInstance = SimInstance> {
  readonly clock: VirtualClock;
  readonly network: SimNetwork;
  /** The root random stream (topologies draw from forks of it). */
  readonly random: SeededRandom;
  /** Adds a node with these interfaces (default: the default interface) and builds its engine. */
  addNode(name: string, options?: { ifaces?: Array<string | IfaceSpec> }): SimNode<T>;
  node(name: string): SimNode<T>;
  /** Names in the order they were added. */
  nodes(): string[];
  /** Starts one node (a stopped node is restarted with a new engine), or every node never started. */
  start(name?: string): void;
  /** Stops a node's engine (it withdraws its routes); its datagrams stop flowing. */
  stop(name: string): void;
  /** Cuts a node off as a crash would: no engine.stop(), timers dropped, routes left in its table. */
  crash(name: string): void;
  /** A new engine for the node on the same storage, routes table and persistent map; started. */
  restart(name: string, options?: { crash?: boolean }): SimNode<T>;
  /** A point-to-point link between two nodes, on their default (or named) interfaces. */
  connect(a: string, b: string, link?: Partial<LinkParams>, ifaces?: { a?: string; b?: string }): void;
  /** A shared medium among several interfaces (node names mean their default interface). */
  segment(members: readonly (string | Endpoint)[], link?: Partial<LinkParams>): void;
  /** Changes the links between two nodes (both directions, or only a → b). */
  setLink(a: string, b: string, params: Partial<LinkParams>, direction?: 'both' | 'forward'): void;
  /** Adds an interface to a node and tells its engine. */
  addIface(name: string, iface: string | IfaceSpec): void;
  /** Takes an interface up or down and tells its engine. */
  setIfaceUp(name: string, ifname: string, up: boolean): void;
  /** Pairs of nodes joined by at least one link, each pair once, in the order links were made. */
  links(): Array<[string, string]>;
  /**
   * Cuts every link between `group` and `others` (default: every node not in `group`), both
   * directions. Returns `heal`, which puts those links back as they were.
   */
  partition(group: readonly string[], others?: readonly string[]): () => void;
  /**
   * Links going up and down at random: each link (default: all of `links()`) stays up for an
   * exponentially distributed time of mean `meanUpMs`, then down for one of mean `meanDownMs`,
   * and so on, drawn from a stream of the simulation's seed. Returns `stop`, which cancels the
   * pending changes and (unless `{ leaveDown: true }`) brings every churned link back up.
   */
  churn(options: ChurnOptions): (options?: { leaveDown?: boolean }) => void;
  line(n: number, options?: TopologyOptions): string[];
  ring(n: number, options?: TopologyOptions): string[];
  grid(w: number, h: number, options?: TopologyOptions): string[];
  /** n nodes in the unit square, linked within `radius`; redrawn until connected. */
  randomGeometric(n: number, radius: number, seed?: number | string, options?: TopologyOptions): Topology;
  /** Links along the edges, adding the nodes that do not exist yet. */
  fromEdges(edges: readonly Edge[], options?: TopologyOptions): string[];
  /** Runs the clock for `ms`. */
  run(ms: Millis): void;
  routesOf(name: string): Route[];
  /** `from`'s route to `to`'s primary address. */
  routeTo(from: string, to: string): Route | undefined;
  /**
   * The nodes a packet from `from` to `to`'s primary address passes, both ends included, by
   * following next hops; undefined when that walk hits a missing route, a bad next hop or a loop.
   */
  pathOf(from: string, to: string): string[] | undefined;
  /** Every route change of every node, as it happens; returns an unsubscribe function. */
  onRouteChange(listener: (node: string, change: RouteChange) => void): () => void;
  /** The running node that owns a link-local address (undefined for none: a route without `via`). */
  nodeOfLinkLocal(address: string | undefined): string | undefined;
  /** Every running node has a route to every other running node's primary address. O(1) amortised. */
  fullyReachable(): boolean;
  /** Pairs (from, to) of running nodes where `from` has no route to `to`. */
  missingRoutes(): Array<[string, string]>;
  /** Pairs (from, to) where running `from` still routes to the primary address of `to`, which is not running. */
  staleRoutes(): Array<[string, string]>;
  /** Walks every pair of running nodes through the route tables (see checks.ts). */
  checkRoutes(): RouteReport;
  /**
   * Throws RoutingCheckError (ROUTING_LOOP) if following next hops ever revisits a node, and
   * (ROUTING_BROKEN) on dead ends or next hops that are not neighbours unless `allowDeadEnds`.
   * A next hop is a neighbour when the route's `via` belongs to an interface that `dev` reaches
   * now: on the same segment, the link up in that direction, both interfaces up.
   * Pairs without any route are fullyReachable's business, not this check's.
   */
  assertLoopFree(options?: { allowDeadEnds?: boolean }): void;
  /** Throws RoutingCheckError (NOT_REACHABLE) listing the missing routes. */
  assertFullyReachable(): void;
  /**
   * Runs until fully reachable and (unless `consistent: false`) consistent: loop-free, no dead
   * ends or bad next hops, and no running node still routing to a node that is not running.
   * Returns that virtual time, or throws SimTimeoutError.
   */
  waitConverged(options: WaitConvergedOptions): Millis;
  /** Stops every running node. */
  stopAll(): void;
}

interface NodeRecord<T extends SimInstance> {
  name: string;
  instance: T;
  primary: string;
  /** `${primary}/128`: the routes-table key of a route to this node. */
  hostKey: string;
  components: EngineComponents;
  scope: ClockScope;
  routes: MemoryRoutes;
  storage: MemoryStorage;
  logger: MemoryLogger;
  persistent: Map<string, unknown>;
  running: boolean;
  incarnation: number;
  /** Whether this engine was ever started (engines are not started twice). */
  started: boolean;
}

export function createSimulation<T extends SimInstance>(init: SimulationInit<T>): Simulation<T> {
  const clock = createVirtualClock(init.startTime ?? 0);
  const random = createSeededRandom(init.seed);
  const network = createSimNetwork({ clock, random: random.fork('network'), defaults: init.link ?? {} });
  const defaultIface = init.defaultIface ?? 'wlan0';
  const records = new Map<string, NodeRecord<T>>();
  const routeListeners = new Set<(node: string, change: RouteChange) => void>();

  // Reachability bookkeeping: `reach` counts pairs (a, b) of running nodes where a has a /128
  // route to b's primary address. Route changes update it; membership changes mark it dirty.
  /** hostKey → name of the running nodes. */
  const primaryIndex = new Map<string, string>();
  let reach = 0;
  let reachDirty = true;
  let routeVersion = 0;
  let membershipVersion = 0;
  let runningCount = 0;

  function rec(name: string): NodeRecord<T> {
    const r = records.get(name);
    if (!r) throw new TestkitError('SIM_UNKNOWN_NODE', `no node named ${JSON.stringify(name)}`);
    return r;
  }

  function recount(): void {
    primaryIndex.clear();
    runningCount = 0;
    for (const r of records.values()) {
      if (!r.running) continue;
      primaryIndex.set(r.hostKey, r.name);
      runningCount++;
    }
    reach = 0;
    for (const r of records.values()) {
      if (!r.running) continue;
      for (const [key, owner] of primaryIndex) {
        if (owner !== r.name && r.routes.table.has(key)) reach++;
      }
    }
    reachDirty = false;
  }

  function onRouteChange(r: NodeRecord<T>, op: 'set' | 'remove', prefix: string, hadPrevious: boolean): void {
    routeVersion++;
    if (reachDirty || !r.running) return;
    // Table prefixes are canonical already (the routes twin stores them so).
    const owner = primaryIndex.get(prefix);
    if (owner === undefined || owner === r.name) return;
    if (op === 'set' && !hadPrevious) reach++;
    else if (op === 'remove') reach--;
  }

  function build(
    r: Omit<NodeRecord<T>, 'instance' | 'primary' | 'hostKey' | 'components' | 'scope'>,
  ): NodeRecord<T> {
    const scope = clock.scope(r.name);
    const incarnation = r.incarnation;
    const self = { current: undefined as NodeRecord<T> | undefined };
    const components: EngineComponents = {
      clock: scope.clock,
      random: random.fork(`node/${r.name}/${incarnation}`),
      datagrams: {
        send(ifname, payload) {
          // An engine that was stopped or replaced has no voice any more.
          if (self.current?.running && records.get(r.name) === self.current)
            network.send(r.name, ifname, payload);
        },
      },
      routes: r.routes,
      storage: r.storage,
      logger: r.logger,
    };
    const interfaces = network.interfaceInfos(r.name);
    const instance = init.engineFactory(r.name, components, {
      name: r.name,
      incarnation,
      persistent: r.persistent,
      interfaces,
      clock,
      network,
    });
    const primary = canonicalIPv6(instance.primaryAddress);
    for (const other of records.values()) {
      if (other.name !== r.name && other.primary === primary) {
        throw new TestkitError(
          'SIM_BAD_ARGUMENT',
          `${r.name} and ${other.name} have the same primary address ${primary}`,
        );
      }
    }
    const full: NodeRecord<T> = {
      ...r,
      instance,
      primary,
      hostKey: `${primary}/128`,
      components,
      scope,
    };
    self.current = full;
    instance.engine.setInterfaces(interfaces);
    return full;
  }

  function startRecord(r: NodeRecord<T>): void {
    if (r.running) return;
    r.running = true;
    r.started = true;
    reachDirty = true;
    membershipVersion++;
    const engine = r.instance.engine;
    network.attach(r.name, (ifname, src, payload) => {
      try {
        engine.receive(ifname, src, payload);
      } catch (err) {
        throw new SimCallbackError(r.name, clock.now(), err);
      }
    });
    r.instance.engine.start();
  }

  function halt(r: NodeRecord<T>, crash: boolean): void {
    if (!r.running) return;
    network.attach(r.name, undefined);
    if (!crash) r.instance.engine.stop();
    r.running = false;
    r.scope.dispose();
    reachDirty = true;
    membershipVersion++;
  }

  function pushInterfaces(name: string): void {
    const r = rec(name);
    r.instance.engine.setInterfaces(network.interfaceInfos(name));
  }

  function addSpec(node: string, spec: string | IfaceSpec): void {
    if (typeof spec === 'string') {
      network.addIface(node, spec);
      return;
    }
    const { name, ...opts } = spec;
    network.addIface(node, name, opts);
  }

  function endpoint(m: string | Endpoint): Endpoint {
    return typeof m === 'string' ? { node: m, iface: defaultIface } : m;
  }

  function linkTopology(
    t: { nodes: readonly string[]; edges: readonly Edge[] },
    options: TopologyOptions,
  ): void {
    const style = options.style ?? 'radio';
    for (const name of t.nodes) {
      if (!records.has(name)) {
        sim.addNode(name, { ifaces: style === 'wired' ? [] : [{ ...options.iface, name: defaultIface }] });
      }
    }
    for (const [a, b] of t.edges) {
      if (style === 'wired') {
        const ia = `eth${network.ifaces(a).length}`;
        const ib = `eth${network.ifaces(b).length}`;
        addSpec(a, { ...options.iface, name: ia });
        addSpec(b, { ...options.iface, name: ib });
        network.connect(
          [
            { node: a, iface: ia },
            { node: b, iface: ib },
          ],
          options.link ?? {},
        );
      } else {
        network.connect([endpoint(a), endpoint(b)], options.link ?? {});
      }
    }
    if (style === 'wired') for (const name of t.nodes) pushInterfaces(name);
  }

  function freshTopology(t: Topology, options: TopologyOptions): string[] {
    for (const name of t.nodes) {
      if (records.has(name)) throw new TestkitError('SIM_BAD_ARGUMENT', `node ${name} exists already`);
    }
    linkTopology(t, options);
    return t.nodes;
  }

  const view = (): RouteView => {
    const names = [...records.values()].filter((r) => r.running).map((r) => r.name);
    return {
      nodes: names,
      nextHop(from, to) {
        const route = rec(from).routes.table.get(rec(to).hostKey);
        if (!route) return undefined;
        const owner = route.via === undefined ? undefined : network.ownerOf(route.via);
        const dev = route.dev === undefined ? undefined : network.findIface(from, route.dev);
        // The next hop must be reachable now: same segment, link up in this direction, both interfaces up.
        if (!owner || !dev || !network.adjacent(dev, owner))
          return { bad: { via: route.via ?? '', dev: route.dev ?? '' } };
        return owner.node;
      },
    };
  };

  // Consistency depends on routes, on links and interfaces, and on which nodes run.
  let checkCache: { key: string; ok: boolean } | undefined;
  let churns = 0;
  const consistentNow = (): boolean => {
    const key = `${routeVersion}/${network.version}/${membershipVersion}`;
    if (checkCache?.key !== key) {
      checkCache = {
        key,
        ok: sim.staleRoutes().length === 0 && checkRoutes(view()).problems.length === 0,
      };
    }
    return checkCache.ok;
  };

  const sim: Simulation<T> = {
    clock,
    network,
    random,
    addNode(name, options = {}) {
      network.addNode(name);
      for (const spec of options.ifaces ?? [defaultIface]) addSpec(name, spec);
      const routes = createMemoryRoutes({ clock, maxChanges: init.maxRouteChanges ?? 1000 });
      const partial = {
        name,
        routes,
        storage: createMemoryStorage(),
        logger: createMemoryLogger({
          clock,
          level: init.logLevel ?? 3,
          echo: init.echoLogs ?? false,
          prefix: `${name} `,
          maxLines: init.maxLogLines ?? 1000,
        }),
        persistent: new Map<string, unknown>(),
        running: false,
        incarnation: 0,
        started: false,
      };
      const r = build(partial);
      records.set(name, r);
      routes.onChange((c) => {
        // reachability counts the port's own table only
        if (c.table === undefined)
          onRouteChange(records.get(name)!, c.op, c.prefix, c.previous !== undefined);
        for (const l of routeListeners) l(name, c);
      });
      reachDirty = true;
      return sim.node(name);
    },
    node(name) {
      const r = rec(name);
      return {
        name,
        get instance() {
          return rec(name).instance;
        },
        get engine() {
          return rec(name).instance.engine;
        },
        get primaryAddress() {
          return rec(name).primary;
        },
        get components() {
          return rec(name).components;
        },
        routes: r.routes,
        storage: r.storage,
        logger: r.logger,
        persistent: r.persistent,
        get running() {
          return rec(name).running;
        },
        get incarnation() {
          return rec(name).incarnation;
        },
      };
    },
    nodes: () => [...records.keys()],
    start(name) {
      if (name !== undefined) {
        const r = rec(name);
        // An engine that ran once is not started again: a stopped node comes back as a new engine.
        if (r.started && !r.running) sim.restart(name);
        else startRecord(r);
        return;
      }
      for (const r of records.values()) if (!r.started) startRecord(r);
    },
    stop: (name) => halt(rec(name), false),
    crash: (name) => halt(rec(name), true),
    restart(name, options = {}) {
      const old = rec(name);
      halt(old, options.crash ?? false);
      const next = build({
        name,
        routes: old.routes,
        storage: old.storage,
        logger: old.logger,
        persistent: old.persistent,
        running: false,
        incarnation: old.incarnation + 1,
        started: false,
      });
      records.set(name, next);
      startRecord(next);
      return sim.node(name);
    },
    connect(a, b, link = {}, ifaces = {}) {
      network.connect(
        [
          endpoint(ifaces.a ? { node: a, iface: ifaces.a } : a),
          endpoint(ifaces.b ? { node: b, iface: ifaces.b } : b),
        ],
        link,
      );
    },
    segment(members, link = {}) {
      network.connect(members.map(endpoint), link);
    },
    setLink: (a, b, params, direction) => network.setLink(a, b, params, direction),
    addIface(name, spec) {
      addSpec(name, spec);
      pushInterfaces(name);
    },
    setIfaceUp(name, ifname, up) {
      network.setIfaceUp(name, ifname, up);
      pushInterfaces(name);
    },
    links() {
      const seen = new Set<string>();
      const out: Array<[string, string]> = [];
      for (const name of records.keys()) {
        for (const i of network.ifaces(name)) {
          for (const l of i.out) {
            const [a, b] = name < l.to.node ? [name, l.to.node] : [l.to.node, name];
            const key = `${a}\u0000${b}`;
            if (a === b || seen.has(key)) continue;
            seen.add(key);
            out.push([a, b]);
          }
        }
      }
      return out;
    },
    partition(group, others) {
      const inGroup = new Set(group);
      const rest = new Set(others ?? [...records.keys()].filter((n) => !inGroup.has(n)));
      const saved: Array<{ link: ReturnType<SimNetwork['linksBetween']>[number]; up: boolean }> = [];
      for (const a of inGroup) {
        for (const i of network.ifaces(a)) {
          for (const l of i.out) {
            if (!rest.has(l.to.node)) continue;
            for (const link of [l, network.linkFrom(l.to, l.from)!]) {
              saved.push({ link, up: link.params.up });
              network.setLinkParams(link, { up: false });
            }
          }
        }
      }
      return () => {
        for (const { link, up } of saved) network.setLinkParams(link, { up });
      };
    },
    churn(options) {
      if (!(options.meanUpMs > 0 && options.meanDownMs > 0)) {
        throw new TestkitError('SIM_BAD_ARGUMENT', 'churn: meanUpMs and meanDownMs must be > 0');
      }
      const stream = random.fork(`churn/${churns++}`);
      const pairs = options.links ?? sim.links();
      const cancels = new Map<number, () => void>();
      const exp = (mean: number) => -mean * Math.log(1 - stream.float());
      pairs.forEach(([a, b], k) => {
        const flip = (up: boolean) => {
          network.setLink(a, b, { up });
          options.onChange?.(a, b, up);
          cancels.set(
            k,
            clock.schedule(exp(up ? options.meanUpMs : options.meanDownMs), () => flip(!up)),
          );
        };
        cancels.set(
          k,
          clock.schedule(exp(options.meanUpMs), () => flip(false)),
        );
      });
      return (stopOptions = {}) => {
        for (const c of cancels.values()) c();
        cancels.clear();
        if (!stopOptions.leaveDown) for (const [a, b] of pairs) network.setLink(a, b, { up: true });
      };
    },
    line: (n, options = {}) => freshTopology(lineTopology(n, options.prefix), options),
    ring: (n, options = {}) => freshTopology(ringTopology(n, options.prefix), options),
    grid: (w, h, options = {}) => freshTopology(gridTopology(w, h, options.prefix), options),
    randomGeometric(n, radius, seed, options = {}) {
      const stream = seed === undefined ? random.fork(`geometric/${n}/${radius}`) : createSeededRandom(seed);
      const t = randomGeometricTopology(
        n,
        radius,
        stream,
        options.prefix === undefined ? {} : { prefix: options.prefix },
      );
      freshTopology(t, options);
      return t;
    },
    fromEdges(edges, options = {}) {
      const nodes: string[] = [];
      const seen = new Set<string>();
      for (const [a, b] of edges) {
        for (const x of [a, b]) {
          if (!seen.has(x)) {
            seen.add(x);
            nodes.push(x);
          }
        }
      }
      linkTopology({ nodes, edges }, options);
      return nodes;
    },
    run(ms) {
      clock.advance(ms);
    },
    routesOf: (name) => rec(name).routes.list(),
    routeTo: (from, to) => rec(from).routes.table.get(rec(to).hostKey),
    pathOf(from, to) {
      const v = view();
      const path = [from];
      const seen = new Set(path);
      for (let cur = from; cur !== to; ) {
        const next = v.nextHop(cur, to);
        if (typeof next !== 'string' || seen.has(next)) return undefined;
        path.push(next);
        seen.add(next);
        cur = next;
      }
      return path;
    },
    onRouteChange(listener) {
      routeListeners.add(listener);
      return () => routeListeners.delete(listener);
    },
    nodeOfLinkLocal(address) {
      const owner = address === undefined ? undefined : network.ownerOf(address);
      return owner && rec(owner.node).running ? owner.node : undefined;
    },
    fullyReachable() {
      if (reachDirty) recount();
      return reach === runningCount * (runningCount - 1);
    },
    missingRoutes() {
      const out: Array<[string, string]> = [];
      const running = [...records.values()].filter((r) => r.running);
      for (const a of running) {
        for (const b of running) {
          if (a !== b && !a.routes.table.has(b.hostKey)) out.push([a.name, b.name]);
        }
      }
      return out;
    },
    staleRoutes() {
      const out: Array<[string, string]> = [];
      const all = [...records.values()];
      const down = all.filter((r) => !r.running);
      for (const a of all) {
        if (!a.running) continue;
        for (const b of down) if (a.routes.table.has(b.hostKey)) out.push([a.name, b.name]);
      }
      return out;
    },
    checkRoutes: () => checkRoutes(view()),
    assertLoopFree(options = {}) {
      const problems = checkRoutes(view()).problems.filter((p) => p.kind !== 'unreachable');
      const loops = problems.filter((p) => p.kind === 'loop');
      if (loops.length > 0) throw new RoutingCheckError('ROUTING_LOOP', loops);
      if (!options.allowDeadEnds && problems.length > 0)
        throw new RoutingCheckError('ROUTING_BROKEN', problems);
    },
    assertFullyReachable() {
      const missing = sim.missingRoutes();
      if (missing.length > 0) {
        throw new RoutingCheckError(
          'NOT_REACHABLE',
          missing.map(([from, to]) => ({ kind: 'unreachable', from, to })),
        );
      }
    },
    waitConverged(options) {
      const consistent = options.consistent ?? true;
      const pred = () => sim.fullyReachable() && (!consistent || consistentNow());
      return clock.runUntil(
        pred,
        options.pollMs === undefined
          ? { timeoutMs: options.timeoutMs }
          : { timeoutMs: options.timeoutMs, pollMs: options.pollMs },
      );
    },
    stopAll() {
      for (const r of records.values()) halt(r, false);
    },
  };
  return sim;
}
