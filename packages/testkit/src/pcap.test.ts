import { readCapture, udp6Datagrams } from '@bmx7/codec';
import { describe, expect, it } from 'vitest';
import { createVirtualClock } from './clock.js';
import { parseIPv6 } from './ipv6.js';
import { createSimNetwork } from './network.js';
import { tapPcap } from './pcap.js';
import { createSeededRandom } from './random.js';

describe('tapPcap', () => {
  it('records every send as Ethernet/IPv6/UDP that the codec reads back', () => {
    const clock = createVirtualClock();
    const net = createSimNetwork({ clock, random: createSeededRandom(1) });
    for (const n of ['a', 'b']) {
      net.addNode(n);
      net.addIface(n, 'eth0');
    }
    net.connect([
      { node: 'a', iface: 'eth0' },
      { node: 'b', iface: 'eth0' },
    ]);
    const tap = tapPcap(net, { epoch: 1_700_000_000, filter: (e) => e.bytes > 0 });
    clock.advance(1500);
    net.send('a', 'eth0', new Uint8Array([1, 2, 3]));
    net.send('b', 'eth0', new Uint8Array([]));
    clock.advance(250);
    net.send('b', 'eth0', new Uint8Array(100).fill(7));
    tap.stop();
    net.send('a', 'eth0', new Uint8Array([9]));
    expect(tap.count).toBe(2);

    const cap = readCapture(tap.bytes());
    expect(cap.ok).toBe(true);
    if (!cap.ok) return;
    const dgrams = udp6Datagrams(cap.value, 6270);
    expect(dgrams).toHaveLength(2);
    const bytesOf = (text: string) => {
      const g = parseIPv6(text)!;
      return g.flatMap((v) => [v >> 8, v & 0xff]);
    };
    expect([...dgrams[0]!.src]).toEqual(bytesOf(net.iface('a', 'eth0').linkLocal));
    expect([...dgrams[0]!.dst]).toEqual(bytesOf('ff02::2'));
    expect(dgrams[0]).toMatchObject({ srcPort: 6270, dstPort: 6270, hopLimit: 1 });
    expect([...dgrams[0]!.payload]).toEqual([1, 2, 3]);
    expect(dgrams[0]!.time).toBeCloseTo(1_700_000_001.5, 5);
    expect([...dgrams[1]!.src]).toEqual(bytesOf(net.iface('b', 'eth0').linkLocal));
    expect(dgrams[1]!.payload).toHaveLength(100);
    expect(dgrams[1]!.time).toBeCloseTo(1_700_000_001.75, 5);
  });

  it('stops keeping records at maxRecords and counts the rest', () => {
    const clock = createVirtualClock();
    const net = createSimNetwork({ clock, random: createSeededRandom(1) });
    net.addNode('a');
    net.addIface('a', 'eth0');
    const tap = tapPcap(net, { maxRecords: 2 });
    for (let i = 0; i < 5; i++) net.send('a', 'eth0', new Uint8Array([i]));
    expect(tap.count).toBe(2);
    expect(tap.missed).toBe(3);
  });
});
