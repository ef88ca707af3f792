/**
 * Observing a node over HTTP: the listeners `metricsListen` and `httpListen` ask for, kept as the
 * configuration changes (one listener serves both when they name the same address), and the
 * snapshot they share, read at most every SNAPSHOT_MAX_AGE_MS however many clients ask.
 */
import type { Listen } from './listen.js';
import { ObserveError, type ObserveServer, type Serves, startObserveServer } from './server.js';
import type { Snapshot } from './snapshot.js';

export { DEFAULT_LISTEN_HOST, type Listen, OBSERVE_OPTIONS, parseListen } from './listen.js';
export { ObserveError } from './server.js';
export { type DeviceStats, type ObserveSources, type Snapshot, takeSnapshot } from './snapshot.js';

/** A snapshot is read again when the last one is older than this. */
export const SNAPSHOT_MAX_AGE_MS = 250;

export interface Observer {
  /**
   * Listens where asked (undefined: not at all), closing listeners no longer wanted. Rejects with
   * an ObserveError when an address cannot be listened on (the others are kept).
   */
  apply(metrics: Listen | undefined, http: Listen | undefined): Promise<void>;
  /** The listeners open now. */
  listeners(): readonly ObserveServer[];
  close(): Promise<void>;
}

export interface ObserverInit {
  /** The current snapshot; undefined while the daemon is starting. */
  snapshot(): Snapshot | undefined;
  /** A monotonic clock in ms (for the snapshot's age). */
  now(): number;
  onError?(err: Error): void;
}

/** Caches `take` for SNAPSHOT_MAX_AGE_MS. */
export function cachedSnapshot(
  take: () => Snapshot | undefined,
  now: () => number,
): () => Snapshot | undefined {
  let last: { at: number; value: Snapshot } | undefined;
  return () => {
    const t = now();
    if (last && t - last.at < SNAPSHOT_MAX_AGE_MS) return last.value;
    const value = take();
    last = value === undefined ? undefined : { at: t, value };
    return value;
  };
}

/** What each address serves, from the two options. */
export function wantedListeners(
  metrics: Listen | undefined,
  http: Listen | undefined,
): Map<string, { listen: Listen; serves: Serves }> {
  const out = new Map<string, { listen: Listen; serves: Serves }>();
  for (const [l, kind] of [
    [metrics, 'metrics'],
    [http, 'page'],
  ] as const) {
    if (!l) continue;
    const had = out.get(l.text)?.serves;
    out.set(l.text, {
      listen: l,
      serves: { metrics: had?.metrics === true, page: had?.page === true, [kind]: true },
    });
  }
  return out;
}

export function createObserver(init: ObserverInit): Observer {
  const snapshot = cachedSnapshot(init.snapshot, init.now);
  const open = new Map<string, ObserveServer>();
  // applies run one after the other (a runtime change while the start's listeners open)
  let queue: Promise<void> = Promise.resolve();
  const same = (a: Serves, b: Serves) => a.metrics === b.metrics && a.page === b.page;

  const applyNow = async (metrics: Listen | undefined, http: Listen | undefined) => {
    const wanted = wantedListeners(metrics, http);
    for (const [key, server] of [...open]) {
      const w = wanted.get(key);
      if (w && same(w.serves, server.serves)) continue;
      open.delete(key);
      await server.close();
    }
    const errors: Error[] = [];
    for (const [key, w] of wanted) {
      if (open.has(key)) continue;
      try {
        open.set(
          key,
          await startObserveServer({
            listen: w.listen,
            serves: w.serves,
            snapshot,
            ...(init.onError ? { onError: init.onError } : {}),
          }),
        );
      } catch (e) {
        const options = [w.serves.metrics && 'metricsListen', w.serves.page && 'httpListen'].filter(Boolean);
        errors.push(new ObserveError(`${options.join(' and ')}: ${(e as Error).message}`, { cause: e }));
      }
    }
    if (errors.length > 0) throw errors[0];
  };

  return {
    apply(metrics, http) {
      const run = queue.then(() => applyNow(metrics, http));
      queue = run.catch(() => {});
      return run;
    },
    listeners: () => [...open.values()],
    async close() {
      await queue;
      const all = [...open.values()];
      open.clear();
      await Promise.all(all.map((s) => s.close()));
    },
  };
}
