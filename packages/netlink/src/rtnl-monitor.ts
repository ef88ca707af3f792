/**
 * rtnetlink notifications: a NETLINK_ROUTE socket bound to multicast groups (RTMGRP_LINK,
 * RTMGRP_IPV6_IFADDR, …) that the kernel writes to whenever a link or address changes. Two ways
 * to read it, Linux only (libc through koffi):
 *
 * - `watchRtnl(groups, onNotify)`: a worker thread waits in `poll()` on the socket (with a stop
 *   flag, checked at least every `pollMs`), reads what arrived without blocking and posts it to
 *   the main thread, which is woken only when the kernel wrote something. One batch is in flight
 *   at a time: while the main thread is busy the kernel's socket buffer fills and overflows
 *   (reported as an overrun, after which the reader re-reads its state) instead of memory growing.
 *   Nothing blocks the event loop and nothing sits on libuv's thread pool.
 * - `openRtnlMonitor(groups).poll()`: the same socket drained on demand, without blocking.
 */
import { Worker } from 'node:worker_threads';
import { NetlinkError } from './errors.js';
import {
  AF_NETLINK,
  EAGAIN,
  EINTR,
  koffiPath,
  loadLibc,
  MSG_DONTWAIT,
  SOCK_CLOEXEC,
  SOCK_RAW,
  sockaddrNl,
  sysFail,
} from './libc.js';
import { decodeNlmsgs, NETLINK_ROUTE, type NlMsg } from './nlmsg.js';

/** Legacy group bits for `nl_groups` (linux/rtnetlink.h). */
export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV4_ROUTE = 0x40;
export const RTMGRP_IPV6_IFADDR = 0x100;
export const RTMGRP_IPV6_ROUTE = 0x400;

export interface RtnlMonitor {
  /** Every notification message that arrived since the last call (empty when none). */
  poll(): NlMsg[];
  /** True when the kernel dropped notifications (ENOBUFS): the reader must re-read its state. */
  overrun(): boolean;
  close(): void;
}

const ENOBUFS = 105;

/** A NETLINK_ROUTE socket bound to `groups`, in the caller's network namespace. */
function openGroupSocket(groups: number): number {
  const c = loadLibc();
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw sysFail(c, 'socket(AF_NETLINK, NETLINK_ROUTE)');
  const addr = sockaddrNl(0, groups >>> 0);
  if (c.bind(fd, addr, addr.length) !== 0) {
    const err = sysFail(c, `bind to groups ${groups}`);
    c.close(fd);
    throw err;
  }
  return fd;
}

/** Opens a notification socket for the given RTMGRP_* bits, in the caller's network namespace. */
export function openRtnlMonitor(groups: number): RtnlMonitor {
  const c = loadLibc();
  const fd = openGroupSocket(groups);
  const buf = new Uint8Array(64 * 1024);
  let closed = false;
  let lost = false;
  return {
    poll() {
      if (closed) throw new NetlinkError('ERR_NETLINK_CLOSED', 'netlink monitor is closed');
      const out: NlMsg[] = [];
      for (;;) {
        const n = c.recv(fd, buf, buf.length, MSG_DONTWAIT);
        if (n < 0) {
          const e = c.errno();
          if (e === EINTR) continue;
          if (e === ENOBUFS) {
            lost = true;
            continue;
          }
          if (e === EAGAIN) return out;
          throw sysFail(c, 'recv');
        }
        const msgs = decodeNlmsgs(buf.subarray(0, n));
        if (msgs.ok) for (const m of msgs.value) out.push({ ...m, payload: m.payload.slice() });
        else lost = true;
      }
    },
    overrun() {
      const l = lost;
      lost = false;
      return l;
    },
    close() {
      if (closed) return;
      closed = true;
      c.close(fd);
    },
  };
}

export interface RtnlWatcher {
  /** Stops the reader thread (within `pollMs`), then closes the socket. */
  close(): Promise<void>;
}

export interface RtnlWatchOptions {
  /** Longest wait in `poll()` before the reader checks its stop flag. Default 100 ms. */
  readonly pollMs?: number;
  /** The reader thread failed (it has stopped; notifications no longer arrive). */
  readonly onError?: (err: Error) => void;
}

/** Indexes into the shared control words of a watcher. */
const CTL_STOP = 0;
const CTL_IN_FLIGHT = 1;

/**
 * The reader thread, as plain JavaScript (a worker cannot load this module's TypeScript source
 * when the daemon runs from it). It binds the few libc functions it needs itself: koffi functions
 * belong to the thread that made them.
 */
