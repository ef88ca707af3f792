/**
 * Link throughput and path metric (docs/protocol.md §4.10). Pure functions over bigint "umetric" values
 * (bit/s), so that the reference's 64-bit integer arithmetic is reproduced exactly; the only
 * floating-point step is the square root, which the reference takes in single precision.
 */
import { fm16StepDown, umetricFromFm16, umetricToFm16 } from './fm16.js';

export const UMETRIC_MAX = 257_698_037_760n; // FM16 e=31 m=56
export const UMETRIC_NOT_ROUTABLE = 65n; // FM16 e=0 m=1: "sqn known, no usable path"
export const LQ_MAX = 255;
const U64 = (x: bigint) => BigInt.asUintN(64, x);
const minU = (a: bigint, b: bigint) => (b < a ? b : a);
const U64_MAX = (1n << 64n) - 1n;
const U64_MAX_HALF_SQRT = 3_037_000_499n; // floor(sqrt(2^63 - 1))
const UMETRIC_MAX_SQRT = BigInt(Math.floor(Math.sqrt(Number(UMETRIC_MAX))));

/** METRIC algorithm bits (§4.10 table). */
export const METRIC_ALGO = { CP: 1, MP: 256, EP: 512, MB: 1024, EB: 2048, VB: 4096 } as const;

/** One path-interference parameter (METRIC TLV offset 28). */
export interface PathInterference {
  channelDistance: number;
  hopDistance: number;
  independence: number;
}

/** The originator's metric parameters: its METRIC TLV (§4.8) or our own defaults. */
export interface MetricParams {
  pathMetricMin: bigint;
  algo: number;
  flags: number;
  rxExpNumerator: number;
  rxExpDivisor: number;
  txExpNumerator: number;
  txExpDivisor: number;
  lqTx: number;
  lqTy: number;
  lqT1: number;
  linkRateEfficiency: number;
  ogmHistorySize: number;
  maxHops: number;
  hopPenalty: number;
  pathSqnBestHysteresis: number;
  pathLateHysteresis100ms: number;
  newPathMetricHysteresis: number;
  oldPathMetricHysteresis: number;
  ogmIntervalSec: number;
  pathSqnDiffMax: number;
  linkThroughputEfficiency: number;
  interference: PathInterference[];
}

/** The reference defaults (§5.4, §4.8 METRIC table). */
export const DEFAULT_METRIC_PARAMS: Readonly<MetricParams> = Object.freeze({
  pathMetricMin: 65n,
  algo: 4097,
  flags: 0,
  rxExpNumerator: 1,
  rxExpDivisor: 2,
  txExpNumerator: 1,
  txExpDivisor: 1,
  lqTx: 170,
  lqTy: 85,
  lqT1: 229,
  linkRateEfficiency: 40,
  ogmHistorySize: 5,
  maxHops: 63,
  hopPenalty: 0,
  pathSqnBestHysteresis: 3,
  pathLateHysteresis100ms: 25,
  newPathMetricHysteresis: 20,
  oldPathMetricHysteresis: 10,
  ogmIntervalSec: 6,
  pathSqnDiffMax: 2,
  linkThroughputEfficiency: 0,
  interference: [
    { channelDistance: 6, hopDistance: 3, independence: 31 },
    { channelDistance: 100, hopDistance: 1, independence: 31 },
    { channelDistance: 0, hopDistance: 0, independence: 0 },
    { channelDistance: 0, hopDistance: 0, independence: 0 },
  ],
});

/** The reference's single-precision square root, rounded to an integer. */
function fastSqrt(x: bigint): bigint {
  const f = Math.fround(Number(x));
  return BigInt(Math.floor(Math.fround(Math.fround(1 / Math.fround(1 / Math.sqrt(f))) + 0.5)));
}

