/**
 * Test-only walker of the reference captures: just enough of the BMX7 wire format
 * (docs/protocol.md §4.1-4.5, §4.9) to take out the vectors the crypto tests need — descriptions and
 * their signed parts, referenced contents, signed packets with their digest inputs, own OGMs and
 * IID_ADV chain values. @bmx7/crypto may not import the codec, so this is deliberately small and
 * trusts nothing: every read is bounds-checked and a malformed item is skipped.
 */
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { contentHash, sha224 } from '../src/hash.js';

export interface CapturedPacket {
  index: number;
  src: Uint8Array;
  senderId: Uint8Array;
  payload: Uint8Array;
}

/** UDP payloads of an Ethernet/IPv6 pcap (classic format, little- or big-endian). */
export function readPcap(path: string): CapturedPacket[] {
  const buf = readFileSync(path);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const out: CapturedPacket[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const incl = u32(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (frame.length < 14 + 40 + 8 || frame.readUInt16BE(12) !== 0x86dd || frame[14 + 6] !== 17) continue;
    const ip6 = frame.subarray(14);
    const udp = ip6.subarray(40);
    const ulen = udp.readUInt16BE(4);
    const payload = new Uint8Array(udp.subarray(8, ulen));
    if (payload.length < 30) continue;
    out.push({
      index: out.length,
      src: new Uint8Array(ip6.subarray(8, 24)),
      senderId: payload.slice(2, 30),
      payload,
    });
  }
  return out;
}

export interface Tlv {
  type: number;
  /** offset of the 2-byte header */
  pos: number;
  data: Uint8Array;
}

/** TLVs / frames: 16-bit header, type in the top 5 bits, length (header included) in the low 11. */
export function tlvs(buf: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let pos = 0;
  while (pos + 2 <= buf.length) {
    const w = (buf[pos]! << 8) | buf[pos + 1]!;
    const type = w >> 11;
    const len = w & 0x7ff;
    if (len < 2 || pos + len > buf.length) throw new Error(`bad TLV at ${pos}`);
    out.push({ type, pos, data: buf.subarray(pos + 2, pos + len) });
    pos += len;
  }
  return out;
}

export interface ChashRef {
  expandedType: number;
  expandedHash: Uint8Array;
  expandedLen: number;
  nesting: number;
  gzip: number;
  refs: Uint8Array;
}

export interface Description {
  raw: Uint8Array;
  nodeId: Uint8Array;
  /** DSC_SIGNATURE data: type u8 ‖ signature */
  signature: Uint8Array;
  /** the signed part: VERSION TLV header to the end */
  signed: Uint8Array;
  descSqn: number;
  ogmRange: number;
  /** VERSION anchor: link 14 ‖ seed 14 */
  anchor: Uint8Array;
  refs: ChashRef[];
  inline: Map<number, Uint8Array>;
}

export function parseDescription(raw: Uint8Array): Description | undefined {
  let list: Tlv[];
  try {
    list = tlvs(raw);
  } catch {
    return undefined;
  }
  const [c, s, v] = list;
  if (!c || !s || !v || c.type !== 0 || s.type !== 2 || v.type !== 3 || v.data.length !== 44)
    return undefined;
  const refs: ChashRef[] = [];
  const inline = new Map<number, Uint8Array>();
  for (const t of list) {
    if (t.type !== 0) {
      inline.set(t.type, t.data);
      continue;
    }
    if (t.data.length < 32) return undefined;
    const w = new DataView(t.data.buffer, t.data.byteOffset + 28, 4).getUint32(0);
    refs.push({
      expandedHash: t.data.subarray(0, 28),
      expandedLen: w >>> 8,
      expandedType: (w >> 3) & 31,
      nesting: (w >> 1) & 3,
      gzip: w & 1,
      refs: t.data.subarray(32),
    });
  }
  const vd = new DataView(v.data.buffer, v.data.byteOffset, 44);
  return {
    raw,
    nodeId: c.data.slice(0, 28),
    signature: s.data,
    signed: raw.subarray(v.pos),
    descSqn: vd.getUint32(6),
    ogmRange: vd.getUint16(10),
    anchor: v.data.slice(12, 40),
    refs,
    inline,
  };
}

/** Assembles a referenced TLV's expanded data from held contents (4.5), or undefined if missing. */
export function resolveRef(
  ref: ChashRef,
  contents: Map<string, { header: number; body: Uint8Array }>,
): Uint8Array | undefined {
  const get = (h: Uint8Array) => contents.get(Buffer.from(h).toString('hex'));
  let data: Uint8Array;
  if (ref.nesting === 0) data = ref.refs;
  else if (ref.refs.length === 0) {
    const c = get(ref.expandedHash);
    if (!c) return undefined;
    data = c.body;
  } else {
    const parts: Uint8Array[] = [];
    for (let i = 0; i + 28 <= ref.refs.length; i += 28) {
      const c = get(ref.refs.subarray(i, i + 28));
      if (!c) return undefined;
      if ((c.header >> 1) & 3) {
        for (let j = 0; j + 28 <= c.body.length; j += 28) {
          const c2 = get(c.body.subarray(j, j + 28));
          if (!c2) return undefined;
          parts.push(c2.body);
        }
      } else parts.push(c.body);
    }
    data = Buffer.concat(parts);
  }
  return ref.gzip ? new Uint8Array(inflateSync(data)) : data;
}

export interface SignedPacket {
  packet: CapturedPacket;
  /** the 9-byte SIGNATURE data header */
  header: Uint8Array;
  descSqn: number;
  messages: Uint8Array;
  /** all frame bytes after the SIGNATURE frame */
  after: Uint8Array;
}

export interface OgmMessage {
  packet: CapturedPacket;
  /** the sender's descSqn from the packet's SIGNATURE header */
  descSqn: number;
  iid: number;
  chainOgm: Uint8Array;
}

export interface IidAdv {
  packet: CapturedPacket;
  iid: number;
  descSqn: number;
  chainOgm: Uint8Array;
  nodeId: Uint8Array;
}

export interface Capture {
  packets: CapturedPacket[];
  descriptions: Description[];
  contents: Map<string, { header: number; body: Uint8Array }>;
  signed: SignedPacket[];
  ogms: OgmMessage[];
  iidAdvs: IidAdv[];
}

const FRAME_DESC_ADV = 2;
const FRAME_CONTENT_ADV = 4;
const FRAME_SIGNATURE = 8;
const FRAME_IID_ADV = 19;
const FRAME_OGM_ADV = 21;

export function readCapture(path: string): Capture {
  const cap: Capture = {
    packets: readPcap(path),
    descriptions: [],
    contents: new Map(),
    signed: [],
    ogms: [],
    iidAdvs: [],
  };
  for (const p of cap.packets) {
    const frames = p.payload.subarray(30);
    let sig: SignedPacket | undefined;
    for (const f of tlvs(frames)) {
      if (f.type === FRAME_CONTENT_ADV && f.data.length >= 2) {
        const header = f.data[0]!;
        const body = f.data.slice(1);
        cap.contents.set(Buffer.from(contentHash(header, body)).toString('hex'), { header, body });
      } else if (f.type === FRAME_DESC_ADV) {
        const d = parseDescription(f.data.slice());
        if (d) cap.descriptions.push(d);
      } else if (f.type === FRAME_SIGNATURE && f.data.length >= 9) {
        sig = {
          packet: p,
          header: f.data.slice(0, 9),
          descSqn: new DataView(f.data.buffer, f.data.byteOffset, 4).getUint32(0),
          messages: f.data.slice(9),
          after: frames.slice(f.pos + 2 + f.data.length),
        };
        cap.signed.push(sig);
      } else if (f.type === FRAME_OGM_ADV && sig) {
        const d = f.data;
        let o = 2;
        while (o + 18 <= d.length) {
          const w = new DataView(d.buffer, d.byteOffset + o + 14, 4).getUint32(0);
          let more = w >>> 31;
          cap.ogms.push({
            packet: p,
            descSqn: sig.descSqn,
            iid: (w >> 17) & 0x3fff,
            chainOgm: d.slice(o, o + 14),
          });
          o += 18;
          while (more && o + 3 <= d.length) {
            more = d[o]! >> 7;
            o += 3;
          }
        }
      } else if (f.type === FRAME_IID_ADV) {
        const d = f.data;
        for (let o = 0; o + 48 <= d.length; o += 48) {
          const dv = new DataView(d.buffer, d.byteOffset + o, 6);
          cap.iidAdvs.push({
            packet: p,
            iid: dv.getUint16(0),
            descSqn: dv.getUint32(2),
            chainOgm: d.slice(o + 6, o + 20),
            nodeId: d.slice(o + 20, o + 48),
          });
        }
      }
    }
  }
  return cap;
}

/** The description of a node with a given descSqn in any of the captures. */
export function findDescription(
  caps: Capture[],
  nodeId: Uint8Array,
  descSqn: number,
): Description | undefined {
  for (const c of caps) {
    for (const d of c.descriptions) {
      if (d.descSqn === descSqn && Buffer.from(d.nodeId).equals(nodeId)) return d;
    }
  }
  return undefined;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export { sha224 };
