/**
 * The netlink socket port and its Linux adapter. `NetlinkSocket` is the smallest boundary (send a
 * datagram, receive one with a timeout); `createMemoryNetlinkSocket` (memory-socket.ts) is its
 * in-memory twin. The adapter calls libc through koffi, synchronously: a netlink round trip takes
 * tens of microseconds, and a blocking read must never sit on libuv's thread pool.
 */
import { closeSync, openSync } from 'node:fs';
import { NetlinkError } from './errors.js';
import {
  AF_NETLINK,
  EAGAIN,
  EINTR,
  int32,
  type Libc,
  loadLibc,
  MSG_DONTWAIT,
  SOCK_CLOEXEC,
  SOCK_RAW,
  sockaddrNl,
  sysFail,
} from './libc.js';

export interface NetlinkSocket {
  /** NETLINK_ROUTE, NETLINK_GENERIC, … */
  readonly protocol: number;
  /** Sends one datagram (one or more encoded messages). */
  send(datagram: Uint8Array): void;
  /** The next datagram, or null when none arrives within `timeoutMs`. */
  receive(timeoutMs: number): Uint8Array | null;
  close(): void;
}

export interface OpenNetlinkSocketOptions {
  /**
   * Open the socket inside this network namespace: a name under /run/netns (as `ip netns` makes
   * them) or a path such as /proc/<pid>/ns/net. The socket stays bound to that namespace; the
   * process itself does not move.
   */
  netns?: string;
  /** SO_RCVBUF in bytes (the kernel doubles it). Default: the system default. */
  receiveBufferBytes?: number;
}

const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const MSG_TRUNC = 0x20;
const POLLIN = 0x1;
const CLONE_NEWNET = 0x40000000;
/** Receive buffer: dumps come in datagrams of at most 32 KiB, single replies are far smaller. */
const RECV_BUF = 256 * 1024;

/** Runs `fn` with the calling thread switched into another network namespace, then switches back. */
function inNetns<T>(c: Libc, netns: string, fn: () => T): T {
  const path = netns.includes('/') ? netns : `/run/netns/${netns}`;
  const home = openSync('/proc/thread-self/ns/net', 'r');
  let target: number;
  try {
    target = openSync(path, 'r');
  } catch (err) {
    closeSync(home);
    throw new NetlinkError('ERR_NETLINK_SYSCALL', `cannot open network namespace ${netns}`, { cause: err });
  }
  let result: { value: T } | { error: unknown };
  try {
    if (c.setns(target, CLONE_NEWNET) !== 0) throw sysFail(c, `setns(${netns})`);
    try {
      result = { value: fn() };
    } catch (error) {
      result = { error };
    }
    // Left in the wrong namespace, the main thread could not do anything sane: fail loudly.
    if (c.setns(home, CLONE_NEWNET) !== 0) throw sysFail(c, 'setns back to the original namespace');
  } finally {
    closeSync(target);
    closeSync(home);
  }
  if ('error' in result) throw result.error;
  return result.value;
}

/** Opens and binds a netlink socket of `protocol` (Linux only). */
export function openNetlinkSocket(protocol: number, opts: OpenNetlinkSocketOptions = {}): NetlinkSocket {
  const c = loadLibc();
  const open = () => c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  const fd = opts.netns ? inNetns(c, opts.netns, open) : open();
  if (fd < 0) throw sysFail(c, `socket(AF_NETLINK, ${protocol})`);
  const fail = (what: string) => {
    const err = sysFail(c, what);
    c.close(fd);
    return err;
  };
  const addr = sockaddrNl();
  if (c.bind(fd, addr, addr.length) !== 0) throw fail('bind');
  // Errors come back without the request echoed, with the kernel's explanation when it has one.
  c.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, int32(1), 4);
  c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, int32(1), 4);
  if (opts.receiveBufferBytes !== undefined) {
    if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, int32(opts.receiveBufferBytes), 4) !== 0) {
      throw fail('setsockopt(SO_RCVBUF)');
    }
  }
  const kernel = sockaddrNl();
  const buf = new Uint8Array(RECV_BUF);
  const pfd = new Uint8Array(8);
  const pdv = new DataView(pfd.buffer);
  let closed = false;
  const check = () => {
    if (closed) throw new NetlinkError('ERR_NETLINK_CLOSED', 'netlink socket is closed');
  };
  return {
    protocol,
    send(datagram) {
      check();
      for (;;) {
        const n = c.sendto(fd, datagram, datagram.length, 0, kernel, kernel.length);
        if (n >= 0) return;
        if (c.errno() !== EINTR) throw sysFail(c, 'sendto');
      }
    },
    receive(timeoutMs) {
      check();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const n = c.recv(fd, buf, buf.length, MSG_DONTWAIT | MSG_TRUNC);
        if (n > buf.length) {
          throw new NetlinkError('ERR_NETLINK_PROTOCOL', `netlink datagram of ${n} bytes was truncated`);
        }
        if (n >= 0) return buf.slice(0, n);
        const e = c.errno();
        if (e === EINTR) continue;
        if (e !== EAGAIN) throw sysFail(c, 'recv');
        const left = deadline - Date.now();
        if (left <= 0) return null;
        pdv.setInt32(0, fd, true);
        pdv.setInt16(4, POLLIN, true);
        pdv.setInt16(6, 0, true);
        const r = c.poll(pfd, 1, Math.ceil(left));
        if (r < 0 && c.errno() !== EINTR) throw sysFail(c, 'poll');
      }
    },
    close() {
      if (closed) return;
      closed = true;
      c.close(fd);
    },
  };
}
