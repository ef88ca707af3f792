/**
 * Capture reading for fixtures and `bmx7ctl dump`: pcap (µs and ns, either byte order) and
 * pcapng (section, interface and enhanced/simple packet blocks), with Ethernet (VLAN tags
 * skipped), Linux cooked SLL and SLL2, and raw IP link types; then IPv6 (extension headers
 * skipped, fragments ignored) and UDP. Pure functions over bytes; never throws.
 */
import { take } from './bytes.js';
import { fail, ok, type Result } from './result.js';

export const LINKTYPE = {
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export interface PcapRecord {
  /** 0-based position in the capture. */
  readonly index: number;
  /** Seconds since the epoch. */
  readonly time: number;
  readonly linkType: number;
  readonly data: Uint8Array;
}

export interface Capture {
  readonly format: 'pcap' | 'pcapng';
  readonly records: readonly PcapRecord[];
  /**
   * Set when the file ends inside a record or block (a capture cut short, e.g. by killing the
   * capturing process): the records before it are kept.
   */
  readonly warning?: string;
}

/** A UDP datagram over IPv6 found in a capture. */
export interface Udp6Datagram {
  readonly index: number;
  readonly time: number;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly hopLimit: number;
  readonly payload: Uint8Array;
  /** UDP length of the datagram; more than `payload.length` when the capture's snap length cut it. */
  readonly udpLength: number;
}

function reader(b: Uint8Array, little: boolean) {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    u16: (o: number) => dv.getUint16(o, little),
    u32: (o: number) => dv.getUint32(o, little),
  };
}

/** Reads a pcap or pcapng file. */
export function readCapture(b: Uint8Array): Result<Capture> {
  if (b.length < 4) return fail('ERR_PCAP', 'not a capture: too short');
  const magic = (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!;
  if (magic === 0x0a0d0d0a) return readPcapng(b);
  return readPcap(b);
}

function readPcap(b: Uint8Array): Result<Capture> {
  if (b.length < 24) return fail('ERR_PCAP', 'pcap: truncated global header');
  const be = reader(b, false).u32(0);
  let little: boolean;
  let nano: boolean;
  if (be === 0xa1b2c3d4 || be === 0xa1b23c4d) {
    little = false;
    nano = be === 0xa1b23c4d;
  } else if (be === 0xd4c3b2a1 || be === 0x4d3cb2a1) {
    little = true;
    nano = be === 0x4d3cb2a1;
  } else return fail('ERR_PCAP', `not a pcap file (magic 0x${(be >>> 0).toString(16)})`);
  const r = reader(b, little);
  const linkType = r.u32(20) & 0x0fffffff;
  const records: PcapRecord[] = [];
  let pos = 24;
  while (pos < b.length) {
    if (pos + 16 > b.length)
      return ok({ format: 'pcap', records, warning: `file ends inside record ${records.length + 1}` });
    const sec = r.u32(pos);
    const frac = r.u32(pos + 4);
    const incl = r.u32(pos + 8);
    if (incl > b.length - pos - 16)
      return ok({ format: 'pcap', records, warning: `file ends inside record ${records.length + 1}` });
    records.push({
      index: records.length,
      time: sec + frac / (nano ? 1e9 : 1e6),
      linkType,
      data: b.subarray(pos + 16, pos + 16 + incl),
    });
    pos += 16 + incl;
  }
  return ok({ format: 'pcap', records });
}

function readPcapng(b: Uint8Array): Result<Capture> {
  const records: PcapRecord[] = [];
  let little = true;
  let ifaces: { linkType: number; tsDiv: number }[] = [];
  let pos = 0;
  while (pos < b.length) {
    if (pos + 12 > b.length) {
      if (pos === 0) return fail('ERR_PCAP', 'pcapng: truncated section header');
      return ok({ format: 'pcapng', records, warning: `file ends inside the block at ${pos}` });
    }
    const btypeBE = reader(b, false).u32(pos);
    if (btypeBE === 0x0a0d0d0a) {
      const bom = reader(b, false).u32(pos + 8);
      if (bom === 0x1a2b3c4d) little = false;
      else if (bom === 0x4d3c2b1a) little = true;
      else return fail('ERR_PCAP', 'pcapng: bad byte-order magic');
      ifaces = [];
    }
    const r = reader(b, little);
    const btype = r.u32(pos);
    const blen = r.u32(pos + 4);
    if (blen < 12 || blen % 4 || blen > b.length - pos)
      return fail('ERR_PCAP', `pcapng: bad block length at ${pos}`);
    const body = b.subarray(pos + 8, pos + blen - 4);
    const rb = reader(body, little);
    if (btype === 1) {
      if (body.length < 8) return fail('ERR_PCAP', 'pcapng: truncated interface block');
      let tsDiv = 1e6;
      // options: look for if_tsresol (9)
      let o = 8;
      while (o + 4 <= body.length) {
        const code = rb.u16(o);
        const len = rb.u16(o + 2);
        if (code === 0) break;
        if (code === 9 && len >= 1 && o + 4 < body.length) {
          const v = body[o + 4]!;
          tsDiv = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
        }
        o += 4 + Math.ceil(len / 4) * 4;
      }
      ifaces.push({ linkType: rb.u16(0), tsDiv });
    } else if (btype === 6) {
      if (body.length < 20) return fail('ERR_PCAP', 'pcapng: truncated packet block');
      const iface = ifaces[rb.u32(0)];
      if (!iface) return fail('ERR_PCAP', 'pcapng: packet for an undeclared interface');
      const ts = rb.u32(4) * 2 ** 32 + rb.u32(8);
      const incl = rb.u32(12);
      if (incl > body.length - 20) return fail('ERR_PCAP', 'pcapng: packet cut short');
      records.push({
        index: records.length,
        time: ts / iface.tsDiv,
        linkType: iface.linkType,
        data: body.subarray(20, 20 + incl),
      });
    } else if (btype === 3) {
      const iface = ifaces[0];
      if (!iface || body.length < 4) return fail('ERR_PCAP', 'pcapng: bad simple packet block');
      const orig = rb.u32(0);
      records.push({
        index: records.length,
        time: 0,
        linkType: iface.linkType,
        data: body.subarray(4, 4 + Math.min(orig, body.length - 4)),
      });
    }
    pos += blen;
  }
  return ok({ format: 'pcapng', records });
}

/** The network-layer bytes and their ethertype of a record, or undefined for other link types. */
function networkLayer(linkType: number, d: Uint8Array): { proto: number; data: Uint8Array } | undefined {
  const be = reader(d, false);
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      if (d.length < 14) return undefined;
      let o = 12;
      let et = be.u16(o);
      while ((et === 0x8100 || et === 0x88a8) && o + 6 <= d.length) {
        o += 4;
        et = be.u16(o);
      }
      return { proto: et, data: d.subarray(o + 2) };
    }
    case LINKTYPE.LINUX_SLL:
      if (d.length < 16) return undefined;
      return { proto: be.u16(14), data: d.subarray(16) };
    case LINKTYPE.LINUX_SLL2:
      if (d.length < 20) return undefined;
      return { proto: be.u16(0), data: d.subarray(20) };
    case LINKTYPE.RAW:
    case 12:
    case 14:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6: {
      if (d.length < 1) return undefined;
      const v = d[0]! >> 4;
      return { proto: v === 6 ? 0x86dd : v === 4 ? 0x0800 : 0, data: d };
    }
    default:
      return undefined;
  }
}

