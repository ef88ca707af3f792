/**
 * The engine's ports (DESIGN.md "Data flow", STYLE.md rules 9 and 10). The engine does no I/O of its
 * own: everything it needs from the outside world comes through these interfaces, each with an
 * in-memory twin in @bmx7/testkit and a Linux adapter in apps/bmx7d.
 */

/** Milliseconds on a monotonic clock; virtual in the simulator. */
export type Millis = number;

export interface Clock {
  /** Current monotonic time in milliseconds. */
  now(): Millis;
  /** Runs `fn` once, `delayMs` from now (≥ 0). Returns a function that cancels it (idempotent). */
  schedule(delayMs: Millis, fn: () => void): () => void;
}

export interface Random {
  /** `n` cryptographically strong random bytes (keys, hash-chain seeds, nonces). */
  bytes(n: number): Uint8Array;
  /** A uniform number in [0, 1) for jitter and start values; may be seeded in tests. */
  float(): number;
}

/** A local network interface as the engine sees it (docs/protocol.md §2.1, §4.4 "devIdx", §4.10 rateMax/channel). */
export interface InterfaceInfo {
  /** Kernel interface name, e.g. "eth1". */
  name: string;
  /** Kernel ifindex (stable while the interface exists). */
  ifindex: number;
  /** The interface's link-local IPv6 address (fe80::/10) in canonical text form; packets leave from it. */
  linkLocal: string;
  /** Administratively and operationally up, with the link-local address usable. */
  up: boolean;
  /** Maximum link rate in bit/s (LAN default 1000M; WLAN 56M). */
  rateMax?: bigint;
  /** 0 = exclusive (wired), 1–254 = wireless channel, 255 = shared/unknown (docs/protocol.md §4.10). */
  channel?: number;
}

/** UDP port 6270 datagrams to and from ff02::2 on one interface (docs/protocol.md §2.3). */
export interface DatagramPort {
  /** Sends one UDP payload (≤ 1232 bytes) to ff02::2 port 6270 out of `ifname`, from its link-local address. */
  send(ifname: string, payload: Uint8Array): void;
}
// Receiving is the other direction: the adapter calls `Engine.receive(ifname, srcAddress, payload)`.

/** An address family: IPv4 or IPv6. */
export type IpFamily = 4 | 6;

/**
 * What a route does with the packets it matches (the kernel's RTN_* route types): `unicast`
 * forwards them via `via` and/or out of `dev`; `unreachable` and `prohibit` drop them with an ICMP
 * error; `blackhole` drops them silently; `throw` ends the lookup in this table, so the next
 * policy rule is tried.
 */
export type RouteType = 'unicast' | 'unreachable' | 'blackhole' | 'prohibit' | 'throw';

/**
 * A route the engine or a plugin wants in the kernel (table 70 by default, docs/protocol.md §2.1).
 * Its identity is the kernel's: (family, table, prefix, metric) — see `RouteKey`. A route with
 * the same identity replaces it; one that differs in any of them is another route.
 */
export interface Route {
  /**
   * Destination prefix, IPv4 or IPv6 (the family follows from it), e.g.
   * "fd70:c47:6241:3b5f:b8f2:2e3d:37b0:6be/128" or "10.20.0.0/16". Give it in canonical form
   * (RFC 5952, host bits clear): `RouteExport` compares prefixes as text.
   */
  prefix: string;
  /** Next hop of the prefix's family (a neighbour's link-local address on `dev`); absent: a device route. */
  via?: string;
  /** Outgoing interface name; absent only for non-unicast types (or when the kernel may resolve `via`). */
  dev?: string;
  /** Route metric (the reference uses 1024). Part of the identity. */
  metric: number;
  /** Routing table id (1 … 2³²−1); absent: the port's table (70 in bmx7d). Part of the identity. */
  table?: number;
  /** Preferred source address for packets the node itself sends this way (`ip route … src`); must be local. */
  src?: string;
  /** Absent: `unicast`. */
  type?: RouteType;
}

/**
 * The part of a route that identifies it in the kernel (with the family of `prefix`). Without
 * `metric` it means every route to `prefix` in that table.
 */
export interface RouteKey {
  prefix: string;
  /** Absent: the port's table. */
  table?: number;
  metric?: number;
}

export interface RoutesPort {
  /** Adds the route, or replaces the one with the same (family, table, prefix, metric). */
  set(route: Route): void;
  /** Removes every route to `prefix` in the port's table, whatever its metric (no-op when absent). */
  remove(prefix: string): void;
  /**
   * Removes the route with this key (a `Route` is one; every metric when `key.metric` is absent);
   * no-op when absent. Ports written before tables and metrics were part of a route's identity lack
   * it, and `RouteExport` falls back to `remove(prefix)` for them.
   */
  removeKey?(key: RouteKey): void;
}

/**
 * A policy-routing rule: packets that match every selector given are looked up in `table`
 * (`ip rule add pref P from S to D iif I oif O lookup T`). Its identity is all of its fields.
 */
export interface Rule {
  family: IpFamily;
  /** Preference (`pref`): lower first. The reference's routing rule is pref 70 lookup 70. */
  priority: number;
  /** Table looked up. */
  table: number;
  /** Source prefix of the family (`from`); absent: from all. */
  from?: string;
  /** Destination prefix of the family (`to`); absent: to all. */
  to?: string;
  /** Input interface (`iif`; "lo" for the node's own packets). */
  iif?: string;
  /** Output interface (`oif`, for sockets bound to a device). */
  oif?: string;
}

export interface RulesPort {
  /** Adds the rule (no-op when the same rule is there already). */
  add(rule: Rule): void;
  /** Removes the rule with exactly these fields (no-op when absent). */
  remove(rule: Rule): void;
}

/** Small persistent state (docs/protocol.md §4.5 descSqn rules). */
export interface StoragePort {
  /** The stored descSqn counter, or undefined when there is none yet. */
  loadDescSqn(): number | undefined;
  /** Persists the descSqn counter (written at start and at every multiple of 100). */
  saveDescSqn(value: number): void;
}

/** Debug levels of the reference (docs/protocol.md §5.1): 0 system, 3 changes, 4 verbose, 8 details, 12 traffic dump. */
export type LogLevel = 0 | 1 | 2 | 3 | 4 | 5 | 8 | 11 | 12;

export interface Logger {
  /** Never pass private keys or secrets in `msg` or `fields`. */
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

/** Everything an engine needs from outside; `createEngine(init)(components)`. */
export interface EngineComponents {
  clock: Clock;
  random: Random;
  datagrams: DatagramPort;
  routes: RoutesPort;
  storage: StoragePort;
  logger: Logger;
}

/**
 * What a host (the daemon, or the testkit simulator) needs of a running engine. The engine
 * implements more (show tables, plugins, reconfiguration); this is the part the I/O side drives.
 */
export interface EngineHandle {
  /** Starts timers and transmission; the engine may send from now on. */
  start(): void;
  /** Stops all timers; withdraws every route it set through the routes port. */
  stop(): void;
  /** One received UDP payload from `src` (an IPv6 address in text form) on interface `ifname`. */
  receive(ifname: string, src: string, payload: Uint8Array): void;
  /** The current set of interfaces configured for BMX7 (replaces the previous set). */
  setInterfaces(interfaces: InterfaceInfo[]): void;
}
