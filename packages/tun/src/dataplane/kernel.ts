/**
 * The kernel backend: ip6tnl devices in `mode any` made, changed and removed through rtnetlink
 * (@bmx7/netlink), never by spawning `ip`. The devices get the reference's parameters
 * (docs/protocol.md §4.14 "Tunnel devices"): proto 0 (IPv4 and IPv6 inside), hop limit 64 unless
 * the spec says otherwise, encapsulation limit 0 with IP6_TNL_F_IGN_ENCAP_LIMIT (linux/ip6_tunnel.h),
 * so outer packets are plain IPv6 with next header 4 or 41, as the userspace twin sends and expects.
 * Where bmx7d differs: the devices get no automatic IPv6 link-local address (see `noAutoconf`).
 *
 * Error codes: ERR_TUNNEL_EXISTS (the name is taken, or another ip6tnl device has the same local
 * and remote ends: the kernel tells tunnels apart by their ends), ERR_TUNNEL_CREATE (a bad spec, or
 * the kernel refused to make or change the device otherwise), ERR_TUNNEL_MISSING (an update of a
 * device this backend did not make or that is gone), ERR_TUNNEL_BACKEND (no ip6tnl in the kernel,
 * the netlink socket failed, the backend is closed).
 */
import { isIPv6 } from 'node:net';
import {
  createNetlinkClient,
  IFF_UP,
  IFNAMSIZ_MAX,
  IN6_ADDR_GEN_MODE_NONE,
  IP6_TNL_F_IGN_ENCAP_LIMIT,
  IP6TNL_PROTO_ANY,
  type Ip6TnlParms,
  ip6tnlParms,
  type LinkMsg,
  NETLINK_ROUTE,
  type NetlinkClient,
  NetlinkError,
  openNetlinkSocket,
  rtnlDelLink,
  rtnlGetLink,
  rtnlNewLink,
  rtnlSetLink,
} from '@bmx7/netlink';
import {
  type Tunnel,
  type TunnelBackend,
  type TunnelCounters,
  TunnelError,
  type TunnelErrorCode,
  type TunnelSpec,
} from './types.js';

/** The reference's outer hop limit (docs/protocol.md §4.14 "Tunnel devices"). */
export const KERNEL_TUNNEL_HOP_LIMIT = 64;

const EEXIST = 17;
const ENODEV = 19;
const EOPNOTSUPP = 95;
const EAFNOSUPPORT = 97;

export interface KernelBackendOptions {
  /**
   * The network namespace the devices live in: a name under /run/netns or a path such as
   * /proc/<pid>/ns/net. Default: the process's own. The netlink socket is opened there.
   */
  netns?: string | undefined;
  /** An rtnetlink client to use instead of opening a socket (the in-memory twin in tests). */
  client?: NetlinkClient | undefined;
}

/** The ip6tnl parameters of a spec, as the reference sets them (docs/protocol.md §4.14). */
export function kernelTunnelParms(spec: TunnelSpec): Ip6TnlParms {
  return ip6tnlParms({
    local: spec.local,
    remote: spec.remote,
    hopLimit: spec.hopLimit ?? KERNEL_TUNNEL_HOP_LIMIT,
    encapLimit: 0,
    flags: IP6_TNL_F_IGN_ENCAP_LIMIT,
    proto: IP6TNL_PROTO_ANY,
  });
}

/** Why a spec cannot be a device, or undefined when it can. */
export function kernelSpecProblem(spec: TunnelSpec): string | undefined {
  const name = spec.name;
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > IFNAMSIZ_MAX)
    return `name must be 1 to ${IFNAMSIZ_MAX} bytes`;
  if (/[\s/:]/.test(name) || name === '.' || name === '..') return 'name must not contain spaces, "/" or ":"';
  if (!isIPv6(spec.local)) return `local ${JSON.stringify(spec.local)} is not an IPv6 address`;
  if (!isIPv6(spec.remote)) return `remote ${JSON.stringify(spec.remote)} is not an IPv6 address`;
  if (!Number.isInteger(spec.mtu) || spec.mtu < 68 || spec.mtu > 65535)
    return `mtu ${spec.mtu} is not 68 to 65535`;
  const hop = spec.hopLimit;
  if (hop !== undefined && (!Number.isInteger(hop) || hop < 1 || hop > 255))
    return `hop limit ${hop} is not 1 to 255`;
  return undefined;
}

