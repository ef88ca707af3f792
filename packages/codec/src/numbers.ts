/**
 * The reference's metric number formats (docs/protocol.md §4.10; metrics.c, node.h):
 *
 * - FM16 ("FMETRIC_U16"): 5-bit exponent e, 6-bit mantissa m, value 2^(e+6) + m·2^e. As a 16-bit
 *   number the exponent is the high byte and the mantissa the low byte, so numeric order is metric
 *   order. Here an FM16 is that number (`e << 8 | m`).
 * - FM8 ("FMETRIC_U8", bandwidths): high 5 bits e, low 3 bits m: value 2^(e+6) + m·2^(e+3).
 *
 * Metrics ("umetric", bit/s) are JavaScript numbers: the largest, UMETRIC_MAX ≈ 2^38, is far below
 * 2^53, so every representable metric is exact.
 */

export const OGM_MANTISSA_BIT_SIZE = 6;
export const OGM_EXPONENT_BIT_SIZE = 5;
export const OGM_EXPONENT_OFFSET = OGM_MANTISSA_BIT_SIZE;
export const OGM_EXPONENT_MAX = 31;
export const OGM_MANTISSA_MASK = 63;
/** Largest FM16 mantissa at the largest exponent (FM8 mantissa mask 7 << 3). */
export const OGM_MANTISSA_MAX = 56;
export const OGM_MANTISSA_INVALID = 0;
export const OGM_MANTISSA_MIN_NOT_ROUTABLE = 1;
export const FM8_MANTISSA_BIT_SIZE = 3;
export const FM8_MANTISSA_MASK = 7;

/** 64 = e0 m0: invalid metric. */
export const UMETRIC_INVALID = 64;
/** 65 = e0 m1: "sqn known, no usable path". */
export const UMETRIC_MIN_NOT_ROUTABLE = 65;
/** 66 = e0 m2: the smallest routable metric. */
export const UMETRIC_ROUTABLE = 66;
/** e31 m56 = 257,698,037,760 ("257G"), also FM8 0xFF. */
export const UMETRIC_MAX = 2 ** 37 + 56 * 2 ** 31;

/** FM16 of UMETRIC_MAX (e31 m56). */
export const FM16_MAX = (OGM_EXPONENT_MAX << 8) | OGM_MANTISSA_MAX;
/** FM16 of 65 (e0 m1). */
export const FM16_NOT_ROUTABLE = OGM_MANTISSA_MIN_NOT_ROUTABLE;
/** FM8 of UMETRIC_MAX. */
export const FM8_MAX = 0xff;

/** FM16 from exponent and mantissa. */
export function fm16(exp: number, mantissa: number): number {
  return ((exp & 0x1f) << 8) | (mantissa & OGM_MANTISSA_MASK);
}

export function fm16Exp(fm: number): number {
  return (fm >> 8) & 0xff;
}

export function fm16Mantissa(fm: number): number {
  return fm & 0xff;
}

/** is_fmetric_valid: mantissa ≤ 63, exponent ≤ 31, and mantissa ≤ 56 at exponent 31. */
export function isFm16Valid(fm: number): boolean {
  if (!Number.isInteger(fm) || fm < 0 || fm > 0xffff) return false;
  const e = fm16Exp(fm);
  const m = fm16Mantissa(fm);
  return (
    m <= OGM_MANTISSA_MASK && (e < OGM_EXPONENT_MAX || (e === OGM_EXPONENT_MAX && m <= OGM_MANTISSA_MAX))
  );
}

/** fmetric_to_umetric: 2^(e+6) + m·2^e. Invalid FM16s still give their formula value. */
export function fm16ToUmetric(fm: number): number {
  const e = fm16Exp(fm) & 0x1f;
  const m = fm16Mantissa(fm) & OGM_MANTISSA_MASK;
  return 2 ** (e + OGM_EXPONENT_OFFSET) + m * 2 ** e;
}

/** ⌊log2(v)⌋ for an integer v ≥ 1 below 2^53, exact at powers of two. */
function log2Floor(v: number): number {
  let x = Math.floor(Math.log2(v));
  if (2 ** x > v) x--;
  else if (2 ** (x + 1) <= v) x++;
  return x;
}

/**
 * umetric_to_fmetric: rounds down. Below 65 gives e0 m0 (0x0000), UMETRIC_MAX and above give
 * e31 m56; otherwise exponent = ⌊log2 v⌋ − 6, mantissa = (v >> exponent) & 63.
 */
export function umetricToFm16(um: number): number {
  const v = Math.floor(um);
  if (!(v >= UMETRIC_MIN_NOT_ROUTABLE)) return fm16(0, OGM_MANTISSA_INVALID);
  if (v >= UMETRIC_MAX) return FM16_MAX;
  const e = log2Floor(v) - OGM_EXPONENT_OFFSET;
  const m = Math.floor(v / 2 ** e) & OGM_MANTISSA_MASK;
  return fm16(e, m);
}

/** fmetric_substract_min: one FM16 step down (mantissa − 1, or exponent − 1 with mantissa 63). */
export function fm16StepDown(fm: number): number {
  const e = fm16Exp(fm);
  const m = fm16Mantissa(fm);
  if (m) return fm16(e, m - 1);
  if (e) return fm16(e - 1, OGM_MANTISSA_MASK);
  return fm;
}

/** umetric_substract_min: the metric one FM16 step below the FM16 of `um`. */
export function umetricStepDown(um: number): number {
  return fm16ToUmetric(fm16StepDown(umetricToFm16(um)));
}

/** fmetric_u8_to_fmu16: FM8 → FM16 (mantissa << 3). */
export function fm8ToFm16(fm8: number): number {
  return fm16((fm8 >> FM8_MANTISSA_BIT_SIZE) & 0x1f, (fm8 & FM8_MANTISSA_MASK) << 3);
}

/** fmetric_to_fmu8: FM16 → FM8 (mantissa >> 3, rounding down). */
export function fm16ToFm8(fm: number): number {
  return ((fm16Exp(fm) & 0x1f) << FM8_MANTISSA_BIT_SIZE) | ((fm16Mantissa(fm) >> 3) & FM8_MANTISSA_MASK);
}

/** fmetric_u8_to_umetric: 2^(e+6) + m·2^(e+3). FM8 0 gives 64 ("not set"). */
export function fm8ToUmetric(fm8: number): number {
  return fm16ToUmetric(fm8ToFm16(fm8));
}

/** umetric_to_fmu8: via FM16, both rounding down (100 Mbit/s → 0xA3 = 92,274,688). */
export function umetricToFm8(um: number): number {
  return fm16ToFm8(umetricToFm16(um));
}

/** Human form as the reference prints metrics (umetric_to_human): "-1", "0", 999, 12K, 34M, 5G. */
export function umetricToHuman(um: number): string {
  if (um < UMETRIC_MIN_NOT_ROUTABLE) return '-1';
  if (um <= UMETRIC_MIN_NOT_ROUTABLE) return '0';
  if (um < 100000) return `${Math.floor(um)}`;
  if (um < 100000000) return `${Math.floor(um / 1000)}K`;
  if (um < 100000000000) return `${Math.floor(um / 1000000)}M`;
  return `${Math.floor(um / 1000000000)}G`;
}
