/**
 * The in-memory twin of the tunnel data plane, for simulations and tests: devices live in a shared
 * namespace object (as kernel devices live in a network namespace, whichever backend made them),
 * and the namespace's hooks stand in for the kernel: `route` is a packet routed into a device,
 * `deliver` an encapsulated packet arriving, and listeners see what leaves. Encapsulation is the
 * same byte for byte as the other backends' (packet.ts; docs/protocol.md §4.14), with flow label 0.
 */
import {
  type CheckedSpec,
  checkSpec,
  decapsulate,
  encapsulate,
  IPV6_HEADER,
  matchTunnel,
  sameAddress,
} from './packet.js';
import type { Tunnel, TunnelBackend, TunnelCounters } from './types.js';
import { TunnelError } from './types.js';

export interface MemoryTunnelDevice {
  readonly name: string;
  readonly ifindex: number;
  readonly checked: CheckedSpec;
  readonly counters: TunnelCounters;
}

export interface MemoryTunnelNamespace {
  /** The devices of every backend in this namespace, by name. */
  readonly devices: ReadonlyMap<string, MemoryTunnelDevice>;
  /** Encapsulated packets that arrived for no device. */
  readonly unmatched: number;
  /** Adds an interface no backend made (as `eth0` would be), so that its name is taken. */
  reserve(name: string): void;
  /**
   * A packet the kernel routed into device `name`: encapsulated and handed to the wire listeners,
   * or dropped and counted (not IPv4/IPv6, bigger than the MTU, a device with any remote). Returns
   * the encapsulated packet, or null when dropped or when there is no such device.
   */
  route(name: string, inner: Uint8Array): Uint8Array | null;
  /**
   * An encapsulated packet arriving in this namespace: decapsulated into the device that takes it
   * (ip6tnl's order) and handed to the inner listeners. Returns that device's name, or null.
   */
  deliver(outer: Uint8Array): string | null;
  /** Listens to encapsulated packets leaving this namespace; returns the unsubscribe function. */
  onWire(listener: (outer: Uint8Array) => void): () => void;
  /** Listens to inner packets coming out of devices; returns the unsubscribe function. */
  onInner(listener: (device: string, inner: Uint8Array) => void): () => void;
}

interface Entry extends MemoryTunnelDevice {
  checked: CheckedSpec;
  readonly counters: TunnelCounters;
  readonly owner: object;
  /** Present for matchTunnel. */
  local: Uint8Array;
  remote: Uint8Array;
}

interface NamespaceState extends MemoryTunnelNamespace {
  readonly entries: Map<string, Entry>;
  readonly reserved: Set<string>;
  nextIndex(): number;
}

const state = new WeakMap<MemoryTunnelNamespace, NamespaceState>();

/** A fresh namespace, with nothing in it. */
export function createMemoryTunnelNamespace(): MemoryTunnelNamespace {
  const entries = new Map<string, Entry>();
  const reserved = new Set<string>();
  const wire = new Set<(outer: Uint8Array) => void>();
  const innerListeners = new Set<(device: string, inner: Uint8Array) => void>();
  let ifindex = 1; // lo
  let unmatched = 0;
  const ns: NamespaceState = {
    entries,
    reserved,
    devices: entries,
    get unmatched() {
      return unmatched;
    },
    nextIndex: () => ++ifindex,
    reserve(name) {
      reserved.add(name);
    },
    route(name, inner) {
      const d = entries.get(name);
      if (!d) return null;
      if (inner.length > d.checked.spec.mtu || d.remote.every((b) => b === 0)) {
        d.counters.dropped++;
        return null;
      }
      const r = encapsulate(inner, d.checked);
      if (!r.ok) {
        d.counters.dropped++;
        return null;
      }
      d.counters.txPackets++;
      d.counters.txBytes += inner.length;
      for (const l of [...wire]) l(r.value);
      return r.value;
    },
    deliver(outer) {
      if (outer.length < IPV6_HEADER) {
        unmatched++;
        return null;
      }
      const d = matchTunnel(entries.values(), outer.subarray(24, 40), outer.subarray(8, 24));
      if (!d) {
        unmatched++;
        return null;
      }
      const r = decapsulate(outer);
      if (!r.ok) {
        d.counters.dropped++;
        return null;
      }
      d.counters.rxPackets++;
      d.counters.rxBytes += r.value.inner.length;
      const inner = r.value.inner.slice();
      for (const l of [...innerListeners]) l(d.name, inner);
      return d.name;
    },
    onWire(listener) {
      wire.add(listener);
      return () => wire.delete(listener);
    },
    onInner(listener) {
      innerListeners.add(listener);
      return () => innerListeners.delete(listener);
    },
  };
  state.set(ns, ns);
  return ns;
}