/** The UDP-over-IPv6 datagram in a record, if it holds one (fragments and other protocols: undefined). */
export function udp6FromRecord(rec: PcapRecord): Udp6Datagram | undefined {
  const nl = networkLayer(rec.linkType, rec.data);
  if (nl?.proto !== 0x86dd) return undefined;
  const ip = nl.data;
  if (ip.length < 40 || ip[0]! >> 4 !== 6) return undefined;
  const be = reader(ip, false);
  const plen = be.u16(4);
  const end = Math.min(ip.length, 40 + plen);
  let next = ip[6]!;
  let o = 40;
  // Skip hop-by-hop (0), routing (43) and destination options (60); fragments (44) are ignored.
  while (next === 0 || next === 43 || next === 60) {
    if (o + 8 > end) return undefined;
    const n = ip[o]!;
    o += (ip[o + 1]! + 1) * 8;
    next = n;
  }
  if (next !== 17 || o + 8 > end) return undefined;
  const ulen = be.u16(o + 4);
  const pend = ulen >= 8 && o + ulen <= end ? o + ulen : end;
  return {
    index: rec.index,
    time: rec.time,
    src: take(ip, 8, 16),
    dst: take(ip, 24, 16),
    srcPort: be.u16(o),
    dstPort: be.u16(o + 2),
    hopLimit: ip[7]!,
    payload: ip.subarray(o + 8, pend),
    udpLength: ulen,
  };
}

/** All UDP-over-IPv6 datagrams of a capture, optionally only those to or from `port`. */
export function udp6Datagrams(cap: Capture, port?: number): Udp6Datagram[] {
  const out: Udp6Datagram[] = [];
  for (const rec of cap.records) {
    const d = udp6FromRecord(rec);
    if (d && (port === undefined || d.srcPort === port || d.dstPort === port)) out.push(d);
  }
  return out;
}

/** Writes a classic little-endian microsecond pcap file (for tests, fixtures and tools). */
export function writePcap(
  linkType: number,
  records: readonly { readonly time: number; readonly data: Uint8Array }[],
): Uint8Array {
  const n = 24 + records.reduce((a, r) => a + 16 + r.data.length, 0);
  const b = new Uint8Array(n);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, linkType, true);
  let pos = 24;
  for (const r of records) {
    const sec = Math.floor(r.time);
    dv.setUint32(pos, sec, true);
    dv.setUint32(pos + 4, Math.round((r.time - sec) * 1e6), true);
    dv.setUint32(pos + 8, r.data.length, true);
    dv.setUint32(pos + 12, r.data.length, true);
    b.set(r.data, pos + 16);
    pos += 16 + r.data.length;
  }
  return b;
}

/** An IPv6 + UDP packet (hop limit 1 as BMX7 sends, UDP checksum computed). */
export function udp6Packet(
  src: Uint8Array,
  dst: Uint8Array,
  srcPort: number,
  dstPort: number,
  payload: Uint8Array,
  hopLimit = 1,
): Uint8Array {
  const ulen = 8 + payload.length;
  const b = new Uint8Array(40 + ulen);
  const dv = new DataView(b.buffer);
  b[0] = 0x60;
  dv.setUint16(4, ulen);
  b[6] = 17;
  b[7] = hopLimit;
  b.set(src, 8);
  b.set(dst, 24);
  dv.setUint16(40, srcPort);
  dv.setUint16(42, dstPort);
  dv.setUint16(44, ulen);
  b.set(payload, 48);
  // checksum over the pseudo header (addresses, length, next header) and the UDP datagram
  let sum = 0;
  for (let i = 8; i < 40; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  sum += ulen + 17;
  for (let i = 40; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  dv.setUint16(46, ~sum & 0xffff || 0xffff);
  return b;
}
