/**
 * Generic netlink (linux/genetlink.h): a 4-byte `struct genlmsghdr` (cmd, version, reserved) after
 * the netlink header, then attributes. Families are found by name through the controller family
 * "nlctrl" (GENL_ID_CTRL) with CTRL_CMD_GETFAMILY.
 */
import { attrMap, decodeAttrs, type NlAttr, nlaString, readString, readU16, readU32 } from './attr.js';
import type { Result } from './nlmsg.js';

export const GENL_HDRLEN = 4;
/** The controller family's fixed id. */
export const GENL_ID_CTRL = 0x10;

export const CTRL_CMD_NEWFAMILY = 1;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const CTRL_ATTR_VERSION = 3;
export const CTRL_ATTR_HDRSIZE = 4;
export const CTRL_ATTR_MAXATTR = 5;

export interface GenlMsg {
  cmd: number;
  version: number;
  /** Attributes, already encoded (on encode) or raw (on decode). */
  attrs: Uint8Array;
}

/** The payload of a netlink message of a generic family. */
export function encodeGenl(msg: GenlMsg): Uint8Array {
  const out = new Uint8Array(GENL_HDRLEN + msg.attrs.length);
  out[0] = msg.cmd;
  out[1] = msg.version;
  out.set(msg.attrs, GENL_HDRLEN);
  return out;
}

export function decodeGenl(payload: Uint8Array): Result<GenlMsg> {
  if (payload.length < GENL_HDRLEN) return { ok: false, reason: 'truncated genlmsghdr' };
  return {
    ok: true,
    value: { cmd: payload[0]!, version: payload[1]!, attrs: payload.subarray(GENL_HDRLEN) },
  };
}

/** The payload of a CTRL_CMD_GETFAMILY request (send it to GENL_ID_CTRL with NLM_F_REQUEST|NLM_F_ACK). */
export function encodeGetFamily(name: string): Uint8Array {
  return encodeGenl({ cmd: CTRL_CMD_GETFAMILY, version: 1, attrs: nlaString(CTRL_ATTR_FAMILY_NAME, name) });
}

export interface GenlFamily {
  id: number;
  name: string;
  version: number;
  maxAttr: number;
}

/** Decodes the controller's CTRL_CMD_NEWFAMILY reply. */
export function decodeFamily(payload: Uint8Array): Result<GenlFamily> {
  const g = decodeGenl(payload);
  if (!g.ok) return g;
  const attrs = decodeAttrs(g.value.attrs);
  if (!attrs.ok) return attrs;
  const m = attrMap(attrs.value);
  const id = m.get(CTRL_ATTR_FAMILY_ID);
  const name = m.get(CTRL_ATTR_FAMILY_NAME);
  if (!id || !name) return { ok: false, reason: 'family reply without id or name' };
  const idv = readU16(id);
  if (!idv.ok) return idv;
  const num = (a: NlAttr | undefined) => {
    if (!a) return 0;
    const r = readU32(a);
    return r.ok ? r.value : 0;
  };
  return {
    ok: true,
    value: {
      id: idv.value,
      name: readString(name),
      version: num(m.get(CTRL_ATTR_VERSION)),
      maxAttr: num(m.get(CTRL_ATTR_MAXATTR)),
    },
  };
}
