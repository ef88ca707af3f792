/**
 * Netlink message framing (linux/netlink.h): a 16-byte `struct nlmsghdr` then the payload, each
 * message padded to 4 bytes, several messages back to back in one datagram. Pure functions.
 */

/** Netlink protocols (the third argument of socket(AF_NETLINK, …)). */
export const NETLINK_ROUTE = 0;
export const NETLINK_GENERIC = 16;

export const NLMSG_HDRLEN = 16;
export const NLMSG_ALIGNTO = 4;

/** Control message types below NLMSG_MIN_TYPE. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const NLMSG_MIN_TYPE = 0x10;

/** Flags of every request. */
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
/** Flags of GET requests. */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
/** Flags of NEW requests. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** Flags of NLMSG_ERROR acknowledgements (extended ACK). */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** Extended ACK attributes (enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

export type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Uint8Array;
}

export function nlmsgAlign(n: number): number {
  return (n + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

/** Encodes one message; the length field covers the header and payload, padding follows. */
export function encodeNlmsg(msg: NlMsg): Uint8Array {
  const len = NLMSG_HDRLEN + msg.payload.length;
  const out = new Uint8Array(nlmsgAlign(len));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, msg.type, true);
  dv.setUint16(6, msg.flags, true);
  dv.setUint32(8, msg.seq >>> 0, true);
  dv.setUint32(12, msg.pid >>> 0, true);
  out.set(msg.payload, NLMSG_HDRLEN);
  return out;
}

/** Decodes every message of one datagram. A bad length anywhere rejects the whole datagram. */
export function decodeNlmsgs(buf: Uint8Array): Result<NlMsg[]> {
  const out: NlMsg[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) return { ok: false, reason: `truncated header at ${off}` };
    const len = dv.getUint32(off, true);
    if (len < NLMSG_HDRLEN || len > buf.length - off) {
      return { ok: false, reason: `bad message length ${len} at ${off}` };
    }
    out.push({
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      pid: dv.getUint32(off + 12, true),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += nlmsgAlign(len);
  }
  return { ok: true, value: out };
}

export interface NlmsgErr {
  /** 0 for an ACK, otherwise a negative errno. */
  error: number;
  /** Header of the request it answers. */
  request: { type: number; flags: number; seq: number; pid: number };
  /** Extended ACK text (NLMSGERR_ATTR_MSG), when the kernel gave one. */
  message?: string;
}

/**
 * Decodes the payload of NLMSG_ERROR (`struct nlmsgerr`: int error, the request's header, then the
 * request's payload unless NLM_F_CAPPED, then extended-ACK attributes if NLM_F_ACK_TLVS).
 */
export function decodeNlmsgErr(msg: NlMsg): Result<NlmsgErr> {
  const p = msg.payload;
  if (p.length < 4 + NLMSG_HDRLEN) return { ok: false, reason: 'truncated nlmsgerr' };
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const origLen = dv.getUint32(4, true);
  const value: NlmsgErr = {
    error: dv.getInt32(0, true),
    request: {
      type: dv.getUint16(8, true),
      flags: dv.getUint16(10, true),
      seq: dv.getUint32(12, true),
      pid: dv.getUint32(16, true),
    },
  };
  if (msg.flags & NLM_F_ACK_TLVS) {
    const tlvStart = 4 + (msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : nlmsgAlign(origLen));
    let off = tlvStart;
    while (off + 4 <= p.length) {
      const alen = dv.getUint16(off, true);
      const atype = dv.getUint16(off + 2, true) & 0x3fff;
      if (alen < 4 || off + alen > p.length) break;
      if (atype === NLMSGERR_ATTR_MSG) {
        let end = off + alen;
        while (end > off + 4 && p[end - 1] === 0) end--;
        value.message = new TextDecoder().decode(p.subarray(off + 4, end));
      }
      off += nlmsgAlign(alen);
    }
  }
  return { ok: true, value };
}

/** The errno carried by NLMSG_DONE (0 or negative; older kernels send an empty payload). */
export function decodeNlmsgDone(msg: NlMsg): number {
  if (msg.payload.length < 4) return 0;
  return new DataView(msg.payload.buffer, msg.payload.byteOffset, 4).getInt32(0, true);
}
