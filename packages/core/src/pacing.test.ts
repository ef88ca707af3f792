import { describe, expect, it } from 'vitest';
import { bucketRound, doNowOrLater, newTxBucket } from './pacing.js';

describe('doNowOrLater', () => {
  it('fires when due and keeps the phase when serviced within one interval', () => {
    const t = { next: 1000 };
    expect(doNowOrLater(t, 999, 500, false)).toBe(false);
    expect(doNowOrLater(t, 1200, 500, false)).toBe(true);
    expect(t.next).toBe(1500); // phase kept: 1000 + 500, not 1200 + 500
    expect(doNowOrLater(t, 1400, 500, false)).toBe(false);
  });

  it('restarts from now when more than one interval late, or when forced early', () => {
    const t = { next: 1000 };
    expect(doNowOrLater(t, 1600, 500, false)).toBe(true);
    expect(t.next).toBe(2100);
    expect(doNowOrLater(t, 1700, 500, true)).toBe(true);
    expect(t.next).toBe(2200);
  });

  it('treats a time more than one interval ahead as due (a clock that went back)', () => {
    const t = { next: 10_000 };
    expect(doNowOrLater(t, 1000, 500, false)).toBe(true);
    expect(t.next).toBe(1500);
  });
});

describe('transmit bucket', () => {
  const p = { txMinInterval: 100, txAvgInterval: 800, txBucketSize: 50, txBucketDrain: 34 };

  it('allows about 60 busy rounds at txMinInterval, then spaces rounds txAvgInterval apart', () => {
    const b = newTxBucket();
    let now = 0;
    let fast = 0;
    for (let i = 0; i < 200; i++) {
      const gap = bucketRound(b, p, now, true);
      if (gap === 100) fast++;
      else break;
      now += gap;
    }
    // +1 coin per round, −100/562 per 100 ms: full after 50 / 0.822 ≈ 61 rounds
    expect(fast).toBeGreaterThanOrEqual(60);
    expect(fast).toBeLessThanOrEqual(62);
  });

  it('drains one coin per 562 ms with the defaults, and idle rounds add nothing', () => {
    const b = newTxBucket();
    bucketRound(b, p, 0, true);
    bucketRound(b, p, 0, true);
    expect(b.coins).toBe(2);
    bucketRound(b, p, 562, false);
    expect(b.coins).toBeCloseTo(1, 6);
    // the time counted per round is at most txAvgInterval
    bucketRound(b, p, 100_000, false);
    expect(b.coins).toBe(0);
  });

  it('a full bucket gives txAvgInterval until it drains below txBucketSize', () => {
    const b = { coins: 50, at: 0 };
    expect(bucketRound(b, { ...p, txBucketDrain: 0 }, 0, false)).toBe(800);
    // drain 0 %: one coin per txAvgInterval
    expect(bucketRound(b, { ...p, txBucketDrain: 0 }, 800, false)).toBe(100);
    expect(b.coins).toBe(49);
  });
});
