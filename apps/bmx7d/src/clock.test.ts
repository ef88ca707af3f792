import { expect, it } from 'vitest';
import { eventTime } from './clock.js';

it('the clock stands still within one event and moves between events', async () => {
  const a = eventTime();
  const spin = Date.now() + 3;
  while (Date.now() < spin) {
    // busy for 3 ms inside the same event
  }
  expect(eventTime()).toBe(a);
  await new Promise((r) => setTimeout(r, 5));
  expect(eventTime()).toBeGreaterThanOrEqual(a + 4);
});
