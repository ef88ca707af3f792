import { readFileSync } from 'node:fs';
import { fixture } from '@bmx7/testenv/env';
import { describe, expect, it } from 'vitest';
import { bytesEqual } from './bytes.js';
import { BMX7_PORT } from './constants.js';
import { decodePacket, encodePacket } from './packet.js';
import { readCapture, type Udp6Datagram, udp6Datagrams } from './pcap.js';

export const CAPTURES = ['startup.pcap', 'line3.pcap', 'tun.pcap', 'rsalink.pcap'] as const;

export function datagrams(name: string): Udp6Datagram[] {
  const cap = readCapture(new Uint8Array(readFileSync(fixture(name))));
  if (!cap.ok) throw new Error(cap.reason);
  return udp6Datagrams(cap.value, BMX7_PORT);
}

describe.each(CAPTURES)('reference capture %s', (name) => {
  const ds = datagrams(name);

  it('holds BMX7 packets', () => {
    expect(ds.length).toBeGreaterThan(50);
  });

  it('decodes every packet and re-encodes it to identical bytes', () => {
    for (const d of ds) {
      const r = decodePacket(d.payload);
      if (!r.ok) throw new Error(`packet ${d.index}: ${r.reason}`);
      expect(r.value.length).toBe(d.payload.length);
      const again = encodePacket(r.value.header, r.value.frames);
      expect(bytesEqual(again, d.payload), `packet ${d.index}`).toBe(true);
    }
  });
});
