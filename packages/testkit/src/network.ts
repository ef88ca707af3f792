/**
 * The datagram port's twin: a simulated layer 2 on the virtual clock.
 *
 * Nodes have named interfaces, each with a unique link-local address. Interfaces are joined by
 * segments: a segment of two members is a point-to-point link, more members make a shared medium.
 * A datagram sent on an interface reaches every other member of every segment the interface is on
 * (BMX7 sends to ff02::2, docs/protocol.md §2.3), each copy through its own directed link with its own
 * loss probability, delay and jitter, so links can be asymmetric. An interface on several
 * two-member segments models a radio whose neighbours do not hear each other.
 *
 * Packets are never thrown on: every copy is counted as delivered, lost (the loss dice) or dropped
 * (link, interface or receiver down).
 */
import type { DatagramPort, InterfaceInfo, Millis } from '@bmx7/core';
import type { VirtualClock } from './clock.js';
import { TestkitError } from './errors.js';
import { canonicalIPv6, formatIPv6 } from './ipv6.js';
import type { SeededRandom } from './random.js';

/** One direction of a link. */
export interface LinkParams {
  /** Whether packets pass at all. */
  up: boolean;
  /** Probability in [0, 1] that a packet is lost. */
  loss: number;
  /** Fixed one-way delay. */
  delayMs: Millis;
  /** Extra delay, uniform in [0, jitterMs); packets may overtake each other. */
  jitterMs: Millis;
}

export const DEFAULT_LINK_PARAMS: Readonly<LinkParams> = Object.freeze({
  up: true,
  loss: 0,
  delayMs: 1,
  jitterMs: 0,
});

/** Largest UDP payload that fits the IPv6 minimum MTU (docs/protocol.md §2.3); bigger ones are counted. */
export const MAX_DATAGRAM = 1232;

export type Receiver = (ifname: string, src: string, payload: Uint8Array) => void;

export interface Endpoint {
  node: string;
  iface: string;
}

export interface SimIface {
  readonly node: string;
  readonly name: string;
  readonly ifindex: number;
  readonly linkLocal: string;
  up: boolean;
  rateMax?: bigint;
  channel?: number;
  /** Directed links leaving this interface. */
  readonly out: readonly DirectedLink[];
}

export interface LinkCounters {
  /** Copies offered to this direction. */
  packets: number;
  bytes: number;
  delivered: number;
  deliveredBytes: number;
  /** Copies lost to the loss probability. */
  lost: number;
  /** Copies dropped because the link, an interface or the receiving node was down. */
  dropped: number;
}

export interface DirectedLink {
  readonly from: SimIface;
  readonly to: SimIface;
  readonly segment: Segment;
  params: LinkParams;
  readonly counters: LinkCounters;
}

export interface Segment {
  readonly id: number;
  readonly members: readonly SimIface[];
  readonly links: readonly DirectedLink[];
}

export interface NodeCounters {
  /** Datagrams sent (one per send call, whatever the number of receivers). */
  txPackets: number;
  txBytes: number;
  /** Datagrams delivered to this node. */
  rxPackets: number;
  rxBytes: number;
  /** Copies of this node's datagrams lost to link loss. */
  lost: number;
  /** Copies of this node's datagrams dropped (link, interface or receiver down). */
  dropped: number;
  /** Datagrams sent larger than MAX_DATAGRAM (still delivered). */
  oversize: number;
}

/** What `onPacket` listeners see. `payload` is the datagram (shared: do not modify it). */
export type PacketEvent =
  | { kind: 'send'; at: Millis; from: SimIface; bytes: number; payload: Uint8Array }
  | {
      kind: 'deliver' | 'lose' | 'drop';
      at: Millis;
      from: SimIface;
      to: SimIface;
      bytes: number;
      payload: Uint8Array;
    };