const READER = `
const { workerData: d, parentPort } = require('node:worker_threads');
const koffi = require(d.koffiPath);
const lib = koffi.load('libc.so.6');
const poll = lib.func('int poll(void *, unsigned long, int)');
const recv = lib.func('long recv(int, void *, size_t, int)');
const ctl = new Int32Array(d.ctl);
const pfd = new Uint8Array(8);
const pv = new DataView(pfd.buffer);
const buf = new Uint8Array(d.bufBytes);
const POLLIN = 0x1, POLLERR = 0x8, POLLNVAL = 0x20, MSG_DONTWAIT = 0x40, MSG_TRUNC = 0x20;
const EINTR = 4, EAGAIN = 11, ENOBUFS = 105;
const fail = (what) => parentPort.postMessage({ error: what + ' failed: errno ' + koffi.errno() });
main: while (Atomics.load(ctl, ${CTL_STOP}) === 0) {
  // one batch in flight: wait until the main thread has taken the last one
  if (Atomics.load(ctl, ${CTL_IN_FLIGHT}) === 1) {
    Atomics.wait(ctl, ${CTL_IN_FLIGHT}, 1, d.pollMs);
    continue;
  }
  pv.setInt32(0, d.fd, true);
  pv.setInt16(4, POLLIN, true);
  pv.setInt16(6, 0, true);
  const r = poll(pfd, 1, d.pollMs);
  if (r < 0) {
    if (koffi.errno() === EINTR) continue;
    fail('poll');
    break;
  }
  if (r === 0) continue;
  if (pv.getInt16(6, true) & POLLNVAL) {
    parentPort.postMessage({ error: 'poll: the socket was closed' });
    break;
  }
  const datagrams = [];
  let lost = false;
  for (;;) {
    const n = Number(recv(d.fd, buf, buf.length, MSG_DONTWAIT | MSG_TRUNC));
    if (n < 0) {
      const e = koffi.errno();
      if (e === EINTR) continue;
      if (e === ENOBUFS) { lost = true; continue; }
      if (e === EAGAIN) break;
      fail('recv');
      break main;
    }
    if (n > buf.length) { lost = true; continue; }
    datagrams.push(buf.slice(0, n).buffer);
  }
  if (datagrams.length > 0 || lost) {
    Atomics.store(ctl, ${CTL_IN_FLIGHT}, 1);
    parentPort.postMessage({ datagrams, lost }, datagrams);
  }
}
`;

/**
 * Watches rtnetlink notifications for the given RTMGRP_* bits, in the caller's network namespace:
 * `onNotify` runs on the main thread with the messages of each batch the kernel wrote, and
 * `overrun` true when the kernel dropped some (the reader must then re-read its state).
 */
export function watchRtnl(
  groups: number,
  onNotify: (msgs: NlMsg[], overrun: boolean) => void,
  opts: RtnlWatchOptions = {},
): RtnlWatcher {
  const c = loadLibc();
  const fd = openGroupSocket(groups);
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  let worker: Worker;
  try {
    worker = new Worker(READER, {
      eval: true,
      // CommonJS, without the parent's loaders or flags (--import tsx, --input-type=module)
      execArgv: [],
      workerData: {
        fd,
        ctl: ctl.buffer,
        pollMs: opts.pollMs ?? 100,
        bufBytes: 64 * 1024,
        koffiPath: koffiPath(),
      },
    });
  } catch (err) {
    c.close(fd);
    throw err;
  }
  // the daemon's own handles keep it running; a forgotten watcher must not
  worker.unref();
  let running = true;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (m: { datagrams?: ArrayBuffer[]; lost?: boolean; error?: string }) => {
    if (m.error !== undefined) {
      opts.onError?.(new NetlinkError('ERR_NETLINK_SYSCALL', m.error));
      return;
    }
    let overrun = m.lost === true;
    const msgs: NlMsg[] = [];
    for (const d of m.datagrams ?? []) {
      const r = decodeNlmsgs(new Uint8Array(d));
      if (r.ok) msgs.push(...r.value);
      else overrun = true;
    }
    Atomics.store(ctl, CTL_IN_FLIGHT, 0);
    Atomics.notify(ctl, CTL_IN_FLIGHT);
    if (running) onNotify(msgs, overrun);
  });
  worker.on('error', (err) => opts.onError?.(err));
  return {
    async close() {
      if (!running) return exited;
      running = false;
      Atomics.store(ctl, CTL_STOP, 1);
      Atomics.notify(ctl, CTL_IN_FLIGHT);
      await exited;
      c.close(fd); // only now: the reader never polls a closed (or reused) descriptor
    },
  };
}
