import { describe, expect, it } from 'vitest';
import { DEFAULT_METRIC_PARAMS } from './metrics.js';
import { type PathCandidate, type PathState, type SelectionRule, selectPath } from './selection.js';

const p = DEFAULT_METRIC_PARAMS;
const M = 1_000_000_000n;
const cur = (sqn: number, um: bigint, link?: string): PathState => ({ sqn, um, link });
const cand = (
  sqn: number,
  um: bigint,
  link: string | undefined,
  extra: Partial<PathCandidate> = {},
): PathCandidate => ({
  sqn,
  claimed: um,
  um,
  link,
  sqnAgeMs: 0,
  bestSince: undefined,
  ...extra,
});

// docs/protocol.md §4.10 rules A–I, one or more cases each.
const cases: Array<[string, PathState, PathCandidate, SelectionRule | undefined]> = [
  ['A: 3 sqns ahead even without a path', cur(10, M, 'l1'), cand(13, 65n, undefined), 'A'],
  ['A not at 2 ahead with no path', cur(10, M, 'l1'), cand(12, 65n, undefined), undefined],
  ['B: next sqn while we have no path', cur(10, 65n, undefined), cand(11, 65n, undefined), 'B'],
  ['B: first OGM ever (um 0)', cur(0, 0n, undefined), cand(1, M, 'l1'), 'B'],
  [
    'C: next sqn after the late hysteresis',
    cur(10, M, 'l1'),
    cand(11, M / 2n, 'l2', { sqnAgeMs: 2500 }),
    'C',
  ],
  ['C not before 2.5 s', cur(10, M, 'l1'), cand(11, M / 2n, 'l2', { sqnAgeMs: 2400 }), undefined],
  ['D: next sqn on the same link', cur(10, M, 'l1'), cand(11, M / 2n, 'l1'), 'D'],
  ['D needs a routable candidate', cur(10, M, 'l1'), cand(11, 65n, 'l1'), undefined],
  ['E: any path beats no path', cur(10, 65n, undefined), cand(10, 100_000n, 'l1'), 'E'],
  ['G: same link, >10 % better', cur(10, M, 'l1'), cand(10, (M * 111n) / 100n, 'l1'), 'G'],
  ['G not at 10 %', cur(10, M, 'l1'), cand(10, (M * 110n) / 100n, 'l1'), undefined],
  ['H: other link, >20 % better', cur(10, M, 'l1'), cand(10, (M * 121n) / 100n, 'l2'), 'H'],
  ['H not at 15 %', cur(10, M, 'l1'), cand(10, (M * 115n) / 100n, 'l2'), undefined],
  ['I: better for 3 sqns', cur(10, M, 'l1'), cand(10, M + 1n, 'l2', { bestSince: 7 }), 'I'],
  ['I not for 2 sqns', cur(10, M, 'l1'), cand(10, M + 1n, 'l2', { bestSince: 8 }), undefined],
  ['older sqn is skipped', cur(10, 65n, undefined), cand(9, M, 'l1'), undefined],
  ['same sqn, not better claim is skipped', cur(10, M, 'l1'), cand(10, M, 'l1'), undefined],
];

describe('selectPath (docs/protocol.md §4.10 rules A–I)', () => {
  it.each(cases)('%s', (_name, state, c, rule) => {
    expect(selectPath(state, c, p).rule).toBe(rule);
  });

  it('asks to retry when only rule C time is missing', () => {
    const r = selectPath(cur(10, M, 'l1'), cand(11, M / 2n, 'l2', { sqnAgeMs: 1000 }), p);
    expect(r.rule).toBeUndefined();
    expect(r.retryInMs).toBe(1500);
  });

  it('asks to retry after at least one whole millisecond when a fraction of one is missing', () => {
    // found at 1000 nodes: 1e-12 ms left re-evaluated at the same virtual instant without end
    for (const age of [2500 - 1e-9, 2500 - 0.4, 1000.25]) {
      const r = selectPath(cur(10, M, 'l1'), cand(11, M / 2n, 'l2', { sqnAgeMs: age }), p);
      expect(Number.isInteger(r.retryInMs)).toBe(true);
      expect(r.retryInMs).toBeGreaterThanOrEqual(1);
      expect(age + r.retryInMs!).toBeGreaterThanOrEqual(2500);
    }
  });

  it('sets best-since when the candidate beats the path and clears it otherwise', () => {
    expect(selectPath(cur(10, M, 'l1'), cand(10, M + 1n, 'l2'), p).bestSince).toBe(10);
    expect(
      selectPath(cur(10, M, 'l1'), cand(11, M - 1n, 'l2', { bestSince: 9 }), p).bestSince,
    ).toBeUndefined();
  });
});
