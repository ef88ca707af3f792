/**
 * FM16 over bigint umetrics: the engine computes metrics in bigint (exact 64-bit arithmetic as
 * the reference does, §4.10); @bmx7/codec's number formats are used for the encoding itself.
 */
import {
  fm16StepDown as codecStepDown,
  umetricToFm16 as codecToFm16,
  fm16ToUmetric,
  isFm16Valid,
} from '@bmx7/codec';

export function umetricFromFm16(fm: number): bigint {
  return BigInt(fm16ToUmetric(fm));
}

export function umetricToFm16(v: bigint): number {
  return codecToFm16(Number(v));
}

export const fm16StepDown = codecStepDown;
export const fm16Valid = isFm16Valid;
