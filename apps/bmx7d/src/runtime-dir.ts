/**
 * The runtime directory: `pid` (the lock that refuses a second daemon), `sock` (the control
 * socket, mode 0600) and `journal` (linux/journal.ts). The lock is the pid file, created
 * exclusively; a pid file whose process is gone is a crashed run's and is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  constructor(
    readonly code: 'ERR_ALREADY_RUNNING' | 'ERR_RUNTIME_DIR' | 'ERR_KEY' | 'ERR_SYSTEM',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RuntimeDir {
  readonly dir: string;
  readonly socketPath: string;
  readonly journalPath: string;
  /** True when a pid file of a dead process was found (a crash). */
  readonly crashed: boolean;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockRuntimeDir(dir: string): RuntimeDir {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new DaemonError(
      'ERR_RUNTIME_DIR',
      `runtimeDir: cannot create ${dir} (${(e as NodeJS.ErrnoException).code})`,
      {
        cause: e,
      },
    );
  }
  const pidPath = join(dir, 'pid');
  let crashed = false;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(pidPath, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) {
        throw new DaemonError(
          'ERR_RUNTIME_DIR',
          `runtimeDir: cannot create ${pidPath} (${(e as NodeJS.ErrnoException).code})`,
          {
            cause: e,
          },
        );
      }
      let pid = Number.NaN;
      try {
        pid = Number.parseInt(readFileSync(pidPath, 'utf8'), 10);
      } catch {
        // removed meanwhile
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new DaemonError('ERR_ALREADY_RUNNING', `another bmx7d (pid ${pid}) runs on runtimeDir ${dir}`);
      }
      crashed = true;
      try {
        unlinkSync(pidPath);
      } catch {
        // raced with another starter; the next attempt decides
      }
    }
  }
  return {
    dir,
    socketPath: join(dir, 'sock'),
    journalPath: join(dir, 'journal'),
    crashed,
    release() {
      for (const f of [join(dir, 'sock'), pidPath]) {
        try {
          unlinkSync(f);
        } catch {
          // gone already
        }
      }
    },
  };
}
