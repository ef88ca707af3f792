/**
 * rtnetlink notifications: a NETLINK_ROUTE socket bound to multicast groups (RTMGRP_LINK,
 * RTMGRP_IPV6_IFADDR, …) that the kernel writes to whenever a link or address changes, read
 * without blocking (`poll()` returns what arrived, at once). A daemon polls it cheaply and
 * re-reads the state it cares about only when something changed. Linux only (libc through koffi).
 */
import { createRequire } from 'node:module';
import { NetlinkError } from './errors.js';
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

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const EINTR = 4;
const EAGAIN = 11;
const ENOBUFS = 105;

interface Libc {
  errno(): number;
  socket(domain: number, type: number, proto: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  close(fd: number): number;
}

let libc: Libc | undefined;
function loadLibc(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux')
    throw new NetlinkError('ERR_NETLINK_SYSCALL', `netlink needs Linux (this is ${process.platform})`);
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  libc = {
    errno: () => koffi.errno(),
    socket: lib.func('int socket(int, int, int)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    recv: lib.func('long recv(int, void *, size_t, int)'),
    close: lib.func('int close(int)'),
  } as Libc;
  return libc;
}

/** Opens a notification socket for the given RTMGRP_* bits, in the caller's network namespace. */
export function openRtnlMonitor(groups: number): RtnlMonitor {
  const c = loadLibc();
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    throw new NetlinkError('ERR_NETLINK_SYSCALL', `socket failed: errno ${c.errno()}`, { errno: c.errno() });
  const addr = new Uint8Array(12);
  const dv = new DataView(addr.buffer);
  dv.setUint16(0, AF_NETLINK, true);
  dv.setUint32(8, groups >>> 0, true);
  if (c.bind(fd, addr, addr.length) !== 0) {
    const errno = c.errno();
    c.close(fd);
    throw new NetlinkError('ERR_NETLINK_SYSCALL', `bind to groups ${groups} failed: errno ${errno}`, {
      errno,
    });
  }
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
          throw new NetlinkError('ERR_NETLINK_SYSCALL', `recv failed: errno ${e}`, { errno: e });
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
