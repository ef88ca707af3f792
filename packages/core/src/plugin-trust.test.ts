/**
 * The plugin host's view of the own trust list (docs/protocol.md §4.11, the trusted-nodes
 * directory): `trust()` per node, and the `trust-changed` event after a reconfigure changed it.
 * Node a holds the list; b and c are only ids to ask about.
 */
import { generateRsaKey } from '@bmx7/crypto';
import { describe, expect, it } from 'vitest';
import { fixtureKey, Medium, type TestNode } from '../test/harness.js';
import type { TrustedNode } from './config.js';
import type { EngineEvent, PluginHost } from './plugin.js';

const linkKey = generateRsaKey(4);

/** Nodes b and c, then a with `trust` built from their ids (undefined: trust not configured). */
function mesh(trust?: (ids: { a: string; b: string; c: string }) => TrustedNode[]) {
  const m = new Medium();
  const add = (name: string, key: string, seed: number, extra: object = {}): TestNode =>
    m.add(
      { nodeKey: fixtureKey(key), hostname: name, linkRsaKeyMaterial: linkKey, ...extra },
      ['eth0'],
      seed,
    );
  const b = add('b', 'n2', 2);
  const c = add('c', 'n3', 3);
  // a's id is n1's, known before a exists: ask an engine of the same key without trust
  const aId = new Medium().add({ nodeKey: fixtureKey('n1'), linkRsaKeyMaterial: linkKey }, [], 9).engine
    .nodeId;
  const ids = { a: aId, b: b.engine.nodeId, c: c.engine.nodeId };
  const a = add('a', 'n1', 1, trust ? { trustedNodes: trust(ids) } : {});
  m.connect(2, 'eth0', 0, 'eth0');
  m.connect(2, 'eth0', 1, 'eth0');
  const events: EngineEvent[] = [];
  let host!: PluginHost;
  a.engine.use({
    name: 'watcher',
    attach(h) {
      host = h;
      h.on((e) => events.push(e));
    },
  });
  return { m, a, b, c, ids, host, changes: () => events.filter((e) => e.type === 'trust-changed') };
}

describe('plugin host: trust', () => {
  it('trust() is undefined for every node while trust is not configured', () => {
    const { host, ids } = mesh();
    expect(host.trust(ids.a)).toBeUndefined();
    expect(host.trust(ids.b)).toBeUndefined();
    expect(host.trust(ids.c.toUpperCase())).toBeUndefined();
  });

  it('trust() with trust configured: a listed node at its levels (any case), an unlisted one 0/0, itself 2/2', () => {
    const { host, ids } = mesh(({ a, b }) => [
      { id: b, trust: 3, support: 2, fileName: 'b' },
      // a file may list the node itself: it stays at 2/2
      { id: a, trust: 0, support: 3, fileName: 'self' },
    ]);
    expect(host.trust(ids.b)).toEqual({ trust: 3, support: 2 });
    expect(host.trust(ids.b.toUpperCase())).toEqual({ trust: 3, support: 2 });
    expect(host.trust(ids.c)).toEqual({ trust: 0, support: 0 });
    expect(host.trust('00')).toEqual({ trust: 0, support: 0 });
    expect(host.trust(ids.a)).toEqual({ trust: 2, support: 2 });
    expect(host.trust(ids.a.toUpperCase())).toEqual({ trust: 2, support: 2 });
  });

  it('an empty trust list trusts only the node itself', () => {
    const { host, ids } = mesh(() => []);
    expect(host.trust(ids.a)).toEqual({ trust: 2, support: 2 });
    expect(host.trust(ids.b)).toEqual({ trust: 0, support: 0 });
  });

  it('trust-changed: not at creation nor while running, nor for an unchanged list or a renamed file', () => {
    const list = (b: string, fileName: string): TrustedNode[] => [{ id: b, trust: 2, support: 3, fileName }];
    const net = mesh(({ b }) => list(b, 'b'));
    for (const n of net.m.nodes) n.engine.start();
    net.m.run(20_000);
    expect(net.a.engine.nodes().map((n) => n.name)).toContain('c');
    expect(net.changes()).toHaveLength(0);
    net.a.engine.reconfigure({ hostname: 'a2' });
    net.a.engine.reconfigure({ trustedNodes: list(net.ids.b, 'b') });
    net.a.engine.reconfigure({ trustedNodes: list(net.ids.b.toUpperCase(), 'renamed') });
    // an entry at 0/0 answers as no entry
    net.a.engine.reconfigure({
      trustedNodes: [...list(net.ids.b, 'renamed'), { id: net.ids.c, trust: 0, support: 1, fileName: 'c' }],
    });
    expect(net.changes()).toHaveLength(0);
    expect(net.host.trust(net.ids.b)).toEqual({ trust: 2, support: 3 });
  });

  it('trust-changed: once per reconfigure that changes a level or switches trust, after it is applied', () => {
    const net = mesh(({ b }) => [{ id: b, trust: 2, support: 2, fileName: 'b' }]);
    const seen: Array<ReturnType<PluginHost['trust']>> = [];
    net.host.on((e) => {
      if (e.type === 'trust-changed') seen.push(net.host.trust(net.ids.b));
    });
    // b's trust level changes
    net.a.engine.reconfigure({ trustedNodes: [{ id: net.ids.b, trust: 3, support: 2, fileName: 'b' }] });
    expect(net.changes()).toHaveLength(1);
    // b's support level changes
    net.a.engine.reconfigure({ trustedNodes: [{ id: net.ids.b, trust: 3, support: 0, fileName: 'b' }] });
    expect(net.changes()).toHaveLength(2);
    // c is added
    net.a.engine.reconfigure({
      trustedNodes: [
        { id: net.ids.b, trust: 3, support: 0, fileName: 'b' },
        { id: net.ids.c, trust: 2, support: 2, fileName: 'c' },
      ],
    });
    expect(net.changes()).toHaveLength(3);
    expect(net.host.trust(net.ids.c)).toEqual({ trust: 2, support: 2 });
    // trust switched off, then on again with an empty list
    net.a.engine.reconfigure({ trustedNodes: undefined });
    expect(net.changes()).toHaveLength(4);
    expect(net.host.trust(net.ids.a)).toBeUndefined();
    net.a.engine.reconfigure({ trustedNodes: [] });
    expect(net.changes()).toHaveLength(5);
    expect(net.host.trust(net.ids.a)).toEqual({ trust: 2, support: 2 });
    // each listener saw the list as it was after the change
    expect(seen).toEqual([
      { trust: 3, support: 2 },
      { trust: 3, support: 0 },
      { trust: 3, support: 0 },
      undefined,
      { trust: 0, support: 0 },
    ]);
  });
});
