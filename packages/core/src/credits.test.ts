import { describe, expect, it } from 'vitest';
import {
  creditAcronym,
  creditMatrix,
  emptySections,
  hasRoom,
  leastSection,
  parseCreditAcronym,
  setCount,
} from './credits.js';

const L = 0;
const T = 1;
const N = 4;
const [Q, F, R, A] = [0, 1, 2, 3];

describe('credit matrix', () => {
  it('the defaults are the reference effective limits and preferences', () => {
    // recomputed from key.c keyNode_initMatrix and checked against the reference's `show credits`
    const m = creditMatrix();
    expect(m.max).toEqual([
      [10000, 1100, 1100, 1000, 100],
      [10000, 1100, 1100, 1000, 50],
      [10000, 1100, 1100, 1000, 50],
      [10000, 1100, 1100, 1000, 25],
    ]);
    expect(m.pref).toEqual([
      [4000, 4001, 4002, 4003, 9999],
      [3000, 3001, 3002, 3003, 7000],
      [2000, 2001, 2002, 2003, 6000],
      [0, 1001, 1002, 1003, 5000],
    ]);
  });

  it('setCredits limits bound every set to the right and below', () => {
    const m = creditMatrix({ nQ: { maxNodes: 10 }, tQ: { maxNodes: 500 }, lA: { maxNodes: 9000 } });
    expect(m.max[Q]![N]).toBe(10);
    // nF, nR, nA inherit nQ's smaller limit
    expect([m.max[F]![N], m.max[R]![N], m.max[A]![N]]).toEqual([10, 10, 10]);
    // tQ bounds every Tracked and higher set
    expect(m.max[A]![T]).toBe(500);
    expect(m.max[A]![3]).toBe(500);
    expect(m.max[A]![L]).toBe(9000);
    // a larger limit than the set above it is cut to that one
    expect(creditMatrix({ nA: { maxNodes: 500 } }).max[A]![N]).toBe(50);
  });

  it('preferences stay above the left set and below the upper one', () => {
    const m = creditMatrix({ nA: { preference: 9000 }, tA: { preference: 0 } });
    expect(m.pref[A]![N]).toBe(5999); // below nR's 6000
    expect(m.pref[A]![T]).toBe(1); // above lA's 0
    expect(m.pref[A]![2]).toBe(1002);
  });

  it('unknown sections and values out of range are refused, naming them', () => {
    expect(() => creditMatrix({ xQ: { maxNodes: 3 } })).toThrow(/unknown section "xQ"/);
    expect(() => creditMatrix({ nA: { maxNodes: 0 } })).toThrow(/nA: maxNodes 0 is not 1..100000/);
    expect(() => creditMatrix({ nA: { preference: 10000 } })).toThrow(/preference 10000/);
    expect(() => creditMatrix({ nA: { maxNodes: 1.5 } })).toThrow(RangeError);
  });

  it('acronyms', () => {
    expect(creditAcronym(A, N)).toBe('nA');
    expect(creditAcronym(Q, L)).toBe('lQ');
    expect(parseCreditAcronym('pR')).toEqual({ row: R, column: 3 });
    expect(parseCreditAcronym('nX')).toBeUndefined();
    expect(parseCreditAcronym('nQQ')).toBeUndefined();
  });
});

describe('room and eviction', () => {
  it('counts a set as its section and every section right of it and below it', () => {
    const sec = emptySections();
    sec[Q]![N] = 1;
    sec[A]![T] = 2;
    sec[A]![L] = 3;
    sec[F]![L] = 4;
    expect(setCount(sec, Q, L)).toBe(10);
    expect(setCount(sec, Q, T)).toBe(3);
    expect(setCount(sec, R, L)).toBe(5);
    expect(setCount(sec, A, N)).toBe(0);
  });

  it('a key enters Tracked while the set and the sets above and left of it have room', () => {
    const m = creditMatrix({ tQ: { maxNodes: 3 } });
    const sec = emptySections();
    sec[Q]![N] = 1; // the node itself
    sec[A]![T] = 1;
    sec[A]![L] = 5;
    expect(hasRoom(m, sec, T, A, { row: A, column: L })).toBe(true);
    sec[A]![T] = 2; // tQ now holds 3
    expect(hasRoom(m, sec, T, A, { row: A, column: L })).toBe(false);
    // a key already in the set is not counted against it twice
    expect(hasRoom(m, sec, T, A, { row: A, column: T })).toBe(true);
  });

  it('a more preferred key may enter a full set when less preferred keys are there to displace', () => {
    const m = creditMatrix({ tQ: { maxNodes: 3 } });
    const sec = emptySections();
    sec[Q]![N] = 1;
    sec[A]![T] = 2;
    // a friend outranks the tracked aliens: it enters, and the limit check lowers an alien
    expect(hasRoom(m, sec, T, F, { row: F, column: L })).toBe(true);
    // another alien does not
    expect(hasRoom(m, sec, T, A, { row: A, column: L })).toBe(false);
  });

  it('the section to lower a key from is the least preferred occupied one of the set', () => {
    const m = creditMatrix();
    const sec = emptySections();
    sec[Q]![N] = 1;
    sec[F]![N] = 1;
    sec[A]![N] = 2;
    sec[A]![3] = 4;
    expect(leastSection(m, sec, Q, N)).toEqual({ row: A, column: N });
    expect(leastSection(m, sec, Q, 3)).toEqual({ row: A, column: 3 });
    expect(leastSection(m, sec, Q, L)).toEqual({ row: A, column: 3 });
    expect(leastSection(m, emptySections(), Q, L)).toBeUndefined();
  });
});
