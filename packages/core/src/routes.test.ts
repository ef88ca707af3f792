import { describe, expect, it } from 'vitest';
import type { Route } from './ports.js';
import { RouteExport } from './routes.js';

describe('RouteExport', () => {
  it('sets, moves and withdraws routes with the fewest port calls', () => {
    const calls: string[] = [];
    const ex = new RouteExport({
      set: (r: Route) => calls.push(`set ${r.prefix} ${r.via}`),
      remove: (p: string) => calls.push(`rm ${p}`),
    });
    const r = (prefix: string, via: string): Route => ({ prefix, via, dev: 'eth0', metric: 1024 });
    ex.setOwner('a', [r('fd70::1/128', 'fe80::1'), r('fd00::/64', 'fe80::1')]);
    ex.setOwner('a', [r('fd70::1/128', 'fe80::1'), r('fd00::/64', 'fe80::1')]);
    ex.setOwner('a', [r('fd70::1/128', 'fe80::2')]);
    ex.setOwner('a', []);
    expect(calls).toEqual([
      'set fd70::1/128 fe80::1',
      'set fd00::/64 fe80::1',
      'rm fd00::/64',
      'set fd70::1/128 fe80::2',
      'rm fd70::1/128',
    ]);
    expect(ex.size).toBe(0);
  });
});
