/**
 * The packet threads of the userspace ip6tnl twin (userspace.ts). Two per backend, one per
 * direction, whatever the number of devices:
 *
 * - tx: waits in poll() on every device's TUN descriptor, reads the packets the kernel routed into
 *   the devices, and sends them in batches (sendmmsg) through the raw IPv6 socket of their next
 *   header (4 or 41), with the device's local end and hop limit in ancillary data (IPV6_PKTINFO,
 *   IPV6_HOPLIMIT): the kernel writes the outer header, as ip6tnl would (docs/protocol.md §4.14).
 * - rx: waits in poll() on the two raw sockets, receives in batches (recvmmsg) with the outer source
 *   (msg_name) and destination (IPV6_PKTINFO), picks the device in ip6tnl's order (exact local and
 *   remote, then local with any remote, then remote with any local) and writes the inner packet to
 *   its TUN descriptor. A TUN device takes one packet per write(), so that side cannot batch.
 *
 * Every descriptor is non-blocking; poll() waits at most `pollMs` and the stop flag is checked
 * around it. Changes to the device set arrive as messages on a port, announced by a write to the
 * thread's eventfd (one of the polled descriptors), and are acknowledged once applied, so the main
 * thread closes a TUN descriptor only after the thread has let go of it.
 *
 * The thread body is one self-contained function, run from its source text (`WORKER_SOURCE`): a
 * worker cannot load this TypeScript module when the daemon runs from its sources, and koffi
 * functions belong to the thread that bound them. Structure layouts are those of LP64 Linux.
 */
import type { MessagePort } from 'node:worker_threads';

/** Indexes into a device's counters (a Float64Array over a SharedArrayBuffer); each is written by one thread. */
export const C_RX_PACKETS = 0;
export const C_RX_BYTES = 1;
export const C_TX_PACKETS = 2;
export const C_TX_BYTES = 3;
export const C_RX_DROPPED = 4;
export const C_TX_DROPPED = 5;
export const COUNTERS = 6;

/** Indexes into the backend's own counters: encapsulated packets no device took, thread failures. */
export const S_UNMATCHED = 0;
export const STATS = 1;

/** The control word of a thread (Int32Array over a SharedArrayBuffer): non-zero asks it to stop. */
export const CTL_STOP = 0;

export interface WorkerDevice {
  readonly name: string;
  /** The TUN descriptor (non-blocking). */
  readonly fd: number;
  /** 16 bytes each; all zeros means any. */
  readonly local: Uint8Array;
  readonly remote: Uint8Array;
  readonly hopLimit: number;
  readonly mtu: number;
  /** Float64Array(COUNTERS) over it. */
  readonly counters: SharedArrayBuffer;
}

export type WorkerControl =
  | { readonly seq: number; readonly op: 'set'; readonly device: WorkerDevice }
  | { readonly seq: number; readonly op: 'del'; readonly name: string };

export type WorkerReport = { readonly ack: number } | { readonly error: string };

export interface WorkerInit {
  readonly role: 'tx' | 'rx';
  readonly koffiPath: string;
  /** An eventfd in the poll set: the main thread writes to it after posting control or setting stop. */
  readonly wakeFd: number;
  readonly ctl: SharedArrayBuffer;
  readonly stats: SharedArrayBuffer;
  readonly port: MessagePort;
  /** The raw IPv6 sockets for next headers 4 and 41 (non-blocking, IPV6_RECVPKTINFO set). */
  readonly raw4: number;
  readonly raw41: number;
  /** Packets per sendmmsg / recvmmsg. */
  readonly batch: number;
  readonly pollMs: number;
}

/** The part of koffi the threads use (this package does not depend on koffi's types). */
interface Koffi {
  load(path: string): { func(decl: string): unknown };
  alloc(type: string, len: number): unknown;
  free(ptr: unknown): void;
  view(ptr: unknown, len: number): ArrayBuffer;
  address(ptr: unknown): bigint;
  errno(): number;
}

