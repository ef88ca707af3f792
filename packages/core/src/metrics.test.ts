import { describe, expect, it } from 'vitest';
import { umetricFromFm16, umetricToFm16 } from './fm16.js';
import {
  DEFAULT_METRIC_PARAMS,
  linkQualityCurve,
  linkThroughput,
  pathMetric,
  timeAware,
  UMETRIC_MAX,
} from './metrics.js';

const G = 1_000_000_000n;

// docs/protocol.md §4.10 "Worked examples (LAN 1000M, default METRIC)".
const worked = [
  { claimed: 257_698_037_760n, rq: 255, tq: 255, lq: 255, tp: 1_000_000_000n, sent: 998_244_352n },
  { claimed: 998_244_352n, rq: 255, tq: 255, lq: 255, tp: 1_000_000_000n, sent: 704_643_072n },
  { claimed: 257_698_037_760n, rq: 69, tq: 74, lq: 19, tp: 74_509_799n, sent: 74_448_896n },
  { claimed: 81_788_928n, rq: 74, tq: 79, lq: 21, tp: 82_352_936n, sent: 57_671_680n },
  { claimed: 257_698_037_760n, rq: 159, tq: 170, lq: 67, tp: 262_745_097n, sent: 262_144_000n },
];

describe('metrics (docs/protocol.md §4.10 worked examples)', () => {
  it.each(worked)('claimed $claimed rq $rq tq $tq', (w) => {
    const p = DEFAULT_METRIC_PARAMS;
    expect(linkQualityCurve(w.rq, w.tq, p)).toBe(w.lq);
    expect(linkThroughput(w.rq, w.tq, G, false, p)).toBe(w.tp);
    const um = pathMetric(
      { claimed: w.claimed, rq: w.rq, tq: w.tq, rateMax: G, wireless: false, channel: 0 },
      p,
    );
    expect(umetricFromFm16(umetricToFm16(um))).toBe(w.sent);
  });

  it('gives no path for a dead link or a not-routable claim', () => {
    const p = DEFAULT_METRIC_PARAMS;
    expect(
      pathMetric({ claimed: UMETRIC_MAX, rq: 0, tq: 0, rateMax: G, wireless: false, channel: 0 }, p),
    ).toBe(65n);
    expect(pathMetric({ claimed: 65n, rq: 255, tq: 255, rateMax: G, wireless: false, channel: 0 }, p)).toBe(
      65n,
    );
  });

  it('time-aware values step to 90 % at T/10 and reach 0 at T', () => {
    expect(timeAware(200, 1999, 20000)).toBe(200);
    expect(timeAware(200, 2000, 20000)).toBe(180);
    expect(timeAware(200, 19999, 20000)).toBe(0);
    expect(timeAware(200, 20000, 20000)).toBe(0);
  });
});
