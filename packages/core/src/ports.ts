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

/** A local network interface as the engine sees it (bmx7-wire 2.1, 4.4 "devIdx", 4.10 rateMax/channel). */
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
  /** 0 = exclusive (wired), 1–254 = wireless channel, 255 = shared/unknown (bmx7-wire 4.10). */
  channel?: number;
}

/** UDP port 6270 datagrams to and from ff02::2 on one interface (bmx7-wire 2.3). */
export interface DatagramPort {
  /** Sends one UDP payload (≤ 1232 bytes) to ff02::2 port 6270 out of `ifname`, from its link-local address. */
  send(ifname: string, payload: Uint8Array): void;
}
// Receiving is the other direction: the adapter calls `Engine.receive(ifname, srcAddress, payload)`.

/** A route the engine wants in the kernel (table 70 by default, bmx7-wire 2.1). */
export interface Route {
  /** Destination prefix, e.g. "fd70:c47:6241:3b5f:b8f2:2e3d:37b0:6be/128". */
  prefix: string;
  /** Next hop: the neighbour's link-local address on `dev`. */
  via: string;
  /** Outgoing interface name. */
  dev: string;
  /** Route metric (the reference uses 1024). */
  metric: number;
}

export interface RoutesPort {
  /** Adds or replaces the route for `route.prefix`. */
  set(route: Route): void;
  /** Removes the route for `prefix` (no-op when absent). */
  remove(prefix: string): void;
}

/** Small persistent state (bmx7-wire 4.5 descSqn rules). */
export interface StoragePort {
  /** The stored descSqn counter, or undefined when there is none yet. */
  loadDescSqn(): number | undefined;
  /** Persists the descSqn counter (written at start and at every multiple of 100). */
  saveDescSqn(value: number): void;
}

/** Debug levels of the reference (bmx7-wire 5.1): 0 system, 3 changes, 4 verbose, 8 details, 12 traffic dump. */
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
