import { describe, expect, it } from 'vitest';
import { createSeededRandom } from './random.js';

describe('createSeededRandom', () => {
  it('replays the same stream for the same seed', () => {
    const a = createSeededRandom(42);
    const b = createSeededRandom('42');
    expect(a.bytes(33)).toEqual(b.bytes(33));
    expect([a.float(), a.float(), a.uint32()]).toEqual([b.float(), b.float(), b.uint32()]);
  });

  it('gives different streams for different seeds and forks', () => {
    const a = createSeededRandom(1);
    const b = createSeededRandom(2);
    expect(a.bytes(16)).not.toEqual(b.bytes(16));
    const root = createSeededRandom('root');
    const before = createSeededRandom('root').float();
    const f1 = root.fork('x');
    const f2 = root.fork('y');
    expect(f1.bytes(16)).not.toEqual(f2.bytes(16));
    expect(root.fork('x').seed).toBe('root/x');
    // Forking does not advance the parent.
    expect(root.float()).toBe(before);
  });

  it('float is in [0, 1) and roughly uniform; int in [0, n)', () => {
    const r = createSeededRandom('uniform');
    const buckets = new Array<number>(10).fill(0);
    let inRange = true;
    for (let i = 0; i < 100_000; i++) {
      const f = r.float();
      if (!(f >= 0 && f < 1)) inRange = false;
      buckets[Math.floor(f * 10)]!++;
    }
    expect(inRange).toBe(true);
    for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(500);
    for (let i = 0; i < 1000; i++) {
      const k = r.int(7);
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true);
    }
  });

  it('bytes have the asked length, including lengths not a multiple of 4, and all byte values occur', () => {
    const r = createSeededRandom('bytes');
    for (const n of [0, 1, 3, 4, 5, 31, 32]) expect(r.bytes(n)).toHaveLength(n);
    const seen = new Set(r.bytes(10_000));
    expect(seen.size).toBe(256);
  });
});
