import { decodePacket } from '@bmx7/codec';
import { generateRsaKey } from '@bmx7/crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtureKey, Medium } from '../test/harness.js';

const linkKey = generateRsaKey(4);

describe('two engines back to back', () => {
  let m: Medium;
  beforeAll(() => {
    m = new Medium();
    m.add({ nodeKey: fixtureKey('n1'), hostname: 'n1', linkRsaKeyMaterial: linkKey }, ['eth0'], 1);
    m.add({ nodeKey: fixtureKey('n2'), hostname: 'n2', linkRsaKeyMaterial: linkKey }, ['eth0'], 2);
    m.connect(0, 'eth0', 1, 'eth0');
    for (const n of m.nodes) n.engine.start();
    m.run(12_000);
  });

  it('exchange descriptions and become neighbours with verified packets', () => {
    const [a, b] = m.nodes;
    expect(a!.engine.keyState(b!.engine.nodeId)).toBe('neighbor');
    expect(b!.engine.keyState(a!.engine.nodeId)).toBe('neighbor');
    expect(a!.engine.counters().rxVerified).toBeGreaterThan(5);
  });

  it('install host routes to each other within 12 s', () => {
    const [a, b] = m.nodes;
    expect([...a!.routes.keys()]).toEqual([`${b!.engine.primaryIp}/128`]);
    expect([...b!.routes.keys()]).toEqual([`${a!.engine.primaryIp}/128`]);
    expect(a!.routes.get(`${b!.engine.primaryIp}/128`)!.via).toBe('fe80::2:1');
  });

  it('link quality is ok both ways', () => {
    const rows = m.nodes[0]!.engine.show('links');
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!.rq)).toBeGreaterThanOrEqual(25);
    expect(Number(rows[0]!.tq)).toBeGreaterThanOrEqual(25);
  });

  it("show rows carry the reference's originator and status columns", () => {
    const [a, b] = m.nodes;
    const [o] = a!.engine.show('originators');
    expect(o).toMatchObject({
      shortId: b!.engine.shortId,
      name: 'n2',
      as: 'nQ', // a neighbour with its qualifying credit (§4.11)
      S: 'A', // no trust configured: everybody supported and trusted
      s: 'A',
      T: 'A',
      t: 'A',
      hops: 1,
    });
    expect(o!.descSize).toMatch(/^\d+\+\d+$/);
    expect(Number(o!.ogmSqn)).toBeGreaterThan(0);
    expect(Number(o!.lastDesc)).toBeLessThanOrEqual(12);
    expect(Number(o!.lastRef)).toBeLessThan(2);
    const [st] = a!.engine.show('status');
    expect(st!.descSize).toMatch(/^\d+\+\d+$/);
    expect(Number(st!.lastDesc)).toBeLessThanOrEqual(12);
  });
});

describe('plugin API', () => {
  it('a plugin TLV reaches the other node, with node and route events', () => {
    const m = new Medium();
    const got: Array<{ from: string; body: string | undefined }> = [];
    const events: string[] = [];
    const a = m.add({ nodeKey: fixtureKey('n1'), hostname: 'a', linkRsaKeyMaterial: linkKey }, ['eth0'], 11);
    const b = m.add({ nodeKey: fixtureKey('n2'), hostname: 'b', linkRsaKeyMaterial: linkKey }, ['eth0'], 12);
    // type 30 is free for extensions (docs/protocol.md §4.13)
    a.engine.use({
      name: 'sender',
      attach: (host) =>
        host.registerTlv(30, { produce: () => new TextEncoder().encode('hello from a plugin') }),
    });
    b.engine.use({
      name: 'receiver',
      attach: (host) => {
        host.registerTlv(30, {
          consume: (node, body) =>
            got.push({ from: node.name, body: body && new TextDecoder().decode(body) }),
        });
        host.on((e) => events.push(e.type));
        host.registerTable('greetings', () => got.map((g) => ({ from: g.from, body: g.body ?? '' })));
      },
    });
    m.connect(0, 'eth0', 1, 'eth0');
    a.engine.start();
    b.engine.start();
    m.run(12_000);
    expect(got).toContainEqual({ from: 'a', body: 'hello from a plugin' });
    expect(events).toEqual(expect.arrayContaining(['node-appeared', 'description-changed', 'route-changed']));
    expect(b.engine.show('greetings')[0]).toEqual({ from: 'a', body: 'hello from a plugin' });
    expect(b.engine.nodes()[0]).toMatchObject({ name: 'a', hops: 1 });
  });
});