export interface SimNetwork {
  readonly clock: VirtualClock;
  addNode(name: string): void;
  hasNode(name: string): boolean;
  nodes(): string[];
  /** Adds an interface (up) with a fresh unique link-local address unless one is given. */
  addIface(
    node: string,
    ifname: string,
    opts?: { linkLocal?: string; rateMax?: bigint; channel?: number },
  ): SimIface;
  iface(node: string, ifname: string): SimIface;
  /** Like `iface`, undefined instead of an error. */
  findIface(node: string, ifname: string): SimIface | undefined;
  ifaces(node: string): readonly SimIface[];
  /** The node's interfaces as the engine's port describes them. */
  interfaceInfos(node: string): InterfaceInfo[];
  setIfaceUp(node: string, ifname: string, up: boolean): void;
  /** Joins interfaces into a segment; each ordered pair gets a directed link with `params`. */
  connect(members: readonly Endpoint[], params?: Partial<LinkParams>): Segment;
  /** Directed links from any interface of node `from` to any interface of node `to`. */
  linksBetween(from: string, to: string): DirectedLink[];
  /** Changes the parameters of one directed link. */
  setLinkParams(link: DirectedLink, params: Partial<LinkParams>): void;
  /** Counts changes of the topology (links, their parameters, interfaces); lets checks cache results. */
  readonly version: number;
  /** Changes the parameters of the links between two nodes: both directions, or only from `a` to `b`. */
  setLink(a: string, b: string, params: Partial<LinkParams>, direction?: 'both' | 'forward'): void;
  /** The interface that owns a link-local address (canonical or not). */
  ownerOf(linkLocal: string): SimIface | undefined;
  /** Whether a datagram from `from` can currently reach `to` (same segment, link and both interfaces up). */
  adjacent(from: SimIface, to: SimIface): boolean;
  /** The directed link from one interface to another, if they share a segment (up or not). */
  linkFrom(from: SimIface, to: SimIface): DirectedLink | undefined;
  /** Where this node's received datagrams go; undefined detaches (datagrams to it are then dropped). */
  attach(node: string, receiver: Receiver | undefined): void;
  /** Sends one datagram out of `node`'s `ifname` to everyone on its segments. */
  send(node: string, ifname: string, payload: Uint8Array): void;
  /**
   * Hands `payload` to `node`'s receiver on `ifname` after `delayMs` (default 0) as if it came
   * from `src`, whoever that is: forged, replayed or malformed traffic for robustness tests.
   * Dropped (and counted) when the interface is down or the node detached at that time. Not
   * reported to `onPacket` listeners (it crossed no link).
   */
  inject(node: string, ifname: string, src: string, payload: Uint8Array, delayMs?: Millis): void;
  /** A DatagramPort for one node (what the engine gets as `components.datagrams`). */
  datagramPort(node: string): DatagramPort;
  counters(node: string): Readonly<NodeCounters>;
  totals(): NodeCounters;
  /** Zeroes every node and link counter (e.g. after a warm-up). */
  resetCounters(): void;
  /** Observes every send, delivery, loss and drop; returns an unsubscribe function. */
  onPacket(listener: (event: PacketEvent) => void): () => void;
}

export interface SimNetworkInit {
  clock: VirtualClock;
  /** Drives loss and jitter. */
  random: SeededRandom;
  /** Parameters of new links (default DEFAULT_LINK_PARAMS). */
  defaults?: Partial<LinkParams>;
}

interface NodeState {
  index: number;
  ifaces: Map<string, MutableIface>;
  nextIfindex: number;
  receiver: Receiver | undefined;
  counters: NodeCounters;
}

interface MutableIface extends SimIface {
  owner: NodeState;
  out: DirectedLink[];
  outByTarget: Map<SimIface, DirectedLink>;
}

const zeroNode = (): NodeCounters => ({
  txPackets: 0,
  txBytes: 0,
  rxPackets: 0,
  rxBytes: 0,
  lost: 0,
  dropped: 0,
  oversize: 0,
});
const zeroLink = (): LinkCounters => ({
  packets: 0,
  bytes: 0,
  delivered: 0,
  deliveredBytes: 0,
  lost: 0,
  dropped: 0,
});

function checkParams(p: Partial<LinkParams>): void {
  if (p.loss !== undefined && !(p.loss >= 0 && p.loss <= 1)) {
    throw new TestkitError('SIM_BAD_ARGUMENT', `loss must be in [0, 1], got ${p.loss}`);
  }
  for (const k of ['delayMs', 'jitterMs'] as const) {
    const v = p[k];
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) {
      throw new TestkitError('SIM_BAD_ARGUMENT', `${k} must be a finite number ≥ 0, got ${v}`);
    }
  }
}

