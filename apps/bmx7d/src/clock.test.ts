import { describeClockCompliance } from '@bmx7/testkit';
import { expect, it } from 'vitest';
import { createLinuxClock, eventTime } from './clock.js';

it('the clock stands still within one event and moves between events', async () => {
  const a = eventTime();
  const spin = Date.now() + 3;
  while (Date.now() < spin) {
    // busy for 3 ms inside the same event
  }
  expect(eventTime()).toBe(a);
  await new Promise((r) => setTimeout(r, 5));
  expect(eventTime()).toBeGreaterThan(a);
});

it('never runs a task before its due time, even when setTimeout fires early', async () => {
  const clock = createLinuxClock();
  const late: number[] = [];
  const started = clock.now();
  await new Promise<void>((resolve) => {
    let left = 50;
    for (let i = 0; i < 50; i++) {
      const ms = 1 + (i % 7);
      const t0 = clock.now();
      clock.schedule(ms, () => {
        late.push(clock.now() - (t0 + ms));
        if (--left === 0) resolve();
      });
    }
  });
  expect(late).toHaveLength(50);
  expect(Math.min(...late)).toBeGreaterThanOrEqual(0);
  expect(clock.now()).toBeGreaterThan(started);
});

// The daemon's own clock passes the same suite as the simulator's virtual clock.
describeClockCompliance('Linux clock', () => {
  const clock = createLinuxClock();
  const cancels: (() => void)[] = [];
  return {
    clock: {
      now: clock.now,
      schedule(ms, fn) {
        const cancel = clock.schedule(ms, fn);
        cancels.push(cancel);
        return cancel;
      },
    },
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms + 5)),
    dispose: () => {
      for (const c of cancels) c();
    },
  };
});
