/**
 * The userspace twin of the kernel's ip6tnl in `mode any` (docs/protocol.md §3, §4.14), for kernels
 * without the ip6_tunnel module: each device is a TUN device (IFF_TUN | IFF_NO_PI) named as the
 * spec says, and the backend keeps two raw IPv6 sockets, one per next header (4: IPv4-in-IPv6,
 * 41: IPv6-in-IPv6), shared by all its devices. On the wire it is ip6tnl without the encapsulation
 * limit option: the kernel builds the outer header (traffic class 0, the device's hop limit,
 * source = local, destination = remote). Encapsulated packets are given to the device whose ends
 * match, in ip6tnl's order.
 *
 * Packet I/O runs on two worker threads (userspace-worker.ts), one per direction for all devices,
 * never on libuv's thread pool. libc comes from @bmx7/netlink/libc, the project's one set of koffi
 * bindings; the threads bind their own from the same koffi.
 *
 * The devices are not persistent: closing a TUN descriptor removes its device, so a process that
 * dies leaves nothing behind. Everything is created in the calling thread's network namespace, or
 * in `options.netns`.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { koffiPath, type Libc, loadLibc } from '@bmx7/netlink/libc';
import { type CheckedSpec, checkSpec, sameAddress } from './packet.js';
import type { Tunnel, TunnelBackend, TunnelCounters, TunnelSpec } from './types.js';
import { TunnelError } from './types.js';
import {
  C_RX_BYTES,
  C_RX_DROPPED,
  C_RX_PACKETS,
  C_TX_BYTES,
  C_TX_DROPPED,
  C_TX_PACKETS,
  COUNTERS,
  CTL_STOP,
  S_UNMATCHED,
  STATS,
  WORKER_SOURCE,
  type WorkerControl,
  type WorkerInit,
  type WorkerReport,
} from './userspace-worker.js';

export interface UserspaceBackendOptions {
  /**
   * Make the devices and sockets in this network namespace (a name under /run/netns or a path
   * such as /proc/<pid>/ns/net) instead of the calling thread's. Only their creation switches
   * namespace; the process stays where it is.
   */
  readonly netns?: string;
  /** Packets per sendmmsg / recvmmsg (default 32). */
  readonly batch?: number;
  /** Longest wait in poll() before a thread checks its stop flag (default 200 ms). */
  readonly pollMs?: number;
  /** SO_SNDBUF / SO_RCVBUF of the raw sockets, forced past the system limits (default 4 MiB). */
  readonly socketBufferBytes?: number;
  /** A packet thread failed; the backend stops carrying packets (create and close still work). */
  readonly onError?: (err: TunnelError) => void;
}

export interface UserspaceBackend extends TunnelBackend {
  readonly kind: 'userspace';
  /** Encapsulated packets that arrived for no device (ip6tnl would drop them too). */
  unmatched(): number;
}

const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const IPPROTO_IPV6 = 41;
const IPV6_RECVPKTINFO = 49;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFF_UP = 0x1;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const SIOCSIFMTU = 0x8922;
const SIOCGIFINDEX = 0x8933;
const IFREQ = 40;
const IFR_DATA = 16;

interface Thread {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly wakeFd: number;
  readonly exited: Promise<void>;
}

interface Device {
  checked: CheckedSpec;
  readonly fd: number;
  readonly ifindex: number;
  readonly counters: SharedArrayBuffer;
}

interface Plane {
  readonly raw4: number;
  readonly raw41: number;
  /** An AF_INET6 datagram socket for the interface ioctls, in the backend's namespace. */
  readonly ioctlFd: number;
  readonly ctl: Int32Array;
  readonly stats: Float64Array;
  readonly threads: Thread[];
}

function ifreq(name: string): Uint8Array {
  const r = new Uint8Array(IFREQ);
  r.set(Buffer.from(name, 'utf8'), 0);
  return r;
}

