import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allPayloads } from '../test/fixtures.js';
import { bytesEqual } from './bytes.js';
import { decodeDescription } from './description.js';
import type { DescAdvFrame } from './frames.js';
import { decodePacket, encodePacket } from './packet.js';

const payloads = allPayloads();

/** Decoding must never throw; whatever decodes must re-encode to the very same bytes. */
function check(b: Uint8Array): boolean {
  const r = decodePacket(b);
  if (!r.ok) {
    expect(typeof r.reason).toBe('string');
    return false;
  }
  expect(bytesEqual(encodePacket(r.value.header, r.value.frames), b)).toBe(true);
  return true;
}

describe('hostile input', () => {
  it('every prefix of every fixture packet decodes to a clean error or a shorter valid packet', () => {
    let valid = 0;
    let prefixes = 0;
    for (const p of payloads) {
      for (let n = 0; n < p.length; n++) {
        prefixes++;
        if (check(p.subarray(0, n))) {
          valid++;
          // a shorter valid packet ends on a frame boundary of the original
          const full = decodePacket(p);
          expect(full.ok && full.value.frames.some((f) => f.offset === n)).toBe(true);
        }
      }
    }
    expect(prefixes).toBeGreaterThan(50_000);
    expect(valid).toBeGreaterThan(0);
  });

  it('100,000 randomly bit-flipped fixture packets: no exception, lossless when they decode', () => {
    let decoded = 0;
    const N = 100_000;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: payloads.length - 1 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        (i, flips) => {
          const b = payloads[i]!.slice();
          for (const f of flips) {
            const bit = f % (b.length * 8);
            b[bit >> 3]! ^= 1 << (bit & 7);
          }
          if (check(b)) decoded++;
        },
      ),
      { numRuns: N },
    );
    // Most flips land in hashes, signatures and keys, which decode fine.
    expect(decoded).toBeGreaterThan(N / 4);
  }, 120_000);

  it('random bytes behind a valid header: no exception', () => {
    const header = payloads[0]!.subarray(0, 30);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1300 }), (tail) => {
        const b = new Uint8Array(30 + tail.length);
        b.set(header);
        b.set(tail, 30);
        check(b);
      }),
      { numRuns: 20_000 },
    );
  });

  it('descriptions: every prefix is an error or ends on a TLV boundary', () => {
    let n = 0;
    for (const pl of payloads) {
      const r = decodePacket(pl);
      if (!r.ok) continue;
      for (const f of r.value.frames) {
        if (f.type !== 2) continue;
        n++;
        const desc = (f as DescAdvFrame).description;
        const d = pl.subarray(f.offset + 2, f.offset + f.length);
        expect(desc.length).toBe(d.length);
        const bounds = new Set(desc.tlvs.map((t) => t.offset));
        for (let k = 0; k < d.length; k++) {
          const p = decodeDescription(d.subarray(0, k));
          if (p.ok) expect(bounds.has(k)).toBe(true);
        }
      }
    }
    expect(n).toBeGreaterThan(10);
  });
});
