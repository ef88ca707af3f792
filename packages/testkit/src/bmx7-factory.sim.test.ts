import { decodePacket, readCapture, udp6Datagrams } from '@bmx7/codec';
import type { EngineEvent, EnginePlugin } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { createBmx7Factory } from './bmx7.js';
import { tapPcap } from './pcap.js';
import { createSimulation } from './simulation.js';

describe('createBmx7Factory', () => {
  it('runs the real engine: a line converges, plugins attach, a restart keeps the identity', () => {
    const events = new Map<string, EngineEvent['type'][]>();
    const sim = createSimulation({
      seed: 'bmx7-factory',
      engineFactory: createBmx7Factory({
        init: (name) => (name === 'n2' ? { hostname: 'far-end' } : {}),
        plugins: (name): EnginePlugin[] => [
          {
            name: 'watch',
            attach(host) {
              host.on((e) => events.set(name, [...(events.get(name) ?? []), e.type]));
              host.registerTable('watch', () => [{ node: name }]);
            },
          },
        ],
      }),
    });
    sim.line(3);
    const tap = tapPcap(sim.network);
    sim.start();
    sim.waitConverged({ timeoutMs: 60_000 });
    sim.assertLoopFree();
    // What the engines sent, read back from the capture, is BMX7 the codec decodes.
    tap.stop();
    const cap = readCapture(tap.bytes());
    expect(cap.ok).toBe(true);
    const dgrams = cap.ok ? udp6Datagrams(cap.value, 6270) : [];
    expect(dgrams.length).toBe(tap.count);
    expect(dgrams.length).toBeGreaterThan(10);
    expect(dgrams.filter((d) => !decodePacket(d.payload).ok)).toEqual([]);
    const n0 = sim.node('n0').instance;
    expect(n0.plugins.map((p) => p.name)).toEqual(['watch']);
    expect(n0.engine.show('watch')).toEqual([{ node: 'n0' }]);
    expect(
      n0.engine
        .nodes()
        .map((n) => n.name)
        .sort(),
    ).toEqual(['far-end', 'n1']);
    expect(events.get('n0')).toContain('node-appeared');
    const id = n0.engine.nodeId;
    const again = sim.restart('n0');
    expect(again.incarnation).toBe(1);
    expect(again.instance.engine).not.toBe(n0.engine);
    expect(again.instance.engine.nodeId).toBe(id);
    expect(again.primaryAddress).toBe(sim.node('n0').primaryAddress);
    sim.waitConverged({ timeoutMs: 60_000 });
  });
});