const UMETRIC_MULTIPLY_MAX = (1n << 26n) - 1n;
/** a·b/UMAX as the reference computes it in 64 bits (scaled when a·b could overflow). */
function multiplyNormalized(a: bigint, b: bigint): bigint {
  if (b < UMETRIC_MULTIPLY_MAX) return U64(a * b) / UMETRIC_MAX;
  return U64(a * ((b << 26n) / UMETRIC_MAX)) >> 26n;
}

function power(x: bigint, num: number, div: number): bigint {
  switch (num) {
    case 0:
      return UMETRIC_MAX;
    case 1:
      return div === 1 ? x : fastSqrt(x) * UMETRIC_MAX_SQRT;
    case 2:
      return div === 1 ? multiplyNormalized(x, x) : x;
    case 3:
      return div === 1
        ? multiplyNormalized(x, multiplyNormalized(x, x))
        : (x * fastSqrt(x)) / UMETRIC_MAX_SQRT;
    default:
      return 0n;
  }
}

/** Steps 1–4 of "link throughput" (§4.10): the link quality after the threshold curve, 0–255. */
export function linkQualityCurve(rq: number, tq: number, p: MetricParams): number {
  const tqE = power((UMETRIC_MAX * BigInt(tq)) / 255n, p.txExpNumerator, p.txExpDivisor);
  const rqE = power((UMETRIC_MAX * BigInt(rq)) / 255n, p.rxExpNumerator, p.rxExpDivisor);
  const lm = multiplyNormalized(tqE, rqE);
  let lq = Number((lm * 255n) / UMETRIC_MAX);
  if (lq >= p.lqT1) lq = 255;
  else if (lq >= p.lqTx) lq = p.lqTy + Math.floor(((lq - p.lqTx) * (255 - p.lqTy)) / (p.lqT1 - p.lqTx));
  else lq = Math.floor((lq * p.lqTy) / p.lqTx);
  return lq;
}

/** Link throughput (§4.10 step 5): `rateMax` scaled by the curved lq; WLAN × linkRateEfficiency %. */
export function linkThroughput(
  rq: number,
  tq: number,
  rateMax: bigint,
  wireless: boolean,
  p: MetricParams,
): bigint {
  const lqU = (BigInt(linkQualityCurve(rq, tq, p)) * UMETRIC_MAX) / 255n;
  return (multiplyNormalized(rateMax, lqU) * BigInt(wireless ? p.linkRateEfficiency : 100)) / 100n;
}

/** One wireless hop of an OGM hop history (§4.9), or the own link. */
export interface HopEntry {
  metric: bigint;
  channel: number;
}

const CHANNEL_EXCLUSIVE = 0;
const CHANNEL_SHARED = 255;
const UMETRIC_MAX_MAX = U64_MAX;

function capacityMaxAirtime(hops: HopEntry[], p: MetricParams): bigint {
  let maxTime = 1n;
  for (let t = 0; t < hops.length; t++) {
    const ht = hops[t]!;
    const linkTime = (h: HopEntry) => UMETRIC_MAX_MAX / (h.metric > 0n ? h.metric : 1n);
    let pathTime = linkTime(ht);
    if (ht.channel !== CHANNEL_EXCLUSIVE) {
      for (let i = 0; i < hops.length; i++) {
        const hi = hops[i]!;
        if (i === t || hi.channel === CHANNEL_EXCLUSIVE) continue;
        let indep = 0;
        if (ht.channel !== CHANNEL_SHARED && hi.channel !== CHANNEL_SHARED) {
          const cd = Math.abs(ht.channel - hi.channel);
          const hd = Math.abs(t - i);
          for (const pip of p.interference) {
            if (!pip.channelDistance) break;
            if (cd >= pip.channelDistance && hd >= pip.hopDistance) indep = Math.max(indep, pip.independence);
          }
        }
        pathTime = U64(pathTime + (linkTime(hi) * BigInt(31 - indep)) / 31n);
      }
    }
    if (pathTime > maxTime) maxTime = pathTime;
  }
  return maxTime;
}

