/**
 * The tunnel data plane behind one interface (STYLE.md rule 9): the kernel's ip6tnl, its userspace
 * twin (a TUN device and raw IPv6 sockets for next headers 4 and 41), and an in-memory twin for
 * simulations. Every backend makes devices that behave as ip6tnl in `mode any`: IPv4 and IPv6
 * packets routed into the device leave encapsulated in IPv6 from `local` to `remote`, and
 * encapsulated packets from `remote` to `local` come out of it (docs/protocol.md §4.14).
 */

/** A tunnel device as the plugin wants it. */
export interface TunnelSpec {
  /** Device name, at most 15 bytes (`X7<tunDev>`, `X7Out_<gateway short id>`). */
  readonly name: string;
  /** Outer IPv6 source address (text form). */
  readonly local: string;
  /** Outer IPv6 destination; `::` takes encapsulated packets from any remote (a gateway's device). */
  readonly remote: string;
  /** The device's MTU (tunMtu). */
  readonly mtu: number;
  /** Outer hop limit (default 64). */
  readonly hopLimit?: number;
}

export interface TunnelCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Packets dropped: not IPv4/IPv6 inside, too big, or the device's queue was full. */
  dropped: number;
}

/** A device a backend made (up, without addresses: the plugin adds those through the kernel port). */
export interface Tunnel {
  readonly name: string;
  readonly ifindex: number;
  readonly spec: TunnelSpec;
  counters(): TunnelCounters;
}

export type TunnelBackendKind = 'kernel' | 'userspace' | 'memory';

/** Stable codes of tunnel errors (STYLE.md rule 13). */
export type TunnelErrorCode =
  | 'ERR_TUNNEL_EXISTS'
  | 'ERR_TUNNEL_CREATE'
  | 'ERR_TUNNEL_MISSING'
  | 'ERR_TUNNEL_BACKEND';

export class TunnelError extends Error {
  override readonly name = 'TunnelError';
  readonly code: TunnelErrorCode;
  readonly device: string;
  constructor(code: TunnelErrorCode, device: string, message: string, options?: { cause?: unknown }) {
    super(`tunnel ${device}: ${message}`, options);
    this.code = code;
    this.device = device;
  }
}

export interface TunnelBackend {
  readonly kind: TunnelBackendKind;
  /** Creates the device and sets it up; throws TunnelError (ERR_TUNNEL_EXISTS, ERR_TUNNEL_CREATE). */
  create(spec: TunnelSpec): Promise<Tunnel>;
  /** Changes an existing device's ends, MTU or hop limit in place (ERR_TUNNEL_MISSING when absent). */
  update(spec: TunnelSpec): Promise<Tunnel>;
  /** Removes a device it made (no-op when absent). */
  remove(name: string): Promise<void>;
  /** The devices it made. */
  list(): Tunnel[];
  /** Removes every device it made and stops its workers. */
  close(): Promise<void>;
}
