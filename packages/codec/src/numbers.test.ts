import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FM16_MAX,
  fm8ToFm16,
  fm8ToUmetric,
  fm16,
  fm16StepDown,
  fm16ToFm8,
  fm16ToUmetric,
  isFm16Valid,
  UMETRIC_MAX,
  umetricStepDown,
  umetricToFm8,
  umetricToFm16,
  umetricToHuman,
} from './numbers.js';

describe('FM16 (docs/protocol.md §4.10)', () => {
  it('has the table values', () => {
    expect(UMETRIC_MAX).toBe(257_698_037_760);
    expect(fm16ToUmetric(FM16_MAX)).toBe(UMETRIC_MAX);
    expect(fm16ToUmetric(fm16(0, 1))).toBe(65);
    expect(fm16ToUmetric(fm16(0, 0))).toBe(64);
    expect(umetricToFm16(64)).toBe(0);
    expect(umetricToFm16(0)).toBe(0);
    expect(umetricToFm16(65)).toBe(fm16(0, 1));
    expect(umetricToFm16(UMETRIC_MAX)).toBe(FM16_MAX);
    expect(umetricToFm16(2 ** 50)).toBe(FM16_MAX);
  });

  it('reproduces the worked examples of the path metric table', () => {
    expect(umetricToFm16(999_992_413)).toBe(fm16(23, 55));
    expect(fm16ToUmetric(fm16(23, 55))).toBe(998_244_352);
    expect(umetricToFm16(706_482_152)).toBe(fm16(23, 20));
    expect(fm16ToUmetric(fm16(23, 20))).toBe(704_643_072);
    expect(fm16ToUmetric(umetricToFm16(74_509_786))).toBe(74_448_896);
    expect(fm16ToUmetric(umetricToFm16(58_031_643))).toBe(57_671_680);
    expect(fm16ToUmetric(umetricToFm16(262_744_919))).toBe(262_144_000);
  });

  it('orders numerically like the metrics, and rounds down within one step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 65, max: UMETRIC_MAX - 1 }),
        fc.integer({ min: 65, max: UMETRIC_MAX - 1 }),
        (a, b) => {
          const fa = umetricToFm16(a);
          const back = fm16ToUmetric(fa);
          expect(back).toBeLessThanOrEqual(a);
          expect(a).toBeLessThan(back + 2 ** ((fa >> 8) & 0x1f));
          if (a <= b) expect(fa).toBeLessThanOrEqual(umetricToFm16(b));
          expect(isFm16Valid(fa)).toBe(true);
        },
      ),
    );
  });

  it('round-trips every valid FM16', () => {
    for (let e = 0; e <= 31; e++)
      for (let m = 0; m <= 63; m++) {
        const f = fm16(e, m);
        if (!isFm16Valid(f)) {
          expect(e === 31 && m > 56).toBe(true);
          continue;
        }
        if (e === 0 && m === 0) continue; // 64 encodes as "invalid" 0x0000 too
        expect(umetricToFm16(fm16ToUmetric(f))).toBe(f);
      }
  });

  it('steps down one FM16 step', () => {
    expect(fm16StepDown(fm16(23, 55))).toBe(fm16(23, 54));
    expect(fm16StepDown(fm16(5, 0))).toBe(fm16(4, 63));
    expect(fm16StepDown(0)).toBe(0);
    expect(umetricStepDown(998_244_352)).toBe(fm16ToUmetric(fm16(23, 54)));
  });

  it('prints metrics as the reference does', () => {
    expect(umetricToHuman(UMETRIC_MAX)).toBe('257G');
    expect(umetricToHuman(998_244_352)).toBe('998M');
    expect(umetricToHuman(65)).toBe('0');
    expect(umetricToHuman(64)).toBe('-1');
    expect(umetricToHuman(92_274_688)).toBe('92274K');
  });
});

describe('FM8', () => {
  it('has the reference values', () => {
    expect(umetricToFm8(100_000_000)).toBe(0xa3);
    expect(fm8ToUmetric(0xa3)).toBe(92_274_688);
    expect(umetricToFm8(UMETRIC_MAX)).toBe(0xff);
    expect(fm8ToUmetric(0xff)).toBe(UMETRIC_MAX);
    expect(fm8ToUmetric(umetricToFm8(1000))).toBe(960);
    expect(umetricToFm8(10)).toBe(0);
  });

  it('round-trips all 256 values and rounds down', () => {
    for (let b = 1; b < 256; b++) {
      expect(umetricToFm8(fm8ToUmetric(b))).toBe(b);
      expect(fm16ToFm8(fm8ToFm16(b))).toBe(b);
    }
    fc.assert(
      fc.property(fc.integer({ min: 65, max: UMETRIC_MAX }), (v) => {
        expect(fm8ToUmetric(umetricToFm8(v))).toBeLessThanOrEqual(v);
      }),
    );
  });
});
