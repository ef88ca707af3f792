/** Test helpers: the reference captures of fixtures/bmx7-ref as BMX7 datagrams. */
import { readFileSync } from 'node:fs';
import { fixture } from '@bmx7/testenv/env';
import { BMX7_PORT } from '../src/constants.js';
import { readCapture, type Udp6Datagram, udp6Datagrams } from '../src/pcap.js';

export const CAPTURES = ['startup.pcap', 'line3.pcap', 'tun.pcap', 'rsalink.pcap'] as const;

const cache = new Map<string, Udp6Datagram[]>();

/** The BMX7 (UDP port 6270 over IPv6) datagrams of a capture in fixtures/bmx7-ref. */
export function datagrams(name: string): Udp6Datagram[] {
  let ds = cache.get(name);
  if (!ds) {
    const cap = readCapture(new Uint8Array(readFileSync(fixture(name))));
    if (!cap.ok) throw new Error(cap.reason);
    ds = udp6Datagrams(cap.value, BMX7_PORT);
    cache.set(name, ds);
  }
  return ds;
}

/** Every BMX7 payload of all four captures. */
export function allPayloads(): Uint8Array[] {
  return CAPTURES.flatMap((c) => datagrams(c).map((d) => d.payload));
}