function errnoOf(err: unknown): number | undefined {
  return err instanceof NetlinkError ? err.errno : undefined;
}

function counters(l: LinkMsg | undefined): TunnelCounters | undefined {
  const s = l?.stats;
  if (!s) return undefined;
  return {
    rxPackets: s.rxPackets,
    rxBytes: s.rxBytes,
    txPackets: s.txPackets,
    txBytes: s.txBytes,
    dropped: s.rxDropped + s.txDropped,
  };
}

const ZERO: TunnelCounters = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, dropped: 0 };

class KernelTunnel implements Tunnel {
  last: TunnelCounters = ZERO;
  constructor(
    readonly name: string,
    readonly ifindex: number,
    readonly spec: TunnelSpec,
    private readonly read: (t: KernelTunnel) => TunnelCounters | undefined,
  ) {}
  counters(): TunnelCounters {
    // Read from the kernel each time; a device that is gone, or a closed backend, keeps its last values.
    const now = this.read(this);
    if (now) this.last = now;
    return { ...this.last };
  }
}

export function createKernelBackend(options: KernelBackendOptions = {}): TunnelBackend {
  let client: NetlinkClient | undefined = options.client;
  let closed = false;
  const devices = new Map<string, KernelTunnel>();

  const fail = (code: TunnelErrorCode, device: string, message: string, cause?: unknown): TunnelError =>
    new TunnelError(code, device, message, cause === undefined ? undefined : { cause });

  const rt = (device: string): NetlinkClient => {
    if (closed) throw fail('ERR_TUNNEL_BACKEND', device, 'the kernel tunnel backend is closed');
    try {
      client ??= createNetlinkClient(
        openNetlinkSocket(NETLINK_ROUTE, options.netns ? { netns: options.netns } : {}),
      );
    } catch (err) {
      throw fail('ERR_TUNNEL_BACKEND', device, `cannot open rtnetlink: ${String(err)}`, err);
    }
    return client;
  };

  /** Maps a netlink failure: an errno is the kernel refusing (`refused`), anything else the backend failing. */
  const netlinkFailure = (
    device: string,
    what: string,
    err: unknown,
    refused: TunnelErrorCode,
  ): TunnelError => {
    if (err instanceof TunnelError) return err;
    const errno = errnoOf(err);
    const msg = err instanceof Error ? err.message : String(err);
    if (errno === EOPNOTSUPP)
      return fail('ERR_TUNNEL_BACKEND', device, `${what}: the kernel has no ip6tnl (${msg})`, err);
    if (errno !== undefined) return fail(refused, device, `${what}: ${msg}`, err);
    return fail('ERR_TUNNEL_BACKEND', device, `${what}: ${msg}`, err);
  };

  const readCounters = (t: KernelTunnel): TunnelCounters | undefined => {
    if (closed || !client || devices.get(t.name) !== t) return undefined;
    try {
      return counters(rtnlGetLink(client, { index: t.ifindex }));
    } catch {
      return undefined;
    }
  };

  const checkSpec = (spec: TunnelSpec, code: TunnelErrorCode) => {
    const problem = kernelSpecProblem(spec);
    if (problem) throw fail(code, String(spec?.name), problem);
  };

  /** Sets the MTU and the up flag; ip6tnl may recompute the MTU from the route to the remote on a change. */
  const mtuUp = (c: NetlinkClient, index: number, mtu: number) =>
    rtnlSetLink(c, { index, mtu, flags: IFF_UP, change: IFF_UP });

  /**
   * No automatic link-local address: the kernel would otherwise send MLD reports and DAD probes of
   * its own through the tunnel as it comes up (counted as sent, or as dropped while the local end is
   * not yet an address of the node). The plugin adds the addresses a tunnel needs. A device with an
   * MTU below 1280 has no IPv6 at all (EAFNOSUPPORT), so nothing to turn off.
   */
  const noAutoconf = (c: NetlinkClient, index: number) => {
    try {
      rtnlSetLink(c, { index, addrGenMode: IN6_ADDR_GEN_MODE_NONE });
    } catch (err) {
      if (errnoOf(err) !== EAFNOSUPPORT) throw err;
    }
  };

  async function remove(name: string): Promise<void> {
    const t = devices.get(name);
    if (!t) return;
    const c = rt(name);
    try {
      rtnlDelLink(c, { index: t.ifindex });
    } catch (err) {
      if (errnoOf(err) !== ENODEV)
        throw netlinkFailure(name, 'cannot delete the device', err, 'ERR_TUNNEL_BACKEND');
    }
    devices.delete(name);
  }

  return {
    kind: 'kernel',

    async create(spec) {
      checkSpec(spec, 'ERR_TUNNEL_CREATE');
      const c = rt(spec.name);
      if (devices.has(spec.name)) throw fail('ERR_TUNNEL_EXISTS', spec.name, 'this backend already made it');
      try {
        rtnlNewLink(c, { name: spec.name, mtu: spec.mtu, ip6tnl: kernelTunnelParms(spec) });
      } catch (err) {
        if (errnoOf(err) === EEXIST) {
          // EEXIST is a taken name, or another ip6tnl device with the same two ends (ip6_tunnel.c
          // finds a device for a received packet by its ends, so they must be unique).
          let taken: LinkMsg | undefined;
          try {
            taken = rtnlGetLink(c, { name: spec.name });
          } catch {
            taken = undefined;
          }
          if (taken) throw fail('ERR_TUNNEL_EXISTS', spec.name, 'a device of that name exists', err);
          throw fail(
            'ERR_TUNNEL_EXISTS',
            spec.name,
            `another ip6tnl device has the same ends (local ${spec.local} remote ${spec.remote})`,
            err,
          );
        }
        throw netlinkFailure(spec.name, 'cannot create the ip6tnl device', err, 'ERR_TUNNEL_CREATE');
      }
      let index = 0;
      try {
        const link = rtnlGetLink(c, { name: spec.name });
        if (!link) throw fail('ERR_TUNNEL_CREATE', spec.name, 'the device vanished right after it was made');
        index = link.index;
        noAutoconf(c, index); // before IFF_UP, which would make the link-local address at once
        mtuUp(c, index, spec.mtu);
      } catch (err) {
        // Never leave a half-made device behind.
        try {
          rtnlDelLink(c, index ? { index } : { name: spec.name });
        } catch {
          // gone already
        }
        throw netlinkFailure(spec.name, 'cannot set the device up', err, 'ERR_TUNNEL_CREATE');
      }
      const t = new KernelTunnel(spec.name, index, { ...spec }, readCounters);
      devices.set(spec.name, t);
      return t;
    },

    async update(spec) {
      const old = devices.get(spec?.name);
      if (!old) {
        if (closed)
          throw fail('ERR_TUNNEL_BACKEND', String(spec?.name), 'the kernel tunnel backend is closed');
        throw fail('ERR_TUNNEL_MISSING', String(spec?.name), 'this backend made no such device');
      }
      checkSpec(spec, 'ERR_TUNNEL_CREATE');
      const c = rt(spec.name);
      try {
        // The kind's changelink replaces every ip6tnl parameter; ENODEV when the device is gone.
        rtnlSetLink(c, { index: old.ifindex, ip6tnl: kernelTunnelParms(spec) });
        mtuUp(c, old.ifindex, spec.mtu);
        // An MTU raised to 1280 or more gives a device IPv6 only now (with the kernel's default mode).
        noAutoconf(c, old.ifindex);
      } catch (err) {
        if (errnoOf(err) === ENODEV) {
          devices.delete(spec.name);
          throw fail('ERR_TUNNEL_MISSING', spec.name, 'the device is gone', err);
        }
        if (errnoOf(err) === EEXIST) {
          throw fail(
            'ERR_TUNNEL_EXISTS',
            spec.name,
            `another ip6tnl device has the same ends (local ${spec.local} remote ${spec.remote})`,
            err,
          );
        }
        throw netlinkFailure(spec.name, 'cannot change the ip6tnl device', err, 'ERR_TUNNEL_CREATE');
      }
      const t = new KernelTunnel(spec.name, old.ifindex, { ...spec }, readCounters);
      t.last = old.last;
      devices.set(spec.name, t);
      return t;
    },

    remove,

    list() {
      return [...devices.values()];
    },

    async close() {
      if (closed) return;
      const failures: TunnelError[] = [];
      for (const name of [...devices.keys()]) {
        try {
          await remove(name);
        } catch (err) {
          failures.push(
            err instanceof TunnelError ? err : fail('ERR_TUNNEL_BACKEND', name, String(err), err),
          );
        }
      }
      closed = true;
      devices.clear();
      if (!options.client) client?.close();
      client = undefined;
      const first = failures[0];
      if (first)
        throw fail('ERR_TUNNEL_BACKEND', first.device, `cannot remove every device: ${first.message}`, first);
    },
  };
}

