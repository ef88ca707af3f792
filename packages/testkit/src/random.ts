/**
 * Seeded randomness for tests and simulations ONLY: xoshiro128** seeded through a string hash.
 * It is fast and reproducible, and it is not cryptographically strong: never hand it to anything
 * that protects real traffic. The same seed always yields the same stream, so a simulation with a
 * fixed seed replays exactly.
 */
import type { Random } from '@bmx7/core';

export interface SeededRandom extends Random {
  /** A uniform 32-bit unsigned integer. */
  uint32(): number;
  /** A uniform integer in [0, n). */
  int(n: number): number;
  /** An independent stream derived from this one's seed and `label` (does not advance this one). */
  fork(label: string): SeededRandom;
  /** The seed this stream was created from. */
  readonly seed: string;
}

/** Four 32-bit words from a string (cyrb128); never all zero. */
function hashSeed(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  const s: [number, number, number, number] = [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

/** A deterministic Random for tests (see the module comment: not for real keys). */
export function createSeededRandom(seed: number | string): SeededRandom {
  const seedText = String(seed);
  let [a, b, c, d] = hashSeed(seedText);

  // xoshiro128** (Blackman and Vigna), 32-bit words.
  function next(): number {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  }

  const rnd: SeededRandom = {
    seed: seedText,
    uint32: next,
    float() {
      // 53 random bits, uniform in [0, 1).
      return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
    },
    int(n) {
      return Math.floor(rnd.float() * n);
    },
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        let w = next();
        for (let j = i; j < i + 4 && j < n; j++) {
          out[j] = w & 0xff;
          w >>>= 8;
        }
      }
      return out;
    },
    fork(label) {
      return createSeededRandom(`${seedText}/${label}`);
    },
  };
  return rnd;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
