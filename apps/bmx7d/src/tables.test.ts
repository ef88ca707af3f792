import type { Engine } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { UNKNOWN_REVISION } from './revision.js';
import { type HostFacts, nodesCell, tableRows } from './tables.js';

const SELF = 'aa'.repeat(28);
const B = 'bb'.repeat(28);
const C = 'cc'.repeat(28);
const D = 'dd'.repeat(28);

/** An engine that only shows rows (what tables.ts reads). */
function engine(rows: Record<string, Record<string, unknown>[]>): Engine {
  return {
    nodeId: SELF,
    shortId: 'AAAAAAAA',
    primaryIp: 'fd70::a',
    show: (t: string) => rows[t] ?? [],
    nodes: () => [],
  } as unknown as Engine;
}

const host: HostFacts = { revision: '1234abc', devs: [], cpuPercent: () => 0, memKb: () => 1 };

describe('show cells bmx7d computes', () => {
  it("cv is each node's own, 21 when the engine does not say; revision is this build's for the own node", () => {
    const e = engine({
      status: [{ shortId: 'AAAAAAAA', name: 'n1', cv: 21, nodes: 3 }],
      originators: [
        { shortId: 'BBBBBBBB', name: 'n2', cv: 22, dev: 'eth1', nbLocalIp: 'fe80::b', metric: 1 },
        { shortId: 'CCCCCCCC', name: 'n3', dev: 'eth1', nbLocalIp: 'fe80::b', metric: 1 },
      ],
    });
    const rows = tableRows(e, 'originators', host) ?? [];
    expect(rows.map((r) => [r.name, r.cv, r.revision])).toEqual([
      ['n1', 21, '1234abc'],
      ['n2', 22, UNKNOWN_REVISION],
      ['n3', 21, UNKNOWN_REVISION],
    ]);
    expect(tableRows(e, 'status', host)?.[0]).toMatchObject({ revision: '1234abc', cv: 21 });
  });

  it('nodes is described / known keys, the own node counted once in each', () => {
    const keys = (...ids: string[]) => ids.map((nodeId) => ({ nodeId }));
    const origs = (n: number) => Array.from({ length: n }, (_, i) => ({ shortId: `${i}` }));
    // alone
    expect(nodesCell(engine({ originators: [], keys: [] }))).toBe('1/1');
    // two others described, one more key still unresolved
    expect(nodesCell(engine({ originators: origs(2), keys: keys(B, C, D) }))).toBe('3/4');
    // an engine that lists its own key among the keys
    expect(nodesCell(engine({ originators: origs(2), keys: keys(SELF.toUpperCase(), B, C) }))).toBe('3/3');
    expect(
      tableRows(engine({ status: [{ nodes: 9 }], originators: origs(1), keys: keys(B) }), 'status', host)?.[0]
        ?.nodes,
    ).toBe('2/2');
  });
});
