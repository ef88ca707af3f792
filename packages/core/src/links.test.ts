import { describe, expect, it } from 'vitest';
import { isLateHello, lqOk, newHelloWindow, recordHello } from './links.js';

describe('hello window (docs/protocol.md §4.10)', () => {
  it('rq climbs 5, 10, 15, 21, 26 … 255 while the 48-hello window fills', () => {
    const w = newHelloWindow();
    const rqs: number[] = [];
    for (let i = 0; i < 50; i++) rqs.push(recordHello(w, (65530 + i) & 0xffff, 48));
    expect(rqs.slice(0, 7)).toEqual([5, 10, 15, 21, 26, 31, 37]);
    expect(rqs[47]).toBe(255);
    expect(rqs[49]).toBe(255);
  });

  it('drops what left the window after a gap, restarts after ≥ 48', () => {
    const w = newHelloWindow();
    for (let i = 0; i < 48; i++) recordHello(w, i, 48);
    expect(recordHello(w, 47 + 24, 48)).toBe(Math.floor((255 * 25) / 48));
    expect(recordHello(w, 71 + 48, 48)).toBe(5);
    expect(recordHello(w, 3, 48)).toBe(5); // far older sqn (restarted neighbour) restarts the window
  });

  it('detects late duplicates within 4 below the last seen', () => {
    expect(isLateHello(10, 12)).toBe(true);
    expect(isLateHello(12, 12)).toBe(false);
    expect(isLateHello(8, 12)).toBe(false);
    expect(isLateHello(65535, 1)).toBe(true);
    expect(isLateHello(5, undefined)).toBe(false);
  });

  it('lq ok needs rq and tq ≥ 25 on the same link', () => {
    expect(lqOk({ rq: 26, rqTime: 0, tq: 26, tqTime: 0 }, 100, 20000, 25)).toBe(true);
    expect(lqOk({ rq: 26, rqTime: 0, tq: 20, tqTime: 0 }, 100, 20000, 25)).toBe(false);
    expect(lqOk({ rq: 26, rqTime: 0, tq: 26, tqTime: 0 }, 3000, 20000, 25)).toBe(false);
  });
});
