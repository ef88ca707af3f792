/**
 * rtnetlink notifications: a NETLINK_ROUTE socket bound to multicast groups (RTMGRP_LINK,
 * RTMGRP_IPV6_IFADDR, …) that the kernel writes to whenever a link or address changes, read
 * without blocking (`poll()` returns what arrived, at once). A daemon polls it cheaply and
 * re-reads the state it cares about only when something changed. Linux only (libc through koffi).
 */
import { NetlinkError } from './errors.js';
import {
  AF_NETLINK,
  EAGAIN,
  EINTR,
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

/** Opens a notification socket for the given RTMGRP_* bits, in the caller's network namespace. */
export function openRtnlMonitor(groups: number): RtnlMonitor {
  const c = loadLibc();
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw sysFail(c, 'socket(AF_NETLINK, NETLINK_ROUTE)');
  const addr = sockaddrNl(0, groups >>> 0);
  if (c.bind(fd, addr, addr.length) !== 0) {
    const err = sysFail(c, `bind to groups ${groups}`);
    c.close(fd);
    throw err;
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