/** Joins two namespaces as one link would: what leaves one arrives at the other. Returns the unlink function. */
export function linkMemoryTunnelNamespaces(a: MemoryTunnelNamespace, b: MemoryTunnelNamespace): () => void {
  const offA = a.onWire((p) => b.deliver(p));
  const offB = b.onWire((p) => a.deliver(p));
  return () => {
    offA();
    offB();
  };
}

export interface MemoryBackendOptions {
  /** Where the devices live (shared with other backends and the test). Default: a fresh one. */
  readonly namespace?: MemoryTunnelNamespace;
}

export interface MemoryBackend extends TunnelBackend {
  readonly kind: 'memory';
  readonly namespace: MemoryTunnelNamespace;
}

/** The in-memory backend. Same checks, error codes and counters as the userspace and kernel ones. */
export function createMemoryBackend(options: MemoryBackendOptions = {}): MemoryBackend {
  const namespace = options.namespace ?? createMemoryTunnelNamespace();
  const ns = state.get(namespace);
  if (!ns) throw new TypeError('namespace was not made by createMemoryTunnelNamespace');
  const owner = {};
  let closed = false;
  const mine = () => [...ns.entries.values()].filter((e) => e.owner === owner);
  const tunnelOf = (e: Entry): Tunnel => ({
    name: e.name,
    ifindex: e.ifindex,
    spec: e.checked.spec,
    counters: () => ({ ...e.counters }),
  });
  const check = (spec: Parameters<TunnelBackend['create']>[0], self?: Entry): CheckedSpec => {
    const r = checkSpec(spec);
    if (!r.ok) throw new TunnelError('ERR_TUNNEL_CREATE', spec.name, r.reason);
    for (const e of ns.entries.values()) {
      if (e === self) continue;
      if (sameAddress(e.local, r.value.local) && sameAddress(e.remote, r.value.remote)) {
        throw new TunnelError(
          'ERR_TUNNEL_EXISTS',
          spec.name,
          `device ${e.name} has the same local and remote ends`,
        );
      }
    }
    return r.value;
  };
  return {
    kind: 'memory',
    namespace,
    async create(spec) {
      if (closed) throw new TunnelError('ERR_TUNNEL_BACKEND', spec.name, 'the backend is closed');
      const taken = ns.entries.get(spec.name);
      if (taken?.owner === owner)
        throw new TunnelError('ERR_TUNNEL_EXISTS', spec.name, 'this backend made it already');
      if (taken || ns.reserved.has(spec.name)) {
        throw new TunnelError('ERR_TUNNEL_EXISTS', spec.name, 'an interface of that name exists');
      }
      const checked = check(spec);
      const e: Entry = {
        name: spec.name,
        ifindex: ns.nextIndex(),
        checked,
        local: checked.local,
        remote: checked.remote,
        owner,
        counters: { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, dropped: 0 },
      };
      ns.entries.set(spec.name, e);
      return tunnelOf(e);
    },
    async update(spec) {
      const e = ns.entries.get(spec.name);
      if (!e || e.owner !== owner) throw new TunnelError('ERR_TUNNEL_MISSING', spec.name, 'no such device');
      const checked = check(spec, e);
      e.checked = checked;
      e.local = checked.local;
      e.remote = checked.remote;
      return tunnelOf(e);
    },
    async remove(name) {
      const e = ns.entries.get(name);
      if (e?.owner === owner) ns.entries.delete(name);
    },
    list() {
      return mine().map(tunnelOf);
    },
    async close() {
      closed = true;
      for (const e of mine()) ns.entries.delete(e.name);
    },
  };
}
