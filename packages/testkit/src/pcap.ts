/**
 * Captures of simulated traffic as pcap files, to open in Wireshark or feed to the reference's
 * independent decoder: every datagram sent on the simulated network, as it would appear on the
 * sender's link (Ethernet to 33:33:00:00:00:02, IPv6 from the interface's link-local address to
 * ff02::2, UDP port 6270, hop limit 1: docs/protocol.md §2.3).
 */
import { BMX7_PORT, LINKTYPE, udp6Packet, writePcap } from '@bmx7/codec';
import { parseIPv6 } from './ipv6.js';
import type { PacketEvent, SimNetwork } from './network.js';

export interface PcapTapOptions {
  /** Which sends to keep (default: all). */
  filter?: (event: Extract<PacketEvent, { kind: 'send' }>) => boolean;
  /** Seconds added to virtual time for the record timestamps (default 0). */
  epoch?: number;
  /** Keep at most this many records; later ones are counted in `missed` (default 1 000 000). */
  maxRecords?: number;
}

export interface PcapTap {
  /** Records kept so far. */
  readonly count: number;
  /** Sends not kept because of `maxRecords`. */
  readonly missed: number;
  /** The capture so far as a pcap file (little-endian, microseconds, Ethernet). */
  bytes(): Uint8Array;
  /** Stops recording (the records stay). */
  stop(): void;
}

const ALL_ROUTERS = new Uint8Array([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02]);
const ETHERTYPE_IPV6 = 0x86dd;

function addressBytes(text: string): Uint8Array {
  const g = parseIPv6(text) ?? new Array<number>(8).fill(0);
  const b = new Uint8Array(16);
  g.forEach((v, i) => {
    b[2 * i] = v >> 8;
    b[2 * i + 1] = v & 0xff;
  });
  return b;
}

/** Starts recording every datagram sent on `network`. */
export function tapPcap(network: SimNetwork, options: PcapTapOptions = {}): PcapTap {
  const records: { time: number; data: Uint8Array }[] = [];
  const max = options.maxRecords ?? 1_000_000;
  const epoch = options.epoch ?? 0;
  const sources = new Map<string, { ip: Uint8Array; mac: Uint8Array }>();
  let missed = 0;
  const off = network.onPacket((e) => {
    if (e.kind !== 'send' || (options.filter && !options.filter(e))) return;
    if (records.length >= max) {
      missed++;
      return;
    }
    let src = sources.get(e.from.linkLocal);
    if (!src) {
      const ip = addressBytes(e.from.linkLocal);
      // A locally administered MAC from the address's last four bytes.
      src = { ip, mac: new Uint8Array([0x02, 0x00, ...ip.subarray(12)]) };
      sources.set(e.from.linkLocal, src);
    }
    const ip6 = udp6Packet(src.ip, ALL_ROUTERS, BMX7_PORT, BMX7_PORT, e.payload, 1);
    const frame = new Uint8Array(14 + ip6.length);
    frame.set([0x33, 0x33, 0, 0, 0, 0x02]);
    frame.set(src.mac, 6);
    frame[12] = ETHERTYPE_IPV6 >> 8;
    frame[13] = ETHERTYPE_IPV6 & 0xff;
    frame.set(ip6, 14);
    records.push({ time: epoch + e.at / 1000, data: frame });
  });
  return {
    get count() {
      return records.length;
    },
    get missed() {
      return missed;
    },
    bytes: () => writePcap(LINKTYPE.ETHERNET, records),
    stop: off,
  };
}
