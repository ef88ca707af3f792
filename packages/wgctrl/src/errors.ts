import { constants } from 'node:os';

/**
 * Stable codes of WgctrlError:
 * - ERR_WG_INVALID_CONFIG: the configuration was refused before anything was sent (names the field)
 * - ERR_WG_NO_DEVICE: no such device (ENODEV, ENOENT, no UAPI socket)
 * - ERR_WG_EXISTS: createDevice on a name in use
 * - ERR_WG_REJECTED: the device or kernel answered with an errno (see `errno`)
 * - ERR_WG_PERMISSION: EPERM or EACCES
 * - ERR_WG_PROTOCOL: a reply that does not parse (malformed, truncated)
 * - ERR_WG_TIMEOUT: no reply in time
 * - ERR_WG_UNAVAILABLE: the chosen backend cannot run here (no module, no wireguard-go, no wg)
 * - ERR_WG_TOOL: a spawned `wg` or `ip` failed
 * - ERR_WG_PROCESS: wireguard-go did not start or did not come up
 * - ERR_WG_CLOSED: the controller was closed
 */
export type WgctrlErrorCode =
  | 'ERR_WG_INVALID_CONFIG'
  | 'ERR_WG_NO_DEVICE'
  | 'ERR_WG_EXISTS'
  | 'ERR_WG_REJECTED'
  | 'ERR_WG_PERMISSION'
  | 'ERR_WG_PROTOCOL'
  | 'ERR_WG_TIMEOUT'
  | 'ERR_WG_UNAVAILABLE'
  | 'ERR_WG_TOOL'
  | 'ERR_WG_PROCESS'
  | 'ERR_WG_CLOSED';

export type WgBackendKind = 'kernel' | 'uapi' | 'wg';

/**
 * Every failure of @bmx7/wgctrl. Messages name the device, the backend and the errno, never a key
 * (keys are secrets, and configuration errors name the field instead of quoting its value).
 */
export class WgctrlError extends Error {
  override readonly name = 'WgctrlError';
  readonly code: WgctrlErrorCode;
  /** The device the operation was about, when there is one. */
  readonly device: string | undefined;
  readonly backend: WgBackendKind | undefined;
  /** Positive errno (98 for EADDRINUSE) when the device or kernel gave one. */
  readonly errno: number | undefined;
  constructor(
    code: WgctrlErrorCode,
    message: string,
    opts: { device?: string | undefined; backend?: WgBackendKind; errno?: number; cause?: unknown } = {},
  ) {
    const where = [opts.device, opts.backend].filter(Boolean).join(', ');
    super(
      where ? `${message} [${where}]` : message,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.code = code;
    this.device = opts.device;
    this.backend = opts.backend;
    this.errno = opts.errno;
  }
}

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno))
  if (!errnoNames.has(num)) errnoNames.set(num, name);

export function errnoName(errno: number): string {
  return errnoNames.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

const ENOENT = 2;
const EPERM = 1;
const EACCES = 13;
const EEXIST = 17;
const ENODEV = 19;

/** A WgctrlError for a positive errno answered by a device or the kernel. */
export function errnoError(
  errno: number,
  what: string,
  opts: { device?: string | undefined; backend: WgBackendKind; cause?: unknown },
): WgctrlError {
  const code =
    errno === ENODEV || errno === ENOENT
      ? 'ERR_WG_NO_DEVICE'
      : errno === EPERM || errno === EACCES
        ? 'ERR_WG_PERMISSION'
        : errno === EEXIST
          ? 'ERR_WG_EXISTS'
          : 'ERR_WG_REJECTED';
  return new WgctrlError(code, `${what}: ${errnoName(errno)} (errno ${errno})`, { ...opts, errno });
}
