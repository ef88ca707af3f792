import { generateRsaKey } from '@bmx7/crypto';
import { describe, expect, it } from 'vitest';
import { fixtureKey, Medium } from '../test/harness.js';

// Regression tests found by the namespace tests of apps/bmx7d:
//   n1 [eth0] ── [eth0] n2 [eth1] ── [eth0] n3
const linkKey = generateRsaKey(4);

function line(): Medium {
  const m = new Medium();
  m.add({ nodeKey: fixtureKey('n1'), hostname: 'n1', linkRsaKeyMaterial: linkKey }, ['eth0'], 1);
  m.add({ nodeKey: fixtureKey('n2'), hostname: 'n2', linkRsaKeyMaterial: linkKey }, ['eth0', 'eth1'], 2);
  m.add({ nodeKey: fixtureKey('n3'), hostname: 'n3', linkRsaKeyMaterial: linkKey }, ['eth0'], 3);
  m.connect(0, 'eth0', 1, 'eth0');
  return m;
}

const routesTo = (m: Medium, i: number, j: number) =>
  m.nodes[i]!.routes.has(`${m.nodes[j]!.engine.primaryIp}/128`);

describe('nodes that come back', () => {
  it('nodes purged while the middle node was away are routed again after it restarts', () => {
    const m = line();
    m.connect(1, 'eth1', 2, 'eth0');
    for (const n of m.nodes) n.engine.start();
    m.run(20_000);
    expect(routesTo(m, 0, 2) && routesTo(m, 2, 0)).toBe(true);
    // the middle node stops; n1 and n3 time the links out and purge each other
    m.nodes[1]!.engine.stop();
    m.disconnect(1, 'eth0');
    m.disconnect(1, 'eth1');
    m.run(80_000);
    expect(routesTo(m, 0, 2) || routesTo(m, 2, 0)).toBe(false);
    // … and comes back: same key, its descSqn file, a new process
    const again = m.add(
      { nodeKey: fixtureKey('n2'), hostname: 'n2', linkRsaKeyMaterial: linkKey },
      ['eth0', 'eth1'],
      4,
    );
    again.stored.v = m.nodes[1]!.stored.v;
    m.connect(3, 'eth0', 0, 'eth0');
    m.connect(3, 'eth1', 2, 'eth0');
    again.engine.start();
    m.run(130_000);
    expect(routesTo(m, 0, 2) && routesTo(m, 2, 0)).toBe(true);
  });

  it("a node that joins late learns a far node's key from the middle node long after it arrived there", () => {
    const m = line();
    for (const n of m.nodes.slice(0, 2)) n.engine.start();
    m.run(60_000); // beyond idTimeout: unused contents are gone from the middle node's store
    m.connect(1, 'eth1', 2, 'eth0');
    m.nodes[2]!.engine.start();
    m.run(100_000);
    expect(routesTo(m, 2, 0) && routesTo(m, 0, 2)).toBe(true);
  });
});
