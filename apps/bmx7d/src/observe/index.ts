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
   * Listens where asked (undefined: not at all), closing listeners no longer wanted. A new address
   * is listened on before the old one closes: when it cannot be, this rejects with an ObserveError
   * naming the option, and the old listener keeps serving what moved (the others change as asked).
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
    const before = new Map([...open].map(([key, server]) => [key, server.serves]));
    // an address that stays: what it serves changes on the same socket
    for (const [key, w] of wanted) open.get(key)?.setServes(w.serves);
    // a new address is listened on before anything is closed, so a failure leaves the old one serving
    const failures: { listen: Listen; serves: Serves; error: Error }[] = [];
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
        failures.push({ listen: w.listen, serves: w.serves, error: e as Error });
      }
    }
    const failed = (kind: keyof Serves) => failures.some((f) => f.serves[kind]);
    // then every listener serves what is wanted of it, and what it served of a failed listener's
    const keptAt = new Map<keyof Serves, string>();
    for (const [key, server] of [...open]) {
      const had = before.get(key);
      const want = wanted.get(key)?.serves ?? { metrics: false, page: false };
      const next = {
        metrics: want.metrics || (had?.metrics === true && failed('metrics')),
        page: want.page || (had?.page === true && failed('page')),
      };
      for (const kind of ['metrics', 'page'] as const)
        if (next[kind] && !want[kind]) keptAt.set(kind, server.listen.text);
      if (next.metrics || next.page) {
        if (!same(next, server.serves)) server.setServes(next);
        continue;
      }
      open.delete(key);
      await server.close();
    }
    if (failures.length === 0) return;
    const f = failures[0] as (typeof failures)[number];
    const kinds = (['metrics', 'page'] as const).filter((k) => f.serves[k]);
    const options = kinds.map((k) => (k === 'metrics' ? 'metricsListen' : 'httpListen'));
    const kept = [...new Set(kinds.map((k) => keptAt.get(k)).filter((t) => t !== undefined))];
    throw new ObserveError(
      `${options.join(' and ')}: ${f.error.message}${kept.length > 0 ? `; still served on ${kept.join(' and ')}` : ''}`,
      { cause: f.error },
    );
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
