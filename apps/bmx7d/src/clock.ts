/** The engine's clock on Linux (STYLE.md rule 10: time comes through the clock port). */
import { performance } from 'node:perf_hooks';

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
