import { describe, expect, it } from 'vitest';
import { describeTunnelBackendCompliance, ipv4Packet, ipv6Packet } from './compliance.js';
import { createMemoryBackend, createMemoryTunnelNamespace, linkMemoryTunnelNamespaces } from './memory.js';

describeTunnelBackendCompliance('memory', () => {
  const backend = createMemoryBackend();
  const ns = backend.namespace;
  return {
    backend,
    name: (tag) => `mt${tag}`,
    exists: (name) => ns.devices.has(name),
    occupy: (name) => ns.reserve(name),
    traffic: {
      route(name, inner) {
        const out: Uint8Array[] = [];
        const off = ns.onWire((p) => out.push(p));
        ns.route(name, inner);
        off();
        return out;
      },
      deliver: (outer) => ns.deliver(outer),
    },
  };
});

describe('memory tunnel namespaces', () => {
  it('carry IPv4 and IPv6 between two linked namespaces, both ways', async () => {
    const a = createMemoryBackend({ namespace: createMemoryTunnelNamespace() });
    const b = createMemoryBackend({ namespace: createMemoryTunnelNamespace() });
    const unlink = linkMemoryTunnelNamespaces(a.namespace, b.namespace);
    const ta = await a.create({ name: 'ta', local: 'fd98::1', remote: 'fd98::2', mtu: 1460 });
    const tb = await b.create({ name: 'tb', local: 'fd98::2', remote: 'fd98::1', mtu: 1460 });
    const got: [string, Uint8Array][] = [];
    b.namespace.onInner((dev, p) => got.push([dev, p]));
    a.namespace.onInner((dev, p) => got.push([dev, p]));
    a.namespace.route('ta', ipv4Packet());
    b.namespace.route('tb', ipv6Packet());
    expect(got).toEqual([
      ['tb', ipv4Packet()],
      ['ta', ipv6Packet()],
    ]);
    expect(ta.counters()).toMatchObject({ txPackets: 1, rxPackets: 1 });
    expect(tb.counters()).toMatchObject({ txPackets: 1, rxPackets: 1 });
    unlink();
    a.namespace.route('ta', ipv4Packet());
    expect(got).toHaveLength(2);
  });

  it('share device names between the backends of one namespace', async () => {
    const ns = createMemoryTunnelNamespace();
    const a = createMemoryBackend({ namespace: ns });
    const b = createMemoryBackend({ namespace: ns });
    await a.create({ name: 'x', local: 'fd98::1', remote: 'fd98::2', mtu: 1460 });
    await expect(
      b.create({ name: 'x', local: 'fd98::1', remote: 'fd98::3', mtu: 1460 }),
    ).rejects.toMatchObject({
      code: 'ERR_TUNNEL_EXISTS',
    });
    expect(b.list()).toEqual([]);
    await b.close();
    expect(ns.devices.has('x')).toBe(true);
    await a.close();
    expect(ns.devices.size).toBe(0);
  });

  it('counts encapsulated packets that no device takes', () => {
    const ns = createMemoryTunnelNamespace();
    expect(ns.deliver(new Uint8Array(10))).toBeNull();
    expect(ns.unmatched).toBe(1);
  });
});
