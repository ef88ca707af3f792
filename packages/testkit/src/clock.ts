/**
 * A discrete-event clock: the simulator's only notion of time (STYLE.md rule 10). Events sit in a
 * binary heap ordered by (time, insertion order), so equal times run in the order they were
 * scheduled and a run is reproducible. Scheduling and running an event are O(log n) and allocate
 * the heap entry and its cancel function only; cancelled entries are dropped lazily when they
 * reach the top, and the heap is compacted when they outnumber the live ones.
 */
import type { Clock, Millis } from '@bmx7/core';
import { SimCallbackError, SimTimeoutError, TestkitError } from './errors.js';

export interface RunUntilOptions {
  /** Give up (throw SimTimeoutError) once virtual time passes now + timeoutMs. */
  timeoutMs: Millis;
  /**
   * Evaluate the predicate only every this many virtual ms, at now + k·pollMs (default 0: after
   * every instant at which events ran). Such a wait returns the first grid time at which it held.
   */
  pollMs?: Millis;
}

export interface RunUntilIdleOptions {
  /** Throw SIM_EVENT_LIMIT after this many events (default 10 000 000): periodic timers never idle. */
  maxEvents?: number;
}

/** A group of timers that can be dropped together, e.g. everything one simulated node scheduled. */
export interface ClockScope {
  /** A Clock whose timers belong to this scope. */
  readonly clock: Clock;
  /** Timers of this scope still waiting to run. */
  readonly pending: number;
  /** Cancels every pending timer of the scope; timers scheduled afterwards through it never run. */
  dispose(): void;
  readonly disposed: boolean;
}

export interface VirtualClock extends Clock {
  /** Like schedule, without a cancel handle (a little cheaper: the simulator's packet deliveries). */
  post(delayMs: Millis, fn: () => void): void;
  /** Runs every event due at or before now + ms, then sets the time to now + ms. Returns events run. */
  advance(ms: Millis): number;
  /** Runs every event due at or before `time`, then sets the time to `time` (if later). Returns events run. */
  runUntil(time: Millis): number;
  /**
   * Runs events until `predicate` holds (checked first at the current time, then after each
   * instant at which events ran) and returns the virtual time at which it first held.
   * Throws SimTimeoutError when it has not held by now + timeoutMs (the clock then stands there).
   */
  runUntil(predicate: () => boolean, options: RunUntilOptions): Millis;
  /** Runs events until none is left; returns the time of the last one. */
  runUntilIdle(options?: RunUntilIdleOptions): Millis;
  /** Runs the next pending event, if any (the time jumps to it). Returns whether one ran. */
  step(): boolean;
  /** Due time of the next pending event, or undefined when idle. */
  nextAt(): Millis | undefined;
  /** Number of events waiting (cancelled ones excluded). */
  readonly pending: number;
  /** Number of events run so far. */
  readonly executed: number;
  /**
   * A new group of timers (see ClockScope). With a `label` (e.g. a node name), an exception from
   * one of its timers comes out as SimCallbackError naming the label and the virtual time.
   */
  scope(label?: string): ClockScope;
}

interface Scope {
  live: number;
  disposed: boolean;
  label: string | undefined;
}

interface Entry {
  time: Millis;
  seq: number;
  fn: (() => void) | null;
  scope: Scope | null;
}

const NO_SCOPE: Scope | null = null;

