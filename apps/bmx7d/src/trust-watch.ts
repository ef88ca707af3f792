/**
 * Watches the trusted-nodes directory (docs/protocol.md §4.11) as the reference does: any event in
 * it (a file created, deleted, renamed or written) re-reads the whole directory, and a list that
 * differs from the last one goes to `onChange` (the daemon passes it to the engine). When the
 * directory cannot be watched it is polled every second. When it cannot be read, every entry is
 * dropped (trust stays on, the node trusting only itself) and the read is retried every second.
 */
import { type FSWatcher, watch as fsWatch } from 'node:fs';
import type { Clock, LogLevel, TrustedNode } from '@bmx7/core';
import {
  ensureTrustDir,
  NODE_TRUST_FS,
  type RemovedTrustFile,
  scanTrustDir,
  type TrustDirFs,
} from './trust-dir.js';

/** The reference's DEF_TRUST_DIR_POLLING_INTERVAL: polling, and retrying an unreadable directory. */
export const TRUST_POLL_MS = 1000;
/** Events this close together cause one re-read. */
export const TRUST_DEBOUNCE_MS = 20;

export interface TrustWatcherInit {
  dir: string;
  /** A later list that differs from the one before (not called for the first read). */
  onChange(nodes: TrustedNode[]): void;
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  clock: Pick<Clock, 'schedule'>;
  /** Never watch, always poll (tests; file systems without inotify). */
  poll?: boolean;
  fs?: TrustDirFs;
  watch?: (dir: string, listener: () => void) => Pick<FSWatcher, 'close' | 'on'>;
}

export interface TrustWatcher {
  readonly dir: string;
  /** The current list (empty while the directory cannot be read). */
  nodes(): TrustedNode[];
  /** 'watch' while an fs watch is on the directory, else 'poll'. */
  mode(): 'watch' | 'poll';
  /** Re-reads the directory now (SIGHUP). */
  rescan(): void;
  close(): void;
}

function sameList(a: readonly TrustedNode[], b: readonly TrustedNode[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Reads the directory at once (creating it when missing) and then follows it. The first read's
 * list is `nodes()`; later changes go to `onChange`.
 */
export function watchTrustDir(init: TrustWatcherInit): TrustWatcher {
  const { dir, log, clock } = init;
  const fs = init.fs ?? NODE_TRUST_FS;
  const watch = init.watch ?? ((d, listener) => fsWatch(d, { persistent: false }, listener));
  let nodes: TrustedNode[] = [];
  let readable = true;
  let watcher: Pick<FSWatcher, 'close' | 'on'> | undefined;
  let cancelTimer: (() => void) | undefined;
  let closed = false;

  const logRemoved = (r: RemovedTrustFile) =>
    log(0, r.reason === 'invalid' ? 'removing invalid trust file' : 'removing duplicate trust file', {
      dir,
      file: r.fileName,
      reason: r.detail,
      ...(r.error === undefined ? {} : { error: r.error }),
    });

  const closeWatcher = (w: Pick<FSWatcher, 'close'> | undefined) => {
    try {
      w?.close();
    } catch {
      // already closed
    }
  };
  const unwatch = () => {
    closeWatcher(watcher);
    watcher = undefined;
  };

  const schedule = (ms: number) => {
    if (closed || cancelTimer !== undefined) return;
    cancelTimer = clock.schedule(ms, () => {
      cancelTimer = undefined;
      scan();
    });
  };

  let watchFailed = false;
  const watchFailure = (e: unknown) => {
    if (!watchFailed)
      log(0, 'cannot watch trustedNodesDir, polling it', { dir, error: errorText(e), pollMs: TRUST_POLL_MS });
    watchFailed = true;
  };
  const startWatching = (): void => {
    if (init.poll === true) return;
    try {
      const w = watch(dir, () => schedule(TRUST_DEBOUNCE_MS));
      w.on('error', (e: Error) => {
        if (watcher !== w) return;
        watchFailure(e);
        unwatch();
        schedule(0);
      });
      watcher = w;
      watchFailed = false;
    } catch (e) {
      if (readable) watchFailure(e);
    }
  };

  /**
   * One full read. As the reference re-arms inotify after each read, the watch is made anew, and
   * before the read, so that no change between the two is missed; without one it polls.
   */
  const scan = (first = false): void => {
    if (closed) return;
    if (first) {
      try {
        ensureTrustDir(dir);
      } catch {
        // the read below fails and says why
      }
    }
    const old = watcher;
    watcher = undefined;
    startWatching();
    closeWatcher(old);
    let next: TrustedNode[];
    try {
      const r = scanTrustDir(dir, new Map(nodes.map((n) => [n.id, n.fileName ?? ''])), fs);
      for (const x of r.removed) logRemoved(x);
      next = r.nodes;
      if (!readable) log(0, 'trustedNodesDir readable again', { dir, nodes: next.length });
      readable = true;
    } catch (e) {
      // as the reference: every entry goes, the node keeps trusting itself, and it retries
      if (readable)
        log(0, 'cannot read trustedNodesDir: trusting only this node until it can', {
          dir,
          error: errorText(e),
          retryMs: TRUST_POLL_MS,
        });
      readable = false;
      unwatch();
      next = [];
    }
    const changed = !sameList(nodes, next);
    nodes = next;
    if (watcher === undefined) schedule(TRUST_POLL_MS);
    if (changed && !first) {
      log(3, 'trusted nodes changed', { dir, nodes: next.length });
      init.onChange(next);
    }
  };

  scan(true);
  return {
    dir,
    nodes: () => nodes,
    mode: () => (watcher === undefined ? 'poll' : 'watch'),
    rescan: () => scan(),
    close() {
      closed = true;
      cancelTimer?.();
      cancelTimer = undefined;
      unwatch();
    },
  };
}

function errorText(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message ?? String(e);
}