export function createSimNetwork(init: SimNetworkInit): SimNetwork {
  const { clock, random } = init;
  checkParams(init.defaults ?? {});
  const defaults: LinkParams = { ...DEFAULT_LINK_PARAMS, ...init.defaults };
  const nodes = new Map<string, NodeState>();
  const owners = new Map<string, MutableIface>();
  const segments: Segment[] = [];
  const listeners = new Set<(e: PacketEvent) => void>();
  let version = 0;

  function node(name: string): NodeState {
    const n = nodes.get(name);
    if (!n) throw new TestkitError('SIM_UNKNOWN_NODE', `no node named ${JSON.stringify(name)}`);
    return n;
  }

  function iface(nodeName: string, ifname: string): MutableIface {
    const i = node(nodeName).ifaces.get(ifname);
    if (!i) throw new TestkitError('SIM_UNKNOWN_IFACE', `node ${nodeName} has no interface ${ifname}`);
    return i;
  }

  function emit(e: PacketEvent): void {
    for (const l of listeners) l(e);
  }

  function deliver(link: DirectedLink, payload: Uint8Array): void {
    const to = link.to as MutableIface;
    const receiver = to.owner.receiver;
    if (!to.up || !receiver) {
      link.counters.dropped++;
      (link.from as MutableIface).owner.counters.dropped++;
      if (listeners.size)
        emit({ kind: 'drop', at: clock.now(), from: link.from, to, bytes: payload.length, payload });
      return;
    }
    link.counters.delivered++;
    link.counters.deliveredBytes += payload.length;
    const rc = to.owner.counters;
    rc.rxPackets++;
    rc.rxBytes += payload.length;
    if (listeners.size)
      emit({ kind: 'deliver', at: clock.now(), from: link.from, to, bytes: payload.length, payload });
    receiver(to.name, link.from.linkLocal, payload);
  }

  function send(nodeName: string, ifname: string, payload: Uint8Array): void {
    const from = iface(nodeName, ifname);
    const st = from.owner;
    const size = payload.length;
    st.counters.txPackets++;
    st.counters.txBytes += size;
    if (size > MAX_DATAGRAM) st.counters.oversize++;
    // One copy, taken now (the sender may reuse its buffer), shared by the receivers and the
    // listeners: engines must not modify a received payload.
    const data = payload.slice();
    if (listeners.size) emit({ kind: 'send', at: clock.now(), from, bytes: size, payload: data });
    // Copies due at the same time go out as one event, in link order, which is what separate
    // events with consecutive sequence numbers would do.
    let batch: DirectedLink[] | undefined;
    let batchDelay = 0;
    for (const link of from.out) {
      const c = link.counters;
      c.packets++;
      c.bytes += size;
      const p = link.params;
      if (!p.up || !from.up) {
        c.dropped++;
        st.counters.dropped++;
        if (listeners.size)
          emit({ kind: 'drop', at: clock.now(), from, to: link.to, bytes: size, payload: data });
        continue;
      }
      if (p.loss > 0 && random.float() < p.loss) {
        c.lost++;
        st.counters.lost++;
        if (listeners.size)
          emit({ kind: 'lose', at: clock.now(), from, to: link.to, bytes: size, payload: data });
        continue;
      }
      const delay = p.jitterMs > 0 ? p.delayMs + random.float() * p.jitterMs : p.delayMs;
      if (batch === undefined) {
        batch = [link];
        batchDelay = delay;
      } else if (delay === batchDelay) {
        batch.push(link);
      } else {
        clock.post(delay, () => deliver(link, data));
      }
    }
    if (batch !== undefined) {
      const links = batch;
      if (links.length === 1) clock.post(batchDelay, () => deliver(links[0]!, data));
      else
        clock.post(batchDelay, () => {
          for (const l of links) deliver(l, data);
        });
    }
  }

  function matchLinks(from: string, to: string): DirectedLink[] {
    const out: DirectedLink[] = [];
    for (const i of node(from).ifaces.values()) {
      for (const l of i.out) if (l.to.node === to) out.push(l);
    }
    return out;
  }

  const net: SimNetwork = {
    clock,
    addNode(name) {
      if (nodes.has(name)) throw new TestkitError('SIM_BAD_ARGUMENT', `node ${name} exists already`);
      nodes.set(name, {
        index: nodes.size + 1,
        ifaces: new Map(),
        nextIfindex: 2,
        receiver: undefined,
        counters: zeroNode(),
      });
    },
    hasNode: (name) => nodes.has(name),
    nodes: () => [...nodes.keys()],
    addIface(nodeName, ifname, opts = {}) {
      const st = node(nodeName);
      if (st.ifaces.has(ifname))
        throw new TestkitError('SIM_BAD_ARGUMENT', `${nodeName} has ${ifname} already`);
      const ifindex = st.nextIfindex++;
      // fe80::<node index, 32 bits>:<ifindex>, unique in the simulation.
      const linkLocal = canonicalIPv6(
        opts.linkLocal ??
          formatIPv6([0xfe80, 0, 0, 0, 0, (st.index >>> 16) & 0xffff, st.index & 0xffff, ifindex]),
      );
      if (owners.has(linkLocal))
        throw new TestkitError('SIM_BAD_ARGUMENT', `link-local ${linkLocal} is taken`);
      const i: MutableIface = {
        owner: st,
        node: nodeName,
        name: ifname,
        ifindex,
        linkLocal,
        up: true,
        out: [],
        outByTarget: new Map(),
      };
      if (opts.rateMax !== undefined) i.rateMax = opts.rateMax;
      if (opts.channel !== undefined) i.channel = opts.channel;
      st.ifaces.set(ifname, i);
      version++;
      owners.set(linkLocal, i);
      return i;
    },
    iface,
    findIface: (nodeName, ifname) => nodes.get(nodeName)?.ifaces.get(ifname),
    ifaces: (nodeName) => [...node(nodeName).ifaces.values()],
    interfaceInfos(nodeName) {
      return [...node(nodeName).ifaces.values()].map((i) => {
        const info: InterfaceInfo = { name: i.name, ifindex: i.ifindex, linkLocal: i.linkLocal, up: i.up };
        if (i.rateMax !== undefined) info.rateMax = i.rateMax;
        if (i.channel !== undefined) info.channel = i.channel;
        return info;
      });
    },
    setIfaceUp(nodeName, ifname, up) {
      iface(nodeName, ifname).up = up;
      version++;
    },
    connect(members, params = {}) {
      checkParams(params);
      const ifs = members.map((m) => iface(m.node, m.iface));
      if (new Set(ifs).size !== ifs.length || ifs.length < 2) {
        throw new TestkitError('SIM_BAD_ARGUMENT', 'a segment needs at least two distinct interfaces');
      }
      for (const a of ifs) {
        for (const b of ifs) {
          if (a !== b && a.outByTarget.has(b)) {
            throw new TestkitError(
              'SIM_BAD_ARGUMENT',
              `${a.node}:${a.name} and ${b.node}:${b.name} share a segment already`,
            );
          }
        }
      }
      const links: DirectedLink[] = [];
      const segment: Segment = { id: segments.length, members: ifs, links };
      for (const a of ifs) {
        for (const b of ifs) {
          if (a === b) continue;
          const link: DirectedLink = {
            from: a,
            to: b,
            segment,
            params: { ...defaults, ...params },
            counters: zeroLink(),
          };
          a.out.push(link);
          a.outByTarget.set(b, link);
          links.push(link);
        }
      }
      segments.push(segment);
      version++;
      return segment;
    },
    linksBetween: matchLinks,
    setLinkParams(link, params) {
      checkParams(params);
      link.params = { ...link.params, ...params };
      version++;
    },
    get version() {
      return version;
    },
    setLink(a, b, params, direction = 'both') {
      checkParams(params);
      const links = direction === 'both' ? [...matchLinks(a, b), ...matchLinks(b, a)] : matchLinks(a, b);
      if (links.length === 0) throw new TestkitError('SIM_BAD_ARGUMENT', `no link between ${a} and ${b}`);
      for (const l of links) l.params = { ...l.params, ...params };
      version++;
    },
    ownerOf: (linkLocal) => owners.get(linkLocal) ?? owners.get(canonicalIPv6(linkLocal)),
    adjacent(from, to) {
      const l = (from as MutableIface).outByTarget.get(to);
      return (l?.params.up ?? false) && from.up && to.up;
    },
    linkFrom: (from, to) => (from as MutableIface).outByTarget.get(to),
    attach(nodeName, receiver) {
      node(nodeName).receiver = receiver;
    },
    send,
    inject(nodeName, ifname, src, payload, delayMs = 0) {
      const to = iface(nodeName, ifname);
      const data = payload.slice();
      clock.post(delayMs, () => {
        const receiver = to.owner.receiver;
        if (!to.up || !receiver) {
          to.owner.counters.dropped++;
          return;
        }
        to.owner.counters.rxPackets++;
        to.owner.counters.rxBytes += data.length;
        receiver(to.name, src, data);
      });
    },
    datagramPort(nodeName) {
      node(nodeName);
      return { send: (ifname, payload) => send(nodeName, ifname, payload) };
    },
    counters: (nodeName) => node(nodeName).counters,
    totals() {
      const t = zeroNode();
      for (const st of nodes.values()) {
        for (const k of Object.keys(t) as (keyof NodeCounters)[]) t[k] += st.counters[k];
      }
      return t;
    },
    resetCounters() {
      for (const st of nodes.values()) {
        Object.assign(st.counters, zeroNode());
        for (const i of st.ifaces.values()) for (const l of i.out) Object.assign(l.counters, zeroLink());
      }
    },
    onPacket(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return net;
}
