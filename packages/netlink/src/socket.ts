/**
 * The netlink socket port and its Linux adapter. `NetlinkSocket` is the smallest boundary (send a
 * datagram, receive one with a timeout); `createMemoryNetlinkSocket` (memory-socket.ts) is its
 * in-memory twin. The adapter calls libc through koffi, synchronously: a netlink round trip takes
 * tens of microseconds, and a blocking read must never sit on libuv's thread pool.
 */
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { NetlinkError } from './errors.js';

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

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const POLLIN = 0x1;
const EINTR = 4;
const EAGAIN = 11;
const CLONE_NEWNET = 0x40000000;
/** Receive buffer: dumps come in datagrams of at most 32 KiB, single replies are far smaller. */
const RECV_BUF = 256 * 1024;

interface Libc {
  errno(): number;
  socket(domain: number, type: number, proto: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, alen: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  poll(fds: Uint8Array, n: number, timeout: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
}

let libc: Libc | undefined;
function loadLibc(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') {
    throw new NetlinkError('ERR_NETLINK_SYSCALL', `netlink needs Linux (this is ${process.platform})`);
  }
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  libc = {
    errno: () => koffi.errno(),
    socket: lib.func('int socket(int, int, int)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    sendto: lib.func('long sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    recv: lib.func('long recv(int, void *, size_t, int)'),
    poll: lib.func('int poll(void *, unsigned long, int)'),
    close: lib.func('int close(int)'),
    setns: lib.func('int setns(int, int)'),
  } as Libc;
  return libc;
}

function sockaddrNl(pid = 0, groups = 0): Uint8Array {
  const a = new Uint8Array(12);
  const dv = new DataView(a.buffer);
  dv.setUint16(0, AF_NETLINK, true);
  dv.setUint32(4, pid, true);
  dv.setUint32(8, groups, true);
  return a;
}

function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function sysFail(c: Libc, what: string): NetlinkError {
  const errno = c.errno();
  return new NetlinkError('ERR_NETLINK_SYSCALL', `${what} failed: errno ${errno}`, { errno });
}

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