/** Inputs of one path-metric evaluation over one link. */
export interface PathMetricInput {
  /** The metric the neighbour claims in its OGM (FM16-decoded). */
  claimed: bigint;
  rq: number;
  tq: number;
  rateMax: bigint;
  wireless: boolean;
  /** Own interface channel (0 exclusive). */
  channel: number;
  /** Received hop history (nearest first). */
  history?: HopEntry[];
}

/**
 * The path metric via one link (§4.10 "Path metric", steps 1–4): returns the new umetric, or
 * UMETRIC_NOT_ROUTABLE (65) when there is no path through this link.
 */
export function pathMetric(input: PathMetricInput, p: MetricParams): bigint {
  const linkTP = linkThroughput(input.rq, input.tq, input.rateMax, input.wireless, p);
  let um = input.claimed;
  for (let bit = 12; bit >= 0 && um > UMETRIC_NOT_ROUTABLE; bit--) {
    if (!(p.algo & (1 << bit))) continue;
    const v = 1 << bit;
    if (v === METRIC_ALGO.VB) {
      if (linkTP > UMETRIC_NOT_ROUTABLE) {
        const min = minU(um, linkTP);
        const scaler = U64(min * U64_MAX_HALF_SQRT);
        const a = scaler / um;
        const b = scaler / linkTP;
        const root = fastSqrt(U64(a * a + b * b));
        um = root > 0n ? scaler / root : UMETRIC_NOT_ROUTABLE;
      } else um = UMETRIC_NOT_ROUTABLE;
    } else if (v === METRIC_ALGO.MB) {
      um = multiplyNormalized(um, linkTP);
    } else if (v === METRIC_ALGO.MP) {
      um = multiplyNormalized(um, (BigInt(linkQualityCurve(input.rq, input.tq, p)) * UMETRIC_MAX) / 255n);
    } else if (v === METRIC_ALGO.EP) {
      const lq = (BigInt(linkQualityCurve(input.rq, input.tq, p)) * UMETRIC_MAX) / 255n;
      um = um < 2n || lq < 2n ? UMETRIC_NOT_ROUTABLE : U64_MAX / (U64_MAX / um + U64_MAX / lq);
    } else if (v === METRIC_ALGO.CP) {
      const hops: HopEntry[] = [];
      if (input.channel !== CHANNEL_EXCLUSIVE) hops.push({ metric: linkTP, channel: input.channel });
      for (const h of input.history ?? []) {
        if (hops.length >= p.ogmHistorySize + 1) break;
        if (h.channel !== CHANNEL_EXCLUSIVE) hops.push(h);
      }
      let m = minU(um, linkTP);
      for (const h of hops) if (h.metric < m) m = h.metric;
      if (hops.length > 1) {
        const cap = UMETRIC_MAX_MAX / capacityMaxAirtime(hops, p);
        if (cap < m) m = cap;
      }
      um = m;
    } else {
      // EB, and once per unknown bit (§4.10 table "other").
      um = um < 2n || linkTP < 2n ? UMETRIC_NOT_ROUTABLE : U64_MAX / (U64_MAX / um + U64_MAX / linkTP);
    }
  }
  if (p.hopPenalty > 0) um = (um * BigInt(255 - p.hopPenalty)) / 256n;
  const stepDown = umetricFromFm16(fm16StepDown(umetricToFm16(input.claimed)));
  if (um > stepDown) um = stepDown;
  if (um < p.pathMetricMin || um <= UMETRIC_NOT_ROUTABLE) return UMETRIC_NOT_ROUTABLE;
  return um;
}

/** Time-aware rq/tq (§4.10): full value for T/10, then 90 % falling linearly to 0 at T. */
export function timeAware(value: number, ageMs: number, linkTimeoutMs: number): number {
  if (ageMs < linkTimeoutMs / 10) return value;
  if (ageMs >= linkTimeoutMs) return 0;
  return Math.floor((value * (linkTimeoutMs - ageMs)) / linkTimeoutMs);
}
