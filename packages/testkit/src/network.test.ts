import { describe, expect, it } from 'vitest';
import { createVirtualClock } from './clock.js';
import { createSimNetwork, MAX_DATAGRAM, type PacketEvent } from './network.js';
import { createSeededRandom } from './random.js';

type Rx = { at: number; node: string; ifname: string; src: string; payload: Uint8Array };

function bed(seed = 'net', defaults = {}) {
  const clock = createVirtualClock();
  const net = createSimNetwork({ clock, random: createSeededRandom(seed), defaults });
  const rx: Rx[] = [];
  const addNode = (name: string, ...ifaces: string[]) => {
    net.addNode(name);
    for (const i of ifaces) net.addIface(name, i);
    net.attach(name, (ifname, src, payload) =>
      rx.push({ at: clock.now(), node: name, ifname, src, payload }),
    );
  };
  return { clock, net, rx, addNode };
}

const bytes = (...b: number[]) => new Uint8Array(b);

describe('createSimNetwork', () => {
  it('gives each interface a unique link-local address and an ifindex', () => {
    const { net, addNode } = bed();
    addNode('a', 'eth0', 'eth1');
    addNode('b', 'eth0');
    const all = [...net.ifaces('a'), ...net.ifaces('b')];
    expect(new Set(all.map((i) => i.linkLocal)).size).toBe(3);
    for (const i of all) expect(i.linkLocal).toMatch(/^fe80::/);
    expect(net.interfaceInfos('a')).toEqual([
      { name: 'eth0', ifindex: 2, linkLocal: net.iface('a', 'eth0').linkLocal, up: true },
      { name: 'eth1', ifindex: 3, linkLocal: net.iface('a', 'eth1').linkLocal, up: true },
    ]);
    expect(net.ownerOf(net.iface('b', 'eth0').linkLocal)?.node).toBe('b');
    expect(() => net.addIface('b', 'eth0')).toThrow(expect.objectContaining({ code: 'SIM_BAD_ARGUMENT' }));
    expect(() => net.iface('zz', 'eth0')).toThrow(expect.objectContaining({ code: 'SIM_UNKNOWN_NODE' }));
    expect(() => net.iface('a', 'eth9')).toThrow(expect.objectContaining({ code: 'SIM_UNKNOWN_IFACE' }));
  });

  it('delivers a point-to-point datagram after the delay, from the sender link-local, as a copy', () => {
    const { clock, net, rx, addNode } = bed();
    addNode('a', 'eth0');
    addNode('b', 'eth0');
    net.connect(
      [
        { node: 'a', iface: 'eth0' },
        { node: 'b', iface: 'eth0' },
      ],
      { delayMs: 5 },
    );
    const payload = bytes(1, 2, 3);
    net.datagramPort('a').send('eth0', payload);
    payload[0] = 99; // the sender reuses its buffer
    clock.advance(4);
    expect(rx).toHaveLength(0);
    clock.advance(1);
    expect(rx).toHaveLength(1);
    expect(rx[0]).toMatchObject({ at: 5, node: 'b', ifname: 'eth0', src: net.iface('a', 'eth0').linkLocal });
    expect([...rx[0]!.payload]).toEqual([1, 2, 3]);
    expect(net.counters('a')).toMatchObject({ txPackets: 1, txBytes: 3, rxPackets: 0 });
    expect(net.counters('b')).toMatchObject({ txPackets: 0, rxPackets: 1, rxBytes: 3 });
    expect(net.linksBetween('a', 'b')[0]!.counters).toMatchObject({ packets: 1, bytes: 3, delivered: 1 });
  });

  it('broadcasts to every other member of a shared segment, and only there', () => {
    const { clock, net, rx, addNode } = bed();
    for (const n of ['a', 'b', 'c', 'd']) addNode(n, 'eth0');
    net.connect(['a', 'b', 'c'].map((node) => ({ node, iface: 'eth0' })));
    clock.advance(0);
    net.send('b', 'eth0', bytes(7));
    clock.runUntilIdle();
    expect(rx.map((r) => r.node).sort()).toEqual(['a', 'c']);
    expect(net.counters('b').txPackets).toBe(1);
  });

  it('radio model: a node on several point-to-point links reaches all its neighbours, which do not hear each other', () => {
    const { clock, net, rx, addNode } = bed();
    for (const n of ['a', 'b', 'c']) addNode(n, 'wlan0');
    const ep = (node: string) => ({ node, iface: 'wlan0' });
    net.connect([ep('a'), ep('b')]);
    net.connect([ep('b'), ep('c')]);
    net.send('b', 'wlan0', bytes(1));
    net.send('a', 'wlan0', bytes(2));
    clock.runUntilIdle();
    expect(rx.map((r) => `${r.node}<${r.payload[0]}`).sort()).toEqual(['a<1', 'b<2', 'c<1']);
    expect(() => net.connect([ep('a'), ep('b')])).toThrow(
      expect.objectContaining({ code: 'SIM_BAD_ARGUMENT' }),
    );
  });

  it('applies loss per direction, statistically and reproducibly', () => {
    const run = (seed: string) => {
      const { clock, net, rx, addNode } = bed(seed);
      addNode('a', 'eth0');
      addNode('b', 'eth0');
      net.connect([
        { node: 'a', iface: 'eth0' },
        { node: 'b', iface: 'eth0' },
      ]);
      net.setLink('a', 'b', { loss: 0.3 }, 'forward'); // asymmetric: b → a stays clean
      for (let i = 0; i < 10_000; i++) {
        net.send('a', 'eth0', bytes(1));
        net.send('b', 'eth0', bytes(2));
      }
      clock.runUntilIdle();
      return {
        atB: rx.filter((r) => r.node === 'b').length,
        atA: rx.filter((r) => r.node === 'a').length,
        lost: net.counters('a').lost,
        order: rx.map((r) => r.node).join(''),
      };
    };
    const r1 = run('loss');
    expect(r1.atA).toBe(10_000);
    expect(r1.atB + r1.lost).toBe(10_000);
    expect(r1.atB / 10_000).toBeGreaterThan(0.68);
    expect(r1.atB / 10_000).toBeLessThan(0.72);
    expect(run('loss')).toEqual(r1);
    expect(run('other').atB).not.toBe(r1.atB);
  });

  it('applies delay plus jitter within bounds, and jitter can reorder', () => {
    const { clock, net, rx, addNode } = bed('jitter');
    addNode('a', 'eth0');
    addNode('b', 'eth0');
    net.connect(
      [
        { node: 'a', iface: 'eth0' },
        { node: 'b', iface: 'eth0' },
      ],
      { delayMs: 10, jitterMs: 20 },
    );
    for (let i = 0; i < 1000; i++) net.send('a', 'eth0', bytes(i & 0xff, i >> 8));
    clock.runUntilIdle();
    const delays = rx.map((r) => r.at);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...delays)).toBeLessThan(30);
    const mean = delays.reduce((s, d) => s + d, 0) / delays.length;
    expect(mean).toBeGreaterThan(19);
    expect(mean).toBeLessThan(21);
    const seq = rx.map((r) => r.payload[0]! | (r.payload[1]! << 8));
    expect(seq).not.toEqual([...seq].sort((x, y) => x - y));
  });

  it('on a shared segment each direction keeps its own delay', () => {
    const { clock, net, rx, addNode } = bed();
    for (const n of ['a', 'b', 'c', 'd']) addNode(n, 'eth0');
    net.connect(
      ['a', 'b', 'c', 'd'].map((node) => ({ node, iface: 'eth0' })),
      { delayMs: 2 },
    );
    net.setLink('a', 'b', { delayMs: 5 }, 'forward');
    net.send('a', 'eth0', bytes(1));
    clock.runUntilIdle();
    expect(rx.map((r) => `${r.node}@${r.at}`)).toEqual(['c@2', 'd@2', 'b@5']);
    // The other direction kept the segment's delay.
    net.send('b', 'eth0', bytes(2));
    const t0 = clock.now();
    clock.runUntilIdle();
    expect(rx.slice(3).map((r) => `${r.node}@${r.at - t0}`)).toEqual(['a@2', 'c@2', 'd@2']);
  });

  it('drops (and counts) on a link down, an interface down, or a detached receiver', () => {
    const { clock, net, rx, addNode } = bed();
    addNode('a', 'eth0');
    addNode('b', 'eth0');
    net.connect([
      { node: 'a', iface: 'eth0' },
      { node: 'b', iface: 'eth0' },
    ]);
    const send = () => {
      net.send('a', 'eth0', bytes(1));
      clock.runUntilIdle();
    };
    net.setLink('a', 'b', { up: false });
    send();
    expect(net.adjacent(net.iface('a', 'eth0'), net.iface('b', 'eth0'))).toBe(false);
    net.setLink('a', 'b', { up: true });
    net.setIfaceUp('b', 'eth0', false);
    send();
    net.setIfaceUp('b', 'eth0', true);
    net.setIfaceUp('a', 'eth0', false);
    send();
    net.setIfaceUp('a', 'eth0', true);
    net.attach('b', undefined);
    send();
    expect(rx).toHaveLength(0);
    expect(net.counters('a')).toMatchObject({ txPackets: 4, dropped: 4, lost: 0 });
    net.attach('b', (ifname, src, p) => rx.push({ at: clock.now(), node: 'b', ifname, src, payload: p }));
    send();
    expect(rx).toHaveLength(1);
    expect(net.adjacent(net.iface('a', 'eth0'), net.iface('b', 'eth0'))).toBe(true);
  });

  it('counts oversize datagrams, totals, and resets counters', () => {
    const { clock, net, addNode } = bed();
    addNode('a', 'eth0');
    addNode('b', 'eth0');
    net.connect([
      { node: 'a', iface: 'eth0' },
      { node: 'b', iface: 'eth0' },
    ]);
    net.send('a', 'eth0', new Uint8Array(MAX_DATAGRAM));
    net.send('a', 'eth0', new Uint8Array(MAX_DATAGRAM + 1));
    clock.runUntilIdle();
    expect(net.counters('a').oversize).toBe(1);
    expect(net.totals()).toMatchObject({ txPackets: 2, rxPackets: 2, rxBytes: 2 * MAX_DATAGRAM + 1 });
    const held = net.counters('a');
    net.resetCounters();
    expect(held.txPackets).toBe(0);
    expect(net.linksBetween('a', 'b')[0]!.counters.packets).toBe(0);
  });

  it('counts topology changes in version; setLinkParams changes one direction', () => {
    const { net, addNode } = bed();
    addNode('a', 'eth0');
    addNode('b', 'eth0');
    const v0 = net.version;
    net.connect([
      { node: 'a', iface: 'eth0' },
      { node: 'b', iface: 'eth0' },
    ]);
    const [ab] = net.linksBetween('a', 'b');
    net.setLinkParams(ab!, { delayMs: 9 });
    net.setIfaceUp('a', 'eth0', true);
    net.setLink('a', 'b', { loss: 0.5 });
    expect(net.version).toBe(v0 + 4);
    expect(ab!.params).toMatchObject({ delayMs: 9, loss: 0.5 });
    expect(net.linksBetween('b', 'a')[0]!.params).toMatchObject({ delayMs: 1, loss: 0.5 });
    expect(() => net.setLinkParams(ab!, { loss: -1 })).toThrow(
      expect.objectContaining({ code: 'SIM_BAD_ARGUMENT' }),
    );
  });

  it('inject hands a datagram to a node as if from any source, and drops it when the interface is down', () => {
    const { clock, net, rx, addNode } = bed();
    addNode('a', 'eth0');
    net.inject('a', 'eth0', 'fe80::bad', bytes(6, 6), 10);
    clock.advance(9);
    expect(rx).toHaveLength(0);
    clock.advance(1);
    expect(rx[0]).toMatchObject({ at: 10, node: 'a', ifname: 'eth0', src: 'fe80::bad' });
    expect([...rx[0]!.payload]).toEqual([6, 6]);
    net.setIfaceUp('a', 'eth0', false);
    net.inject('a', 'eth0', 'fe80::bad', bytes(1));
    clock.runUntilIdle();
    expect(rx).toHaveLength(1);
    expect(net.counters('a')).toMatchObject({ rxPackets: 1, dropped: 1 });
  });

  it('shows listeners the payload of every event, copied at send time', () => {
    const { clock, net, addNode } = bed('payload', { loss: 0.5 });
    for (const n of ['a', 'b', 'c']) addNode(n, 'eth0');
    net.connect(['a', 'b', 'c'].map((node) => ({ node, iface: 'eth0' })));
    const seen: string[] = [];
    net.onPacket((e) => seen.push(`${e.kind}:${[...e.payload].join(',')}`));
    const buf = bytes(4, 2);
    for (let i = 0; i < 10; i++) net.send('a', 'eth0', buf);
    buf[0] = 0;
    clock.runUntilIdle();
    expect(seen.length).toBe(30);
    expect(seen.every((l) => l.endsWith(':4,2'))).toBe(true);
    expect(seen.some((l) => l.startsWith('lose:'))).toBe(true);
  });

  it('rejects bad link parameters', () => {
    const { net, addNode } = bed();
    addNode('a', 'eth0');
    addNode('b', 'eth0');
    const eps = [
      { node: 'a', iface: 'eth0' },
      { node: 'b', iface: 'eth0' },
    ];
    expect(() => net.connect(eps, { loss: 1.5 })).toThrow(
      expect.objectContaining({ code: 'SIM_BAD_ARGUMENT' }),
    );
    expect(() => net.connect(eps, { delayMs: -1 })).toThrow(
      expect.objectContaining({ code: 'SIM_BAD_ARGUMENT' }),
    );
    expect(() => net.connect([eps[0]!])).toThrow(expect.objectContaining({ code: 'SIM_BAD_ARGUMENT' }));
    expect(() => net.setLink('a', 'b', { loss: 0.1 })).toThrow(
      expect.objectContaining({ code: 'SIM_BAD_ARGUMENT' }),
    );
  });

  it('reports every packet event in a reproducible trace', () => {
    const trace = (seed: string) => {
      const { clock, net, addNode } = bed(seed, { loss: 0.2, jitterMs: 3 });
      for (const n of ['a', 'b', 'c']) addNode(n, 'eth0');
      net.connect(['a', 'b', 'c'].map((node) => ({ node, iface: 'eth0' })));
      const events: string[] = [];
      net.onPacket((e: PacketEvent) =>
        events.push(
          `${e.at.toFixed(6)} ${e.kind} ${e.from.node}${'to' in e ? `>${e.to.node}` : ''} ${e.bytes}`,
        ),
      );
      for (let i = 0; i < 50; i++) net.send(['a', 'b', 'c'][i % 3]!, 'eth0', new Uint8Array(i));
      clock.runUntilIdle();
      return events;
    };
    const t = trace('trace');
    expect(t.filter((l) => l.includes(' send ')).length).toBe(50);
    expect(t.some((l) => l.includes(' lose '))).toBe(true);
    expect(trace('trace')).toEqual(t);
  });
});
