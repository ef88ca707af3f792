/**
 * libc through koffi for the netlink sockets (socket.ts, rtnl-monitor.ts) and for other packages'
 * Linux adapters (@bmx7/plugin-tun's TUN devices and raw sockets): one set of bindings per thread,
 * loaded on first use, and the helpers they need. Not in the package index: other packages import
 * it as `@bmx7/netlink/libc`. Worker threads bind their own functions (koffi functions belong to
 * the thread that made them) from the module at `koffiPath()`.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NetlinkError } from './errors.js';

/**
 * Set only in a bundle (tools/bundle.mjs, an esbuild `define`): koffi's file relative to the
 * bundle's own, which ships koffi beside it instead of in node_modules. Unbundled code resolves
 * the 'koffi' package as usual.
 */
declare const BMX7_KOFFI: string | undefined;

export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_DONTWAIT = 0x40;
export const EINTR = 4;
export const EAGAIN = 11;

export interface Libc {
  errno(): number;
  socket(domain: number, type: number, proto: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, alen: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  poll(fds: Uint8Array, n: number, timeout: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  /** `ioctl(fd, request, arg)` with a pointer argument (struct ifreq and the like). */
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  read(fd: number, buf: Uint8Array, len: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  eventfd(initval: number, flags: number): number;
}

let libc: Libc | undefined;
export function loadLibc(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') {
    throw new NetlinkError('ERR_NETLINK_SYSCALL', `netlink needs Linux (this is ${process.platform})`);
  }
  const koffi = createRequire(import.meta.url)(koffiPath()) as typeof import('koffi');
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
    ioctl: lib.func('int ioctl(int, unsigned long, void *)'),
    read: lib.func('long read(int, void *, size_t)'),
    write: lib.func('long write(int, const void *, size_t)'),
    eventfd: lib.func('int eventfd(unsigned int, int)'),
  } as Libc;
  return libc;
}

/**
 * Where koffi's entry point is: the main thread loads it from there, and worker threads
 * `require()` it by this path to bind their own functions.
 */
export function koffiPath(): string {
  if (typeof BMX7_KOFFI === 'string') return fileURLToPath(new URL(BMX7_KOFFI, import.meta.url));
  return createRequire(import.meta.url).resolve('koffi');
}

export function sockaddrNl(pid = 0, groups = 0): Uint8Array {
  const a = new Uint8Array(12);
  const dv = new DataView(a.buffer);
  dv.setUint16(0, AF_NETLINK, true);
  dv.setUint32(4, pid, true);
  dv.setUint32(8, groups, true);
  return a;
}

export function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

export function sysFail(c: Libc, what: string): NetlinkError {
  const errno = c.errno();
  return new NetlinkError('ERR_NETLINK_SYSCALL', `${what} failed: errno ${errno}`, { errno });
}