describe('packet authentication method (docs/protocol.md §4.4)', () => {
  it('both sides switch to RSA link signatures when one has no DHM key', () => {
    const m = new Medium();
    const a = m.add(
      { nodeKey: fixtureKey('n1'), linkRsaKeyMaterial: generateRsaKey(4), linkDhmKey: 0 },
      ['eth0'],
      21,
    );
    const b = m.add({ nodeKey: fixtureKey('n2'), linkRsaKeyMaterial: generateRsaKey(4) }, ['eth0'], 22);
    m.connect(0, 'eth0', 1, 'eth0');
    a.engine.start();
    b.engine.start();
    m.run(12_000);
    expect(a.routes.size).toBe(1);
    expect(b.routes.size).toBe(1);
    const sigTypes = (n: typeof a) =>
      new Set(
        n.sent
          .slice(-10)
          .map((s) => decodePacket(s.payload))
          .flatMap((p) => (p.ok ? p.value.frames : []))
          .flatMap((f) => (f.type === 8 ? f.messages.map((x) => x.keyType) : [])),
      );
    expect(sigTypes(a)).toEqual(new Set([4]));
    expect(sigTypes(b)).toEqual(new Set([4]));
  });

  it('DHM MACs by default, one 14-byte MAC per neighbour', () => {
    const m = new Medium();
    const a = m.add({ nodeKey: fixtureKey('n1'), linkRsaKeyMaterial: linkKey }, ['eth0'], 31);
    m.add({ nodeKey: fixtureKey('n2'), linkRsaKeyMaterial: linkKey }, ['eth0'], 32);
    m.connect(0, 'eth0', 1, 'eth0');
    for (const n of m.nodes) n.engine.start();
    m.run(8_000);
    const last = decodePacket(a.sent.at(-1)!.payload);
    expect(last.ok).toBe(true);
    const sig = last.ok ? last.value.frames.find((f) => f.type === 8) : undefined;
    expect(sig && sig.type === 8 && sig.messages.map((x) => [x.keyType, x.signature.length])).toEqual([
      [17, 14],
    ]);
  });
});

describe('reconfigure', () => {
  it('a new hostname goes out in a new description that the neighbour applies', () => {
    const m = new Medium();
    const a = m.add(
      { nodeKey: fixtureKey('n1'), hostname: 'before', linkRsaKeyMaterial: linkKey },
      ['eth0'],
      41,
    );
    const b = m.add({ nodeKey: fixtureKey('n2'), linkRsaKeyMaterial: linkKey }, ['eth0'], 42);
    m.connect(0, 'eth0', 1, 'eth0');
    a.engine.start();
    b.engine.start();
    m.run(10_000);
    const before = b.engine.nodes()[0]!;
    expect(before.name).toBe('before');
    a.engine.reconfigure({ hostname: 'after', txAvgInterval: 900 });
    m.run(14_000);
    const after = b.engine.nodes()[0]!;
    expect(after).toMatchObject({ name: 'after', descSqn: before.descSqn + 1 });
    expect(b.routes.size).toBe(1);
    expect(a.stored.v).toBe(10); // descSqn file: written at start, then at multiples of 100 (§4.5)
  });
});

describe('link key renewal', () => {
  it('new link keys make a new description and the link stays verified', () => {
    const m = new Medium();
    const a = m.add(
      { nodeKey: fixtureKey('n1'), linkRsaKeyMaterial: linkKey, linkKeyLifetime: 20 },
      ['eth0'],
      51,
    );
    const b = m.add(
      { nodeKey: fixtureKey('n2'), linkRsaKeyMaterial: linkKey, linkKeyLifetime: 0 },
      ['eth0'],
      52,
    );
    m.connect(0, 'eth0', 1, 'eth0');
    a.engine.start();
    b.engine.start();
    m.run(10_000);
    const sqn0 = b.engine.nodes()[0]!.descSqn;
    m.run(70_000);
    expect(b.engine.nodes()[0]!.descSqn).toBeGreaterThan(sqn0 + 1);
    expect(a.routes.size).toBe(1);
    expect(b.routes.size).toBe(1);
    const v = b.engine.counters().rxVerified;
    m.run(75_000); // (absolute virtual time)
    expect(b.engine.counters().rxVerified).toBeGreaterThan(v + 3);
  });
});
