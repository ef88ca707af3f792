/**
 * The runtime directory: `pid` (the lock that refuses a second daemon), `sock` (the control
 * socket, mode 0600) and `journal` (linux/journal.ts). The lock is the pid file, created
 * exclusively; a pid file whose process is gone is a crashed run's and is taken over. Directories
 * the daemon created are removed again on release when they are empty (a start that fails leaves
 * nothing behind; a journal left after a crash keeps its directory).
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  constructor(
    readonly code: 'ERR_ALREADY_RUNNING' | 'ERR_RUNTIME_DIR' | 'ERR_KEY' | 'ERR_SYSTEM' | 'ERR_PLUGIN',
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

/**
 * Creates `dir` and its missing parents; returns the directories it created, outermost first.
 * Node's own `recursive` mkdir reports a read-only file system as ENOENT; this reports the error
 * of the directory that could not be made (EROFS, EACCES, ENOTDIR …).
 */
export function makeDirs(dir: string, mode: number, mkdir = mkdirSync): string[] {
  const path = resolve(dir);
  try {
    mkdir(path, { mode });
    return [path];
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return [];
    if (code !== 'ENOENT' || dirname(path) === path) throw e;
  }
  const created = makeDirs(dirname(path), mode, mkdir);
  try {
    mkdir(path, { mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      removeEmpty(created);
      throw e;
    }
    return created;
  }
  return [...created, path];
}

/** Removes directories, innermost first, as long as they are empty. */
function removeEmpty(dirs: readonly string[]): void {
  for (const d of [...dirs].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (a journal after a crash), or gone
    }
  }
}

export function lockRuntimeDir(dir: string): RuntimeDir {
  let created: string[];
  try {
    created = makeDirs(dir, 0o700);
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
        removeEmpty(created);
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
        removeEmpty(created);
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
      removeEmpty(created);
    },
  };
}
