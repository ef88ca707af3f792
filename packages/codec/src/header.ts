/**
 * The packet header (docs/protocol.md §4.1) and the 2-byte frame/TLV header (§4.2): one big-endian
 * word, type in the top 5 bits, length (header included) in the low 11 bits.
 */
import { put16, take, u16 } from './bytes.js';
import { COMPATIBILITY_VERSION, FRAME_LENGTH_MAX, PACKET_HEADER_SIZE, SHA_LEN } from './constants.js';
import { CodecError, ensure, fail, ok, type Result } from './result.js';

export interface PacketHeader {
  /** Compatibility version (21); receivers accept their own ±1. */
  readonly version: number;
  /** Reserved byte, 0 on the wire. */
  readonly reserved: number;
  /** Sender node id (SHA-224 of its public-key content, 28 bytes). */
  readonly nodeId: Uint8Array;
}

export function decodePacketHeader(b: Uint8Array): Result<PacketHeader> {
  if (b.length < PACKET_HEADER_SIZE)
    return fail('ERR_TRUNCATED', `packet of ${b.length} bytes is shorter than its 30-byte header`);
  return ok({ version: b[0]!, reserved: b[1]!, nodeId: take(b, 2, SHA_LEN) });
}

export function encodePacketHeader(
  h: PacketHeader,
  out = new Uint8Array(PACKET_HEADER_SIZE),
  off = 0,
): Uint8Array {
  ensure(h.nodeId.length === SHA_LEN, 'packet header: nodeId must be 28 bytes');
  ensure(
    h.version >= 0 && h.version <= 255 && h.reserved >= 0 && h.reserved <= 255,
    'packet header: byte out of range',
  );
  out[off] = h.version;
  out[off + 1] = h.reserved;
  out.set(h.nodeId, off + 2);
  return out;
}

/** A header for own packets: cv 21, reserved 0. */
export function packetHeader(nodeId: Uint8Array): PacketHeader {
  return { version: COMPATIBILITY_VERSION, reserved: 0, nodeId };
}

export interface FrameHeader {
  /** 0-31. */
  readonly type: number;
  /** Length of the whole frame including the 2 header bytes, 0-2047. */
  readonly length: number;
}

/** The 16-bit header word of a frame or TLV (e.g. type 0x1B, length 0x492 → 0xDC92). */
export function frameHeaderWord(type: number, length: number): number {
  if (!(Number.isInteger(type) && type >= 0 && type <= 31))
    throw new CodecError('ERR_CODEC_INPUT', `frame type ${type} out of range 0-31`);
  if (!(Number.isInteger(length) && length >= 0 && length <= FRAME_LENGTH_MAX))
    throw new CodecError('ERR_CODEC_SIZE', `frame length ${length} out of range 0-2047`);
  return (type << 11) | length;
}

export function decodeFrameHeaderWord(word: number): FrameHeader {
  return { type: (word >> 11) & 0x1f, length: word & 0x7ff };
}

export function writeFrameHeader(out: Uint8Array, off: number, type: number, length: number): void {
  put16(out, off, frameHeaderWord(type, length));
}

export function readFrameHeader(b: Uint8Array, off: number): FrameHeader {
  return decodeFrameHeaderWord(u16(b, off));
}
