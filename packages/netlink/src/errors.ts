import { constants } from 'node:os';

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno))
  if (!errnoNames.has(num)) errnoNames.set(num, name);

/** The symbolic name of a (positive or negative) errno, e.g. 17 → "EEXIST". */
export function errnoName(errno: number): string {
  return errnoNames.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

export type NetlinkErrorCode =
  | 'ERR_NETLINK' // the kernel answered with an errno
  | 'ERR_NETLINK_TIMEOUT' // no answer in time
  | 'ERR_NETLINK_PROTOCOL' // an answer that does not parse
  | 'ERR_NETLINK_DUMP_INTR' // the dump changed while it was read (retry)
  | 'ERR_NETLINK_SYSCALL' // socket, bind, sendto, recv, poll or setns failed
  | 'ERR_NETLINK_CLOSED';

/** Every failure of this package. `errno` is positive (17 for EEXIST) when there is one. */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  readonly code: NetlinkErrorCode;
  readonly errno: number | undefined;
  constructor(code: NetlinkErrorCode, message: string, opts: { errno?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.errno = opts.errno;
  }
}