/** A virtual clock starting at `start` ms (default 0). */
export function createVirtualClock(start: Millis = 0): VirtualClock {
  let now = start;
  let seq = 0;
  let live = 0;
  let executed = 0;
  let heap: Entry[] = [];

  const before = (a: Entry, b: Entry) => a.time < b.time || (a.time === b.time && a.seq < b.seq);

  function siftUp(i: number): void {
    const e = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = heap[p]!;
      if (!before(e, pe)) break;
      heap[i] = pe;
      i = p;
    }
    heap[i] = e;
  }

  function siftDown(i: number): void {
    const n = heap.length;
    const e = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(heap[r]!, heap[l]!) ? r : l;
      const ce = heap[c]!;
      if (!before(ce, e)) break;
      heap[i] = ce;
      i = c;
    }
    heap[i] = e;
  }

  function pop(): Entry {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      siftDown(0);
    }
    return top;
  }

  const isLive = (e: Entry) => e.fn !== null && !(e.scope?.disposed ?? false);

  /** Drops dead entries once they are the majority (keeps memory at O(live)). */
  function maybeCompact(): void {
    if (heap.length < 1024 || heap.length - live <= live) return;
    heap = heap.filter(isLive);
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(i);
  }

  function add(delayMs: Millis, fn: () => void, scope: Scope | null): Entry {
    if (!(delayMs >= 0) || delayMs === Number.POSITIVE_INFINITY) {
      throw new TestkitError(
        'SIM_BAD_ARGUMENT',
        `schedule: delay must be a finite number ≥ 0, got ${delayMs}`,
      );
    }
    const e: Entry = { time: now + delayMs, seq: seq++, fn, scope };
    if (scope) {
      if (scope.disposed) e.fn = null;
      else scope.live++;
    }
    if (e.fn) live++;
    heap.push(e);
    siftUp(heap.length - 1);
    return e;
  }

  function cancel(e: Entry): void {
    if (!isLive(e)) return;
    e.fn = null;
    live--;
    if (e.scope) e.scope.live--;
    maybeCompact();
  }

  function schedule(delayMs: Millis, fn: () => void, scope: Scope | null = NO_SCOPE): () => void {
    const e = add(delayMs, fn, scope);
    return () => cancel(e);
  }

  /** Pops dead entries off the top so heap[0], if any, is live. */
  function skipDead(): void {
    while (heap.length > 0 && !isLive(heap[0]!)) pop();
  }

  /** Runs the top entry (which must be live). */
  function runTop(): void {
    const e = pop();
    const fn = e.fn!;
    e.fn = null;
    live--;
    if (e.scope) e.scope.live--;
    now = e.time;
    executed++;
    if (e.scope?.label === undefined) {
      fn();
      return;
    }
    try {
      fn();
    } catch (err) {
      throw new SimCallbackError(e.scope.label, now, err);
    }
  }

  function runTo(limit: Millis): number {
    let n = 0;
    for (;;) {
      skipDead();
      const top = heap[0];
      if (top === undefined || top.time > limit) break;
      runTop();
      n++;
    }
    if (limit > now) now = limit;
    return n;
  }

  function runUntilPredicate(predicate: () => boolean, options: RunUntilOptions): Millis {
    if (predicate()) return now;
    const deadline = now + options.timeoutMs;
    const pollMs = options.pollMs ?? 0;
    if (pollMs > 0) {
      // Look on a grid of virtual time: now + k·pollMs.
      for (let t = now; t < deadline; ) {
        t = Math.min(t + pollMs, deadline);
        runTo(t);
        if (predicate()) return now;
      }
    } else {
      for (;;) {
        skipDead();
        const top = heap[0];
        if (top === undefined || top.time > deadline) break;
        // Run the whole instant, then look: the predicate sees a consistent state.
        runTo(top.time);
        if (predicate()) return now;
      }
      runTo(deadline);
      if (predicate()) return now;
    }
    throw new SimTimeoutError(`condition not met within ${options.timeoutMs} ms of virtual time`, now);
  }

  const clock: VirtualClock = {
    now: () => now,
    schedule: (delayMs, fn) => schedule(delayMs, fn),
    post(delayMs, fn) {
      add(delayMs, fn, NO_SCOPE);
    },
    advance: (ms) => runTo(now + ms),
    runUntil: ((arg: Millis | (() => boolean), options?: RunUntilOptions) => {
      if (typeof arg === 'function') {
        if (!options) throw new TestkitError('SIM_BAD_ARGUMENT', 'runUntil(predicate) needs { timeoutMs }');
        return runUntilPredicate(arg, options);
      }
      return runTo(arg);
    }) as VirtualClock['runUntil'],
    runUntilIdle(options) {
      const max = options?.maxEvents ?? 10_000_000;
      let n = 0;
      for (;;) {
        skipDead();
        if (heap.length === 0) return now;
        if (n++ >= max) {
          throw new TestkitError('SIM_EVENT_LIMIT', `runUntilIdle: still busy after ${max} events`);
        }
        runTop();
      }
    },
    step() {
      skipDead();
      if (heap.length === 0) return false;
      runTop();
      return true;
    },
    nextAt() {
      skipDead();
      return heap[0]?.time;
    },
    get pending() {
      return live;
    },
    get executed() {
      return executed;
    },
    scope(label) {
      const s: Scope = { live: 0, disposed: false, label };
      const scoped: Clock = { now: () => now, schedule: (d, fn) => schedule(d, fn, s) };
      return {
        clock: scoped,
        get pending() {
          return s.live;
        },
        get disposed() {
          return s.disposed;
        },
        dispose() {
          if (s.disposed) return;
          s.disposed = true;
          live -= s.live;
          s.live = 0;
          maybeCompact();
        },
      };
    },
  };
  return clock;
}
