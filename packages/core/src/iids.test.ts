import { describe, expect, it } from 'vitest';
import { IidRepo, mayRequest, newIidRef } from './iids.js';

describe('IID repository (docs/protocol.md §4.9)', () => {
  it('numbers with the lowest free value and reuses freed ones', () => {
    const r = new IidRepo();
    expect(r.assign('me')).toBe(1);
    expect(r.assign('a')).toBe(2);
    expect(r.assign('b')).toBe(3);
    r.free(2);
    expect(r.assign('c')).toBe(2);
    expect(r.assign('d')).toBe(4);
    expect(r.get(3)).toBe('b');
  });

  it('caps requests per IID at iterations + 1 per interval', () => {
    const ref = newIidRef(5, 0);
    const sent = [0, 1, 2, 3, 4, 5, 6].map((t) => mayRequest(ref, t * 100, 4, 10000));
    expect(sent).toEqual([true, true, true, true, true, false, false]);
    expect(mayRequest(ref, 10_000, 4, 10000)).toBe(true);
  });
});
