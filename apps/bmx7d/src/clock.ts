/** The engine's clock on Linux (STYLE.md rule 10: time comes through the clock port). */
import { performance } from 'node:perf_hooks';
import type { Clock } from '@bmx7/core';

/**
 * The clock's `now`: the time of the current event, constant while one timer callback or one
 * received datagram is handled (as on the simulator's virtual clock). A task the engine schedules
 * "now" inside a round is then due in that same round; with a free-running clock it would slip to
 * the next one, txMinInterval later, and cost an extra packet (OGM_ADV apart from the hello).
 */
let cachedNow: number | undefined;
export function eventTime(): number {
  if (cachedNow === undefined) {
    cachedNow = performance.now();
    queueMicrotask(() => {
      cachedNow = undefined;
    });
  }
  return cachedNow;
}

/**
 * The daemon's clock: `now` is {@link eventTime}, and a scheduled task never runs before its due
 * time on that clock. Node's timers count whole milliseconds on a coarser clock than
 * `performance.now()`, so a `setTimeout` can fire a fraction of a millisecond early; the task is
 * then re-armed for the remainder instead of running early.
 */
export function createLinuxClock(): Clock {
  return {
    now: eventTime,
    schedule(ms, fn) {
      const due = eventTime() + Math.max(0, ms);
      let cancelled = false;
      let timer: NodeJS.Timeout;
      const fire = () => {
        if (cancelled) return;
        const left = due - performance.now();
        if (left > 0) {
          timer = setTimeout(fire, Math.ceil(left));
          return;
        }
        cancelled = true;
        fn();
      };
      timer = setTimeout(fire, Math.max(0, ms));
      return () => {
        cancelled = true;
        clearTimeout(timer);
      };
    },
  };
}