/** Creates the userspace ip6tnl twin (Linux, CAP_NET_ADMIN and CAP_NET_RAW). Touches nothing until the first create(). */
export function createUserspaceBackend(options: UserspaceBackendOptions = {}): UserspaceBackend {
  const batch = options.batch ?? 32;
  const pollMs = options.pollMs ?? 200;
  const bufBytes = options.socketBufferBytes ?? 4 * 1024 * 1024;
  const devices = new Map<string, Device>();
  let plane: Plane | undefined;
  let closed = false;
  let seq = 0;
  let failure: TunnelError | undefined;
  const pending = new Map<number, { left: number; resolve: () => void }>();
  // create, update, remove and close run one at a time, in call order
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T> | T): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const libc = (device: string): Libc => {
    try {
      return loadLibc();
    } catch (err) {
      throw new TunnelError('ERR_TUNNEL_BACKEND', device, 'cannot load libc', { cause: err });
    }
  };
  const errnoOf = (c: Libc, what: string) => `${what} failed: errno ${c.errno()}`;

  /** Runs `fn` with the calling thread in the backend's namespace (when it has one). */
  function inNetns<T>(c: Libc, device: string, fn: () => T): T {
    if (options.netns === undefined) return fn();
    const path = options.netns.includes('/') ? options.netns : `/run/netns/${options.netns}`;
    let home: number;
    let target: number;
    try {
      home = openSync('/proc/thread-self/ns/net', 'r');
    } catch (err) {
      throw new TunnelError('ERR_TUNNEL_BACKEND', device, 'cannot open the current namespace', {
        cause: err,
      });
    }
    try {
      target = openSync(path, 'r');
    } catch (err) {
      closeSync(home);
      throw new TunnelError('ERR_TUNNEL_BACKEND', device, `cannot open network namespace ${options.netns}`, {
        cause: err,
      });
    }
    let result: { value: T } | { error: unknown };
    try {
      if (c.setns(target, CLONE_NEWNET) !== 0) {
        throw new TunnelError('ERR_TUNNEL_BACKEND', device, errnoOf(c, `setns(${options.netns})`));
      }
      try {
        result = { value: fn() };
      } catch (error) {
        result = { error };
      }
      // left in the wrong namespace, the thread could do nothing sane: fail loudly
      if (c.setns(home, CLONE_NEWNET) !== 0)
        throw new Error(errnoOf(c, 'setns back to the original namespace'));
    } finally {
      closeSync(target);
      closeSync(home);
    }
    if ('error' in result) throw result.error;
    return result.value;
  }

  function onReport(m: WorkerReport): void {
    if ('ack' in m) {
      const p = pending.get(m.ack);
      if (p && --p.left === 0) {
        pending.delete(m.ack);
        p.resolve();
      }
      return;
    }
    fail(new TunnelError('ERR_TUNNEL_BACKEND', '*', m.error));
  }

  /** A packet thread failed: stop both (the backend carries nothing more), tell the owner once. */
  function fail(err: TunnelError): void {
    if (failure) return;
    failure = err;
    if (plane) stopThreads(plane.ctl, plane.threads);
    options.onError?.(err);
  }

  function startPlane(c: Libc, device: string): Plane {
    const fds: number[] = [];
    const bail = (what: string, cause?: unknown): never => {
      const msg = errnoOf(c, what);
      for (const fd of fds) c.close(fd);
      throw new TunnelError('ERR_TUNNEL_BACKEND', device, msg, { cause });
    };
    const opened = inNetns(c, device, () => {
      const out: number[] = [];
      for (const proto of [4, 41]) {
        const fd = c.socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
        if (fd < 0) return { out, what: `socket(AF_INET6, SOCK_RAW, ${proto})` };
        out.push(fd);
      }
      const fd = c.socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return { out, what: 'socket(AF_INET6, SOCK_DGRAM)' };
      out.push(fd);
      return { out, what: undefined };
    });
    fds.push(...opened.out);
    if (opened.what) bail(opened.what);
    const [raw4, raw41, ioctlFd] = fds as [number, number, number];
    const one = new Uint8Array(4);
    new DataView(one.buffer).setInt32(0, 1, true);
    const size = new Uint8Array(4);
    new DataView(size.buffer).setInt32(0, bufBytes, true);
    for (const fd of [raw4, raw41]) {
      // the destination address tells which device a packet is for
      if (c.setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, one, 4) !== 0)
        bail('setsockopt(IPV6_RECVPKTINFO)');
      if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) !== 0) bail('setsockopt(SO_RCVBUFFORCE)');
      if (c.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, size, 4) !== 0) bail('setsockopt(SO_SNDBUFFORCE)');
    }
    const ctl = new Int32Array(new SharedArrayBuffer(4));
    const stats = new Float64Array(new SharedArrayBuffer(8 * STATS));
    const threads: Thread[] = [];
    const kpath = koffiPath();
    for (const role of ['tx', 'rx'] as const) {
      const wakeFd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (wakeFd < 0) {
        stopThreads(ctl, threads);
        bail('eventfd');
      }
      fds.push(wakeFd);
      const { port1, port2 } = new MessageChannel();
      const init: WorkerInit = {
        role,
        koffiPath: kpath,
        wakeFd,
        ctl: ctl.buffer as SharedArrayBuffer,
        stats: stats.buffer as SharedArrayBuffer,
        port: port2,
        raw4,
        raw41,
        batch,
        pollMs,
      };
      let w: Worker;
      try {
        // CommonJS, without the parent's loaders or flags (--import tsx, --conditions)
        w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: init, transferList: [port2] });
      } catch (err) {
        stopThreads(ctl, threads);
        return bail('starting a packet thread', err);
      }
      // the daemon's own handles keep it running; a forgotten backend must not
      w.unref();
      port1.on('message', onReport);
      port1.unref();
      w.on('error', (err) =>
        fail(new TunnelError('ERR_TUNNEL_BACKEND', '*', `${role} thread failed`, { cause: err })),
      );
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      threads.push({ worker: w, port: port1, wakeFd, exited });
    }
    return { raw4, raw41, ioctlFd, ctl, stats, threads };
  }

  function wakeAll(p: Plane): void {
    const c = loadLibc();
    const one = new Uint8Array(8);
    one[0] = 1;
    for (const t of p.threads) c.write(t.wakeFd, one, 8);
  }

  function stopThreads(ctl: Int32Array, threads: Thread[]): void {
    Atomics.store(ctl, CTL_STOP, 1);
    const c = loadLibc();
    const one = new Uint8Array(8);
    one[0] = 1;
    for (const t of threads) c.write(t.wakeFd, one, 8);
  }

  /** Sends a change to both threads and waits until both applied it. */
  async function tell(p: Plane, make: (seq: number) => WorkerControl): Promise<void> {
    if (failure) throw failure;
    const n = ++seq;
    const msg = make(n);
    const done = new Promise<void>((resolve) => pending.set(n, { left: p.threads.length, resolve }));
    for (const t of p.threads) t.port.postMessage(msg);
    wakeAll(p);
    // a thread that died cannot answer: give up after a generous wait
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 5000 + 2 * pollMs);
    });
    const r = await Promise.race([done, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') {
      pending.delete(n);
      throw failure ?? new TunnelError('ERR_TUNNEL_BACKEND', '*', 'the packet threads did not answer');
    }
  }

  function workerDevice(name: string, d: Device) {
    return {
      name,
      fd: d.fd,
      local: d.checked.local,
      remote: d.checked.remote,
      hopLimit: d.checked.hopLimit,
      mtu: d.checked.spec.mtu,
      counters: d.counters,
    };
  }

  function tunnelOf(d: Device): Tunnel {
    const spec = d.checked.spec;
    const cs = new Float64Array(d.counters);
    return {
      name: spec.name,
      ifindex: d.ifindex,
      spec,
      counters(): TunnelCounters {
        return {
          rxPackets: cs[C_RX_PACKETS] as number,
          rxBytes: cs[C_RX_BYTES] as number,
          txPackets: cs[C_TX_PACKETS] as number,
          txBytes: cs[C_TX_BYTES] as number,
          dropped: (cs[C_RX_DROPPED] as number) + (cs[C_TX_DROPPED] as number),
        };
      },
    };
  }

  function check(spec: TunnelSpec, self?: string): CheckedSpec {
    const r = checkSpec(spec);
    if (!r.ok) throw new TunnelError('ERR_TUNNEL_CREATE', spec.name, r.reason);
    for (const [name, d] of devices) {
      if (name === self) continue;
      if (sameAddress(d.checked.local, r.value.local) && sameAddress(d.checked.remote, r.value.remote)) {
        throw new TunnelError(
          'ERR_TUNNEL_EXISTS',
          spec.name,
          `device ${name} has the same local and remote ends`,
        );
      }
    }
    return r.value;
  }

  function setMtu(c: Libc, p: Plane, name: string, mtu: number): void {
    const r = ifreq(name);
    new DataView(r.buffer).setInt32(IFR_DATA, mtu, true);
    if (c.ioctl(p.ioctlFd, SIOCSIFMTU, r) !== 0) {
      throw new TunnelError('ERR_TUNNEL_CREATE', name, errnoOf(c, `setting MTU ${mtu}`));
    }
  }

  function ifindexOf(c: Libc, p: Plane, name: string): number | undefined {
    const r = ifreq(name);
    if (c.ioctl(p.ioctlFd, SIOCGIFINDEX, r) !== 0) return undefined;
    return new DataView(r.buffer).getInt32(IFR_DATA, true);
  }

  /** Opens the TUN device, sets its MTU and brings it up; returns its descriptor and ifindex. */
  function openTun(c: Libc, p: Plane, checked: CheckedSpec): { fd: number; ifindex: number } {
    const name = checked.spec.name;
    if (ifindexOf(c, p, name) !== undefined) {
      throw new TunnelError('ERR_TUNNEL_EXISTS', name, 'an interface of that name exists');
    }
    const r = ifreq(name);
    new DataView(r.buffer).setUint16(IFR_DATA, IFF_TUN | IFF_NO_PI, true);
    const fd = inNetns(c, name, () => {
      let fd: number;
      try {
        fd = openSync('/dev/net/tun', constants.O_RDWR | constants.O_NONBLOCK);
      } catch (err) {
        throw new TunnelError('ERR_TUNNEL_CREATE', name, 'cannot open /dev/net/tun', { cause: err });
      }
      if (c.ioctl(fd, TUNSETIFF, r) !== 0) {
        const msg = errnoOf(c, 'TUNSETIFF');
        closeSync(fd);
        throw new TunnelError('ERR_TUNNEL_CREATE', name, msg);
      }
      return fd;
    });
    try {
      setMtu(c, p, name, checked.spec.mtu);
      const f = ifreq(name);
      const fv = new DataView(f.buffer);
      if (c.ioctl(p.ioctlFd, SIOCGIFFLAGS, f) !== 0)
        throw new TunnelError('ERR_TUNNEL_CREATE', name, errnoOf(c, 'SIOCGIFFLAGS'));
      fv.setUint16(IFR_DATA, fv.getUint16(IFR_DATA, true) | IFF_UP, true);
      if (c.ioctl(p.ioctlFd, SIOCSIFFLAGS, f) !== 0)
        throw new TunnelError('ERR_TUNNEL_CREATE', name, errnoOf(c, 'setting it up'));
      const ifindex = ifindexOf(c, p, name);
      if (ifindex === undefined) throw new TunnelError('ERR_TUNNEL_CREATE', name, errnoOf(c, 'SIOCGIFINDEX'));
      return { fd, ifindex };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  async function removeDevice(name: string): Promise<void> {
    const d = devices.get(name);
    if (!d || !plane) return;
    devices.delete(name);
    try {
      // stopped threads hold nothing: wait for them to be gone instead
      if (failure) await Promise.all(plane.threads.map((t) => t.exited));
      else await tell(plane, (s) => ({ seq: s, op: 'del', name }));
    } finally {
      // only now: the threads no longer poll it (or are gone). Closing removes the device.
      closeSync(d.fd);
    }
  }

  const backend: UserspaceBackend = {
    kind: 'userspace',
    create(spec) {
      return serial(async () => {
        if (closed) throw new TunnelError('ERR_TUNNEL_BACKEND', spec.name, 'the backend is closed');
        if (devices.has(spec.name))
          throw new TunnelError('ERR_TUNNEL_EXISTS', spec.name, 'this backend made it already');
        const checked = check(spec);
        const c = libc(spec.name);
        plane ??= startPlane(c, spec.name);
        const { fd, ifindex } = openTun(c, plane, checked);
        const d: Device = { checked, fd, ifindex, counters: new SharedArrayBuffer(8 * COUNTERS) };
        devices.set(spec.name, d);
        try {
          await tell(plane, (s) => ({ seq: s, op: 'set', device: workerDevice(spec.name, d) }));
        } catch (err) {
          await removeDevice(spec.name).catch(() => undefined);
          throw err;
        }
        return tunnelOf(d);
      });
    },
    update(spec) {
      return serial(async () => {
        const d = devices.get(spec.name);
        if (!d || !plane) throw new TunnelError('ERR_TUNNEL_MISSING', spec.name, 'no such device');
        const checked = check(spec, spec.name);
        const c = libc(spec.name);
        if (checked.spec.mtu !== d.checked.spec.mtu) setMtu(c, plane, spec.name, checked.spec.mtu);
        d.checked = checked;
        await tell(plane, (s) => ({ seq: s, op: 'set', device: workerDevice(spec.name, d) }));
        return tunnelOf(d);
      });
    },
    remove(name) {
      return serial(() => removeDevice(name));
    },
    list() {
      return [...devices.values()].map(tunnelOf);
    },
    close() {
      return serial(async () => {
        if (closed) return;
        closed = true;
        const p = plane;
        if (!p) return;
        stopThreads(p.ctl, p.threads);
        await Promise.all(p.threads.map((t) => t.exited));
        const c = loadLibc();
        // the threads are gone: close every descriptor (a TUN device goes with its descriptor)
        for (const d of devices.values()) closeSync(d.fd);
        devices.clear();
        for (const t of p.threads) {
          t.port.close();
          c.close(t.wakeFd);
        }
        c.close(p.raw4);
        c.close(p.raw41);
        c.close(p.ioctlFd);
        plane = undefined;
      });
    },
    unmatched() {
      return plane ? (plane.stats[S_UNMATCHED] as number) : 0;
    },
  };
  return backend;
}