let probeSeq = 0;

/**
 * Why this kernel cannot make ip6tnl devices (in `netns`, or the process's namespace), or undefined
 * when it can. It makes a throw-away ip6tnl device and deletes it at once: that loads the ip6_tunnel
 * module where the kernel has it as a module (as the reference's first tunnel would), and checks
 * permission too. EEXIST counts as available (the kind is known; only the name or ends clash).
 */
export function kernelTunnelsUnavailableReason(options: KernelBackendOptions = {}): string | undefined {
  let c = options.client;
  try {
    c ??= createNetlinkClient(
      openNetlinkSocket(NETLINK_ROUTE, options.netns ? { netns: options.netns } : {}),
    );
  } catch (err) {
    return `cannot open rtnetlink: ${err instanceof Error ? err.message : String(err)}`;
  }
  const tag = `${process.pid.toString(36)}${(probeSeq++).toString(36)}`.slice(-8);
  const name = `b7p6${tag}`;
  const rand = () => Math.floor(Math.random() * 0x10000).toString(16);
  // Ends no real tunnel uses: the collision check of ip6tnl is on (local, remote) pairs.
  const parms = ip6tnlParms({
    local: '::',
    remote: `fdb7:${rand()}:${rand()}:${rand()}::b7`,
    proto: IP6TNL_PROTO_ANY,
  });
  try {
    try {
      rtnlNewLink(c, { name, ip6tnl: parms });
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === EEXIST) return undefined;
      if (errno === EOPNOTSUPP) return 'the kernel has no ip6tnl (no ip6_tunnel module)';
      return `cannot create an ip6tnl device: ${err instanceof Error ? err.message : String(err)}`;
    }
    try {
      rtnlDelLink(c, { name });
    } catch (err) {
      return `made a probe ip6tnl device but cannot delete ${name}: ${err instanceof Error ? err.message : String(err)}`;
    }
    return undefined;
  } finally {
    if (!options.client) c.close();
  }
}

/** Whether the kernel backend can work here (the tunnel plugin's `auto` choice). */
export function kernelTunnelsAvailable(options: KernelBackendOptions = {}): boolean {
  return kernelTunnelsUnavailableReason(options) === undefined;
}
