/**
 * What a failed control connection means, for both protocols: no daemon (exit 3), a daemon at its
 * limit of clients (exit 4), or another failure (exit 1); always one line on stderr.
 */
import { EXIT_BUSY, EXIT_NO_DAEMON, EXIT_REFUSED } from '@bmx7/control';
import type { CliIo } from './cli.js';

/** The one line bmx7ctl prints when the daemon turns it away (exit EXIT_BUSY). */
export const BUSY_LINE = 'bmx7ctl: the daemon is busy (too many control connections); try again';

/** Nobody listens on the socket path. */
const NO_DAEMON = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTDIR', 'ENOTSOCK']);

/**
 * A daemon at its connection limit closes a new connection at once, with unread request bytes
 * (the reader sees ECONNRESET) or before the request is written (EPIPE). Before any byte of an
 * answer arrived, these mean "busy"; later they are a broken connection.
 */
const TURNED_AWAY = new Set(['ECONNRESET', 'EPIPE']);

/** Reports a socket error and returns the exit status. `received`: answer bytes read before it. */
export function socketErrorExit(
  err: NodeJS.ErrnoException,
  path: string,
  received: number,
  io: Pick<CliIo, 'err'>,
): number {
  const code = err.code ?? '';
  if (NO_DAEMON.has(code)) {
    io.err(`bmx7ctl: no daemon running (no control socket at ${path})`);
    return EXIT_NO_DAEMON;
  }
  if (TURNED_AWAY.has(code) && received === 0) {
    io.err(BUSY_LINE);
    return EXIT_BUSY;
  }
  io.err(`bmx7ctl: control socket ${path}: ${code || err.message}`);
  return code === 'EACCES' ? EXIT_NO_DAEMON : EXIT_REFUSED;
}
