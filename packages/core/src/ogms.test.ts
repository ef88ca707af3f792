import { describe, expect, it } from 'vitest';
import {
  acceptAggregation,
  aggregationContent,
  aggWindow,
  flushNewest,
  missingAggregations,
  newAggRxWindow,
  newAggTx,
  onAggSqnAdv,
  scheduleOgm,
} from './ogms.js';

describe('aggregation receive window (docs/protocol.md §4.9)', () => {
  it('accepts each aggregation in the window once and lists the missing ones', () => {
    const w = newAggRxWindow();
    expect(onAggSqnAdv(w, 10, 3)).toBe(true);
    expect(missingAggregations(w)).toEqual([10, 9, 8]);
    expect(acceptAggregation(w, 9)).toBe(true);
    expect(acceptAggregation(w, 9)).toBe(false);
    expect(acceptAggregation(w, 7)).toBe(false);
    expect(missingAggregations(w)).toEqual([10, 8]);
  });

  it('ignores an older announcement and clears the new range on advance', () => {
    const w = newAggRxWindow();
    onAggSqnAdv(w, 10, 2);
    acceptAggregation(w, 10);
    expect(onAggSqnAdv(w, 8, 2)).toBe(false);
    onAggSqnAdv(w, 11, 2);
    expect(missingAggregations(w)).toEqual([11]);
    acceptAggregation(w, 10);
    onAggSqnAdv(w, 500, 2); // far ahead: cleared entirely
    expect(missingAggregations(w)).toEqual([500, 499]);
    onAggSqnAdv(w, 65535, 2);
    acceptAggregation(w, 65535);
    onAggSqnAdv(w, 1, 3); // wraps
    expect(missingAggregations(w)).toEqual([1, 0]);
  });
});

describe('aggregation sender (docs/protocol.md §4.9)', () => {
  it('updates in place while unflushed and moves to the next after a flush', () => {
    const a = newAggTx<{ node: string; bytes: number; v: number }>();
    scheduleOgm(a, { node: 'x', bytes: 18, v: 1 });
    scheduleOgm(a, { node: 'x', bytes: 18, v: 2 });
    scheduleOgm(a, { node: 'y', bytes: 18, v: 1 });
    const f = flushNewest(a)!;
    expect(f.sqn).toBe(1);
    expect(f.ogms.map((o) => o.v)).toEqual([2, 1]);
    expect(flushNewest(a)).toBeUndefined();
    scheduleOgm(a, { node: 'x', bytes: 18, v: 3 });
    expect(a.newest).toBe(2);
    expect(aggWindow(a)).toBe(2);
    expect(aggregationContent(a, 1)!.map((o) => o.node)).toEqual(['y']);
    scheduleOgm(a, { node: 'y', bytes: 18, v: 3 });
    expect(aggWindow(a)).toBe(1);
    flushNewest(a);
    expect(aggregationContent(a, 2)!.length).toBe(2);
  });

  it('asks for an immediate flush past 532 bytes and never exceeds 580', () => {
    const a = newAggTx<{ node: string; bytes: number }>();
    let full = false;
    for (let i = 0; i < 40 && !full; i++) full = scheduleOgm(a, { node: `n${i}`, bytes: 18 });
    expect(full).toBe(true);
    expect(a.bytes.get(a.newest)!).toBeLessThanOrEqual(580);
  });
});
