/**
 * Netlink attributes (`struct nlattr`, linux/netlink.h): u16 length (header included), u16 type
 * whose top two bits are NLA_F_NESTED and NLA_F_NET_BYTEORDER, the data, padding to 4 bytes.
 * Pure functions: build with the `nla*` helpers, read with `decodeAttrs` and the `read*` helpers.
 */
import { nlmsgAlign, type Result } from './nlmsg.js';

export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;
/** The largest attribute: its length must fit the u16 length field. */
export const NLA_MAX_LEN = 0xffff;

export interface NlAttr {
  /** Type without the NESTED/NET_BYTEORDER bits. */
  type: number;
  nested: boolean;
  data: Uint8Array;
}

/** An encoded attribute (header, data, padding). */
export function nla(type: number, data: Uint8Array, nested = false): Uint8Array {
  const len = NLA_HDRLEN + data.length;
  if (len > NLA_MAX_LEN) throw new RangeError(`attribute ${type} is ${len} bytes, more than ${NLA_MAX_LEN}`);
  const out = new Uint8Array(nlmsgAlign(len));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, len, true);
  dv.setUint16(2, (type & NLA_TYPE_MASK) | (nested ? NLA_F_NESTED : 0), true);
  out.set(data, NLA_HDRLEN);
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function nlaNested(type: number, children: readonly Uint8Array[]): Uint8Array {
  return nla(type, concat(children), true);
}
export function nlaU8(type: number, v: number): Uint8Array {
  return nla(type, Uint8Array.of(v & 0xff));
}
export function nlaU16(type: number, v: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, true);
  return nla(type, b);
}
export function nlaU32(type: number, v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return nla(type, b);
}
export function nlaU64(type: number, v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return nla(type, b);
}
/** A NUL-terminated string attribute (NLA_NUL_STRING / NLA_STRING as the kernel accepts them). */
export function nlaString(type: number, s: string): Uint8Array {
  const enc = new TextEncoder().encode(s);
  const b = new Uint8Array(enc.length + 1);
  b.set(enc);
  return nla(type, b);
}

/** Decodes a run of attributes. Trailing bytes shorter than a header are an error, as is a bad length. */
export function decodeAttrs(buf: Uint8Array): Result<NlAttr[]> {
  const out: NlAttr[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLA_HDRLEN) return { ok: false, reason: `truncated attribute header at ${off}` };
    const len = dv.getUint16(off, true);
    const rawType = dv.getUint16(off + 2, true);
    if (len < NLA_HDRLEN || len > buf.length - off) {
      return { ok: false, reason: `bad attribute length ${len} at ${off}` };
    }
    out.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      data: buf.subarray(off + NLA_HDRLEN, off + len),
    });
    off += nlmsgAlign(len);
  }
  return { ok: true, value: out };
}

/** The attributes indexed by type (the last one wins for repeated types). */
export function attrMap(attrs: readonly NlAttr[]): Map<number, NlAttr> {
  const m = new Map<number, NlAttr>();
  for (const a of attrs) m.set(a.type, a);
  return m;
}

function view(a: NlAttr): DataView {
  return new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
}
export function readU8(a: NlAttr): Result<number> {
  return a.data.length >= 1
    ? { ok: true, value: a.data[0]! }
    : { ok: false, reason: `attribute ${a.type}: short u8` };
}
export function readU16(a: NlAttr): Result<number> {
  return a.data.length >= 2
    ? { ok: true, value: view(a).getUint16(0, true) }
    : { ok: false, reason: `attribute ${a.type}: short u16` };
}
export function readU32(a: NlAttr): Result<number> {
  return a.data.length >= 4
    ? { ok: true, value: view(a).getUint32(0, true) }
    : { ok: false, reason: `attribute ${a.type}: short u32` };
}
export function readU64(a: NlAttr): Result<bigint> {
  return a.data.length >= 8
    ? { ok: true, value: view(a).getBigUint64(0, true) }
    : { ok: false, reason: `attribute ${a.type}: short u64` };
}
/** A string attribute, up to its first NUL. */
export function readString(a: NlAttr): string {
  const nul = a.data.indexOf(0);
  return new TextDecoder().decode(nul >= 0 ? a.data.subarray(0, nul) : a.data);
}
