/**
 * INTERIM: FM16 helpers until @bmx7/codec exports its number formats; then this module re-exports
 * them (bmx7-wire 4.10 "FM16"). Value = 2^(e+6) + m·2^e, 16-bit form e<<8 | m.
 */
const MAX = 257_698_037_760n;

export function umetricFromFm16(fm: number): bigint {
  const e = BigInt(fm >> 8);
  const m = BigInt(fm & 0xff);
  return (1n << (e + 6n)) + (m << e);
}

export function umetricToFm16(v: bigint): number {
  if (v < 65n) return 0;
  if (v >= MAX) return (31 << 8) | 56;
  const e = v.toString(2).length - 1 - 6;
  return (e << 8) | Number((v >> BigInt(e)) & 63n);
}

export function fm16StepDown(fm: number): number {
  const e = fm >> 8;
  const m = fm & 0xff;
  if (m) return (e << 8) | (m - 1);
  if (e) return ((e - 1) << 8) | 63;
  return fm;
}

export function fm16Valid(fm: number): boolean {
  const e = fm >> 8;
  const m = fm & 0xff;
  return m <= 63 && (e < 31 || (e === 31 && m <= 56));
}
