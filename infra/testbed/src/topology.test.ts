import { describe, expect, it } from 'vitest';
import { parseTopology, planTopology } from './topology.js';

describe('topologies', () => {
  it.each([
    [
      'line:3',
      ['n1', 'n2', 'n3'],
      [
        ['n1', 'n2'],
        ['n2', 'n3'],
      ],
    ],
    [
      'ring:3',
      ['n1', 'n2', 'n3'],
      [
        ['n1', 'n2'],
        ['n2', 'n3'],
        ['n3', 'n1'],
      ],
    ],
    [
      'grid:2x2',
      ['n1', 'n2', 'n3', 'n4'],
      [
        ['n1', 'n2'],
        ['n1', 'n3'],
        ['n2', 'n4'],
        ['n3', 'n4'],
      ],
    ],
    [
      'edges:1-3,3-2',
      ['n1', 'n2', 'n3'],
      [
        ['n1', 'n3'],
        ['n3', 'n2'],
      ],
    ],
    ['line:1', ['n1'], []],
  ])('%s', (text, nodes, edges) => {
    expect(planTopology(parseTopology(text))).toEqual({ nodes, edges });
  });

  it('sizes a grid as w·h nodes and (w−1)·h + w·(h−1) edges', () => {
    const p = planTopology({ kind: 'grid', w: 5, h: 5 });
    expect(p.nodes).toHaveLength(25);
    expect(p.edges).toHaveLength(40);
  });

  it.each([
    ['star:3', /not one of/],
    ['line:x', /not a number/],
    ['line:0', /needs 1 to/],
    ['ring:2', /needs 3 to/],
    ['grid:3', /not WxH/],
    ['edges:1-1', /to itself/],
    ['edges:1-2,2-1', /listed twice/],
    ['edges:1-2,x', /not A-B/],
    ['line:999', /needs 1 to 256/],
  ])('rejects %s', (text, re) => {
    expect(() => planTopology(parseTopology(text))).toThrow(re);
  });
});
