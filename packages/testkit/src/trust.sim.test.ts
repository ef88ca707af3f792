/**
 * Trust as the reference applies it (docs/protocol.md §4.11): the routed sets of the scenarios
 * measured with reference daemons, reproduced from the rules (a node trusts itself; TRUSTS limit
 * next hops, with one transitive step through a level-3 entry; support only decides admission
 * rows; untrusted nodes are admitted as aliens and routed), runtime changes without a restart, and
 * the tables that show it.
 */
import type { TrustedNode } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import type { Bmx7Instance } from './bmx7.js';
import { createBmx7Factory } from './bmx7.js';
import { testRsaKey } from './keys.js';
import { createSimulation, type Simulation } from './simulation.js';

const idOf = (n: string) => Buffer.from(testRsaKey(`node:${n}`).id).toString('hex');
/** `n3` or `n3:3` (trust and support 3, as a file `<ID>.trust=3.support=3`). */
const trusting = (...entries: string[]): TrustedNode[] =>
  entries.map((e) => {
    const [n, level] = e.split(':');
    const l = Number(level ?? 2);
    return { id: idOf(n!), trust: l, support: l };
  });

type Trust = Record<string, TrustedNode[] | undefined>;

function line(n: number, trust: Trust): { sim: Simulation<Bmx7Instance>; names: string[] } {
  const sim = createSimulation({
    seed: `trust-${JSON.stringify(trust)}`,
    engineFactory: createBmx7Factory({
      init: (name) => (trust[name] ? { trustedNodes: trust[name] } : {}),
    }),
  });
  const names = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  for (const name of names) sim.addNode(name);
  for (let i = 0; i + 1 < n; i++) sim.connect(names[i]!, names[i + 1]!);
  sim.start();
  return { sim, names };
}

/** Which nodes each node routes to (a route to their primary address), after `ms` of protocol time. */
function routed(sim: Simulation<Bmx7Instance>, names: string[], ms = 60_000): Record<string, string[]> {
  sim.run(ms);
  const out: Record<string, string[]> = {};
  for (const a of names) out[a] = names.filter((b) => b !== a && sim.routeTo(a, b) !== undefined);
  return out;
}

const everyone = (names: string[]) => Object.fromEntries(names.map((a) => [a, names.filter((b) => b !== a)]));

describe('trust scenarios (docs/protocol.md §4.11), as the reference routes them', () => {
  it('A: without trust everybody routes to everybody', () => {
    const { sim, names } = line(3, {});
    expect(routed(sim, names)).toEqual(everyone(names));
  });

  it('B: n1 and n3 trust only each other, n2 has no trust: n2 may not carry their traffic', () => {
    const { sim, names } = line(3, { n1: trusting('n3'), n3: trusting('n1') });
    const want = { n1: ['n2'], n2: ['n1', 'n3'], n3: ['n2'] };
    expect(routed(sim, names)).toEqual(want);
    expect(routed(sim, names, 30_000)).toEqual(want); // and it stays so
    // n1 admits the untrusted n2 as an alien neighbour (routed), and knows n3 as a friend it cannot reach
    const rows = sim.node('n1').instance.engine.show('originators');
    const n2 = rows.find((r) => r.name === 'n2')!;
    const n3 = rows.find((r) => r.name === 'n3')!;
    expect([n2.as, n2.S, n2.s, n2.T, n2.t]).toEqual(['nA', '0', 'A', '0', 'A']);
    expect([n3.as, n3.S, n3.T, n3.t]).toEqual(['pF', '2', '2', '2']);
    expect(sim.node('n1').instance.engine.show('status')[0]!.selfLevels).toBe('2');
  });

  it('C: n1 trusts n2 and n3, n3 trusts n1 and n2, n2 none: everybody routes to everybody', () => {
    const { sim, names } = line(3, { n1: trusting('n2', 'n3'), n3: trusting('n1', 'n2') });
    expect(routed(sim, names)).toEqual(everyone(names));
  });

  it('D: an empty trust directory on n1: only its direct neighbours route to it', () => {
    const { sim, names } = line(3, { n1: [] });
    expect(routed(sim, names)).toEqual({ n1: ['n2', 'n3'], n2: ['n1', 'n3'], n3: ['n2'] });
  });

  it('E: level-3 entries let a trusted node vouch for its own next hops (one step): everybody routes', () => {
    // n1 trusts n2 and n4 at 3, n4 trusts n1 and n3 at 3: n1 → n4 via n2 is allowed because n4
    // trusts n1 at 3 and n1 trusts n2; the reference routes the same (3 runs, see the README)
    const { sim, names } = line(4, { n1: trusting('n2:3', 'n4:3'), n4: trusting('n1:3', 'n3:3') });
    expect(routed(sim, names)).toEqual(everyone(names));
    // on n2, n4 shows the transitive level: it lists n1 at 3, and n1 lists n2
    const n4 = sim
      .node('n2')
      .instance.engine.show('originators')
      .find((r) => r.name === 'n4')!;
    expect([n4.s, n4.t]).toEqual(['1', '1']);
  });

  it('E with n4 trusting n1 at level 2 only: the step through n1 is gone, so n1 cannot reach n4', () => {
    const { sim, names } = line(4, { n1: trusting('n2:3', 'n4:3'), n4: trusting('n1:2', 'n3:3') });
    expect(routed(sim, names)).toEqual({
      n1: ['n2', 'n3'],
      n2: ['n1', 'n3', 'n4'],
      n3: ['n1', 'n2', 'n4'],
      n4: ['n1', 'n2', 'n3'],
    });
  });

  it('changing trust at runtime changes routes as the table says, with no restart', () => {
    const { sim, names } = line(3, {});
    expect(routed(sim, names)).toEqual(everyone(names));
    const set = (name: string, trustedNodes: TrustedNode[] | undefined) =>
      sim.node(name).instance.engine.reconfigure({ trustedNodes });
    set('n1', trusting('n3'));
    set('n3', trusting('n1'));
    expect(routed(sim, names)).toEqual({ n1: ['n2'], n2: ['n1', 'n3'], n3: ['n2'] });
    set('n1', undefined);
    set('n3', undefined);
    expect(routed(sim, names)).toEqual(everyone(names));
  });

  it('own TRUSTS and SUPPORTS hold the node itself; show trusted lists the entries', () => {
    const { sim } = line(2, {
      n1: [
        { id: idOf('n2'), trust: 3, support: 0, fileName: `${idOf('n2').toUpperCase()}.trust=3.support=0` },
      ],
    });
    sim.run(10_000);
    const n1 = sim.node('n1').instance.engine;
    const rows = n1.show('trusted');
    expect(rows.map((r) => [r.name, r.trust, r.support, r.fileName])).toEqual(
      [
        ['n1', 2, 2, ''],
        ['n2', 3, 0, `${idOf('n2').toUpperCase()}.trust=3.support=0`],
      ].sort((a, b) => (idOf(String(a[0])) < idOf(String(b[0])) ? -1 : 1)),
    );
    expect(sim.node('n2').instance.engine.show('trusted')).toEqual([]);
    // n2 sees n1's lists: n1 trusts n2 at 3, and does not support it
    const r = sim
      .node('n2')
      .instance.engine.show('originators')
      .find((o) => o.name === 'n1')!;
    expect([r.t, r.s]).toEqual(['3', '0']);
  });
});