/** The thread body; self-contained: it may use only its argument, `require` and globals. */
function ioWorker(wt: typeof import('node:worker_threads')): void {
  const d = wt.workerData as WorkerInit;
  const port = d.port;
  const koffi = require(d.koffiPath) as Koffi;
  const lib = koffi.load('libc.so.6');
  const poll = lib.func('int poll(void *, unsigned long, int)') as (
    p: Uint8Array,
    n: number,
    t: number,
  ) => number;
  const read = lib.func('long read(int, void *, size_t)') as (fd: number, b: Uint8Array, n: number) => number;
  const write = lib.func('long write(int, const void *, size_t)') as (
    fd: number,
    b: Uint8Array,
    n: number,
  ) => number;
  const sendmmsg = lib.func('int sendmmsg(int, void *, unsigned int, int)') as (
    fd: number,
    v: Uint8Array,
    n: number,
    f: number,
  ) => number;
  const recvmmsg = lib.func('int recvmmsg(int, void *, unsigned int, int, void *)') as (
    fd: number,
    v: Uint8Array,
    n: number,
    f: number,
    t: null,
  ) => number;

  const POLLIN = 0x1;
  const POLLERR = 0x8;
  const POLLNVAL = 0x20;
  const EINTR = 4;
  const EAGAIN = 11;
  const MSG_DONTWAIT = 0x40;
  const MSG_TRUNC = 0x20;
  const IPPROTO_IPV6 = 41;
  const IPV6_PKTINFO = 50;
  const IPV6_HOPLIMIT = 52;
  /** Room for the largest packet a TUN device or a raw socket hands over (reassembled: 64 KiB). */
  const SLOT = 65536;
  const IOV = 16;
  const MMSG = 64;
  const SIN6 = 28;
  /** A device's ancillary data: IPV6_HOPLIMIT (CMSG_SPACE(4) = 24), then IPV6_PKTINFO (CMSG_SPACE(20) = 40). */
  const CTL_HOP = 24;
  const CTL_ALL = 64;
  const C = { RX_PACKETS: 0, RX_BYTES: 1, TX_PACKETS: 2, TX_BYTES: 3, RX_DROPPED: 4, TX_DROPPED: 5 };

  const ctl = new Int32Array(d.ctl);
  const stats = new Float64Array(d.stats);
  const batch = d.batch;
  const allocations: unknown[] = [];

  /** Native memory, its address split in two 32-bit halves (addresses stay below 2^53). */
  interface Native {
    u8: Uint8Array;
    dv: DataView;
    addr: number;
  }
  function native(bytes: number, owned = true): Native & { ptr: unknown } {
    const ptr = koffi.alloc('uint8', bytes);
    if (owned) allocations.push(ptr);
    const ab = koffi.view(ptr, bytes);
    return { ptr, u8: new Uint8Array(ab), dv: new DataView(ab), addr: Number(koffi.address(ptr)) };
  }
  function add(a: Float64Array, i: number, v: number): void {
    a[i] = (a[i] as number) + v;
  }
  function setPtr(dv: DataView, off: number, addr: number): void {
    dv.setUint32(off, addr % 0x100000000, true);
    dv.setUint32(off + 4, Math.floor(addr / 0x100000000), true);
  }
  function words(a: Uint8Array): number[] {
    const v = new DataView(a.buffer, a.byteOffset, 16);
    return [v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true), v.getUint32(12, true)];
  }

  interface Dev {
    name: string;
    fd: number;
    mtu: number;
    local: number[];
    remote: number[];
    localAny: boolean;
    remoteAny: boolean;
    counters: Float64Array;
    /** tx: the sockaddr_in6 of the remote end and the ancillary data, in native memory. */
    nameAddr: number;
    ctlAddr: number;
    ctlLen: number;
    /** The native block behind nameAddr and ctlAddr, freed with the device. */
    mem: unknown;
  }
  const devices = new Map<string, Dev>();
  let list: Dev[] = [];
  const wake = new Uint8Array(8);
  let pfd = new Uint8Array(8);
  let pdv = new DataView(pfd.buffer);
  let failed = false;

  function report(what: string): void {
    failed = true;
    port.postMessage({ error: `${d.role} thread: ${what} failed: errno ${koffi.errno()}` });
  }

  function makeDev(w: WorkerDevice, old: Dev | undefined): Dev {
    const local = words(w.local);
    const remote = words(w.remote);
    const dev: Dev = {
      name: w.name,
      fd: w.fd,
      mtu: w.mtu,
      local,
      remote,
      localAny: local.every((x) => x === 0),
      remoteAny: remote.every((x) => x === 0),
      counters: old?.counters ?? new Float64Array(w.counters),
      nameAddr: 0,
      ctlAddr: 0,
      ctlLen: 0,
      mem: undefined,
    };
    if (d.role === 'tx') {
      const m = native(32 + CTL_ALL, false);
      dev.mem = m.ptr;
      // sockaddr_in6: family AF_INET6, port 0 (raw), flow info 0, the remote end, scope 0
      m.dv.setUint16(0, 10, true);
      m.u8.set(w.remote, 8);
      m.dv.setUint32(32, 16 + 4, true); // cmsg_len = CMSG_LEN(sizeof(int))
      m.dv.setInt32(32 + 8, IPPROTO_IPV6, true);
      m.dv.setInt32(32 + 12, IPV6_HOPLIMIT, true);
      m.dv.setInt32(32 + 16, w.hopLimit, true);
      m.dv.setUint32(32 + CTL_HOP, 16 + 20, true); // CMSG_LEN(sizeof(struct in6_pktinfo))
      m.dv.setInt32(32 + CTL_HOP + 8, IPPROTO_IPV6, true);
      m.dv.setInt32(32 + CTL_HOP + 12, IPV6_PKTINFO, true);
      m.u8.set(w.local, 32 + CTL_HOP + 16); // ipi6_addr; ipi6_ifindex 0: routing picks the interface
      dev.nameAddr = m.addr;
      dev.ctlAddr = m.addr + 32;
      // with any local end, the kernel picks the source address as for any socket
      dev.ctlLen = dev.localAny ? CTL_HOP : CTL_ALL;
    }
    return dev;
  }

  function rebuildPoll(): void {
    const fds = d.role === 'tx' ? [d.wakeFd, ...list.map((x) => x.fd)] : [d.wakeFd, d.raw4, d.raw41];
    pfd = new Uint8Array(8 * fds.length);
    pdv = new DataView(pfd.buffer);
    fds.forEach((fd, i) => {
      pdv.setInt32(8 * i, fd, true);
      pdv.setInt16(8 * i + 4, POLLIN, true);
    });
  }

  function applyControl(): void {
    read(d.wakeFd, wake, 8);
    for (;;) {
      const m = wt.receiveMessageOnPort(port);
      if (!m) break;
      const c = m.message as WorkerControl;
      const old = devices.get(c.op === 'set' ? c.device.name : c.name);
      if (c.op === 'set') devices.set(c.device.name, makeDev(c.device, old));
      else devices.delete(c.name);
      // safe: a tx batch is always sent before control is applied
      if (old?.mem !== undefined) koffi.free(old.mem);
      list = [...devices.values()];
      lastHit = undefined;
      port.postMessage({ ack: c.seq });
    }
    rebuildPoll();
  }

  // ---- tx: TUN → raw sockets ----
  const tx = d.role === 'tx' ? native(batch * (SLOT + IOV + 2 * MMSG)) : undefined;
  const txIov = batch * SLOT;
  const txMm4 = txIov + batch * IOV;
  const txMm41 = txMm4 + batch * MMSG;
  const slots: Uint8Array[] = [];
  const dev4: Dev[] = [];
  const dev41: Dev[] = [];
  const len4: number[] = [];
  const len41: number[] = [];
  let n4 = 0;
  let n41 = 0;
  if (tx) {
    for (let i = 0; i < batch; i++) {
      slots.push(tx.u8.subarray(i * SLOT, (i + 1) * SLOT));
      setPtr(tx.dv, txIov + i * IOV, tx.addr + i * SLOT);
    }
  }
  const mm4View = tx ? tx.u8.subarray(txMm4) : new Uint8Array(0);
  const mm41View = tx ? tx.u8.subarray(txMm41) : new Uint8Array(0);

  function queue(dev: Dev, slot: number, len: number, mmBase: number, j: number): void {
    const v = (tx as Native).dv;
    const iov = txIov + slot * IOV;
    v.setUint32(iov + 8, len, true);
    const e = mmBase + j * MMSG;
    setPtr(v, e, dev.nameAddr);
    v.setUint32(e + 8, SIN6, true);
    setPtr(v, e + 16, (tx as Native).addr + iov);
    v.setUint32(e + 24, 1, true);
    setPtr(v, e + 32, dev.ctlAddr);
    v.setUint32(e + 40, dev.ctlLen, true);
  }

  function sendAll(fd: number, view: Uint8Array, devs: Dev[], lens: number[], n: number): void {
    let i = 0;
    while (i < n) {
      const r = sendmmsg(fd, view.subarray(i * MMSG), n - i, 0);
      if (r < 0) {
        if (koffi.errno() === EINTR) continue;
        // this one could not leave (no route, buffer full, …): dropped, as ip6tnl would drop it
        add((devs[i] as Dev).counters, C.TX_DROPPED, 1);
        i++;
        continue;
      }
      for (let k = i; k < i + r; k++) {
        const c = (devs[k] as Dev).counters;
        add(c, C.TX_PACKETS, 1);
        add(c, C.TX_BYTES, lens[k] as number);
      }
      i += r;
    }
  }

  function flush(): void {
    if (n4 > 0) sendAll(d.raw4, mm4View, dev4, len4, n4);
    if (n41 > 0) sendAll(d.raw41, mm41View, dev41, len41, n41);
    n4 = 0;
    n41 = 0;
  }

  function pumpTun(dev: Dev): void {
    for (let k = 0; k < batch; k++) {
      if (n4 + n41 === batch) flush();
      const s = n4 + n41;
      const slot = slots[s] as Uint8Array;
      const n = read(dev.fd, slot, SLOT);
      if (n < 0) {
        const e = koffi.errno();
        if (e === EINTR) continue;
        if (e !== EAGAIN) add(dev.counters, C.TX_DROPPED, 1);
        return;
      }
      const version = (slot[0] as number) >> 4;
      if (n > dev.mtu || dev.remoteAny) {
        // too big, or nowhere to send it: a device with any remote only receives
        add(dev.counters, C.TX_DROPPED, 1);
      } else if (version === 4 && n >= 20) {
        queue(dev, s, n, txMm4, n4);
        dev4[n4] = dev;
        len4[n4++] = n;
      } else if (version === 6 && n >= 40) {
        queue(dev, s, n, txMm41, n41);
        dev41[n41] = dev;
        len41[n41++] = n;
      } else {
        add(dev.counters, C.TX_DROPPED, 1);
      }
    }
  }

  // ---- rx: raw sockets → TUN ----
  const RX_NAME = 32;
  const RX_CTL = 64;
  const rx = d.role === 'rx' ? native(batch * (SLOT + IOV + RX_NAME + RX_CTL + MMSG)) : undefined;
  const rxIov = batch * SLOT;
  const rxName = rxIov + batch * IOV;
  const rxCtl = rxName + batch * RX_NAME;
  const rxMm = rxCtl + batch * RX_CTL;
  let lastHit: Dev | undefined;
  if (rx) {
    for (let i = 0; i < batch; i++) {
      slots.push(rx.u8.subarray(i * SLOT, (i + 1) * SLOT));
      const iov = rxIov + i * IOV;
      setPtr(rx.dv, iov, rx.addr + i * SLOT);
      rx.dv.setUint32(iov + 8, SLOT, true);
      const e = rxMm + i * MMSG;
      setPtr(rx.dv, e, rx.addr + rxName + i * RX_NAME);
      rx.dv.setUint32(e + 8, SIN6, true);
      setPtr(rx.dv, e + 16, rx.addr + iov);
      rx.dv.setUint32(e + 24, 1, true);
      setPtr(rx.dv, e + 32, rx.addr + rxCtl + i * RX_CTL);
      rx.dv.setUint32(e + 40, RX_CTL, true);
    }
  }
  const rxMmView = rx ? rx.u8.subarray(rxMm) : new Uint8Array(0);

  function same(v: DataView, off: number, w: number[]): boolean {
    return (
      v.getUint32(off, true) === w[0] &&
      v.getUint32(off + 4, true) === w[1] &&
      v.getUint32(off + 8, true) === w[2] &&
      v.getUint32(off + 12, true) === w[3]
    );
  }

  /** The device for (destination, source) at these offsets, in ip6tnl's order. */
  function lookup(v: DataView, dst: number, src: number): Dev | undefined {
    if (
      lastHit &&
      !lastHit.localAny &&
      !lastHit.remoteAny &&
      same(v, dst, lastHit.local) &&
      same(v, src, lastHit.remote)
    ) {
      return lastHit;
    }
    let anyRemote: Dev | undefined;
    let anyLocal: Dev | undefined;
    for (const x of list) {
      const localOk = !x.localAny && same(v, dst, x.local);
      const remoteOk = !x.remoteAny && same(v, src, x.remote);
      if (localOk && remoteOk) {
        lastHit = x;
        return x;
      }
      if (localOk && x.remoteAny) anyRemote ??= x;
      else if (x.localAny && remoteOk) anyLocal ??= x;
    }
    return anyRemote ?? anyLocal;
  }

  /** Receives and delivers what waits on one raw socket; false when the thread must stop. */
  function pumpRaw(fd: number, version: number): boolean {
    const v = (rx as Native).dv;
    const minLen = version === 4 ? 20 : 40;
    for (let round = 0; round < 8; round++) {
      const n = recvmmsg(fd, rxMmView, batch, MSG_DONTWAIT, null);
      if (n < 0) {
        const e = koffi.errno();
        if (e === EINTR) continue;
        if (e === EAGAIN) return true;
        report('recvmmsg');
        return false;
      }
      for (let i = 0; i < n; i++) {
        const e = rxMm + i * MMSG;
        const len = v.getUint32(e + 56, true);
        const flags = v.getInt32(e + 48, true);
        const ctlLen = v.getUint32(e + 40, true);
        const c = rxCtl + i * RX_CTL;
        // restore what the kernel overwrote, for the next call
        v.setUint32(e + 8, SIN6, true);
        v.setUint32(e + 40, RX_CTL, true);
        if (
          ctlLen < 36 ||
          v.getInt32(c + 8, true) !== IPPROTO_IPV6 ||
          v.getInt32(c + 12, true) !== IPV6_PKTINFO
        ) {
          add(stats, 0, 1); // S_UNMATCHED
          continue;
        }
        const dev = lookup(v, c + 16, rxName + i * RX_NAME + 8);
        if (!dev) {
          add(stats, 0, 1);
          continue;
        }
        const slot = slots[i] as Uint8Array;
        if ((flags & MSG_TRUNC) !== 0 || len < minLen || (slot[0] as number) >> 4 !== version) {
          add(dev.counters, C.RX_DROPPED, 1);
          continue;
        }
        const w = write(dev.fd, slot, len);
        if (w < 0) {
          // the device's queue is full, or it is down
          add(dev.counters, C.RX_DROPPED, 1);
          continue;
        }
        add(dev.counters, C.RX_PACKETS, 1);
        add(dev.counters, C.RX_BYTES, len);
      }
      if (n < batch) return true;
    }
    return true;
  }

  rebuildPoll();
  try {
    while (Atomics.load(ctl, 0) === 0 && !failed) {
      const r = poll(pfd, pfd.length / 8, d.pollMs);
      if (r < 0) {
        if (koffi.errno() === EINTR) continue;
        report('poll');
        break;
      }
      if (r === 0) continue;
      if (Atomics.load(ctl, 0) !== 0) break;
      if ((pdv.getInt16(6, true) & POLLIN) !== 0) {
        applyControl();
        continue;
      }
      const count = pfd.length / 8;
      for (let k = 1; k < count; k++) {
        const rev = pdv.getInt16(8 * k + 6, true);
        if (rev === 0) continue;
        if ((rev & POLLNVAL) !== 0) {
          port.postMessage({
            error: `${d.role} thread: descriptor ${pdv.getInt32(8 * k, true)} was closed under it`,
          });
          failed = true;
          break;
        }
        if (d.role === 'tx') {
          if ((rev & (POLLIN | POLLERR)) !== 0) pumpTun(list[k - 1] as Dev);
        } else if (!pumpRaw(k === 1 ? d.raw4 : d.raw41, k === 1 ? 4 : 6)) {
          break;
        }
      }
      if (d.role === 'tx') flush();
    }
  } finally {
    for (const p of allocations) koffi.free(p);
    for (const x of devices.values()) if (x.mem !== undefined) koffi.free(x.mem);
    port.close();
  }
}

/** The source a Worker runs with `eval: true` (CommonJS, without the parent's loaders). */
export const WORKER_SOURCE = `'use strict';
// esbuild's keepNames (tsx) wraps named functions in __name(): make it harmless here.
const __name = (f) => f;
(${ioWorker.toString()})(require('node:worker_threads'));
`;
